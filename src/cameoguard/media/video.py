"""Video in and out with PyAV: files become :class:`Frame` streams, arrays become H.264 MP4.

Reading probes first (limits, truncation), then decodes the first real video stream. Frames
come out upright RGB (the display-matrix rotation is applied, so a 90° phone video yields
height×width frames) with ``pts_s`` in seconds from the stream start. ``sample_frames`` seeks
to evenly spaced times instead of decoding everything, unless the file is short or its
keyframes are too far apart for seeking to pay. ``write_video`` encodes H.264 (libx264,
yuv420p) with optional AAC sound into an MP4 written atomically with ``+faststart``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from fractions import Fraction
from itertools import chain
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from cameoguard.errors import BadInputError, OperationError, UnsupportedMediaError
from cameoguard.fsutil import atomic_output
from cameoguard.media import _av
from cameoguard.media.audio import audio_frames, audio_layout, read_audio_track
from cameoguard.media.probe import probe
from cameoguard.media.types import AudioClip, Frame, Limits, MediaInfo, MediaKind

__all__ = ["iter_frames", "read_audio", "sample_frames", "write_video"]

# Seek only when the next sample lies this far beyond the decoder's position; closer targets
# are reached faster by decoding on.
_SEEK_GAP_S = 2.0


def _video_info(path: str | os.PathLike[str], limits: Limits) -> MediaInfo:
    info = probe(path, limits)
    if info.kind is not MediaKind.VIDEO:
        raise UnsupportedMediaError(
            f"{info.path}: this is a {info.type.format} {info.kind}, not a video; pass a video "
            "file (MP4 or MOV)"
        )
    return info


def _rgb(frame: Any) -> npt.NDArray[np.uint8]:
    rgb = frame.to_ndarray(format="rgb24")
    turns = round((frame.rotation or 0) / 90) % 4  # counter-clockwise display rotation
    if turns:
        rgb = np.rot90(rgb, k=turns)
    return np.ascontiguousarray(rgb, dtype=np.uint8)


class _Decoder:
    """One open video stream: decodes frames and knows where they sit in time."""

    def __init__(self, container: Any, info: MediaInfo, limits: Limits) -> None:
        self.container = container
        stream = _av.video_stream(container)
        if stream is None:  # pragma: no cover - probe found one
            raise UnsupportedMediaError(f"{info.path}: no video stream; pass a video file")
        self.stream = stream
        self.stream.thread_type = "AUTO"
        self.time_base = self.stream.time_base
        start = self.stream.start_time
        self.start_s = float(start * self.time_base) if start is not None else 0.0
        self.fps = info.fps or 25.0
        self.path = info.path
        self.limits = limits

    def frames(self) -> Iterator[tuple[float, Any]]:
        """(seconds from stream start, av frame) in presentation order from the current spot."""
        for count, frame in enumerate(self.container.decode(self.stream)):
            t = frame.time - self.start_s if frame.time is not None else count / self.fps
            if t > self.limits.max_video_seconds + 1.0:
                raise _av.seconds_limit_error(
                    f"{self.path}: video",
                    t,
                    self.limits.max_video_seconds,
                    "CAMEOGUARD_MAX_VIDEO_SECONDS",
                )
            yield t, frame

    def seek(self, t: float) -> None:
        offset = math.floor((t + self.start_s) / self.time_base)
        self.container.seek(offset, backward=True, any_frame=False, stream=self.stream)

    def frame(self, index: int | None, t: float, frame: Any) -> Frame:
        return Frame(index if index is not None else round(t * self.fps), t, _rgb(frame))


def iter_frames(path: str | os.PathLike[str], limits: Limits) -> Iterator[Frame]:
    """Decode every frame of the video at ``path`` in order (probing happens at call time)."""
    info = _video_info(path, limits)
    return _iter_frames(info, limits)


def _iter_frames(info: MediaInfo, limits: Limits) -> Iterator[Frame]:
    with _av.open_input(info.path, info.type.format) as container:
        decoder = _Decoder(container, info, limits)
        for index, (t, frame) in enumerate(decoder.frames()):
            yield decoder.frame(index, t, frame)


def sample_frames(path: str | os.PathLike[str], n: int, limits: Limits) -> list[Frame]:
    """``min(n, frames available)`` frames evenly spaced over the video, pts increasing.

    Sample i is the frame nearest to ``duration * (i + 0.5) / n`` (a later one when that
    frame was already taken).
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    info = _video_info(path, limits)
    total = info.frame_count
    if total is None and info.duration_s and info.fps:
        total = round(info.duration_s * info.fps)
    if total is not None and info.duration_s and 2 * n < total:
        frames = _sample_by_seeking(info, n, limits)
        if len(frames) == n:
            return frames
    return _sample_by_index(info, n, total, limits)


