"""Real media from ../shared/data (skipped where absent): FaceForensics++ clips, a signed WAV."""

from __future__ import annotations

from pathlib import Path

import pytest

from cameoguard.media import Limits, MediaKind, load_audio, probe, sample_frames

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
FFPP = SHARED_DATA / "real_fake" / "videos" / "ffpp"
SIGNED_WAV = SHARED_DATA / "c2pa" / "c2pa-python" / "sample1_signed.wav"
FFPP_VIDEOS = sorted(FFPP.rglob("*.mp4")) if FFPP.is_dir() else []

pytestmark = pytest.mark.shared_data


@pytest.fixture
def real_limits() -> Limits:
    """The shipped defaults (512 MiB, 80 Mpx, 300 s video, 600 s audio)."""
    return Limits(512 * 1024 * 1024, 80_000_000, 300.0, 600.0)


@pytest.mark.parametrize(
    "path",
    FFPP_VIDEOS
    or [pytest.param(None, marks=pytest.mark.skip(reason=f"no FaceForensics++ clips at {FFPP}"))],
    ids=lambda p: p.relative_to(FFPP).as_posix() if isinstance(p, Path) else "absent",
)
def test_probe_faceforensics_clips(path: Path, real_limits: Limits) -> None:
    info = probe(path, real_limits)
    assert (info.kind, info.type.mime, info.video_codec) == (MediaKind.VIDEO, "video/mp4", "h264")
    assert info.width and info.height and info.width >= 640
    assert info.fps in (pytest.approx(25.0), pytest.approx(30.0))
    assert info.duration_s is not None and 5.0 < info.duration_s < 60.0
    assert info.frame_count is not None and info.frame_count > 100
    assert info.has_audio is False


def test_sample_frames_from_a_real_clip(real_limits: Limits) -> None:
    if not FFPP_VIDEOS:
        pytest.skip(f"no FaceForensics++ clips at {FFPP}")
    path = min(FFPP_VIDEOS, key=lambda p: p.stat().st_size)
    info = probe(path, real_limits)
    frames = sample_frames(path, 3, real_limits)
    assert len(frames) == 3
    assert [f.pts_s for f in frames] == sorted({f.pts_s for f in frames})
    assert all(f.rgb.shape == (info.height, info.width, 3) for f in frames)


def test_probe_and_load_signed_wav(real_limits: Limits) -> None:
    if not SIGNED_WAV.is_file():
        pytest.skip(f"signed WAV sample not found at {SIGNED_WAV}")
    info = probe(SIGNED_WAV, real_limits)
    assert (info.kind, info.type.mime, info.audio_codec) == (
        MediaKind.AUDIO,
        "audio/wav",
        "pcm_s16le",
    )
    assert info.duration_s == pytest.approx(33.53, abs=0.01)
    clip = load_audio(SIGNED_WAV, real_limits)
    assert clip.sample_rate == info.audio_sample_rate
    assert clip.channels == info.audio_channels
    assert clip.duration_s == pytest.approx(info.duration_s, abs=0.01)
