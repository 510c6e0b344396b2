"""Byte-level tampering of signed files: change the media payload, keep the manifest."""

from __future__ import annotations

from pathlib import Path

#: Where the media payload (not the manifest) sits, per format: a marker to search for.
_PAYLOAD_MARKERS = {
    "jpeg": (b"\xff\xda", 200),  # start of scan -> entropy-coded pixels
    "png": (b"IDAT", 64),
    "webp": (b"VP8", 64),
    "mp4": (b"mdat", 2000),
    "m4a": (b"mdat", 2000),
    "wav": (b"data", 2000),
}
SIGNABLE = ["jpeg", "png", "webp", "mp4", "wav", "mp3", "m4a"]


def flip_media_bytes(src: Path, dst: Path, fmt: str) -> None:
    """Change bytes inside the media payload, leaving the manifest store alone."""
    data = bytearray(src.read_bytes())
    if fmt == "mp3":
        start = len(data) * 3 // 4  # ID3 tag with the manifest sits at the start
    else:
        marker, skip = _PAYLOAD_MARKERS[fmt]
        pos = data.rfind(marker) if fmt == "jpeg" else data.find(marker)
        assert pos > 0, f"no {marker!r} in {src}"
        start = pos + skip
    for offset in range(start, min(start + 400, len(data) - 16), 37):
        data[offset] ^= 0x55
    dst.write_bytes(bytes(data))
