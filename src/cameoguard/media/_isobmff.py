"""Read MP4/MOV/M4A stream facts straight from the ``moov`` box, without FFmpeg.

``probe`` needs duration, frame size, frame count and rate, codecs and audio format to apply
limits before anything is decoded. FFmpeg's container open costs about 5 ms even for a header
read; walking ``moov`` (mvhd, and per track mdhd, hdlr, stsd, stsz) costs well under 1 ms.

Only plain, progressive files are read here. Anything unusual (fragmented files, several
tracks of a kind, unknown codecs, missing or inconsistent boxes, edit lists) returns None and
``probe`` asks FFmpeg instead. Every length is checked against its parent box, so hostile
input can only make this return None.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = ["BadBox", "IsoFacts", "read_facts", "top_level_boxes"]

_MAX_MOOV = 64 * 1024 * 1024
_VIDEO_CODECS = {b"avc1": "h264", b"avc3": "h264", b"hvc1": "hevc", b"hev1": "hevc",
                 b"av01": "av1", b"vp09": "vp9", b"mp4v": "mpeg4"}  # fmt: skip
_AUDIO_CODECS = {b"mp4a": "aac", b"Opus": "opus", b"fLaC": "flac", b"alac": "alac",
                 b".mp3": "mp3", b"ac-3": "ac3", b"ec-3": "eac3"}  # fmt: skip


@dataclass(frozen=True)
class IsoFacts:
    duration_s: float | None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    frame_count: int | None = None
    video_codec: str | None = None
    has_audio: bool = False
    audio_sample_rate: int | None = None
    audio_channels: int | None = None
    audio_codec: str | None = None

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None


class _Unsupported(Exception):
    """Not a plain file this reader handles: fall back to FFmpeg."""


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                raise _Unsupported
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise _Unsupported
        yield kind, pos + header, pos + size
        pos += size
    if pos != end:
        raise _Unsupported


def _child(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int]:
    found = [(s, e) for k, s, e in _boxes(data, start, end) if k == kind]
    if len(found) != 1:
        raise _Unsupported
    return found[0]


class BadBox(Exception):
    """A top-level box whose declared size does not fit the file."""

    def __init__(self, kind: str, offset: int, size: int) -> None:
        super().__init__(f"box {kind!r} at byte {offset} declares {size} bytes")
        self.kind, self.offset, self.size = kind, offset, size


def top_level_boxes(fh: BinaryIO, file_size: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, offset, size) of each top-level box; :class:`BadBox` when one overruns the file."""
    pos = 0
    while pos + 8 <= file_size:
        fh.seek(pos)
        head = fh.read(16)
        box_size, kind = struct.unpack_from(">I4s", head)
        if box_size == 1 and len(head) == 16:
            (box_size,) = struct.unpack_from(">Q", head, 8)
        elif box_size == 0:  # extends to the end of the file
            box_size = file_size - pos
        if box_size < 8 or pos + box_size > file_size:
            raise BadBox(kind.decode("latin-1"), pos, box_size)
        yield kind, pos, box_size
        pos += box_size


def _find_moov(path: Path, size: int) -> bytes:
    with open(path, "rb") as fh:
        for kind, offset, box_size in top_level_boxes(fh, size):
            if kind == b"moov":
                if box_size > _MAX_MOOV:
                    raise _Unsupported
                fh.seek(offset)
                return fh.read(box_size)
    raise _Unsupported


def _full_box_times(data: bytes, start: int, end: int) -> tuple[int, int]:
    """(timescale, duration) of an mvhd or mdhd box payload."""
    version = data[start]
    if version == 1 and start + 32 <= end:
        timescale, duration = struct.unpack_from(">IQ", data, start + 20)
    elif version == 0 and start + 20 <= end:
        timescale, duration = struct.unpack_from(">II", data, start + 12)
    else:
        raise _Unsupported
    if timescale == 0:
        raise _Unsupported
    return timescale, duration


@dataclass(frozen=True)
class _Track:
    handler: bytes
    entry: bytes
    seconds: float
    media_seconds: float = 0.0
    width: int = 0
    height: int = 0
    count: int = 0
    channels: int = 0
    rate: int = 0


def _edit_seconds(moov: bytes, start: int, end: int, movie_scale: int) -> float | None:
    """Presented length from a simple edit list (one entry, normal rate), else unsupported.

    Encoders write one such entry to skip AAC priming or B-frame delay; anything richer
    (empty edits, several segments, other rates) is left to FFmpeg.
    """
    kinds = [(k, s, e) for k, s, e in _boxes(moov, start, end) if k == b"edts"]
    if not kinds:
        return None
    if len(kinds) > 1:
        raise _Unsupported
    elst_start, elst_end = _child(moov, kinds[0][1], kinds[0][2], b"elst")
    if elst_end - elst_start < 8:
        raise _Unsupported
    version = moov[elst_start]
    (count,) = struct.unpack_from(">I", moov, elst_start + 4)
    layout, length = (">QqHH", 20) if version == 1 else (">IiHH", 12)
    if count != 1 or elst_start + 8 + length > elst_end:
        raise _Unsupported
    duration, media_time, rate, fraction = struct.unpack_from(layout, moov, elst_start + 8)
    if media_time < 0 or rate != 1 or fraction != 0:
        raise _Unsupported
    return duration / movie_scale if duration > 0 else None