def _sample_by_seeking(info: MediaInfo, n: int, limits: Limits) -> list[Frame]:
    half_frame = 0.5 / (info.fps or 25.0)
    chosen: list[Frame] = []
    with _av.open_input(info.path, info.type.format) as container:
        decoder = _Decoder(container, info, limits)
        # The video stream's own length: a longer soundtrack must not stretch the targets.
        duration = _av.duration_s(container, decoder.stream) or info.duration_s or 0.0
        targets = [duration * (i + 0.5) / n for i in range(n)]
        frames: Iterator[tuple[float, Any]] | None = None
        position: float | None = None  # time of the last decoded frame
        seeking_pays = True
        for target in targets:
            just_seeked = False
            if frames is None or (seeking_pays and target - (position or 0.0) > _SEEK_GAP_S):
                decoder.seek(target)
                frames = decoder.frames()
                just_seeked = True
            pick: tuple[float, Any] | None = None
            reached = False
            for t, frame in frames:
                if just_seeked:
                    just_seeked = False
                    if position is not None and t <= position:
                        seeking_pays = False  # keyframes too sparse: decode on from here
                position = t
                if chosen and t <= chosen[-1].pts_s:
                    continue
                pick = (t, frame)
                if t >= target - half_frame:
                    reached = True
                    break
            if pick is not None:  # at the end of the stream, the last new frame
                chosen.append(decoder.frame(None, *pick))
            if not reached:
                break
    return chosen


def _sample_by_index(info: MediaInfo, n: int, total: int | None, limits: Limits) -> list[Frame]:
    """Decode sequentially and keep evenly spaced frame indices (counting first if needed)."""
    if total is None:
        total = _count_frames(info, limits)
    frames, decoded = _pick_indices(info, _even_indices(total, n), limits)
    if len(frames) < min(n, decoded):  # the declared frame count was too high: pick again
        frames, _ = _pick_indices(info, _even_indices(decoded, n), limits)
    return frames


def _pick_indices(
    info: MediaInfo, wanted: frozenset[int], limits: Limits
) -> tuple[list[Frame], int]:
    """The frames at ``wanted`` indices (only those converted to RGB), and how many decoded."""
    frames: list[Frame] = []
    decoded = 0
    with _av.open_input(info.path, info.type.format) as container:
        decoder = _Decoder(container, info, limits)
        for index, (t, frame) in enumerate(decoder.frames()):
            decoded += 1
            if index in wanted:
                frames.append(decoder.frame(index, t, frame))
                if len(frames) == len(wanted):
                    break
    return frames, decoded


def _even_indices(total: int, n: int) -> frozenset[int]:
    if total <= n:
        return frozenset(range(total))
    return frozenset(int(i) for i in np.round(np.linspace(0, total - 1, n)))


def _count_frames(info: MediaInfo, limits: Limits) -> int:
    with _av.open_input(info.path, info.type.format) as container:
        stream = _av.video_stream(container)
        return sum(1 for packet in container.demux(stream) if packet.size)


def read_audio(path: str | os.PathLike[str], limits: Limits) -> AudioClip | None:
    """The soundtrack of a video (or the sound of an audio file); None when there is none."""
    return read_audio_track(path, limits)


# --- writing ----------------------------------------------------------------------------------


