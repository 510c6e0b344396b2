"""One conformance suite for every registered scheme, plus the tiled scheme's robustness."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from cameoguard.errors import ConfigurationError, WatermarkCapacityError
from cameoguard.media.types import MediaKind
from cameoguard.watermark.base import (
    AudioScheme,
    ImageScheme,
    available_schemes,
    create_scheme,
    register_scheme,
    scheme_info,
)
from cameoguard.watermark.keys import WatermarkKey
from cameoguard.watermark.payload import PayloadCodec, new_payload
from cameoguard.watermark.tiled import TiledScheme

from .conftest import picture

IMAGE_SCHEMES = [info.name for info in available_schemes(MediaKind.IMAGE)]
AUDIO_SCHEMES = [info.name for info in available_schemes(MediaKind.AUDIO)]


def _bits(scheme: ImageScheme | AudioScheme, codec: PayloadCodec) -> npt.NDArray[np.uint8]:
    if scheme.capacity_bits == codec.coded_bits:
        return codec.encode(0x5EED0000CAFE)
    return np.random.default_rng(5).integers(0, 2, scheme.capacity_bits).astype(np.uint8)


def _agreement(scheme: ImageScheme | AudioScheme, found: list, bits: np.ndarray) -> float:  # type: ignore[type-arg]
    assert found, f"{scheme.name}: no candidate on marked media"
    return float(np.mean((found[0].values > 0) == (bits == 1)))


def test_registry_lists_builtins_and_rejects_unknown_or_duplicate() -> None:
    assert {"tiled", "dwtdct", "dwtdctsvd", "rivagan"} <= set(IMAGE_SCHEMES)
    assert "stft-ss" in AUDIO_SCHEMES
    assert scheme_info("tiled").payload and not scheme_info("rivagan").payload
    with pytest.raises(ConfigurationError, match=r"valid schemes: .*tiled"):
        scheme_info("nope")
    with pytest.raises(ConfigurationError, match="already registered"):
        register_scheme("tiled", kind=MediaKind.IMAGE, description="dup")(TiledScheme)


@pytest.mark.parametrize("name", IMAGE_SCHEMES)
def test_image_scheme_conformance(name: str, key: WatermarkKey, codec: PayloadCodec) -> None:
    scheme = create_scheme(name, key)
    assert isinstance(scheme, ImageScheme)
    rgb = picture(512, 384)
    before = rgb.copy()
    bits = _bits(scheme, codec)
    marked = scheme.embed_image(rgb, bits)
    assert np.array_equal(rgb, before), "embed must not modify its input"
    assert marked.shape == rgb.shape and marked.dtype == np.uint8
    assert _agreement(scheme, scheme.detect_image(marked), bits) >= 0.97
    assert len(scheme.detect_image(marked)) <= scheme.max_candidates
    if scheme.capacity_bits == codec.coded_bits:
        decoded = [codec.decode(c.values) for c in scheme.detect_image(marked)]
        assert any(d is not None for d in decoded)
        assert all(codec.decode(c.values) is None for c in scheme.detect_image(rgb))
    with pytest.raises(WatermarkCapacityError, match="256"):
        scheme.embed_image(np.zeros((200, 200, 3), np.uint8), bits)
    with pytest.raises(ValueError, match="bits"):
        scheme.embed_image(rgb, bits[:-1])
    assert scheme.detect_image(np.zeros((40, 40, 3), np.uint8)) == []


@pytest.mark.parametrize("name", AUDIO_SCHEMES)
def test_audio_scheme_conformance(name: str, key: WatermarkKey, codec: PayloadCodec) -> None:
    from cameoguard.demo import make_tone

    scheme = create_scheme(name, key)
    assert isinstance(scheme, AudioScheme)
    rng = np.random.default_rng(0)
    clip = make_tone(6.0, 44_100).samples
    clip = (clip + rng.normal(0, 0.02, clip.shape)).astype(np.float32)
    before = clip.copy()
    bits = _bits(scheme, codec)
    marked = scheme.embed_audio(clip, 44_100, bits)
    assert np.array_equal(clip, before)
    assert marked.shape == clip.shape and marked.dtype == np.float32
    found = scheme.detect_audio(marked, 44_100)
    assert any(codec.decode(c.values) is not None for c in found)
    assert all(codec.decode(c.values) is None for c in scheme.detect_audio(clip, 44_100))
    with pytest.raises(WatermarkCapacityError):
        scheme.embed_audio(np.zeros((2, 44_100 * 5), np.float32), 44_100, bits)
    with pytest.raises(WatermarkCapacityError):
        scheme.embed_audio(clip[:, :4410], 44_100, bits)
    assert scheme.detect_audio(np.zeros((1, 44_100 * 5), np.float32), 44_100) == []


def _jpeg(rgb: np.ndarray, q: int) -> np.ndarray:
    _, buf = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1])


def _crop_back(rgb: np.ndarray, c: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    dy, dx = round(h * c / 2), round(w * c / 2)
    return cv2.resize(rgb[dy : h - dy, dx : w - dx], (w, h), interpolation=cv2.INTER_LINEAR)


ATTACKS = {
    "jpeg50": lambda x: _jpeg(x, 50),
    "resize0.5": lambda x: cv2.resize(
        cv2.resize(x, (x.shape[1] // 2, x.shape[0] // 2), interpolation=cv2.INTER_AREA),
        (x.shape[1], x.shape[0]),
    ),
    "crop10": lambda x: _crop_back(x, 0.10),
    "crop15-no-resize": lambda x: x[29:-29, 38:-38].copy(),
    "brightness+20": lambda x: np.clip(x * 1.2, 0, 255).astype(np.uint8),
    "noise5": lambda x: np.clip(x + np.random.default_rng(1).normal(0, 5, x.shape), 0, 255).astype(
        np.uint8
    ),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tiled_survives_attacks(
    attack: str, seed: int, key: WatermarkKey, codec: PayloadCodec
) -> None:
    scheme = TiledScheme(key)
    rgb = picture(640, 480, seed)
    value = 0x0A11CE000000 + 1009 * seed + sorted(ATTACKS).index(attack)  # fixed: no CI flakes
    marked = scheme.embed_image(rgb, codec.encode(value))
    psnr = 10 * np.log10(255**2 / np.mean((marked.astype(float) - rgb) ** 2))
    assert psnr >= 38.0
    decoded = [codec.decode(c.values) for c in scheme.detect_image(ATTACKS[attack](marked))]
    assert [d.value for d in decoded if d is not None][:1] == [value]


def test_tiled_video_aggregates_frames(key: WatermarkKey, codec: PayloadCodec) -> None:
    scheme = TiledScheme(key)
    frames = [picture(512, 288, s) for s in range(4)]
    value = 0x00B0B0000001
    embed = scheme.video_embedder(codec.encode(value), 288, 512, reference=frames)
    marked = [_jpeg(embed(f), 40) for f in frames]
    decoded = [codec.decode(c.values) for c in scheme.detect_frames(marked)]
    assert [d.value for d in decoded if d is not None][:1] == [value]
    with pytest.raises(ValueError, match="not 512x288"):
        embed(picture(320, 256))


def test_tiled_other_key_finds_nothing(key: WatermarkKey, codec: PayloadCodec) -> None:
    marked = TiledScheme(key).embed_image(picture(), codec.encode(new_payload()))
    other = WatermarkKey(bytes(range(100, 132)))
    found = TiledScheme(other).detect_image(marked)
    assert all(PayloadCodec(other).decode(c.values) is None for c in found)
