"""PyAV plumbing shared by probe, video and audio: containers in, cameoguard errors out.

Opens input containers with FFmpeg errors turned into :class:`CorruptMediaError`, picks the
real video and audio streams (cover art is not video), reads durations, and decodes an audio
stream into a float32 :class:`AudioClip` while enforcing a length limit as it goes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from cameoguard.errors import CorruptMediaError, MediaLimitError
from cameoguard.media.types import AudioClip

__all__ = [
    "AV_ERRORS",
    "audio_stream",
    "decode_audio",
    "describe_error",
    "duration_s",
    "open_input",
    "seconds_limit_error",
    "video_stream",
]

#: Everything FFmpeg (through PyAV) raises for damaged or unreadable input.
AV_ERRORS: tuple[type[BaseException], ...] = (av.FFmpegError, UnicodeDecodeError)

# Encoders pad the last audio frame; trim decoded audio to the declared length when the excess
# is no more than this many samples (larger gaps mean the declared length is an estimate).
_MAX_PADDING_SAMPLES = 4096


def describe_error(exc: BaseException) -> str:
    """A short reason from an FFmpeg error, without its errno and file name."""
    reason = getattr(exc, "strerror", None)
    return str(reason) if reason else str(exc) or type(exc).__name__


@contextmanager
def open_input(path: Path, what: str) -> Iterator[Any]:
    """Open ``path`` for reading; FFmpeg errors while open become CorruptMediaError.

    ``what`` names the format for messages ("MP4").
    """
    try:
        container = av.open(str(path), mode="r", metadata_errors="replace")
    except AV_ERRORS as exc:
        raise CorruptMediaError(
            f"{path}: cannot read the {what} container ({describe_error(exc)}); the file is "
            "truncated or damaged, export or upload it again"
        ) from None
    with container:
        try:
            yield container
        except AV_ERRORS as exc:
            raise CorruptMediaError(
                f"{path}: the {what} data cannot be decoded ({describe_error(exc)}); the file is "
                "truncated or damaged, export or upload it again"
            ) from None


def _is_cover_art(stream: Any) -> bool:
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def video_stream(container: Any) -> Any | None:
    """The first real video stream (not cover art), or None."""
    return next((s for s in container.streams.video if not _is_cover_art(s)), None)


def audio_stream(container: Any) -> Any | None:
    """The first audio stream, or None."""
    return next(iter(container.streams.audio), None)


def duration_s(container: Any, stream: Any) -> float | None:
    """The stream's declared duration in seconds, else the container's, else None."""
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return float(container.duration / av.time_base)
    return None


def seconds_limit_error(what: str, seconds: float, limit: float, env: str) -> MediaLimitError:
    """The standard message for a too-long input."""
    return MediaLimitError(
        f"{what} is {seconds:.1f} s long, the limit is {limit:g} s; raise {env} or trim it"
    )


def decode_audio(
    container: Any, stream: Any, *, max_seconds: float, what: str, env: str
) -> AudioClip | None:
    """Decode ``stream`` to float32 (channels, n) in [-1, 1]; None when it holds no samples.

    Raises MediaLimitError as soon as more than ``max_seconds`` have been decoded.
    """
    resampler = av.AudioResampler(format="fltp")  # keep the stream's layout and rate
    chunks: list[npt.NDArray[np.float32]] = []
    total = 0
    rate = 0

    def take(frames: list[Any]) -> None:
        nonlocal total, rate
        for frame in frames:
            rate = int(frame.sample_rate)
            chunk = np.asarray(frame.to_ndarray(), dtype=np.float32)
            chunks.append(chunk.reshape(len(frame.layout.channels), -1))
            total += chunks[-1].shape[1]
            if total > (max_seconds + 1.0) * rate:
                raise seconds_limit_error(what, total / rate, max_seconds, env)

    for frame in container.decode(stream):
        take(resampler.resample(frame))
    take(resampler.resample(None))
    if total == 0:
        return None
    samples = np.concatenate(chunks, axis=1)
    if stream.duration and stream.time_base:  # the stream's own length, not the container's
        expected = round(float(stream.duration * stream.time_base) * rate)
        if 0 < total - expected <= _MAX_PADDING_SAMPLES:
            samples = samples[:, :expected]
    np.clip(samples, -1.0, 1.0, out=samples)
    return AudioClip(np.ascontiguousarray(samples), rate)