def _check_frame(rgb: Any, index: int, shape: tuple[int, int] | None) -> npt.NDArray[np.uint8]:
    array = np.asarray(rgb)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise BadInputError(
            f"frame {index} has shape {array.shape} and dtype {array.dtype}; video frames must "
            "be (height, width, 3) uint8 RGB arrays"
        )
    height, width = array.shape[:2]
    if shape is None and (height % 2 or width % 2 or not height or not width):
        raise BadInputError(
            f"frames are {width}×{height}; H.264 in yuv420p needs an even, non-zero width and "
            f"height; crop or pad the frames, e.g. rgb[:{height - height % 2}, "
            f":{width - width % 2}]",
            code="media.odd_dimensions",
        )
    if shape is not None and (height, width) != shape:
        raise BadInputError(
            f"frame {index} is {width}×{height} but the video is {shape[1]}×{shape[0]}; give "
            "every frame the same size"
        )
    return np.ascontiguousarray(array)


def write_video(
    path: str | os.PathLike[str],
    frames: Iterable[npt.NDArray[np.uint8]],
    fps: float,
    audio: AudioClip | None = None,
    crf: int = 20,
    *,
    preset: str = "medium",
    keyframe_interval: int | None = None,
    audio_bitrate: int = 128_000,
) -> Path:
    """Encode RGB frames (and optional sound) as an H.264/AAC MP4 at ``path``, atomically.

    Frames must all be (H, W, 3) uint8 with even H and W. ``crf`` is x264's quality (0-51,
    lower is better); ``preset`` its speed ("ultrafast" ... "veryslow"); ``keyframe_interval``
    the most frames between keyframes (x264's default is 250; shorter makes seeking cheaper and
    files larger). Sound longer than the frames is kept. If ``frames`` raises, the exception
    propagates and nothing is written. Returns the destination path.
    """
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps}")
    if not 0 <= crf <= 51:
        raise ValueError(f"crf must be between 0 and 51, got {crf}")
    if keyframe_interval is not None and keyframe_interval < 1:
        raise ValueError(f"keyframe_interval must be at least 1, got {keyframe_interval}")
    options: dict[str, object] = {"crf": str(crf), "preset": preset}
    if keyframe_interval is not None:
        options["g"] = str(keyframe_interval)
    if audio is not None and (audio.n_samples == 0 or not np.isfinite(audio.samples).all()):
        raise BadInputError(
            "the audio clip is empty or holds NaN/infinite samples; pass real sound or None"
        )
    dest = Path(path)
    rate = Fraction(fps).limit_denominator(1001)
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise BadInputError(f"{dest}: no frames to write; pass at least one frame")
    first = _check_frame(first, 0, None)
    shape = (int(first.shape[0]), int(first.shape[1]))
    with atomic_output(dest) as tmp:
        try:
            with av.open(
                str(tmp), mode="w", format="mp4", container_options={"movflags": "+faststart"}
            ) as out:
                video = out.add_stream("libx264", rate=rate)
                video.width, video.height = shape[1], shape[0]
                video.pix_fmt = "yuv420p"
                video.options = options
                sound = _add_audio_stream(out, audio, audio_bitrate)
                sent = 0  # audio samples muxed so far
                for index, rgb in enumerate(chain([first], iterator)):
                    frame = av.VideoFrame.from_ndarray(
                        _check_frame(rgb, index, shape), format="rgb24"
                    )
                    out.mux(video.encode(frame))
                    if sound is not None and audio is not None:
                        until = math.ceil((index + 1) / rate * audio.sample_rate)
                        sent = _mux_audio(out, sound, audio, sent, until)
                out.mux(video.encode(None))
                if sound is not None and audio is not None:
                    _mux_audio(out, sound, audio, sent, audio.n_samples)
                    out.mux(sound.encode(None))
        except _av.AV_ERRORS as exc:
            raise OperationError(
                f"{dest}: H.264/AAC encoding failed ({_av.describe_error(exc)}); nothing was "
                "written. Check the frame size, fps and audio sample rate"
            ) from None
    return dest


def _add_audio_stream(out: Any, audio: AudioClip | None, bitrate: int) -> Any | None:
    if audio is None:
        return None
    stream = out.add_stream("aac", rate=audio.sample_rate, layout=audio_layout(audio.channels))
    stream.bit_rate = bitrate
    return stream


def _mux_audio(out: Any, stream: Any, clip: AudioClip, start: int, stop: int) -> int:
    stop = min(stop, clip.n_samples)
    for frame in audio_frames(clip, start, stop):
        out.mux(stream.encode(frame))
    return max(start, stop)
