"""The moov-header fast path of ``probe`` agrees with FFmpeg, and falls back when unsure."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from cameoguard.media import AudioClip, write_audio, write_video
from cameoguard.media._isobmff import read_facts
from cameoguard.media.probe import _probe_iso_headers, _probe_with_ffmpeg
from cameoguard.media.sniff import sniff
from tests.conftest import SHARED_DATA


def _frames(n: int, w: int = 64, h: int = 48) -> list[np.ndarray]:
    return [np.full((h, w, 3), (i * 7) % 255, dtype=np.uint8) for i in range(n)]


def _tone(seconds: float, rate: int = 44_100, channels: int = 2) -> AudioClip:
    t = np.arange(int(seconds * rate), dtype=np.float32) / rate
    wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return AudioClip(np.stack([wave] * channels), rate)


def _assert_same(path: Path) -> None:
    media_type, size = sniff(path), path.stat().st_size
    fast = _probe_iso_headers(path, media_type, size)
    assert fast is not None, f"{path.name}: fast path fell back"
    slow = _probe_with_ffmpeg(path, media_type, size)
    for field in ("type", "width", "height", "frame_count", "video_codec", "has_audio",
                  "audio_sample_rate", "audio_channels", "audio_codec"):  # fmt: skip
        assert getattr(fast, field) == getattr(slow, field), field
    if slow.fps is not None:
        assert fast.fps == pytest.approx(slow.fps, rel=1e-3)
    assert fast.duration_s == pytest.approx(slow.duration_s, abs=0.06)


@pytest.mark.parametrize(
    ("fps", "n", "audio"), [(25, 50, True), (10, 20, False), (30000 / 1001, 30, True)]
)
def test_written_videos_match_ffmpeg(tmp_path: Path, fps: float, n: int, audio: bool) -> None:
    path = tmp_path / "v.mp4"
    write_video(path, _frames(n), fps=fps, audio=_tone(n / fps) if audio else None)
    _assert_same(path)


def test_written_m4a_matches_ffmpeg(tmp_path: Path) -> None:
    path = tmp_path / "a.m4a"
    write_audio(_tone(1.5, 48_000, 1), path)
    _assert_same(path)


def test_shared_clips_match_ffmpeg() -> None:
    clips = sorted((SHARED_DATA / "real_fake" / "videos").rglob("*.mp4"))
    if not clips:
        pytest.skip(f"no shared video clips under {SHARED_DATA}")
    for clip in clips:
        _assert_same(clip)


def test_fragmented_mp4_falls_back_to_ffmpeg(tmp_path: Path) -> None:
    path = tmp_path / "frag.mp4"
    with av.open(str(path), "w", options={"movflags": "frag_keyframe+empty_moov"}) as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for img in _frames(20):
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    assert read_facts(path, path.stat().st_size) is None
    info = _probe_with_ffmpeg(path, sniff(path), path.stat().st_size)
    assert (info.width, info.height) == (64, 48)


def test_mutated_headers_never_raise(tmp_path: Path) -> None:
    src = tmp_path / "v.mp4"
    write_video(src, _frames(20), fps=10, audio=_tone(2.0))
    data = src.read_bytes()
    moov = data.find(b"moov") - 4
    rng = np.random.default_rng(5)
    mutated = tmp_path / "m.mp4"
    outcomes = {"facts": 0, "none": 0}
    for _ in range(300):
        buf = bytearray(data)
        for pos in rng.integers(moov, min(len(buf), moov + 1500), size=int(rng.integers(1, 6))):
            buf[pos] = int(rng.integers(0, 256))
        mutated.write_bytes(bytes(buf))
        facts = read_facts(mutated, len(buf))  # must not raise
        outcomes["facts" if facts is not None else "none"] += 1
    assert outcomes["none"] > 0  # damage is noticed and handed to FFmpeg
    assert read_facts(tmp_path / "missing.mp4", 100) is None
