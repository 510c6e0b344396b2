"""Fixtures for the media tests: limits, and small media generated on the fly (no network)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from cameoguard.media import AudioClip, Limits, write_video

VIDEO_FPS = 10
VIDEO_FRAMES = 20  # 2.0 s
VIDEO_SIZE = (48, 64)  # height, width
AUDIO_RATE = 16_000

ImageFactory = Callable[..., npt.NDArray[np.uint8]]
ToneFactory = Callable[..., AudioClip]


def gradient_image(height: int = 48, width: int = 64, shift: int = 0) -> npt.NDArray[np.uint8]:
    """A smooth RGB gradient (compresses well, survives lossy codecs recognisably)."""
    yy, xx = np.mgrid[0:height, 0:width]
    rgb = np.stack(
        [
            (xx * 255 // max(width - 1, 1) + shift) % 256,
            yy * 255 // max(height - 1, 1),
            128 + 0 * xx,
        ],
        axis=-1,
    )
    return rgb.astype(np.uint8)


def sine_tone(
    seconds: float = 1.0, rate: int = AUDIO_RATE, channels: int = 1, freq: float = 440.0
) -> AudioClip:
    t = np.arange(round(seconds * rate)) / rate
    wave = 0.4 * np.sin(2 * np.pi * freq * t)
    return AudioClip(np.repeat(wave[None, :], channels, axis=0).astype(np.float32), rate)


@pytest.fixture
def limits() -> Limits:
    """Generous limits; tests that exercise a limit build their own."""
    return Limits(
        max_bytes=64 * 1024 * 1024,
        max_pixels=4_000_000,
        max_video_seconds=60.0,
        max_audio_seconds=60.0,
    )


@pytest.fixture
def make_image() -> ImageFactory:
    return gradient_image


@pytest.fixture
def make_tone() -> ToneFactory:
    return sine_tone


@pytest.fixture(scope="session")
def sample_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2.0 s, 10 fps, 64×48 H.264 with a 2.0 s stereo 16 kHz AAC tone. Do not modify."""
    path = tmp_path_factory.mktemp("video") / "sample.mp4"
    height, width = VIDEO_SIZE
    frames = (gradient_image(height, width, shift=12 * i) for i in range(VIDEO_FRAMES))
    return write_video(
        path, frames, VIDEO_FPS, audio=sine_tone(2.0, channels=2), preset="ultrafast"
    )


@pytest.fixture(scope="session")
def silent_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1.0 s, 10 fps, 64×48 H.264 without sound. Do not modify."""
    path = tmp_path_factory.mktemp("video") / "silent.mp4"
    frames = [gradient_image(48, 64, shift=i) for i in range(10)]
    return write_video(path, frames, 10, preset="ultrafast")
