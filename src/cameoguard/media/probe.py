"""Inspect a media file from its headers and enforce limits before anything is decoded.

A path and :class:`Limits` flow in; a :class:`MediaInfo` flows out. The order is the defence:
existence, then size (before reading content), then magic bytes, then headers only (Pillow's
lazy open for images, PyAV stream metadata for video and audio), then cheap structural checks
that catch truncation (JPEG end-of-image marker, PNG ``IEND``, ISO media box sizes). Pixels
and samples are never decoded here.

Errors: FileNotFoundInputError, BadInputError (unreadable), MediaLimitError (bytes, pixels,
seconds), UnsupportedMediaError, CorruptMediaError.
"""

from __future__ import annotations

import dataclasses
import mmap
import os
import re
import struct
from pathlib import Path
from typing import Any

import av

from cameoguard.errors import (
    BadInputError,
    CorruptMediaError,
    FileNotFoundInputError,
    MediaLimitError,
)
from cameoguard.media import _av, _isobmff, _pillow
from cameoguard.media.sniff import M4A, MP4, sniff
from cameoguard.media.types import Limits, MediaInfo, MediaKind, MediaType

__all__ = ["check_file_size", "probe"]

# In entropy-coded data 0xFF is followed by 0x00 (stuffing), a restart marker or a fill byte.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_ISO_MIMES = {"video/mp4", "video/quicktime", "audio/mp4", "image/avif", "image/heic"}
# read from the moov box without FFmpeg (see _isobmff); FFmpeg is the fallback
_FAST_MIMES = {"video/mp4", "video/quicktime", "audio/mp4"}


def probe(
    path: str | os.PathLike[str], limits: Limits, *, check_structure: bool = True
) -> MediaInfo:
    """Describe ``path`` and check it against ``limits``, decoding nothing.

    ``check_structure=False`` skips the truncation checks (JPEG end marker, PNG ``IEND``, ISO
    box sizes) for callers that must still look inside a damaged file, such as a provenance
    verifier that reports the damage itself; limits, type and headers are still checked.
    """
    p = Path(path)
    size = check_file_size(p, limits)
    try:
        media_type = sniff(p)
    except OSError as exc:
        raise BadInputError(
            f"{p}: cannot be read ({exc.strerror or exc}); check its permissions",
            code="input.unreadable",
        ) from None
    if check_structure and media_type.mime in _ISO_MIMES:
        _check_iso_boxes(p, size, media_type)
    if media_type.kind is MediaKind.IMAGE:
        return _probe_image(p, media_type, size, limits, check_structure=check_structure)
    return _probe_av(p, media_type, size, limits)


def check_file_size(path: Path, limits: Limits) -> int:
    """Return the size of ``path`` after checking it exists, is a file, and is small enough."""
    if not path.exists():
        raise FileNotFoundInputError(f"{path}: no such file; check the path and try again")
    if not path.is_file():
        raise FileNotFoundInputError(
            f"{path} is not a regular file (a directory?); pass the path of a media file"
        )
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise MediaLimitError(
            f"{path}: file is {_human_bytes(size)}, the limit is {_human_bytes(limits.max_bytes)}"
            "; raise CAMEOGUARD_MAX_UPLOAD_BYTES or send a smaller file"
        )
    return size


