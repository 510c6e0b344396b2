"""The verify flow end to end: our outputs, stripped copies, revoked consent, strangers' files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cameoguard.consent.values import Actor
from cameoguard.detection.fusion import AuthenticityLabel
from cameoguard.generator_adapter.pipeline import GenerationPipeline
from cameoguard.media import load_image, save_image
from cameoguard.settings import Settings
from cameoguard.verification import Verifier
from tests.generator_adapter.conftest import enroll_astronaut, make_pipeline
from tests.generator_adapter.test_pipeline import request

from .consent.conftest import astronaut
from .generator_adapter.conftest import LIMITS


@pytest.fixture
def wired(
    settings: Settings, embedder: object, detector: object
) -> tuple[GenerationPipeline, Verifier]:
    pipeline = make_pipeline(settings, embedder, detector)  # type: ignore[arg-type]
    verifier = Verifier(LIMITS, pipeline.emitter.trust, pipeline.resolver, pipeline.registry)
    return pipeline, verifier


def test_our_output_its_stripped_copy_and_revoked_consent(
    wired: tuple[GenerationPipeline, Verifier], tmp_path: Path
) -> None:
    pipeline, verifier = wired
    target = save_image(astronaut(), tmp_path / "target.png")
    cameo = enroll_astronaut(pipeline.registry)
    gen = pipeline.generate(request(target, cameo.id)).generation
    assert gen.path is not None

    result = verifier.verify(gen.path)
    report = result.authenticity
    assert report.label is AuthenticityLabel.MADE_HERE and report.generation_id == gen.id
    assert [e.source for e in report.evidence] == ["c2pa", "ledger", "faces", "detector"]
    assert "with consent recorded" in report.evidence[2].sentence

    copy = tmp_path / "reposted.jpg"
    rgb = load_image(gen.path, LIMITS)
    save_image(np.ascontiguousarray(rgb[8:-8, 8:-8]), copy, quality=80)
    stripped = verifier.verify(copy).authenticity
    assert stripped.label is AuthenticityLabel.MADE_HERE and stripped.generation_id == gen.id
    assert stripped.evidence[0].source == "ledger"

    pipeline.registry.revoke(cameo.id, actor=Actor("alice"))
    after = verifier.verify(copy).authenticity
    faces = next(e for e in after.evidence if e.source == "faces")
    assert f"cameo {cameo.id} whose consent was revoked on" in faces.sentence


def test_a_strangers_photo_and_a_tampered_file(
    wired: tuple[GenerationPipeline, Verifier], tmp_path: Path, sample_media: dict[str, Path]
) -> None:
    _, verifier = wired
    photo = save_image(astronaut(), tmp_path / "photo.png")
    plain = verifier.verify(photo).authenticity
    assert plain.label is AuthenticityLabel.NO_EVIDENCE
    assert plain.evidence[-1].sentence.startswith("passive detection is unavailable")

    from cameoguard.provenance.manifest import ManifestSpec
    from cameoguard.provenance.sign import sign_file
    from cameoguard.provenance.signers import signer_from_settings

    signed = tmp_path / "signed.jpg"
    with signer_from_settings(wired[0].settings) as signer:
        sign_file(sample_media["jpeg"], signed, ManifestSpec.capture("c", device="cam"), signer,
                  limits=LIMITS, trust=verifier.trust)  # fmt: skip
    assert verifier.verify(signed).authenticity.label is AuthenticityLabel.SIGNED_CAPTURE
    data = bytearray(signed.read_bytes())
    data[-2000] ^= 0xFF
    tampered = tmp_path / "tampered.jpg"
    tampered.write_bytes(bytes(data))
    broken = verifier.verify(tampered).authenticity
    assert broken.label is AuthenticityLabel.ALTERED_AFTER_SIGNING
