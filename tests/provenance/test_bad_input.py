"""Bad input to signing: a clear error naming the problem, and nothing written."""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from pathlib import Path

import pytest

from cameoguard.errors import (
    CameoguardError,
    CertificateProfileError,
    CorruptMediaError,
    FileNotFoundInputError,
    KeyMaterialError,
    MediaLimitError,
    UnsupportedMediaError,
)
from cameoguard.media import Limits
from cameoguard.provenance.keys import init_dev_ca, load_credentials
from cameoguard.provenance.manifest import ManifestSpec
from cameoguard.provenance.sign import sign_file
from cameoguard.provenance.signers import ClaimSigner


def _png_header_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _bad_inputs(sample_media: dict[str, Path], folder: Path) -> dict[str, tuple[Path, type, str]]:
    folder.mkdir()
    empty = folder / "empty.jpg"
    empty.write_bytes(b"")
    jpeg = sample_media["jpeg"].read_bytes()
    truncated_jpeg = folder / "truncated.jpg"
    truncated_jpeg.write_bytes(jpeg[: len(jpeg) // 2])
    mp4 = sample_media["mp4"].read_bytes()
    truncated_mp4 = folder / "truncated.mp4"
    truncated_mp4.write_bytes(mp4[: len(mp4) // 2])
    text = folder / "notes.jpg"
    text.write_text("this is not a picture\n" * 20)
    bomb = folder / "bomb.png"
    bomb.write_bytes(_png_header_claiming(50_000, 50_000))
    unsupported = folder / "doc.pdf"
    unsupported.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    return {
        "missing file": (folder / "nope.jpg", FileNotFoundInputError, "no such file"),
        "empty file": (empty, CorruptMediaError, "empty"),
        "truncated jpeg": (truncated_jpeg, CorruptMediaError, "truncated"),
        "truncated mp4": (truncated_mp4, CorruptMediaError, r"truncat|damaged|corrupt"),
        "text named .jpg": (text, UnsupportedMediaError, "text"),
        "50000x50000 png": (bomb, MediaLimitError, r"50000.*50000|2500000000"),
        "pdf": (unsupported, UnsupportedMediaError, "supported"),
    }


CASES = ["missing file", "empty file", "truncated jpeg", "truncated mp4", "text named .jpg",
         "50000x50000 png", "pdf"]  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_bad_media_is_refused_and_nothing_written(
    case: str, sample_media: dict[str, Path], claim_signer: ClaimSigner, limits: Limits,
    tmp_path: Path,
) -> None:  # fmt: skip
    path, error, pattern = _bad_inputs(sample_media, tmp_path / "in")[case]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(error, match=pattern) as info:
        sign_file(path, out_dir / "signed.jpg", ManifestSpec.ai_generated("x", generator="g"),
                  claim_signer, limits=limits)  # fmt: skip
    assert "Traceback" not in info.value.message
    assert list(out_dir.iterdir()) == []


def test_video_over_duration_limit(
    sample_media: dict[str, Path], claim_signer: ClaimSigner, tmp_path: Path
) -> None:
    limits = Limits(max_bytes=10**9, max_pixels=10**8, max_video_seconds=1.0,
                    max_audio_seconds=600)  # fmt: skip
    with pytest.raises(MediaLimitError, match=r"CAMEOGUARD_MAX_VIDEO_SECONDS"):
        sign_file(
            sample_media["mp4"],
            tmp_path / "o.mp4",
            ManifestSpec.ai_generated("x", generator="g"),
            claim_signer,
            limits=limits,
        )
    assert not (tmp_path / "o.mp4").exists()


def test_upload_over_byte_limit(
    sample_media: dict[str, Path], claim_signer: ClaimSigner, tmp_path: Path
) -> None:
    limits = Limits(max_bytes=1000, max_pixels=10**8, max_video_seconds=60, max_audio_seconds=60)
    with pytest.raises(MediaLimitError, match="limit"):
        sign_file(
            sample_media["jpeg"],
            tmp_path / "o.jpg",
            ManifestSpec.ai_generated("x", generator="g"),
            claim_signer,
            limits=limits,
        )


def test_missing_key_and_bad_certificates(tmp_path: Path) -> None:
    with pytest.raises(KeyMaterialError, match="keys init"):
        load_credentials(tmp_path / "none.pem", tmp_path / "none.key")
    old = init_dev_ca(tmp_path / "old", signer_days=10,
                      now=dt.datetime.now(dt.UTC) - dt.timedelta(days=100))  # fmt: skip
    with pytest.raises(CertificateProfileError, match="expired"):
        load_credentials(old.signer_chain, old.signer_key)
    ca = init_dev_ca(tmp_path / "ca")
    # the intermediate CA is not an end-entity signing certificate
    wrong = tmp_path / "wrong-chain.pem"
    wrong.write_bytes(ca.intermediate_cert.read_bytes() + ca.root_cert.read_bytes())
    with pytest.raises(CameoguardError, match="CA certificate"):
        load_credentials(wrong, ca.intermediate_key)