def _human_bytes(n: int) -> str:
    value, unit = float(n), ""
    for name in ("KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value, unit = value / 1024, name
    return f"{n:,} bytes ({value:.1f} {unit})" if unit else f"{n:,} bytes"


# --- images ------------------------------------------------------------------------------


def _probe_image(
    path: Path, media_type: MediaType, size: int, limits: Limits, *, check_structure: bool
) -> MediaInfo:
    if _pillow.pillow_format(media_type) is None:
        # No decoder (HEIC without pillow-heif): the dimensions still come from the header.
        width, height = _iso_image_size(path, media_type)
    else:
        with _pillow.open_image(path, media_type, limits) as im:
            width, height = im.size
    _pillow.check_pixels(f"{path}: image is", width, height, limits)
    if check_structure:
        _check_image_structure(path, media_type, size)
    return MediaInfo(path=path, type=media_type, size_bytes=size, width=width, height=height)


def _check_image_structure(path: Path, media_type: MediaType, size: int) -> None:
    if media_type.mime == "image/jpeg" and not _jpeg_is_complete(path):
        raise CorruptMediaError(
            f"{path}: the JPEG ends before its end-of-image marker, so it is truncated or "
            "damaged; export or upload it again"
        )
    if media_type.mime == "image/png" and not _png_is_complete(path, size):
        raise CorruptMediaError(
            f"{path}: the PNG has no IEND chunk at its end, so it is truncated; export or "
            "upload it again"
        )


def _jpeg_is_complete(path: Path) -> bool:
    """Walk the JPEG marker segments and scans to the EOI marker (data after it is ignored).

    Only marker bytes are examined (scan data is skipped with a regex search), so this costs
    a linear byte search, not a decode. Stray bytes between segments are skipped, as libjpeg
    does.
    """
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
        n = len(m)
        pos = 2  # after SOI
        while pos < n:
            pos = m.find(b"\xff", pos)
            if pos < 0:
                return False
            while pos < n and m[pos] == 0xFF:  # fill bytes
                pos += 1
            if pos >= n:
                return False
            marker = m[pos]
            pos += 1
            if marker == 0xD9:  # EOI
                return True
            if 0xD0 <= marker <= 0xD7 or marker in (0x00, 0x01):  # standalone markers
                continue
            if pos + 2 > n:
                return False
            pos += (m[pos] << 8) | m[pos + 1]
            if marker == 0xDA:  # SOS: skip entropy-coded data up to the next real marker
                found = _NEXT_MARKER.search(m, pos)
                if found is None:
                    return False
                pos = found.start()
        return False


def _png_is_complete(path: Path, size: int) -> bool:
    with open(path, "rb") as fh:
        fh.seek(max(0, size - 4096))
        return b"IEND" in fh.read()


# --- ISO media (MP4, MOV, M4A, AVIF, HEIC) ------------------------------------------------


def _check_iso_boxes(path: Path, size: int, media_type: MediaType) -> None:
    """Every top-level box must fit in the file; a cut-off ``mdat`` or ``moov`` fails here."""
    with open(path, "rb") as fh:
        try:
            for _box in _isobmff.top_level_boxes(fh, size):
                continue  # walking every box is the check; BadBox stops it
        except _isobmff.BadBox as bad:
            raise CorruptMediaError(
                f"{path}: the {media_type.format} box {bad.kind!r} at byte {bad.offset:,} "
                f"declares {bad.size:,} bytes but the file ends at byte {size:,}, so it is "
                "truncated or damaged; export or upload it again"
            ) from None


def _iso_image_size(path: Path, media_type: MediaType) -> tuple[int, int]:
    """Largest ``ispe`` (image spatial extents) property in the first 1 MiB of a HEIF file."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    best: tuple[int, int] | None = None
    start = 0
    while (i := head.find(b"ispe", start)) >= 4 and i + 16 <= len(head):
        width, height = struct.unpack(">II", head[i + 8 : i + 16])
        if best is None or width * height > best[0] * best[1]:
            best = (width, height)
        start = i + 4
    if best is None:
        raise CorruptMediaError(
            f"{path}: the {media_type.format} file declares no image size (no 'ispe' "
            "property); it is damaged or incomplete, export it again"
        )
    return best


# --- video and audio ------------------------------------------------------------------------


def _probe_av(path: Path, media_type: MediaType, size: int, limits: Limits) -> MediaInfo:
    info = _probe_iso_headers(path, media_type, size) if media_type.mime in _FAST_MIMES else None
    if info is None:
        info = _probe_with_ffmpeg(path, media_type, size)
    _check_av_limits(path, info, limits)
    return info


def _probe_iso_headers(path: Path, media_type: MediaType, size: int) -> MediaInfo | None:
    """Plain MP4/MOV/M4A from their ``moov`` box (about 0.2 ms against FFmpeg's 5 ms)."""
    facts = _isobmff.read_facts(path, size)
    if facts is None:
        return None
    if media_type.kind is MediaKind.VIDEO and not facts.has_video:
        media_type = (
            M4A if media_type == MP4 else dataclasses.replace(media_type, kind=MediaKind.AUDIO)
        )
    if media_type.kind is MediaKind.AUDIO and not facts.has_audio:
        return None  # FFmpeg gives the precise error
    video: dict[str, Any] = {}
    if media_type.kind is MediaKind.VIDEO:
        video = {"width": facts.width, "height": facts.height, "fps": facts.fps,
                 "frame_count": facts.frame_count, "video_codec": facts.video_codec}  # fmt: skip
    return MediaInfo(
        path=path, type=media_type, size_bytes=size, duration_s=facts.duration_s,
        has_audio=facts.has_audio, audio_sample_rate=facts.audio_sample_rate,
        audio_channels=facts.audio_channels, audio_codec=facts.audio_codec, **video,
    )  # fmt: skip


def _probe_with_ffmpeg(path: Path, media_type: MediaType, size: int) -> MediaInfo:
    with _av.open_input(path, media_type.format) as container:
        video = _av.video_stream(container)
        audio = _av.audio_stream(container)
        media_type = _refine_kind(path, media_type, video, audio)
        if media_type.kind is MediaKind.AUDIO:
            video = None
        durations = [_av.duration_s(container, s) for s in (video, audio) if s is not None]
        if container.duration is not None and container.duration > 0:
            durations.append(float(container.duration / av.time_base))
        known = [d for d in durations if d is not None]
        duration = max(known) if known else None
        info = MediaInfo(
            path=path,
            type=media_type,
            size_bytes=size,
            duration_s=duration,
            has_audio=audio is not None,
            **(_video_fields(video) if video is not None else {}),
            **(_audio_fields(audio) if audio is not None else {}),
        )
    return info


def _check_av_limits(path: Path, info: MediaInfo, limits: Limits) -> None:
    media_type, duration = info.type, info.duration_s
    if info.width is not None and info.height is not None:
        _pillow.check_pixels(f"{path}: video frames are", info.width, info.height, limits)
    if duration is not None:
        if media_type.kind is MediaKind.VIDEO and duration > limits.max_video_seconds:
            raise _av.seconds_limit_error(
                f"{path}: video", duration, limits.max_video_seconds, "CAMEOGUARD_MAX_VIDEO_SECONDS"
            )
        if media_type.kind is MediaKind.AUDIO and duration > limits.max_audio_seconds:
            raise _av.seconds_limit_error(
                f"{path}: audio", duration, limits.max_audio_seconds, "CAMEOGUARD_MAX_AUDIO_SECONDS"
            )


def _refine_kind(path: Path, media_type: MediaType, video: Any, audio: Any) -> MediaType:
    if video is None and audio is None:
        raise CorruptMediaError(
            f"{path}: the {media_type.format} file holds no audio or video stream; export or "
            "upload it again"
        )
    if media_type.kind is MediaKind.VIDEO and video is None:
        # An MP4/MOV with only sound (generic 'isom' brand): it is audio.
        return M4A if media_type == MP4 else dataclasses.replace(media_type, kind=MediaKind.AUDIO)
    if media_type.kind is MediaKind.AUDIO and audio is None:
        raise CorruptMediaError(
            f"{path}: the {media_type.format} file holds no audio stream; export it again"
        )
    return media_type


def _video_fields(stream: Any) -> dict[str, Any]:
    ctx = stream.codec_context
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return {
        "width": int(ctx.width) or None,
        "height": int(ctx.height) or None,
        "fps": float(rate) if rate else None,
        "frame_count": int(stream.frames) or None,
        "video_codec": ctx.name,
    }


def _audio_fields(stream: Any) -> dict[str, Any]:
    ctx = stream.codec_context
    return {
        "audio_sample_rate": int(ctx.sample_rate) or None,
        "audio_channels": int(ctx.channels) or None,
        "audio_codec": ctx.name,
    }
