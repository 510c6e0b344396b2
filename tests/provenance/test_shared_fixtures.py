"""Real C2PA files made by others: every media file in ../shared/data/c2pa/expected.csv.

The expectation is read from the CSV's ``expected`` text (VALID / NO manifest / INVALID with
the codes in brackets). Where c2pa-rs 0.91 (c2pa-python 0.38) reports differently from the
older tool that wrote the CSV, or the text is a description rather than an outcome, OVERRIDES
states the outcome and why. Trust is evaluated against the c2pa-rs test root bundle, which
makes files signed with the public test certificates verify as ``trusted``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field

import pytest

from cameoguard.errors import UnsupportedMediaError
from cameoguard.media import Limits
from cameoguard.provenance.report import ProvenanceReport, ProvenanceState
from cameoguard.provenance.trust import TrustPolicy
from cameoguard.provenance.verify import verify_file
from tests.conftest import SHARED_DATA

C2PA = SHARED_DATA / "c2pa"
S = ProvenanceState
OK_STATES = frozenset({S.VALID, S.TRUSTED})


@dataclass(frozen=True)
class Expect:
    states: frozenset[ProvenanceState] = OK_STATES
    codes: tuple[str, ...] = ()  # must appear (failures, ingredient failures or notes)
    ingredient_codes: tuple[str, ...] = ()  # must appear on some ingredient node
    unsupported: bool = False  # not a media file: rejected as bad input
    extra: dict[str, object] = field(default_factory=dict)


OVERRIDES: dict[str, tuple[Expect, str]] = {
    "public-testfiles/adobe-20220124-E-clm-CAICAI.jpg": (
        Expect(
            frozenset({S.INVALID}), ("assertion.hashedURI.mismatch", "ingredient.manifest.missing")
        ),
        "c2pa-rs 0.91 names the missing ingredient claim ingredient.manifest.missing, not "
        "claim.missing",
    ),
    "public-testfiles/nikon-20221019-building.jpeg": (
        Expect(frozenset({S.INVALID}), ("signingCredential.expired",)),
        "c2pa-rs 0.91 stops at the expired credential and no longer adds claimSignature.mismatch",
    ),
    "public-testfiles/truepic-20230212-camera.jpg": (
        Expect(frozenset({S.INVALID}), ("assertion.dataHash.mismatch",)),
        "the CSV quotes a 2023 c2patool report; c2pa-rs 0.91 finds a data hash mismatch "
        "(reproduced with the raw SDK: Reader reports Invalid with assertion.dataHash.mismatch)",
    ),
    "public-testfiles/adobe-20220124-CIE-sig-CA.jpg": (
        Expect(OK_STATES, ingredient_codes=("claimSignature.mismatch",)),
        "active manifest valid; its ingredient's recorded status carries the bad signature",
    ),
    "c2pa-rs/CIE-sig-CA.jpg": (
        Expect(OK_STATES, ingredient_codes=("claimSignature.mismatch",)),
        "active manifest loads; the ingredient carries the bad signature",
    ),
    "c2pa-rs/E-sig-CA.jpg": (
        Expect(frozenset({S.INVALID}), ("claimSignature.mismatch", "timeStamp.mismatch")),
        "bad signature fixture; timeStamp.mismatch is informational",
    ),
    "c2pa-rs/CA_ct.jpg": (
        Expect(OK_STATES, ("timeStamp.malformed",)),
        "changed time-stamp is informational (formerly an error)",
    ),
    "c2pa-rs/prerelease.jpg": (
        Expect(frozenset({S.INVALID}), ("status.prerelease",)),
        "pre-1.0 manifest: the SDK refuses it; reported as invalid with status.prerelease",
    ),
    "c2pa-rs/cloud.jpg": (
        Expect(frozenset({S.INVALID}), ("manifest.inaccessible",), extra={"remote": True}),
        "remote manifest only; cameoguard never fetches remote manifests (SSRF, privacy)",
    ),
    "c2pa-rs/cloud_manifest.c2pa": (
        Expect(unsupported=True),
        "a bare manifest store (sidecar), not a media file: rejected as unsupported input",
    ),
    "c2pa-rs/dash1.m4s": (
        Expect(unsupported=True),
        "a DASH media segment is not a standalone file: rejected as unsupported input",
    ),
    "c2pa-rs/dashinit.mp4": (
        Expect(frozenset({S.INVALID}), ("assertion.bmffHash.mismatch",)),
        "an init segment verified without its fragments cannot match its BMFF hash; "
        "fragment-aware verification is not implemented",
    ),
    "public-testfiles/adobe-20220124-E-uri-CIE-sig-CA.jpg": (
        Expect(
            frozenset({S.INVALID}),
            ("assertion.hashedURI.mismatch",),
            ingredient_codes=("claimSignature.mismatch",),
        ),
        "the tampered assertion belongs to the ingredient's manifest (an ingredient delta); "
        "the ingredient also recorded the bad signature",
    ),
    "c2pa-rs/cli/C.jpg": (
        Expect(OK_STATES),
        "c2patool's fixture; its own anchors are tested in test_trust_depends_on_the_anchor",
    ),
    "c2pa-rs/boxhash.jpg": (Expect(), "box-hash binding validates"),
    "c2pa-rs/legacy_ingredient_hash.jpg": (Expect(), "C2PA 1.0 ingredient hash loads"),
    "c2pa-rs/ocsp.jpg": (Expect(frozenset({S.VALID})), "OCSP is not fetched; not trusted here"),
    "c2pa-rs/C_with_CAWG_data.jpg": (
        Expect(frozenset({S.VALID}), ("cawg.x509.credential.untrusted",)),
        "CAWG identity credential is not in our trust list: the file is valid, not trusted",
    ),
    "c2pa-rs/video1.mp4": (
        Expect(OK_STATES, extra={"min_manifests": 2}),
        "signed MP4 with several manifests",
    ),
    "c2pa-rs/legacy.mp4": (
        Expect(frozenset({S.VALID})),
        "C2PA 1.x BMFF hash validates; its signer is not in the test bundle",
    ),
    "c2pa-js/firefly_thirdparty_gemini.png": (
        Expect(frozenset({S.VALID}), extra={"ai": True}),
        "production Adobe manifest: AI declared via com.adobe.digitalSourceType; Adobe's root "
        "is not in the test bundle",
    ),
}


def _parse(text: str) -> Expect | None:
    body = text.split("expected=", 1)[1] if "expected=" in text else ""
    codes = tuple(c.strip() for grp in re.findall(r"\[([^\]]+)\]", body) for c in grp.split(","))
    codes = tuple(c for c in codes if re.fullmatch(r"[A-Za-z]+(\.[A-Za-z0-9]+)+", c))
    if body.startswith("NO manifest"):
        return Expect(frozenset({S.ABSENT}))
    if body.startswith(("VALID", "SIGNED")):
        return Expect(OK_STATES)
    if body.startswith(("INVALID", "TAMPERED")):
        return Expect(frozenset({S.INVALID}), codes)
    return None


def _rows() -> list[tuple[str, str]]:
    if not (C2PA / "expected.csv").is_file():
        return [("<absent>", "")]
    with open(C2PA / "expected.csv", newline="") as fh:
        return [(r["path"], r["expected"]) for r in csv.DictReader(fh) if r["kind"] == "media"]


@pytest.fixture(scope="module")
def test_anchors() -> TrustPolicy:
    if not C2PA.is_dir():
        pytest.skip(f"shared C2PA fixtures not found at {C2PA}")
    return TrustPolicy.from_file(C2PA / "c2pa-rs" / "certs" / "trust" / "test_cert_root_bundle.pem")


def _check(report: ProvenanceReport, want: Expect) -> None:
    assert report.state in want.states, (report.state, report.failure_codes, report.summary)
    for code in want.codes:
        assert report.has_code(code), (code, report.failure_codes, report.informational)
    present = {f.code for node in report.ingredients for f in node.failures}
    for code in want.ingredient_codes:
        assert code in present, (code, present)
    if want.extra.get("remote"):
        assert report.remote_manifest_url and report.remote_manifest_url.startswith("https://")
    if "min_manifests" in want.extra:
        assert report.manifest_count >= int(want.extra["min_manifests"])  # type: ignore[call-overload]
    if want.extra.get("ai"):
        assert report.ai_generated
        assert report.ai_source_type == "trainedAlgorithmicMedia"
    if report.state is not S.ABSENT and report.signer is not None:
        assert report.signer.chain, "a signed fixture should show its certificate chain"


@pytest.mark.shared_data
@pytest.mark.parametrize(("rel", "text"), _rows())
def test_fixture_verifies_to_expected_outcome(
    rel: str, text: str, test_anchors: TrustPolicy, limits: Limits
) -> None:
    want = OVERRIDES[rel][0] if rel in OVERRIDES else _parse(text)
    assert want is not None, f"no expectation for {rel}: add it to OVERRIDES with a reason"
    path = C2PA / rel
    if want.unsupported:
        with pytest.raises(UnsupportedMediaError, match="supported"):
            verify_file(path, limits=limits, trust=test_anchors)
        return
    _check(verify_file(path, limits=limits, trust=test_anchors), want)


@pytest.mark.shared_data
def test_trust_depends_on_the_anchor(limits: Limits) -> None:
    """c2patool's own fixture: trusted with its anchors, untrusted with a non-matching root."""
    if not C2PA.is_dir():
        pytest.skip(f"shared C2PA fixtures not found at {C2PA}")
    cli = C2PA / "c2pa-rs" / "cli"
    good = verify_file(cli / "C.jpg", limits=limits,
                       trust=TrustPolicy.from_file(cli / "trust" / "anchors.pem"))  # fmt: skip
    assert good.state is S.TRUSTED
    other = verify_file(cli / "C.jpg", limits=limits,
                        trust=TrustPolicy.from_file(cli / "trust" / "no-match.pem"))  # fmt: skip
    assert other.state is S.VALID
    assert [e.code for e in other.trust_failures] == ["signingCredential.untrusted"]
    assert verify_file(cli / "C.jpg", limits=limits).state is S.VALID


@pytest.mark.shared_data
def test_ingredient_tree_of_nested_fixture(test_anchors: TrustPolicy, limits: Limits) -> None:
    """CAICAI: a manifest whose ingredient has its own manifest with ingredients."""
    if not C2PA.is_dir():
        pytest.skip(f"shared C2PA fixtures not found at {C2PA}")
    report = verify_file(C2PA / "public-testfiles" / "adobe-20220124-CAICAI.jpg",
                         limits=limits, trust=test_anchors)  # fmt: skip
    assert report.state is S.TRUSTED
    depth = 0
    nodes = report.ingredients
    while nodes:
        depth += 1
        nodes = [c for n in nodes for c in n.children]
    assert depth >= 2, "the nested ingredient's own ingredients should appear as children"
