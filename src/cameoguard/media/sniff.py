"""Recognise a media container from its first bytes, never from its file name.

A path or a ``bytes`` prefix flows in; a :class:`~cameoguard.media.types.MediaType` flows out,
or :class:`~cameoguard.errors.UnsupportedMediaError` saying what the content looks like
instead, or :class:`~cameoguard.errors.CorruptMediaError` for an empty file. Only a few hundred
bytes are read (a few more for TIFF, to tell DNG apart).

ISO media (MP4, MOV, M4A, AVIF, HEIC) is classified by its ``ftyp`` brands. An MP4 with a
generic brand (``isom``) may hold only audio; :func:`cameoguard.media.probe.probe` refines the
kind from the streams it finds.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO

from cameoguard.errors import CorruptMediaError, UnsupportedMediaError
from cameoguard.media.types import MediaKind, MediaType

__all__ = [
    "AVIF",
    "DNG",
    "FLAC",
    "GIF",
    "HEIC",
    "JPEG",
    "M4A",
    "MEDIA_TYPES",
    "MOV",
    "MP3",
    "MP4",
    "PNG",
    "SUPPORTED_MIME_TYPES",
    "TIFF",
    "WAV",
    "WEBP",
    "sniff",
]

_I, _V, _A = MediaKind.IMAGE, MediaKind.VIDEO, MediaKind.AUDIO

JPEG = MediaType(_I, "image/jpeg", ".jpg", "JPEG")
PNG = MediaType(_I, "image/png", ".png", "PNG")
WEBP = MediaType(_I, "image/webp", ".webp", "WebP")
GIF = MediaType(_I, "image/gif", ".gif", "GIF")
TIFF = MediaType(_I, "image/tiff", ".tif", "TIFF")
DNG = MediaType(_I, "image/x-adobe-dng", ".dng", "DNG")
AVIF = MediaType(_I, "image/avif", ".avif", "AVIF")
HEIC = MediaType(_I, "image/heic", ".heic", "HEIC")
MP4 = MediaType(_V, "video/mp4", ".mp4", "MP4")
MOV = MediaType(_V, "video/quicktime", ".mov", "QuickTime")
M4A = MediaType(_A, "audio/mp4", ".m4a", "M4A")
WAV = MediaType(_A, "audio/wav", ".wav", "WAV")
MP3 = MediaType(_A, "audio/mpeg", ".mp3", "MP3")
FLAC = MediaType(_A, "audio/flac", ".flac", "FLAC")

MEDIA_TYPES: dict[str, MediaType] = {
    t.mime: t for t in (JPEG, PNG, WEBP, GIF, TIFF, DNG, AVIF, HEIC, MP4, MOV, M4A, WAV, MP3, FLAC)
}
SUPPORTED_MIME_TYPES: tuple[str, ...] = tuple(MEDIA_TYPES)

_HEAD = 512  # bytes read for every sniff; ftyp boxes longer than this are cut (brands suffice)

_AVIF_BRANDS = {b"avif", b"avis"}
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_M4A_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
_MOV_BRANDS = {b"qt  "}
_MP4_BRANDS = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9",
    b"mp41", b"mp42", b"mp71", b"avc1", b"hvc1", b"av01", b"dash", b"msnv", b"M4V ", b"M4VH",
    b"M4VP", b"f4v ", b"mmp4", b"XAVC", b"MSNV", b"3gp4", b"3gp5", b"3gp6", b"3g2a", b"cmfc",
}  # fmt: skip

# Recognised but unsupported content, so the message can say what the file is.
_OTHER_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x1aE\xdf\xa3", "a Matroska/WebM video"),
    (b"OggS", "an Ogg (Vorbis/Opus/Theora) file"),
    (b"BM", "a BMP image"),
    (b"\x7fELF", "an executable (ELF)"),
    (b"MZ", "a Windows executable"),
    (b"\x00\x00\x01\xba", "an MPEG program stream"),
    (b"\xff\x0a", "a JPEG XL image"),
    (b"\x00\x00\x00\x0cJXL ", "a JPEG XL image"),
    (b"8BPS", "a Photoshop document"),
    (b"FORM", "an AIFF/IFF file"),
)


def _supported_list() -> str:
    return ", ".join(f"{t.format} ({t.mime})" for t in MEDIA_TYPES.values())


def _read_head(source: str | os.PathLike[str] | bytes) -> tuple[bytes, str, Path | None]:
    """Return the first bytes, a label for messages, and the path (None for bytes input)."""
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source[:_HEAD]), "data", None
    path = Path(source)
    with open(path, "rb") as fh:
        return fh.read(_HEAD), str(path), path


def sniff(source: str | os.PathLike[str] | bytes) -> MediaType:
    """Identify the media type of a file (or a bytes prefix of one) from its magic bytes.

    Raises CorruptMediaError for empty content and UnsupportedMediaError for anything else
    that is not one of :data:`SUPPORTED_MIME_TYPES`. OSError from reading a path propagates.
    """
    head, label, path = _read_head(source)
    if not head:
        raise CorruptMediaError(
            f"{label}: file is empty (0 bytes); check the upload or export it again",
            code="media.empty",
        )
    found = _match(head, path)
    if found is not None:
        return found
    description, known = _describe(head)
    what = "which cameoguard does not handle" if known else "not an image, video or audio file"
    raise UnsupportedMediaError(
        f"{label}: content {description}, {what}; supported: {_supported_list()}. Check that "
        "the file is what its name says, or convert it to one of these"
    )


def _match(head: bytes, path: Path | None) -> MediaType | None:
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return DNG if path is not None and _tiff_is_dng(path, head) else TIFF
    if head.startswith((b"II+\x00", b"MM\x00+")):
        return TIFF  # BigTIFF
    if head[4:8] == b"ftyp":
        return _match_ftyp(head)
    if head.startswith(b"fLaC"):
        return FLAC
    if head.startswith(b"ID3") or _is_mpeg_audio_frame(head):
        return MP3
    return None


def _match_ftyp(head: bytes) -> MediaType | None:
    size = struct.unpack(">I", head[:4])[0]
    end = min(len(head), size if size >= 16 else len(head))
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, end - 3, 4)}
    brands = {major} | compatible
    if major in _AVIF_BRANDS or (major in {b"mif1", b"msf1"} and compatible & _AVIF_BRANDS):
        return AVIF
    if major in _HEIC_BRANDS:
        return HEIC
    if major in _M4A_BRANDS:
        return M4A
    if major in _MOV_BRANDS:
        return MOV
    if major in _MP4_BRANDS:
        return MP4
    # Unknown major brand: fall back on the compatible list, most specific first.
    for group, media_type in (
        (_AVIF_BRANDS, AVIF),
        (_HEIC_BRANDS, HEIC),
        (_M4A_BRANDS, M4A),
        (_MOV_BRANDS, MOV),
        (_MP4_BRANDS, MP4),
    ):
        if brands & group:
            return media_type
    return None


def _is_mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG-1/2 audio frame header (0xFFE sync) with valid layer, bitrate and rate fields.

    ADTS AAC shares the sync word but has layer 0, so it is not mistaken for MP3.
    """
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0x3
    layer = (head[1] >> 1) & 0x3
    bitrate_index = head[2] >> 4
    rate_index = (head[2] >> 2) & 0x3
    return version != 1 and layer != 0 and bitrate_index != 0xF and rate_index != 0x3


