"""sniff: magic bytes decide the type, never the file name; unknown content says what it is."""

from __future__ import annotations

import struct
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, features

from cameoguard.errors import CorruptMediaError, UnsupportedMediaError
from cameoguard.media import (
    SUPPORTED_MIME_TYPES,
    MediaKind,
    save_image,
    sniff,
    write_audio,
)

from .conftest import ImageFactory, ToneFactory


@pytest.mark.parametrize(
    ("suffix", "mime"),
    [(".jpg", "image/jpeg"), (".png", "image/png"), (".webp", "image/webp")],
)
def test_images_we_write(tmp_path: Path, make_image: ImageFactory, suffix: str, mime: str) -> None:
    path = save_image(make_image(), tmp_path / f"img{suffix}")
    media_type = sniff(path)
    assert (media_type.mime, media_type.kind) == (mime, MediaKind.IMAGE)
    assert sniff(path.read_bytes()) == media_type  # bytes work as well as paths


@pytest.mark.parametrize(
    ("pillow_format", "mime"),
    [("GIF", "image/gif"), ("TIFF", "image/tiff"), ("AVIF", "image/avif")],
)
def test_images_pillow_writes(
    tmp_path: Path, make_image: ImageFactory, pillow_format: str, mime: str
) -> None:
    if pillow_format == "AVIF" and not features.check("avif"):
        pytest.skip("this Pillow build cannot write AVIF")
    path = tmp_path / "img.bin"
    Image.fromarray(make_image()).save(path, format=pillow_format)
    assert sniff(path).mime == mime


@pytest.mark.parametrize(
    ("suffix", "mime"),
    [(".wav", "audio/wav"), (".mp3", "audio/mpeg"), (".m4a", "audio/mp4"), (".flac", "audio/flac")],
)
def test_audio_we_write(tmp_path: Path, make_tone: ToneFactory, suffix: str, mime: str) -> None:
    path = write_audio(make_tone(0.2), tmp_path / f"tone{suffix}")
    media_type = sniff(path)
    assert (media_type.mime, media_type.kind, media_type.extension) == (
        mime,
        MediaKind.AUDIO,
        suffix,
    )


def test_video_we_write(sample_video: Path) -> None:
    media_type = sniff(sample_video)
    assert (media_type.mime, media_type.kind) == ("video/mp4", MediaKind.VIDEO)


def test_quicktime_mov(tmp_path: Path) -> None:
    path = tmp_path / "clip.mov"
    with av.open(str(path), mode="w", format="mov") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i * 50, np.uint8), "rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    assert sniff(path).mime == "video/quicktime"


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + b"\x00" * 32


@pytest.mark.parametrize(
    ("head", "mime"),
    [
        (_ftyp(b"heic", b"mif1", b"heic"), "image/heic"),
        (_ftyp(b"mif1", b"mif1", b"heic"), "image/heic"),
        (_ftyp(b"avif", b"avif", b"mif1", b"miaf"), "image/avif"),
        (_ftyp(b"mif1", b"avif", b"mif1"), "image/avif"),
        (_ftyp(b"qt  ", b"qt  "), "video/quicktime"),
        (_ftyp(b"M4A ", b"M4A ", b"mp42", b"isom"), "audio/mp4"),
        (_ftyp(b"isom", b"isom", b"avc1"), "video/mp4"),
        (_ftyp(b"zzzz", b"isom"), "video/mp4"),  # unknown major brand, known compatible one
        (b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 20, "audio/mpeg"),
        (b"\xff\xfb\x90\x64" + b"\x00" * 60, "audio/mpeg"),  # MPEG-1 layer III frame header
        (b"fLaC\x00\x00\x00\x22" + b"\x00" * 20, "audio/flac"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 20, "audio/wav"),
        (b"GIF89a\x01\x00\x01\x00", "image/gif"),
        (b"MM\x00*\x00\x00\x00\x08" + b"\x00" * 20, "image/tiff"),
    ],
)
def test_crafted_headers(head: bytes, mime: str) -> None:
    assert sniff(head).mime == mime


def test_dng_is_told_apart_from_tiff(tmp_path: Path) -> None:
    # Little-endian TIFF, IFD0 at offset 8 with one entry: DNGVersion (50706) = 1.4.0.0.
    ifd = struct.pack("<H", 1) + struct.pack("<HHI4s", 50706, 1, 4, b"\x01\x04\x00\x00")
    path = tmp_path / "raw.tif"
    path.write_bytes(b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0))
    assert sniff(path).mime == "image/x-adobe-dng"
    plain = tmp_path / "plain.tif"
    Image.new("RGB", (4, 4)).save(plain, format="TIFF")
    assert sniff(plain).mime == "image/tiff"


def test_name_is_ignored(tmp_path: Path, make_image: ImageFactory) -> None:
    png_named_jpg = tmp_path / "photo.jpg"
    png_named_jpg.write_bytes((save_image(make_image(), tmp_path / "x.png")).read_bytes())
    assert sniff(png_named_jpg).mime == "image/png"


def test_text_named_jpg_is_unsupported_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("hello, this is a shopping list\nmilk\neggs\n", encoding="utf-8")
    with pytest.raises(UnsupportedMediaError) as caught:
        sniff(path)
    message = str(caught.value)
    assert "starts like text" in message
    assert "not an image, video or audio file" in message
    assert all(mime in message for mime in SUPPORTED_MIME_TYPES)
    assert caught.value.code == "media.unsupported"


def test_empty_file_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.touch()
    with pytest.raises(CorruptMediaError, match=r"file is empty \(0 bytes\)"):
        sniff(path)


def test_random_bytes_are_unsupported(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    path = tmp_path / "noise.mp4"
    path.write_bytes(b"\x13\x37" + rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(UnsupportedMediaError, match="match no known signature"):
        sniff(path)


@pytest.mark.parametrize(
    ("head", "described"),
    [
        (b"%PDF-1.7\n", "PDF document"),
        (b"BM" + b"\x00" * 40, "BMP image"),
        (b"\x1aE\xdf\xa3" + b"\x00" * 40, "Matroska/WebM"),
        (_ftyp(b"crx ", b"crx "), "unknown brand 'crx '"),
        (b"\xff\xf1\x50\x80\x02\x1f\xfc" + b"\x00" * 20, "match no known signature"),  # ADTS AAC
    ],
)
def test_known_but_unsupported_content_is_named(head: bytes, described: str) -> None:
    with pytest.raises(UnsupportedMediaError, match=described):
        sniff(head)


def test_supported_list_covers_every_family() -> None:
    kinds = {mime.split("/")[0] for mime in SUPPORTED_MIME_TYPES}
    assert kinds == {"image", "video", "audio"}
