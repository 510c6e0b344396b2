"""Manifest content, ingredients, signing backends and atomicity of signing."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from cameoguard.errors import BadInputError, KeyMaterialError, SigningError
from cameoguard.media import Limits
from cameoguard.provenance.keys import DevCAPaths, init_dev_ca, load_credentials
from cameoguard.provenance.manifest import Ingredient, ManifestSpec, SourceType
from cameoguard.provenance.report import ProvenanceState
from cameoguard.provenance.sign import sign_file
from cameoguard.provenance.signers import ClaimSigner, PemFileKey, SigningKey
from cameoguard.provenance.trust import TrustPolicy
from cameoguard.provenance.verify import verify_file


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_spec_actions_for_new_and_edited_media(tmp_path: Path) -> None:
    new = ManifestSpec.ai_generated("t", generator="g", generator_version="1")
    actions = new.to_definition("image/jpeg")["assertions"][0]["data"]["actions"]
    assert actions == [{
        "action": "c2pa.created",
        "digitalSourceType": SourceType.TRAINED_ALGORITHMIC_MEDIA.uri,
        "softwareAgent": {"name": "g", "version": "1"},
    }]  # fmt: skip
    edit = new.with_ingredient(Ingredient(tmp_path / "p.jpg", "parentOf", label="parent"))
    actions = edit.to_definition("image/jpeg")["assertions"][0]["data"]["actions"]
    assert [a["action"] for a in actions] == ["c2pa.opened", "c2pa.edited"]
    assert actions[0]["parameters"]["ingredientIds"] == ["parent"]
    with pytest.raises(BadInputError, match="only one parentOf"):
        edit.with_ingredient(Ingredient(tmp_path / "q.jpg", "parentOf"))
    marked = new.with_action({"action": "c2pa.watermarked"})
    assert marked.to_definition("image/png")["assertions"][0]["data"]["actions"][-1] == {
        "action": "c2pa.watermarked"
    }


def test_assertion_labels_are_checked() -> None:
    spec = ManifestSpec.capture("t")
    with pytest.raises(BadInputError, match="managed by cameoguard"):
        spec.with_assertion("c2pa.actions.v2", {})
    with pytest.raises(BadInputError, match="reverse-domain"):
        spec.with_assertion("no spaces allowed", {})
    once = spec.with_assertion("org.cameoguard.likeness-consent", {"cameos": []})
    with pytest.raises(BadInputError, match="already"):
        once.with_assertion("org.cameoguard.likeness-consent", {})


def test_capture_mode_is_not_ai(
    sample_media: dict[str, Path], claim_signer: ClaimSigner, limits: Limits,
    trust: TrustPolicy, tmp_path: Path,
) -> None:  # fmt: skip
    out = tmp_path / "capture.jpg"
    spec = ManifestSpec.capture("holiday", device="Example Camera X1")
    sign_file(sample_media["jpeg"], out, spec, claim_signer, limits=limits, trust=trust)
    report = verify_file(out, limits=limits, trust=trust)
    assert report.state is ProvenanceState.TRUSTED
    assert not report.ai_generated
    assert report.actions[0].digital_source_type == "digitalCapture"
    assert report.actions[0].software_agent == "Example Camera X1"


def test_remix_records_parent_as_ingredient_tree(
    signed_media: dict[str, Path], sample_media: dict[str, Path], claim_signer: ClaimSigner,
    limits: Limits, trust: TrustPolicy, tmp_path: Path,
) -> None:  # fmt: skip
    remix = tmp_path / "remix.jpg"
    spec = (
        ManifestSpec.ai_generated("remix", generator="g")
        .with_ingredient(Ingredient(signed_media["jpeg"], "parentOf", title="original"))
        .with_ingredient(Ingredient(sample_media["png"], "inputTo", title="style reference"))
    )
    sign_file(sample_media["jpeg"], remix, spec, claim_signer, limits=limits, trust=trust)
    report = verify_file(remix, limits=limits, trust=trust)
    assert report.state is ProvenanceState.TRUSTED, report.failure_codes
    assert [a.action for a in report.actions] == ["c2pa.opened", "c2pa.edited"]
    parent, reference = report.ingredients
    assert (parent.title, parent.relationship) == ("original", "parentOf")
    assert parent.manifest_label is not None and parent.ai_generated
    assert parent.state in (ProvenanceState.VALID, ProvenanceState.TRUSTED)
    assert (reference.relationship, reference.state) == ("inputTo", ProvenanceState.ABSENT)
    assert report.manifest_count == 2


def test_resigning_keeps_history(
    signed_media: dict[str, Path], claim_signer: ClaimSigner, limits: Limits,
    trust: TrustPolicy, tmp_path: Path,
) -> None:  # fmt: skip
    out = tmp_path / "again.jpg"
    spec = ManifestSpec.capture("edited by a person", human_edits=True)
    result = sign_file(signed_media["jpeg"], out, spec, claim_signer, limits=limits, trust=trust)
    assert result.kept_history
    report = verify_file(out, limits=limits, trust=trust)
    assert report.ingredients[0].relationship == "parentOf"
    assert report.ingredients[0].ai_generated  # the parent was AI-generated
    assert not report.ai_generated  # this step itself was a human edit


def test_callback_signer_verifies_trusted(
    dev_ca: DevCAPaths, sample_media: dict[str, Path], limits: Limits, trust: TrustPolicy,
    tmp_path: Path,
) -> None:  # fmt: skip
    key = PemFileKey.from_files(dev_ca.signer_chain, dev_ca.signer_key)
    assert isinstance(key, SigningKey)
    calls: list[int] = []

    class CountingKey:
        alg = key.alg
        certificate_chain_pem = key.certificate_chain_pem

        def sign(self, data: bytes) -> bytes:
            calls.append(len(data))
            return key.sign(data)

    out = tmp_path / "kms.mp4"
    with ClaimSigner.from_key(CountingKey()) as signer:
        sign_file(sample_media["mp4"], out, ManifestSpec.ai_generated("kms", generator="g"),
                  signer, limits=limits, trust=trust)  # fmt: skip
    assert calls, "the callback was never asked to sign"
    assert verify_file(out, limits=limits, trust=trust).state is ProvenanceState.TRUSTED


def test_callback_alg_must_match_certificate(dev_ca: DevCAPaths) -> None:
    key = PemFileKey.from_files(dev_ca.signer_chain, dev_ca.signer_key)

    class WrongAlg:
        alg = "ps256"
        certificate_chain_pem = key.certificate_chain_pem

        def sign(self, data: bytes) -> bytes:
            return key.sign(data)

    with pytest.raises(KeyMaterialError, match="needs es256"):
        ClaimSigner.from_key(WrongAlg())


def test_failing_signer_writes_nothing(
    dev_ca: DevCAPaths, sample_media: dict[str, Path], limits: Limits, tmp_path: Path
) -> None:
    key = PemFileKey.from_files(dev_ca.signer_chain, dev_ca.signer_key)

    class BrokenKms:
        alg = key.alg
        certificate_chain_pem = key.certificate_chain_pem

        def sign(self, data: bytes) -> bytes:
            raise TimeoutError("KMS did not answer")

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "existing.jpg").write_bytes(b"previous content")
    with ClaimSigner.from_key(BrokenKms()) as signer:
        for name in ("new.jpg", "existing.jpg"):
            with pytest.raises(SigningError, match="nothing was written"):
                sign_file(
                    sample_media["jpeg"],
                    out_dir / name,
                    ManifestSpec.ai_generated("x", generator="g"),
                    signer,
                    limits=limits,
                )
    assert _files(out_dir) == {"existing.jpg"}
    assert (out_dir / "existing.jpg").read_bytes() == b"previous content"


def test_unreachable_tsa_fails_closed(
    dev_ca: DevCAPaths, sample_media: dict[str, Path], limits: Limits, tmp_path: Path
) -> None:
    with socket.socket() as s:  # a local port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cred = load_credentials(dev_ca.signer_chain, dev_ca.signer_key)
    with ClaimSigner.from_credentials(cred, tsa_url=f"http://127.0.0.1:{port}/tsa") as signer:
        with pytest.raises(SigningError):
            sign_file(
                sample_media["jpeg"],
                tmp_path / "ts.jpg",
                ManifestSpec.ai_generated("x", generator="g"),
                signer,
                limits=limits,
            )
    assert list(tmp_path.iterdir()) == []


def test_sign_in_place_is_atomic(
    sample_media: dict[str, Path], claim_signer: ClaimSigner, limits: Limits,
    trust: TrustPolicy, tmp_path: Path,
) -> None:  # fmt: skip
    target = tmp_path / "inplace.png"
    target.write_bytes(sample_media["png"].read_bytes())
    sign_file(target, target, ManifestSpec.ai_generated("x", generator="g"), claim_signer,
              limits=limits, trust=trust)  # fmt: skip
    assert verify_file(target, limits=limits, trust=trust).state is ProvenanceState.TRUSTED
    assert _files(tmp_path) == {"inplace.png"}


def test_untrusted_when_anchor_is_another_root(
    signed_media: dict[str, Path], limits: Limits, tmp_path: Path
) -> None:
    other = init_dev_ca(tmp_path / "other")
    report = verify_file(signed_media["jpeg"], limits=limits,
                         trust=TrustPolicy.from_file(other.trust_anchors))  # fmt: skip
    assert report.state is ProvenanceState.VALID
    assert report.trust_failures[0].code == "signingCredential.untrusted"


def test_sign_reuses_the_callers_probe(
    sample_media: dict[str, Path], claim_signer: ClaimSigner, limits: Limits,
    trust: TrustPolicy, tmp_path: Path,
) -> None:  # fmt: skip
    from cameoguard.media import probe

    info = probe(sample_media["mp4"], limits)
    out = tmp_path / "probed.mp4"
    result = sign_file(sample_media["mp4"], out, ManifestSpec.ai_generated("x", generator="g"),
                       claim_signer, limits=limits, trust=trust, info=info)  # fmt: skip
    assert result.media_type == "video/mp4"
    assert verify_file(out, limits=limits, trust=trust).state is ProvenanceState.TRUSTED
