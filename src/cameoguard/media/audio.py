"""Sound in and out: audio tracks become float32 clips, clips become WAV/MP3/M4A/FLAC files.

``read_audio_track`` decodes the first audio stream of any probed file (an audio file or a
video's soundtrack) and returns None when there is none; ``load_audio`` is the strict form
for callers that need sound. ``write_audio`` encodes an :class:`AudioClip` with PyAV into a
temporary file and moves it into place only when complete.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from cameoguard.errors import BadInputError, CorruptMediaError, OperationError
from cameoguard.fsutil import atomic_output
from cameoguard.media import _av
from cameoguard.media.probe import probe
from cameoguard.media.types import AudioClip, Limits, MediaKind

__all__ = [
    "AUDIO_WRITE_FORMATS",
    "audio_frames",
    "audio_layout",
    "load_audio",
    "read_audio_track",
    "write_audio",
]

#: What ``write_audio`` writes, keyed by lower-case suffix: (FFmpeg muxer, encoder).
AUDIO_WRITE_FORMATS: dict[str, tuple[str, str]] = {
    ".wav": ("wav", "pcm_s16le"),
    ".mp3": ("mp3", "libmp3lame"),
    ".m4a": ("ipod", "aac"),
    ".flac": ("flac", "flac"),
}
_FORMAT_NAMES = {"wav": ".wav", "mp3": ".mp3", "m4a": ".m4a", "aac": ".m4a", "flac": ".flac"}
_LOSSLESS = {"pcm_s16le", "flac"}
_CHUNK = 4096  # samples per frame handed to the encoder (PyAV re-frames for the codec)


def read_audio_track(path: str | os.PathLike[str], limits: Limits) -> AudioClip | None:
    """Decode the first audio stream of ``path``; None for images and silent videos.

    The length limit is the video limit for a video's soundtrack, the audio limit otherwise.
    A declared audio track without any decodable samples is CorruptMediaError.
    """
    info = probe(path, limits)
    if not info.has_audio:
        return None
    if info.kind is MediaKind.VIDEO:
        max_seconds, env = limits.max_video_seconds, "CAMEOGUARD_MAX_VIDEO_SECONDS"
    else:
        max_seconds, env = limits.max_audio_seconds, "CAMEOGUARD_MAX_AUDIO_SECONDS"
    with _av.open_input(info.path, info.type.format) as container:
        stream = _av.audio_stream(container)
        if stream is None:  # pragma: no cover - probe saw one
            return None
        stream.thread_type = "AUTO"
        clip = _av.decode_audio(
            container,
            stream,
            max_seconds=max_seconds,
            what=f"{info.path}: {info.kind}",
            env=env,
        )
    if clip is None:
        raise CorruptMediaError(
            f"{info.path}: the {info.type.format} file declares an audio track but it holds no "
            "decodable samples; export or upload it again"
        )
    return clip


def load_audio(path: str | os.PathLike[str], limits: Limits) -> AudioClip:
    """Decode the sound of an audio file (WAV, MP3, M4A, FLAC) or of a video.

    Raises BadInputError (code ``media.no_audio``) when there is no sound to decode.
    """
    clip = read_audio_track(path, limits)
    if clip is None:
        raise BadInputError(
            f"{path}: has no audio track to load; pass an audio file (WAV, MP3, M4A, FLAC) or a "
            "video with sound",
            code="media.no_audio",
        )
    return clip


def audio_layout(channels: int) -> av.AudioLayout:
    """FFmpeg's default layout for ``channels`` (mono, stereo, 5.1, ...)."""
    return av.AudioLayout(f"{channels}c")


def audio_frames(clip: AudioClip, start: int = 0, stop: int | None = None) -> Iterator[Any]:
    """PyAV float-planar frames of ``clip.samples[:, start:stop]``, timestamped in samples."""
    layout = audio_layout(clip.channels)
    stop = clip.n_samples if stop is None else min(stop, clip.n_samples)
    for first in range(start, stop, _CHUNK):
        piece = np.ascontiguousarray(clip.samples[:, first : min(first + _CHUNK, stop)])
        frame = av.AudioFrame.from_ndarray(piece, format="fltp", layout=layout)
        frame.sample_rate = clip.sample_rate
        frame.time_base = Fraction(1, clip.sample_rate)
        frame.pts = first
        yield frame


def _check_clip(clip: AudioClip) -> AudioClip:
    if clip.n_samples == 0:
        raise BadInputError("audio clip holds no samples; pass at least one sample to write")
    if not np.isfinite(clip.samples).all():
        raise BadInputError(
            "audio clip holds NaN or infinite samples; clean them (np.nan_to_num) before writing"
        )
    return clip


def write_audio(
    clip: AudioClip,
    path: str | os.PathLike[str],
    format: str | None = None,
    bitrate: int = 128_000,
) -> Path:
    """Encode ``clip`` to ``path`` (WAV pcm_s16le, MP3, M4A/AAC or FLAC), atomically.

    ``format`` ("wav", "mp3", "m4a", "flac") defaults to the suffix; ``bitrate`` (bits per
    second) applies to MP3 and M4A. Returns the destination path.
    """
    dest = Path(path)
    suffix = _FORMAT_NAMES.get(format.lower().lstrip(".")) if format else dest.suffix.lower()
    if suffix not in AUDIO_WRITE_FORMATS:
        raise BadInputError(
            f"{dest}: cannot write audio as {format or dest.suffix!r}; use one of "
            f"{', '.join(AUDIO_WRITE_FORMATS)} (as suffix or format=)"
        )
    if bitrate <= 0 or not math.isfinite(bitrate):
        raise ValueError(f"bitrate must be a positive number of bits per second, got {bitrate}")
    muxer, codec = AUDIO_WRITE_FORMATS[suffix]
    if codec not in av.codecs_available:
        raise OperationError(
            f"{dest}: this PyAV build has no {codec} encoder, so it cannot write {suffix} "
            "files; write .m4a or .wav instead"
        )
    _check_clip(clip)
    with atomic_output(dest) as tmp:
        try:
            with av.open(str(tmp), mode="w", format=muxer) as out:
                stream: Any = out.add_stream(
                    codec, rate=clip.sample_rate, layout=audio_layout(clip.channels)
                )
                if codec not in _LOSSLESS:
                    stream.bit_rate = int(bitrate)
                for frame in audio_frames(clip):
                    out.mux(stream.encode(frame))
                out.mux(stream.encode(None))
        except _av.AV_ERRORS as exc:
            raise OperationError(
                f"{dest}: encoding {clip.channels}-channel audio at {clip.sample_rate} Hz as "
                f"{codec} failed ({_av.describe_error(exc)}); nothing was written. Try "
                "another format or resample to 44100 or 48000 Hz"
            ) from None
    return dest
