"""File-level marking and detection: images, video (frames + sound), audio, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cameoguard.demo import make_tone
from cameoguard.errors import UnsupportedMediaError, WatermarkCapacityError
from cameoguard.media import Limits, load_image, save_image, write_audio, write_video
from cameoguard.media.audio import load_audio
from cameoguard.media.video import iter_frames
from cameoguard.settings import Settings
from cameoguard.watermark.keys import WatermarkKey
from cameoguard.watermark.marker import Watermarker

from .conftest import picture


@pytest.fixture(scope="module")
def marker(key: WatermarkKey) -> Watermarker:
    return Watermarker(key)


@pytest.fixture
def limits(settings: Settings) -> Limits:
    return Limits.from_settings(settings)


def _noisy_tone(seconds: float) -> object:
    clip = make_tone(seconds, 44_100)
    noise = np.random.default_rng(0).normal(0, 0.02, clip.samples.shape)
    return type(clip)((clip.samples + noise).astype(np.float32), clip.sample_rate)


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp"])
def test_image_file_round_trip(
    fmt: str, marker: Watermarker, limits: Limits, tmp_path: Path
) -> None:
    src = tmp_path / f"src.{fmt}"
    save_image(picture(), src, quality=95)
    result = marker.embed_file(src, tmp_path / f"out.{fmt}", 0xABCDEF012345, limits)
    assert result.tracks == ("image",)
    found = marker.detect_file(result.path, limits)
    assert found.found and found.payload == 0xABCDEF012345
    assert found.to_dict()["payload"] == "g_abcdef012345"
    assert 0.999999 < found.confidence < 1.0
    assert not marker.detect_file(src, limits).found


def test_stripped_screenshot_of_marked_image(
    marker: Watermarker, limits: Limits, tmp_path: Path
) -> None:
    import cv2

    src = tmp_path / "src.png"
    save_image(picture(800, 600, 1), src)
    out = marker.embed_file(src, tmp_path / "out.png", 42, limits).path
    shot = cv2.resize(load_image(out, limits), (560, 420), interpolation=cv2.INTER_AREA)
    save_image(shot, tmp_path / "shot.jpg", quality=60)
    assert marker.detect_file(tmp_path / "shot.jpg", limits).payload == 42


def test_video_with_sound_round_trip_and_reencode(
    marker: Watermarker, limits: Limits, tmp_path: Path
) -> None:
    frames = [picture(512, 288, i // 20) for i in range(80)]
    src = write_video(tmp_path / "src.mp4", frames, fps=10, audio=_noisy_tone(8.0))
    result = marker.embed_file(src, tmp_path / "out.mp4", 777, limits)
    assert result.tracks == ("video", "audio")
    found = marker.detect_file(result.path, limits)
    assert found.found and found.payload == 777 and not found.conflict
    assert {t.track: t.found for t in found.tracks} == {"video": True, "audio": True}
    # Re-encode at CRF 30 and drop the first second: still found.
    again = [f.rgb for f in iter_frames(result.path, limits)][10:]
    reencoded = write_video(tmp_path / "re.mp4", again, fps=10, crf=30)
    assert marker.detect_file(reencoded, limits).payload == 777
    assert not marker.detect_file(src, limits).found


def test_video_sound_track_survives_aac_source(
    marker: Watermarker, limits: Limits, tmp_path: Path
) -> None:
    frames = [picture(512, 288, i // 20) for i in range(80)]
    src = write_video(tmp_path / "src.mp4", frames, fps=10, audio=_noisy_tone(8.0))
    out = marker.embed_file(src, tmp_path / "out.mp4", 777, limits).path
    tracks = {t.track: t.found for t in marker.detect_file(out, limits).tracks}
    assert tracks == {"video": True, "audio": True}


def test_audio_file_round_trip(marker: Watermarker, limits: Limits, tmp_path: Path) -> None:
    src = write_audio(_noisy_tone(6.0), tmp_path / "src.wav")  # type: ignore[arg-type]
    out = marker.embed_file(src, tmp_path / "out.m4a", 99, limits).path
    assert marker.detect_file(out, limits).payload == 99
    assert load_audio(out, limits).sample_rate == 44_100
    assert not marker.detect_file(src, limits).found


def test_bad_input_is_refused_with_clear_errors(
    marker: Watermarker, limits: Limits, tmp_path: Path
) -> None:
    small = save_image(picture(200, 150), tmp_path / "small.png")
    with pytest.raises(WatermarkCapacityError, match="at least 256 pixels"):
        marker.embed_file(small, tmp_path / "o.png", 1, limits)
    silent = write_audio(type(make_tone(1, 44_100))(np.zeros((1, 44_100 * 5), np.float32), 44_100),
                         tmp_path / "silent.wav")  # fmt: skip
    with pytest.raises(WatermarkCapacityError, match="silent"):
        marker.embed_file(silent, tmp_path / "o.wav", 1, limits)
    one = write_video(tmp_path / "one.mp4", [picture(512, 288)], fps=1)
    with pytest.raises(WatermarkCapacityError, match="1 frame"):
        marker.embed_file(one, tmp_path / "o.mp4", 1, limits)
    assert not (tmp_path / "o.mp4").exists() and not (tmp_path / "o.png").exists()
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(UnsupportedMediaError):
        marker.embed_file(text, tmp_path / "o.png", 1, limits)
    # Detection on unmarkable media is an absence, not an error.
    assert not marker.detect_file(small, limits).found
    assert not marker.detect_file(silent, limits).found
