"""probe: limits are enforced from headers before decoding; damage is reported, not raised raw."""

from __future__ import annotations

import dataclasses
import struct
import time
import tracemalloc
import zlib
from pathlib import Path

import av
import numpy as np
import pytest

from cameoguard.errors import (
    CorruptMediaError,
    FileNotFoundInputError,
    MediaLimitError,
    UnsupportedMediaError,
)
from cameoguard.media import Limits, MediaKind, load_image, probe, save_image, write_audio

from .conftest import AUDIO_RATE, VIDEO_FPS, VIDEO_FRAMES, VIDEO_SIZE, ImageFactory, ToneFactory


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header_claiming(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR for ``width``×``height`` RGB, a tiny IDAT and IEND."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- what probe reports -----------------------------------------------------------------------


def test_image_info(tmp_path: Path, make_image: ImageFactory, limits: Limits) -> None:
    path = save_image(make_image(30, 40), tmp_path / "a.png")
    info = probe(path, limits)
    assert info.kind is MediaKind.IMAGE
    assert (info.width, info.height, info.pixels) == (40, 30, 1200)
    assert info.duration_s is None
    assert info.size_bytes == path.stat().st_size


def test_video_info(sample_video: Path, limits: Limits) -> None:
    info = probe(sample_video, limits)
    assert info.kind is MediaKind.VIDEO
    assert (info.height, info.width) == VIDEO_SIZE
    assert info.fps == pytest.approx(VIDEO_FPS)
    assert info.frame_count == VIDEO_FRAMES
    assert info.duration_s == pytest.approx(VIDEO_FRAMES / VIDEO_FPS, abs=0.05)
    assert info.has_audio
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.audio_sample_rate, info.audio_channels) == (AUDIO_RATE, 2)


def test_audio_info(tmp_path: Path, make_tone: ToneFactory, limits: Limits) -> None:
    path = write_audio(make_tone(1.5, channels=2), tmp_path / "a.wav")
    info = probe(path, limits)
    assert info.kind is MediaKind.AUDIO
    assert (info.width, info.height, info.fps) == (None, None, None)
    assert info.duration_s == pytest.approx(1.5)
    assert (info.audio_sample_rate, info.audio_channels, info.audio_codec) == (
        AUDIO_RATE,
        2,
        "pcm_s16le",
    )


def test_mp4_with_only_sound_is_audio(tmp_path: Path, limits: Limits) -> None:
    path = tmp_path / "sound.mp4"  # plain mp4 muxer: generic 'isom' brand
    with av.open(str(path), mode="w", format="mp4") as out:
        stream = out.add_stream("aac", rate=AUDIO_RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, AUDIO_RATE), np.float32), "fltp", "mono")
        frame.sample_rate = AUDIO_RATE
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    info = probe(path, limits)
    assert (info.kind, info.type.mime) == (MediaKind.AUDIO, "audio/mp4")


def test_heic_without_decoder_still_reports_size(tmp_path: Path, limits: Limits) -> None:
    ftyp = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
    ispe = struct.pack(">I4sIII", 20, b"ispe", 0, 1920, 1080)
    meta = struct.pack(">I4s", 8 + len(ispe), b"meta") + ispe
    path = tmp_path / "photo.heic"
    path.write_bytes(ftyp + meta)
    info = probe(path, limits)
    assert (info.type.mime, info.width, info.height) == ("image/heic", 1920, 1080)
    with pytest.raises((UnsupportedMediaError, CorruptMediaError)):
        load_image(path, limits)


# --- missing input ---------------------------------------------------------------------------


def test_missing_file(tmp_path: Path, limits: Limits) -> None:
    with pytest.raises(FileNotFoundInputError, match="no such file"):
        probe(tmp_path / "nope.jpg", limits)


def test_directory_is_not_a_file(tmp_path: Path, limits: Limits) -> None:
    with pytest.raises(FileNotFoundInputError, match="not a regular file"):
        probe(tmp_path, limits)


# --- limits ----------------------------------------------------------------------------------


def test_byte_limit_is_checked_before_reading(tmp_path: Path, limits: Limits) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"this is not even media, but it is too big to look at" * 40)
    before = _listing(tmp_path)
    small = dataclasses.replace(limits, max_bytes=1000)
    with pytest.raises(MediaLimitError) as caught:
        probe(path, small)
    message = str(caught.value)
    assert "file is 2,080 bytes (2.0 KiB), the limit is 1,000 bytes" in message
    assert "CAMEOGUARD_MAX_UPLOAD_BYTES" in message
    assert caught.value.code == "media.limit"
    assert _listing(tmp_path) == before


def test_pixel_limit_from_crafted_png_header_fails_fast(tmp_path: Path, limits: Limits) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_claiming(50_000, 50_000))
    before = _listing(tmp_path)
    probe(save_image(np.zeros((2, 2, 3), np.uint8), tmp_path / "warm.png"), limits)  # imports
    tracemalloc.start()
    started = time.perf_counter()
    try:
        for attempt in (probe, load_image):
            with pytest.raises(MediaLimitError) as caught:
                attempt(path, limits)
            message = str(caught.value)
            assert "50000×50000 = 2,500,000,000 pixels, the limit is 4,000,000" in message
            assert "CAMEOGUARD_MAX_PIXELS" in message
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 1.0
    assert peak < 5 * 1024 * 1024  # 50000×50000 RGB would be 7.5 GB
    assert _listing(tmp_path) == [*before, "warm.png"]


