"""Sign -> verify round trips per format, tampering, and re-encoding."""

from __future__ import annotations

from pathlib import Path

import pytest

from cameoguard.media import (
    Limits,
    iter_frames,
    load_audio,
    load_image,
    read_audio,
    save_image,
    write_audio,
    write_video,
)
from cameoguard.provenance.report import ProvenanceState
from cameoguard.provenance.trust import TrustPolicy
from cameoguard.provenance.verify import verify_file
from tests.provenance.helpers import SIGNABLE, flip_media_bytes

HASH_CODE = {"mp4": "assertion.bmffHash.mismatch", "m4a": "assertion.bmffHash.mismatch"}


@pytest.mark.parametrize("fmt", SIGNABLE)
def test_trusted_with_anchor(
    fmt: str, signed_media: dict[str, Path], limits: Limits, trust: TrustPolicy
) -> None:
    report = verify_file(signed_media[fmt], limits=limits, trust=trust)
    assert report.state is ProvenanceState.TRUSTED, report.failure_codes
    assert report.integrity_failures == [] and report.trust_failures == []
    assert report.ai_generated and report.ai_source_type == "trainedAlgorithmicMedia"
    assert report.signer is not None and report.signer.common_name == "cameoguard dev signer"
    assert report.claim_generator is not None and report.claim_generator.startswith("cameoguard")
    assert [a.action for a in report.actions] == ["c2pa.created"]
    assert report.actions[0].software_agent == "test-generator 2.1"
    assert report.title == f"signed {fmt}"
    custom = {a.label: a.data for a in report.custom_assertions}
    assert custom["org.cameoguard.test"] == {"format": fmt}
    assert "trusted" in report.summary and "AI-generated" in report.summary


@pytest.mark.parametrize("fmt", SIGNABLE)
def test_valid_but_untrusted_without_anchor(
    fmt: str, signed_media: dict[str, Path], limits: Limits
) -> None:
    report = verify_file(signed_media[fmt], limits=limits, trust=TrustPolicy())
    assert report.state is ProvenanceState.VALID
    assert report.integrity_failures == []
    assert [e.code for e in report.trust_failures] == ["signingCredential.untrusted"]
    assert "NOT trusted" in report.summary


@pytest.mark.parametrize("fmt", SIGNABLE)
def test_tampered_media_bytes_are_invalid(
    fmt: str, signed_media: dict[str, Path], limits: Limits, trust: TrustPolicy, tmp_path: Path
) -> None:
    tampered = tmp_path / f"tampered{signed_media[fmt].suffix}"
    flip_media_bytes(signed_media[fmt], tampered, fmt)
    report = verify_file(tampered, limits=limits, trust=trust)
    assert report.state is ProvenanceState.INVALID
    expected = HASH_CODE.get(fmt, "assertion.dataHash.mismatch")
    assert expected in [e.code for e in report.integrity_failures], report.failure_codes
    assert "INVALID" in report.summary


@pytest.mark.parametrize("fmt", ["jpeg", "mp4", "wav"])
def test_truncated_signed_file_is_invalid(
    fmt: str, signed_media: dict[str, Path], limits: Limits, trust: TrustPolicy, tmp_path: Path
) -> None:
    data = signed_media[fmt].read_bytes()
    truncated = tmp_path / f"truncated{signed_media[fmt].suffix}"
    truncated.write_bytes(data[: len(data) - len(data) // 5])
    report = verify_file(truncated, limits=limits, trust=trust)
    assert report.state is ProvenanceState.INVALID, report.summary
    assert report.integrity_failures


def test_pixel_edit_detected(
    signed_media: dict[str, Path], limits: Limits, trust: TrustPolicy, tmp_path: Path
) -> None:
    """Pixels changed through a real image editor step, then the old manifest pasted back."""
    signed = signed_media["png"].read_bytes()
    rgb = load_image(signed_media["png"], limits)
    rgb[10:60, 10:60] = 255
    edited = tmp_path / "edited.png"
    save_image(rgb, edited)
    # Splice: keep the signed file's manifest chunk, swap in the edited image data.
    chunk = signed.index(b"caBX") - 4
    length = int.from_bytes(signed[chunk : chunk + 4], "big") + 12
    body = edited.read_bytes()
    spliced = body[:33] + signed[chunk : chunk + length] + body[33:]
    forged = tmp_path / "forged.png"
    forged.write_bytes(spliced)
    report = verify_file(forged, limits=limits, trust=trust)
    assert report.state is ProvenanceState.INVALID
    assert "assertion.dataHash.mismatch" in report.failure_codes


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "mp4", "wav", "mp3"])
def test_reencode_removes_manifest(
    fmt: str, signed_media: dict[str, Path], limits: Limits, trust: TrustPolicy, tmp_path: Path
) -> None:
    src = signed_media[fmt]
    out = tmp_path / f"reencoded{src.suffix}"
    if fmt in ("jpeg", "png", "webp"):
        save_image(load_image(src, limits), out)
    elif fmt == "mp4":
        frames = [f.rgb for f in iter_frames(src, limits)]
        write_video(out, frames, fps=15, audio=read_audio(src, limits))
    else:
        write_audio(load_audio(src, limits), out)
    report = verify_file(out, limits=limits, trust=trust)
    assert report.state is ProvenanceState.ABSENT
    assert report.signer is None and not report.ai_generated
    assert "no C2PA manifest" in report.summary


def test_verify_uses_a_probe_the_pipeline_already_made(
    signed_media: dict[str, Path], limits: Limits, trust: TrustPolicy
) -> None:
    from cameoguard.media import probe

    info = probe(signed_media["mp4"], limits)
    report = verify_file(signed_media["mp4"], limits=limits, trust=trust, info=info)
    assert report.state is ProvenanceState.TRUSTED
    assert report.media_type == "video/mp4"


def test_verify_enforces_the_byte_limit(signed_media: dict[str, Path], trust: TrustPolicy) -> None:
    from cameoguard.errors import MediaLimitError

    tiny = Limits(max_bytes=1024, max_pixels=10**8, max_video_seconds=60, max_audio_seconds=60)
    with pytest.raises(MediaLimitError, match="limit"):
        verify_file(signed_media["mp4"], limits=tiny, trust=trust)
