"""Value types: limits from settings, and the checks on clips and limits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cameoguard.media import AudioClip, Frame, Limits, MediaKind
from cameoguard.settings import Settings


def test_limits_from_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        max_upload_bytes=1234,
        max_pixels=5678,
        max_video_seconds=12.5,
        max_audio_seconds=99.0,
    )
    assert Limits.from_settings(settings) == Limits(1234, 5678, 12.5, 99.0)


def test_limits_reject_non_positive_values() -> None:
    with pytest.raises(ValueError, match="max_pixels must be positive"):
        Limits(max_bytes=1, max_pixels=0, max_video_seconds=1, max_audio_seconds=1)


def test_audio_clip_shape_and_dtype_are_checked() -> None:
    with pytest.raises(ValueError, match=r"shape \(channels, n\)"):
        AudioClip(np.zeros(10, dtype=np.float32), 8000)
    with pytest.raises(ValueError, match="float32"):
        AudioClip(np.zeros((1, 10), dtype=np.float64), 8000)
    with pytest.raises(ValueError, match="sample_rate"):
        AudioClip(np.zeros((1, 10), dtype=np.float32), 0)
    clip = AudioClip(np.zeros((2, 8000), dtype=np.float32), 16000)
    assert (clip.channels, clip.n_samples, clip.duration_s) == (2, 8000, 0.5)


def test_frame_and_kind_basics() -> None:
    frame = Frame(3, 0.3, np.zeros((4, 6, 3), dtype=np.uint8))
    assert (frame.width, frame.height) == (6, 4)
    assert MediaKind("video") is MediaKind.VIDEO
    assert str(MediaKind.AUDIO) == "audio"
