"""Raw C2PA manifest stores out of media files, and a small JUMBF box walker.

Flows through here: a media file (path or binary stream) and its MIME type in; out comes the
bytes of the JUMBF superbox labelled ``c2pa`` that the file embeds (the manifest store), or
``None`` when it embeds none. :mod:`cameoguard.provenance.certchain` walks those bytes with
:func:`iter_boxes` / :func:`parse_superbox` to reach a manifest's COSE signature.

Where each container keeps the store:

* JPEG: APP11 segments (``JP`` common identifier, box instance ``En``, sequence ``Z``). A store
  over ~64 KB spans several segments; each continuation repeats the box's LBox/TBox (and
  XLBox) header, which is dropped when the superbox is put back together.
* PNG: the ``caBX`` chunk.
* ISO BMFF (MP4, MOV, M4A, HEIC, AVIF): a top-level ``uuid`` box with the C2PA UUID, then
  version/flags, the purpose ``manifest``, an 8-byte merkle offset, then the JUMBF.
* RIFF (WAV, WebP, AVI): a top-level ``C2PA`` chunk.
* MP3: an ID3v2 ``GEOB`` frame of MIME type ``application/c2pa`` (c2pa-rs today) or
  ``application/x-c2pa-manifest-store`` (older writers).

Every length field is checked against the bytes that are really there before anything is read
or allocated, and every loop advances, so hostile or truncated input ends quickly: in ``None``
when the container simply holds no store, or in :class:`~cameoguard.errors.CorruptMediaError`
when a structure that should hold one is broken.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cameoguard.errors import CorruptMediaError, FileNotFoundInputError, UnsupportedMediaError

__all__ = [
    "C2PA_BMFF_UUID",
    "MANIFEST_STORE_LABEL",
    "MAX_STORE_BYTES",
    "SUPPORTED_MIME_TYPES",
    "Box",
    "SuperBox",
    "extract_manifest_store",
    "extract_manifest_store_from_stream",
    "find_superbox",
    "iter_boxes",
    "parse_superbox",
]

#: The extended type of the ISO BMFF ``uuid`` box that carries C2PA data.
C2PA_BMFF_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")
#: The jumd label of the manifest store superbox.
MANIFEST_STORE_LABEL = "c2pa"
#: No real manifest store comes near this; a length field claiming more is treated as corrupt.
MAX_STORE_BYTES = 256 * 1024 * 1024

_C2PA_ID3_MIMES = frozenset({"application/c2pa", "application/x-c2pa-manifest-store"})
_JUMD_LABEL_PRESENT = 0x02


# --------------------------------------------------------------------------- JUMBF boxes


@dataclass(frozen=True)
class Box:
    """One ISO/JUMBF box: ``type`` is the 4-character TBox, ``payload`` what follows the header."""

    type: str
    offset: int
    size: int
    header_size: int
    payload: bytes


@dataclass(frozen=True)
class SuperBox:
    """A ``jumb`` superbox: its description (``jumd``) and the content boxes after it."""

    box: Box
    label: str | None
    content_type: bytes
    toggles: int
    children: tuple[Box, ...]

    def child(self, label: str) -> SuperBox | None:
        """The first child superbox labelled ``label``, or None."""
        for box in self.children:
            if box.type == "jumb":
                sub = parse_superbox(box)
                if sub.label == label:
                    return sub
        return None

    def first(self, box_type: str) -> Box | None:
        """The first content box of type ``box_type`` (e.g. ``cbor``), or None."""
        return next((box for box in self.children if box.type == box_type), None)


def iter_boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[Box]:
    """Yield the boxes laid end to end in ``data[start:end]``.

    LBox is 4 bytes big-endian and counts the header; LBox 1 means an 8-byte XLBox follows the
    TBox, LBox 0 means the box runs to ``end``. A box that claims more bytes than remain raises
    :class:`CorruptMediaError`.
    """
    end = len(data) if end is None else min(end, len(data))
    pos = start
    while pos < end:
        left = end - pos
        if left < 8:
            raise CorruptMediaError(
                f"JUMBF box header at offset {pos} is cut short ({left} of 8 bytes); the "
                "manifest store is truncated, re-export the file from its original"
            )
        lbox, tbox = struct.unpack_from(">I4s", data, pos)
        header = 8
        if lbox == 1:
            if left < 16:
                raise CorruptMediaError(
                    f"JUMBF box at offset {pos} announces an XLBox but only {left} bytes "
                    "remain; the manifest store is truncated"
                )
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif lbox == 0:
            size = left
        else:
            size = lbox
        if size < header or size > left:
            raise CorruptMediaError(
                f"JUMBF box {tbox!r} at offset {pos} declares {size} bytes but {left} remain "
                f"(and its header alone is {header}); the manifest store is corrupt"
            )
        yield Box(
            type=tbox.decode("latin-1"),
            offset=pos,
            size=size,
            header_size=header,
            payload=bytes(data[pos + header : pos + size]),
        )
        pos += size


def parse_superbox(box: Box) -> SuperBox:
    """Read a ``jumb`` box: its ``jumd`` (16-byte type UUID, toggles, optional label) and content.

    Raises :class:`CorruptMediaError` when ``box`` is not a well-formed superbox.
    """
    if box.type != "jumb":
        raise CorruptMediaError(
            f"expected a JUMBF superbox ('jumb') at offset {box.offset}, found {box.type!r}; "
            "the manifest store is corrupt"
        )
    boxes = iter_boxes(box.payload)
    description = next(boxes, None)
    if description is None or description.type != "jumd" or len(description.payload) < 17:
        raise CorruptMediaError(
            f"JUMBF superbox at offset {box.offset} does not start with a description box "
            "('jumd', at least 17 bytes); the manifest store is corrupt"
        )
    content_type, toggles, label = _describe(description.payload, box.offset)
    return SuperBox(
        box=box, label=label, content_type=content_type, toggles=toggles, children=tuple(boxes)
    )


def _describe(desc: bytes, offset: int) -> tuple[bytes, int, str | None]:
    """(type UUID, toggles, label) from a ``jumd`` payload of at least 17 bytes."""
    toggles = desc[16]
    if not toggles & _JUMD_LABEL_PRESENT:
        return desc[:16], toggles, None
    nul = desc.find(b"\0", 17)
    if nul < 0:
        raise CorruptMediaError(
            f"JUMBF description at offset {offset} announces a label but never ends it with a "
            "NUL byte; the manifest store is corrupt"
        )
    try:
        return desc[:16], toggles, desc[17:nul].decode("utf-8")
    except UnicodeDecodeError:
        raise CorruptMediaError(
            f"JUMBF label at offset {offset} is not UTF-8; the manifest store is corrupt"
        ) from None


def find_superbox(data: bytes, label: str) -> SuperBox | None:
    """The first top-level superbox in ``data`` labelled ``label``, or None."""
    for box in iter_boxes(data):
        if box.type == "jumb":
            sub = parse_superbox(box)
            if sub.label == label:
                return sub
    return None


def _checked_store(data: bytes, where: str) -> bytes:
    """``data`` trimmed to its first box, which must be the ``c2pa`` superbox."""
    first = next(iter_boxes(data), None)
    store = parse_superbox(first) if first is not None and first.type == "jumb" else None
    if store is None or store.label != MANIFEST_STORE_LABEL:
        found = "nothing" if first is None else f"a {first.type!r} box"
        if store is not None:
            found = f"a superbox labelled {store.label!r}"
        raise CorruptMediaError(
            f"the {where} should hold a C2PA manifest store (a JUMBF superbox labelled "
            f"'c2pa') but holds {found}; the file's provenance data is corrupt"
        )
    return data[: first.size] if first is not None else data


# --------------------------------------------------------------------------- stream helpers


class _Source:
    """A seekable binary stream with its size, and reads that never pass its end."""

    def __init__(self, stream: BinaryIO, kind: str) -> None:
        self.stream = stream
        self.kind = kind
        self.size = stream.seek(0, os.SEEK_END)
        stream.seek(0)

    def read_at(self, offset: int, length: int, what: str) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise CorruptMediaError(
                f"{self.kind} {what} at offset {offset} needs {length} bytes but the file ends "
                f"at {self.size}; the file is truncated or its length fields are wrong"
            )
        if length > MAX_STORE_BYTES:
            raise CorruptMediaError(
                f"{self.kind} {what} at offset {offset} claims {length} bytes, more than the "
                f"{MAX_STORE_BYTES} a manifest store may have; the file is corrupt or hostile"
            )
        self.stream.seek(offset)
        data = self.stream.read(length)
        if len(data) != length:
            raise CorruptMediaError(
                f"{self.kind} {what} at offset {offset}: read {len(data)} of {length} bytes; "
                "the file is truncated"
            )
        return data


# --------------------------------------------------------------------------- JPEG


def _jpeg_store(src: _Source) -> bytes | None:
    if src.size < 4 or src.read_at(0, 2, "start") != b"\xff\xd8":
        raise CorruptMediaError(
            "file does not start with the JPEG SOI marker (FF D8); it is not a JPEG, so pass "
            "its real MIME type"
        )
    # box instance En -> {sequence Z: segment payload}, in file order of first appearance
    groups: dict[int, dict[int, bytes]] = {}
    pos = 2
    while pos + 4 <= src.size:
        marker = src.read_at(pos, 2, "marker")
        if marker[0] != 0xFF:
            raise CorruptMediaError(
                f"JPEG marker expected at offset {pos}, found byte {marker[0]:#04x}; the file "
                "is corrupt"
            )
        code = marker[1]
        if code == 0xFF:  # fill byte
            pos += 1
            continue
        if code in (0xDA, 0xD9):  # start of scan / end of image: no metadata after this
            break
        if code == 0x01 or code == 0xD8 or 0xD0 <= code <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", src.read_at(pos + 2, 2, "segment length"))
        if length < 2:
            raise CorruptMediaError(
                f"JPEG segment {code:#04x} at offset {pos} declares length {length} (minimum "
                "2); the file is corrupt"
            )
        if code == 0xEB:
            seg = src.read_at(pos + 4, length - 2, "APP11 segment")
            if len(seg) >= 16 and seg[:2] == b"JP":
                instance, seq = struct.unpack_from(">HI", seg, 2)
                parts = groups.setdefault(instance, {})
                if seq in parts and parts[seq] != seg[8:]:
                    raise CorruptMediaError(
                        f"JPEG holds two different APP11 segments for JUMBF instance "
                        f"{instance}, sequence {seq}; the file is corrupt"
                    )
                parts[seq] = seg[8:]
        elif pos + 2 + length > src.size:
            src.read_at(pos + 4, length - 2, f"segment {code:#04x}")  # raises: truncated
        pos += 2 + length
    for instance, parts in groups.items():
        if _app11_label(parts.get(1, b"")) == MANIFEST_STORE_LABEL:
            superbox = _join_app11(instance, parts)
            return _checked_store(superbox, f"JPEG APP11 JUMBF instance {instance}")
    return None


def _app11_label(first: bytes) -> str | None:
    """The jumd label in the first APP11 segment of a JUMBF box, or None if it has none."""
    if len(first) < 16:
        return None
    lbox, tbox = struct.unpack_from(">I4s", first, 0)
    header = 16 if lbox == 1 else 8
    if tbox != b"jumb" or len(first) < header + 8 + 17:
        return None
    size, dtype = struct.unpack_from(">I4s", first, header)
    if dtype != b"jumd" or size < 8 + 17 or header + size > len(first):
        return None
    return _describe(first[header + 8 : header + size], header)[2]


def _join_app11(instance: int, parts: dict[int, bytes]) -> bytes:
    """Put one JUMBF box back together from its APP11 segment payloads (Z = 1, 2, ...)."""
    where = f"JPEG APP11 JUMBF instance {instance}"
    first = parts.get(1)
    if first is None:
        raise CorruptMediaError(
            f"{where} has no segment with sequence number 1; the file is corrupt"
        )
    (lbox,) = struct.unpack_from(">I", first, 0)
    header = 16 if lbox == 1 else 8
    if len(first) < header:
        raise CorruptMediaError(f"{where}: the first segment is too short for its box header")
    declared = struct.unpack_from(">Q", first, 8)[0] if lbox == 1 else lbox
    if declared < header or declared > MAX_STORE_BYTES:
        raise CorruptMediaError(
            f"{where} declares a box of {declared} bytes (header {header}, limit "
            f"{MAX_STORE_BYTES}); the file is corrupt"
        )
    head = first[:header]
    chunks = [first]
    total = len(first)
    for seq in range(2, len(parts) + 1):
        part = parts.get(seq)
        if part is None:
            raise CorruptMediaError(
                f"{where} is missing segment {seq} of {len(parts)}; the file was cut or edited"
            )
        if part[:header] != head:
            raise CorruptMediaError(
                f"{where}: segment {seq} does not repeat the box header of segment 1; the "
                "file is corrupt"
            )
        chunks.append(part[header:])
        total += len(part) - header
    if total != declared:
        raise CorruptMediaError(
            f"{where} declares {declared} bytes but its {len(parts)} APP11 segment(s) carry "
            f"{total}; the file was cut or edited, re-export it from the original"
        )
    return b"".join(chunks)


# --------------------------------------------------------------------------- PNG


def _png_store(src: _Source) -> bytes | None:
    if src.size < 8 or src.read_at(0, 8, "signature") != b"\x89PNG\r\n\x1a\n":
        raise CorruptMediaError(
            "file does not start with the PNG signature; it is not a PNG, so pass its real "
            "MIME type"
        )
    pos = 8
    while pos + 12 <= src.size:
        length, ctype = struct.unpack(">I4s", src.read_at(pos, 8, "chunk header"))
        if pos + 12 + length > src.size:
            raise CorruptMediaError(
                f"PNG chunk {ctype!r} at offset {pos} declares {length} bytes but the file "
                f"ends at {src.size}; the file is truncated"
            )
        if ctype == b"caBX":
            return _checked_store(src.read_at(pos + 8, length, "caBX chunk"), "PNG caBX chunk")
        if ctype == b"IEND":
            break
        pos += 12 + length
    return None


# --------------------------------------------------------------------------- ISO BMFF


def _bmff_store(src: _Source) -> bytes | None:
    pos = 0
    while pos + 8 <= src.size:
        size, btype = struct.unpack(">I4s", src.read_at(pos, 8, "box header"))
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", src.read_at(pos + 8, 8, "box largesize"))
            header = 16
        elif size == 0:
            size = src.size - pos
        if size < header or pos + size > src.size:
            raise CorruptMediaError(
                f"ISO BMFF box {btype!r} at offset {pos} declares {size} bytes but "
                f"{src.size - pos} remain; the file is truncated or corrupt"
            )
        if (
            btype == b"uuid"
            and size >= header + 16
            and src.read_at(pos + header, 16, "uuid box type") == C2PA_BMFF_UUID
        ):
            store = _bmff_c2pa_box(src, pos + header + 16, pos + size)
            if store is not None:
                return store
        pos += size
    return None


def _bmff_c2pa_box(src: _Source, start: int, end: int) -> bytes | None:
    """The JUMBF in a C2PA ``uuid`` box body, or None for a box of another purpose (merkle)."""
    peek = src.read_at(start, min(end - start, 4 + 64), "C2PA uuid box")
    nul = peek.find(b"\0", 4)
    if nul < 0:
        raise CorruptMediaError(
            f"C2PA uuid box at offset {start} has no NUL-terminated purpose string; the file "
            "is corrupt"
        )
    if peek[4:nul] != b"manifest":
        return None
    jumbf_at = start + nul + 1 + 8  # skip the 8-byte merkle offset
    if jumbf_at > end:
        raise CorruptMediaError(f"C2PA uuid box at offset {start} ends before its JUMBF")
    data = src.read_at(jumbf_at, end - jumbf_at, "C2PA uuid box JUMBF")
    return _checked_store(data, "ISO BMFF C2PA uuid box")


# --------------------------------------------------------------------------- RIFF


def _riff_store(src: _Source) -> bytes | None:
    if src.size < 12 or src.read_at(0, 4, "header") != b"RIFF":
        raise CorruptMediaError(
            "file does not start with a RIFF header; it is not a WAV, WebP or AVI file, so "
            "pass its real MIME type"
        )
    pos = 12
    while pos + 8 <= src.size:
        cid, length = struct.unpack("<4sI", src.read_at(pos, 8, "chunk header"))
        if pos + 8 + length > src.size:
            raise CorruptMediaError(
                f"RIFF chunk {cid!r} at offset {pos} declares {length} bytes but the file ends "
                f"at {src.size}; the file is truncated"
            )
        if cid == b"C2PA":
            return _checked_store(src.read_at(pos + 8, length, "C2PA chunk"), "RIFF C2PA chunk")
        pos += 8 + length + (length & 1)
    return None


# --------------------------------------------------------------------------- TIFF / DNG

_TIFF_C2PA_TAG = 0xCD41  # C2PA manifest store, type UNDEFINED, in IFD0
_TIFF_MAX_ENTRIES = 4096


def _tiff_store(src: _Source) -> bytes | None:
    head = src.read_at(0, 8, "header") if src.size >= 8 else b""
    if head[:4] not in (b"II*\x00", b"MM\x00*"):
        raise CorruptMediaError("file does not start with a TIFF header; pass its real MIME type")
    endian = "<" if head[:2] == b"II" else ">"
    (ifd,) = struct.unpack(endian + "I", head[4:8])
    (count,) = struct.unpack(endian + "H", src.read_at(ifd, 2, "IFD0 entry count"))
    if count > _TIFF_MAX_ENTRIES:
        raise CorruptMediaError(
            f"TIFF IFD0 claims {count} entries (more than {_TIFF_MAX_ENTRIES}); the file is corrupt"
        )
    entries = src.read_at(ifd + 2, 12 * count, "IFD0 entries")
    for n in range(count):
        tag, kind, length, value = struct.unpack(endian + "HHII", entries[12 * n : 12 * n + 12])
        if tag != _TIFF_C2PA_TAG:
            continue
        if kind not in (1, 7):  # BYTE or UNDEFINED
            raise CorruptMediaError(
                f"TIFF C2PA tag has type {kind}, not bytes; the file is corrupt"
            )
        data = (
            entries[12 * n + 8 : 12 * n + 8 + length]
            if length <= 4
            else src.read_at(value, length, "C2PA tag data")
        )
        return _checked_store(data, "TIFF C2PA tag")
    return None


# --------------------------------------------------------------------------- MP3 (ID3v2)


def _syncsafe(data: bytes, what: str) -> int:
    if any(b & 0x80 for b in data):
        raise CorruptMediaError(f"ID3 {what} is not a sync-safe integer; the tag is corrupt")
    value = 0
    for b in data:
        value = (value << 7) | b
    return value


def _mp3_store(src: _Source) -> bytes | None:
    if src.size < 10:
        return None
    head = src.read_at(0, 10, "ID3 header")
    if head[:3] != b"ID3":
        return None  # no ID3v2 tag, so no GEOB frame and no manifest store
    major, flags = head[3], head[5]
    if major not in (2, 3, 4):
        raise CorruptMediaError(f"ID3v2.{major} tags are not supported (only 2.2-2.4)")
    body = src.read_at(10, _syncsafe(head[6:10], "tag size"), "ID3 tag")
    if flags & 0x80 and major < 4:  # whole-tag unsynchronisation
        body = body.replace(b"\xff\x00", b"\xff")
    pos = 0
    if flags & 0x40 and major >= 3:  # extended header
        if len(body) < 4:
            raise CorruptMediaError("ID3 extended header is cut short; the tag is corrupt")
        if major == 4:
            pos = _syncsafe(body[:4], "extended header size")
        else:
            pos = struct.unpack(">I", body[:4])[0] + 4
    id_len, hdr_len = (3, 6) if major == 2 else (4, 10)
    while pos + hdr_len <= len(body):
        frame_id = body[pos : pos + id_len]
        if frame_id[0] == 0:  # padding
            break
        if major == 2:
            size = int.from_bytes(body[pos + 3 : pos + 6], "big")
            fmt_flags = 0
        elif major == 3:
            size = struct.unpack_from(">I", body, pos + 4)[0]
            fmt_flags = body[pos + 9]
        else:
            size = _syncsafe(body[pos + 4 : pos + 8], "frame size")
            fmt_flags = body[pos + 9]
        start, end = pos + hdr_len, pos + hdr_len + size
        if end > len(body):
            raise CorruptMediaError(
                f"ID3 frame {frame_id!r} at tag offset {pos} declares {size} bytes but the tag "
                f"has {len(body) - start} left; the tag is corrupt"
            )
        if frame_id in (b"GEOB", b"GEO"):
            store = _geob_store(body[start:end], major, fmt_flags)
            if store is not None:
                return store
        pos = end
    return None


def _geob_store(frame: bytes, major: int, fmt_flags: int) -> bytes | None:
    if (major == 3 and fmt_flags & 0xC0) or (major == 4 and fmt_flags & 0x0C):
        return None  # compressed or encrypted frame: not how C2PA writers store it
    if major == 4:
        if fmt_flags & 0x40:  # grouping identity byte
            frame = frame[1:]
        if fmt_flags & 0x01:  # data length indicator
            frame = frame[4:]
        if fmt_flags & 0x02:  # frame unsynchronisation
            frame = frame.replace(b"\xff\x00", b"\xff")
    elif major == 3 and fmt_flags & 0x20:
        frame = frame[1:]
    if not frame:
        return None
    encoding = frame[0]
    wide = encoding in (1, 2)
    mime_end = frame.find(b"\0", 1)
    if mime_end < 0:
        return None
    mime = frame[1:mime_end].decode("latin-1").strip().lower()
    if mime not in _C2PA_ID3_MIMES:
        return None
    pos = mime_end + 1
    for _ in range(2):  # file name, then content description
        pos = _after_terminator(frame, pos, wide)
        if pos < 0:
            raise CorruptMediaError(
                "ID3 GEOB frame for the C2PA manifest store has an unterminated file name or "
                "description; the tag is corrupt"
            )
    return _checked_store(frame[pos:], "ID3 GEOB frame")


def _after_terminator(data: bytes, pos: int, wide: bool) -> int:
    """Offset just past the string starting at ``pos`` (NUL, or NUL NUL aligned for UTF-16)."""
    if not wide:
        nul = data.find(b"\0", pos)
        return -1 if nul < 0 else nul + 1
    while pos + 1 < len(data):
        if data[pos] == 0 and data[pos + 1] == 0:
            return pos + 2
        pos += 2
    return -1


# --------------------------------------------------------------------------- dispatch

_EXTRACTORS: dict[str, Callable[[_Source], bytes | None]] = {}
for _mime in ("image/jpeg", "image/jpg", "image/pjpeg"):
    _EXTRACTORS[_mime] = _jpeg_store
_EXTRACTORS["image/png"] = _png_store
for _mime in (
    "video/mp4", "video/quicktime", "video/x-m4v", "audio/mp4", "audio/x-m4a", "audio/m4a",
    "application/mp4", "image/heic", "image/heif", "image/avif",
):  # fmt: skip
    _EXTRACTORS[_mime] = _bmff_store
for _mime in (
    "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "image/webp", "image/x-webp",
    "video/avi", "video/x-msvideo", "video/msvideo",
):  # fmt: skip
    _EXTRACTORS[_mime] = _riff_store
for _mime in ("audio/mpeg", "audio/mp3", "audio/x-mp3", "audio/mpeg3"):
    _EXTRACTORS[_mime] = _mp3_store
for _mime in ("image/tiff", "image/x-adobe-dng", "image/dng"):
    _EXTRACTORS[_mime] = _tiff_store

#: MIME types :func:`extract_manifest_store` understands.
SUPPORTED_MIME_TYPES = frozenset(_EXTRACTORS)


def _kind(mime: str) -> str:
    return mime.split("/", 1)[-1].upper()


def extract_manifest_store_from_stream(stream: BinaryIO, mime: str) -> bytes | None:
    """The raw ``c2pa`` JUMBF superbox embedded in a seekable binary ``stream``, or None.

    Raises :class:`UnsupportedMediaError` for a MIME type outside :data:`SUPPORTED_MIME_TYPES`
    and :class:`CorruptMediaError` when the container or its store is truncated or malformed.
    """
    key = mime.split(";", 1)[0].strip().lower()
    extractor = _EXTRACTORS.get(key)
    if extractor is None:
        raise UnsupportedMediaError(
            f"cannot look for a C2PA manifest store in MIME type {mime!r}; supported: "
            f"{', '.join(sorted(SUPPORTED_MIME_TYPES))}"
        )
    try:
        return extractor(_Source(stream, _kind(key)))
    except (struct.error, IndexError, UnicodeDecodeError) as exc:  # defensive: never leak these
        raise CorruptMediaError(
            f"{_kind(key)} structure could not be parsed ({exc}); the file is corrupt"
        ) from None


def extract_manifest_store(path: Path, mime: str) -> bytes | None:
    """The raw ``c2pa`` JUMBF superbox embedded in the file at ``path``, or None when it has none.

    Raises :class:`FileNotFoundInputError` when ``path`` is not a readable file, and otherwise as
    :func:`extract_manifest_store_from_stream`.
    """
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below; open errors mapped first
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise FileNotFoundInputError(
            f"{path} does not exist or is not a file; check the path"
        ) from None
    with fh:
        return extract_manifest_store_from_stream(fh, mime)