def test_our_pixel_limit_not_pillows_decides(tmp_path: Path, limits: Limits) -> None:
    """Above Pillow's decompression-bomb threshold (~89 Mpx) but within ours: no warning."""
    path = tmp_path / "tall.png"
    path.write_bytes(_png_header_claiming(10_000, 10_000))
    info = probe(path, dataclasses.replace(limits, max_pixels=200_000_000))
    assert (info.width, info.height) == (10_000, 10_000)


def test_video_pixel_limit(sample_video: Path, limits: Limits) -> None:
    with pytest.raises(MediaLimitError, match=r"video frames are 64×48 = 3,072 pixels"):
        probe(sample_video, dataclasses.replace(limits, max_pixels=3000))


def test_video_seconds_limit(sample_video: Path, limits: Limits) -> None:
    before = _listing(sample_video.parent)
    with pytest.raises(MediaLimitError) as caught:
        probe(sample_video, dataclasses.replace(limits, max_video_seconds=1.5))
    assert "video is 2.0 s long, the limit is 1.5 s; raise CAMEOGUARD_MAX_VIDEO_SECONDS or " in str(
        caught.value
    )
    assert _listing(sample_video.parent) == before


def test_audio_seconds_limit(tmp_path: Path, make_tone: ToneFactory, limits: Limits) -> None:
    path = write_audio(make_tone(3.0), tmp_path / "long.wav")
    before = _listing(tmp_path)
    with pytest.raises(MediaLimitError) as caught:
        probe(path, dataclasses.replace(limits, max_audio_seconds=2))
    message = str(caught.value)
    assert "audio is 3.0 s long, the limit is 2 s" in message
    assert "CAMEOGUARD_MAX_AUDIO_SECONDS" in message
    assert _listing(tmp_path) == before


# --- damage ------------------------------------------------------------------------------------


def test_truncated_jpeg_is_corrupt(
    tmp_path: Path, make_image: ImageFactory, limits: Limits
) -> None:
    rng = np.random.default_rng(3)
    noisy = np.clip(make_image(120, 160) + rng.integers(0, 40, (120, 160, 3)), 0, 255)
    data = save_image(noisy.astype(np.uint8), tmp_path / "full.jpg").read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(CorruptMediaError, match="end-of-image marker"):
        probe(path, limits)
    with pytest.raises(CorruptMediaError):
        load_image(path, limits)


def test_data_after_jpeg_end_is_tolerated(
    tmp_path: Path, make_image: ImageFactory, limits: Limits
) -> None:
    """Motion photos append a video after the JPEG's EOI marker; that is not damage."""
    data = save_image(make_image(), tmp_path / "full.jpg").read_bytes()
    path = tmp_path / "motion.jpg"
    path.write_bytes(data + b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64)
    assert load_image(path, limits).shape == (48, 64, 3)


def test_truncated_png_is_corrupt(tmp_path: Path, make_image: ImageFactory, limits: Limits) -> None:
    data = save_image(make_image(), tmp_path / "full.png").read_bytes()
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptMediaError):
        probe(path, limits)


def test_truncated_mp4_is_corrupt(sample_video: Path, tmp_path: Path, limits: Limits) -> None:
    data = sample_video.read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptMediaError, match=r"'mdat'.*truncated"):
        probe(path, limits)


def test_structure_checks_can_be_skipped_for_verifiers(
    sample_video: Path, tmp_path: Path, make_image: ImageFactory, limits: Limits
) -> None:
    """A provenance verifier must still look inside a cut file to report the damage itself."""
    data = save_image(make_image(120, 160), tmp_path / "full.jpg").read_bytes()
    jpeg = tmp_path / "cut.jpg"
    jpeg.write_bytes(data[: len(data) * 3 // 4])
    video = sample_video.read_bytes()
    mp4 = tmp_path / "cut.mp4"
    mp4.write_bytes(video[: len(video) * 4 // 5])
    assert probe(jpeg, limits, check_structure=False).width == 160
    assert probe(mp4, limits, check_structure=False).kind is MediaKind.VIDEO
    tiny = dataclasses.replace(limits, max_pixels=100)
    with pytest.raises(MediaLimitError):  # limits still apply
        probe(jpeg, tiny, check_structure=False)


def test_truncated_mp4_without_faststart_is_corrupt(tmp_path: Path, limits: Limits) -> None:
    full = tmp_path / "full.mp4"  # moov written last, as cameras do
    with av.open(str(full), mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i * 20, np.uint8), "rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    data = full.read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) - 40])
    with pytest.raises(CorruptMediaError, match="truncated"):
        probe(path, limits)


def test_container_without_streams_is_corrupt(tmp_path: Path, limits: Limits) -> None:
    path = tmp_path / "hollow.mp4"
    path.write_bytes(
        b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
        + b"\x00\x00\x00\x10moov\x00\x00\x00\x00junk"
    )
    with pytest.raises(CorruptMediaError):
        probe(path, limits)


def test_garbage_after_a_valid_signature_is_corrupt(tmp_path: Path, limits: Limits) -> None:
    path = tmp_path / "fake.mp3"
    path.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 8)
    with pytest.raises(CorruptMediaError):
        probe(path, limits)