def _track(moov: bytes, start: int, end: int, movie_scale: int) -> _Track:
    edited = _edit_seconds(moov, start, end, movie_scale)
    mdia = _child(moov, start, end, b"mdia")
    hdlr = _child(moov, *mdia, b"hdlr")
    if hdlr[1] - hdlr[0] < 12:
        raise _Unsupported
    handler = moov[hdlr[0] + 8 : hdlr[0] + 12]
    timescale, duration = _full_box_times(moov, *_child(moov, *mdia, b"mdhd"))
    minf = _child(moov, *mdia, b"minf")
    stbl = _child(moov, *minf, b"stbl")
    stsd = _child(moov, *stbl, b"stsd")
    if stsd[1] - stsd[0] < 8 or struct.unpack_from(">I", moov, stsd[0] + 4)[0] != 1:
        raise _Unsupported  # one sample description per track, or FFmpeg decides
    entries = list(_boxes(moov, stsd[0] + 8, stsd[1]))
    if len(entries) != 1:
        raise _Unsupported
    entry, e_start, e_end = entries[0]
    media_seconds = duration / timescale
    seconds = edited if edited is not None else media_seconds
    if handler == b"vide":
        if e_end - e_start < 28:
            raise _Unsupported
        width, height = struct.unpack_from(">HH", moov, e_start + 24)
        stsz = _child(moov, *stbl, b"stsz")
        if stsz[1] - stsz[0] < 12:
            raise _Unsupported
        (count,) = struct.unpack_from(">I", moov, stsz[0] + 8)
        return _Track(handler, entry, seconds, width=width, height=height, count=count,
                      media_seconds=media_seconds)  # fmt: skip
    if handler == b"soun":
        if e_end - e_start < 28:
            raise _Unsupported
        version = struct.unpack_from(">H", moov, e_start + 8)[0]
        channels = struct.unpack_from(">H", moov, e_start + 16)[0]
        rate = struct.unpack_from(">I", moov, e_start + 24)[0] >> 16
        if version != 0 or not channels or not rate:
            raise _Unsupported
        return _Track(handler, entry, seconds, channels=channels, rate=rate)
    return _Track(handler, entry, seconds)


def _read(path: Path, size: int) -> IsoFacts:
    moov = _find_moov(path, size)
    start, end = 8, len(moov)
    if struct.unpack_from(">I", moov)[0] == 1:
        start = 16
    kinds = [k for k, _, _ in _boxes(moov, start, end)]
    if b"mvex" in kinds:
        raise _Unsupported  # fragmented
    movie_scale, movie_duration = _full_box_times(moov, *_child(moov, start, end, b"mvhd"))
    tracks = [
        _track(moov, s, e, movie_scale) for k, s, e in _boxes(moov, start, end) if k == b"trak"
    ]
    video = [t for t in tracks if t.handler == b"vide"]
    audio = [t for t in tracks if t.handler == b"soun"]
    if len(video) > 1 or len(audio) > 1 or not (video or audio):
        raise _Unsupported
    longest = max([t.seconds for t in video + audio] + [movie_duration / movie_scale])
    facts = IsoFacts(duration_s=longest if longest > 0 else None)
    if video:
        v = video[0]
        codec = _VIDEO_CODECS.get(v.entry)
        if codec is None or not v.count or v.media_seconds <= 0 or not v.width or not v.height:
            raise _Unsupported
        facts = dataclasses.replace(facts, width=v.width, height=v.height,
                                    fps=v.count / v.media_seconds, frame_count=v.count,
                                    video_codec=codec)  # fmt: skip
    if audio:
        a = audio[0]
        audio_codec = _AUDIO_CODECS.get(a.entry)
        if audio_codec is None:
            raise _Unsupported
        facts = dataclasses.replace(facts, has_audio=True, audio_sample_rate=a.rate,
                                    audio_channels=a.channels, audio_codec=audio_codec)  # fmt: skip
    return facts


def read_facts(path: Path, size: int) -> IsoFacts | None:
    """Stream facts of a plain MP4/MOV/M4A, or None when FFmpeg should be asked instead."""
    try:
        return _read(path, size)
    except (_Unsupported, BadBox, struct.error, ValueError, IndexError, OSError):
        return None