def _tiff_is_dng(path: Path, head: bytes) -> bool:
    """True when IFD0 carries the DNGVersion tag (50706); reads only that directory."""
    endian = "<" if head[:2] == b"II" else ">"
    try:
        with open(path, "rb") as fh:
            return _ifd0_has_tag(fh, endian, struct.unpack(endian + "I", head[4:8])[0], 50706)
    except (OSError, struct.error):
        return False


def _ifd0_has_tag(fh: BinaryIO, endian: str, offset: int, tag: int) -> bool:
    fh.seek(offset)
    (count,) = struct.unpack(endian + "H", fh.read(2))
    entries = fh.read(12 * min(count, 4096))
    return any(
        struct.unpack(endian + "H", entries[i : i + 2])[0] == tag
        for i in range(0, len(entries) - 11, 12)
    )


def _describe(head: bytes) -> tuple[str, bool]:
    """How the content looks, and whether it is a known (but unsupported) format."""
    for signature, what in _OTHER_SIGNATURES:
        if head.startswith(signature):
            return f"looks like {what}", True
    if head[4:8] == b"ftyp":
        brand = head[8:12].decode("ascii", "replace")
        return f"is ISO media with the unknown brand {brand!r}", True
    if head[4:8] == b"styp":
        return "looks like a DASH/CMAF media segment (it needs its init segment)", True
    if _looks_like_text(head):
        return "starts like text", False
    return f"starts with bytes {head[:8].hex(' ')} that match no known signature", False


def _looks_like_text(head: bytes) -> bool:
    sample = head[:_HEAD]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 3:  # not just a character cut at the end of the sample
            return False
        text = sample[: exc.start].decode("utf-8")
    return bool(text) and all(ch.isprintable() or ch in "\t\n\r\f\v" for ch in text)
