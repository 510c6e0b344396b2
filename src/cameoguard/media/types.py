"""Plain values that flow through the media room.

``sniff`` turns bytes into a :class:`MediaType`; ``probe`` turns a file into a
:class:`MediaInfo` under :class:`Limits`; the loaders yield :class:`Frame` objects and
:class:`AudioClip` objects that the writers take back. Nothing here touches a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from cameoguard.settings import Settings

__all__ = ["AudioClip", "Frame", "Limits", "MediaInfo", "MediaKind", "MediaType"]


class MediaKind(StrEnum):
    """What a file holds, as far as cameoguard cares."""

    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"


@dataclass(frozen=True, slots=True)
class MediaType:
    """A recognised container: ``kind``, IANA ``mime``, canonical ``extension`` and ``format``.

    ``format`` is a short human name ("JPEG", "MP4", "WAV").
    """

    kind: MediaKind
    mime: str
    extension: str
    format: str


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What ``probe`` learned from a file's headers, without decoding its pixels or samples.

    ``width``/``height`` are None for audio, ``duration_s`` is None for still images, and any
    field a container does not declare is None (absence is a result, not an error).
    """

    path: Path
    type: MediaType
    size_bytes: int
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    fps: float | None = None
    frame_count: int | None = None
    has_audio: bool = False
    audio_sample_rate: int | None = None
    audio_channels: int | None = None
    video_codec: str | None = None
    audio_codec: str | None = None

    @property
    def kind(self) -> MediaKind:
        return self.type.kind

    @property
    def pixels(self) -> int | None:
        """``width * height`` when both are known."""
        if self.width is None or self.height is None:
            return None
        return self.width * self.height


@dataclass(frozen=True, slots=True)
class Limits:
    """How big an input may be before cameoguard refuses it (checked before decoding)."""

    max_bytes: int
    max_pixels: int
    max_video_seconds: float
    max_audio_seconds: float

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pixels", "max_video_seconds", "max_audio_seconds"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Limits.{name} must be positive, got {getattr(self, name)!r}")

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The limits configured by ``CAMEOGUARD_MAX_*`` settings."""
        return cls(
            max_bytes=settings.max_upload_bytes,
            max_pixels=settings.max_pixels,
            max_video_seconds=settings.max_video_seconds,
            max_audio_seconds=settings.max_audio_seconds,
        )


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One decoded video frame: its 0-based ``index``, presentation time, and RGB pixels.

    ``rgb`` has shape (height, width, 3) and dtype uint8.
    """

    index: int
    pts_s: float
    rgb: npt.NDArray[np.uint8] = field(repr=False)

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


@dataclass(frozen=True, slots=True, eq=False)
class AudioClip:
    """Decoded audio: float32 ``samples`` of shape (channels, n) in [-1, 1] at ``sample_rate``."""

    samples: npt.NDArray[np.float32] = field(repr=False)
    sample_rate: int

    def __post_init__(self) -> None:
        if self.samples.ndim != 2 or self.samples.shape[0] < 1:
            raise ValueError(
                f"AudioClip samples must have shape (channels, n), got {self.samples.shape}; "
                "reshape mono audio with samples[None, :]"
            )
        if self.samples.dtype != np.float32:
            raise ValueError(
                f"AudioClip samples must be float32, got {self.samples.dtype}; "
                "convert with samples.astype(np.float32) scaled to [-1, 1]"
            )
        if self.sample_rate <= 0:
            raise ValueError(f"AudioClip sample_rate must be positive, got {self.sample_rate}")

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate
