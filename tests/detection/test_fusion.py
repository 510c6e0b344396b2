"""Fusion rules, table-driven: each combination of signals -> label and evidence order."""

from __future__ import annotations

import pytest

from cameoguard.detection.calibration import Verdict
from cameoguard.detection.fusion import (
    AuthenticityLabel as L,
)
from cameoguard.detection.fusion import (
    DetectorSignal,
    FaceSignal,
    ManifestSignal,
    ResolutionSignal,
    Signals,
    fuse,
)

OURS = ManifestSignal("trusted", True, "cameoguard dev signer", "trainedAlgorithmicMedia",
                      generation_id="g_000000000123")  # fmt: skip
OTHER_AI = ManifestSignal("trusted", True, "Other AI Co", "trainedAlgorithmicMedia")
CAPTURE = ManifestSignal("trusted", False, "Camera Maker", "digitalCapture")
UNTRUSTED_CAPTURE = ManifestSignal("valid", False, None, "digitalCapture")
BROKEN = ManifestSignal("invalid", False, "Camera Maker", failures=("assertion.dataHash.mismatch",))
ABSENT = ManifestSignal("absent")
RESOLVED = ResolutionSignal("matched", "g_000000000123", "watermark+fingerprint", 0.97,
                            explanation="fingerprint distance 8")  # fmt: skip
TAKEN_DOWN = ResolutionSignal("matched", "g_000000000123", "watermark", 0.9, taken_down=True,
                              takedown_reason="deleted by cameo owner")  # fmt: skip
TRANSPLANT = ResolutionSignal("transplant_suspected", "g_000000000123")
NOTHING = ResolutionSignal("not_found")
FAKE = DetectorSignal(True, "face CNN", 0.93, Verdict.LIKELY_MANIPULATED, "27 of 32 frames")
UNSURE = DetectorSignal(True, "face CNN", 0.55, Verdict.UNCERTAIN)
REAL = DetectorSignal(True, "face CNN", 0.04, Verdict.LIKELY_REAL)
NO_MODEL = DetectorSignal(False, reason="no face_cnn model file configured")
REVOKED = FaceSignal("cameo", "c_000000000009", "revoked", "match", revoked_at="2026-11-20")
PROTECTED = FaceSignal("protected", "p_000000000001", "active", "possible_match")
CONSENTED = FaceSignal("cameo", "c_000000000009", "active", "match", in_consent=True)


@pytest.mark.parametrize(
    ("signals", "label", "sources"),
    [
        (Signals(OURS, RESOLVED, (), NO_MODEL), L.MADE_HERE, ["c2pa", "ledger", "detector"]),
        (Signals(ABSENT, RESOLVED, (), REAL), L.MADE_HERE, ["ledger", "detector"]),
        (Signals(ABSENT, RESOLVED, (REVOKED,), FAKE), L.MADE_HERE, ["ledger", "faces", "detector"]),
        (Signals(ABSENT, TAKEN_DOWN, (), None), L.MADE_HERE, ["ledger"]),
        (Signals(OTHER_AI, NOTHING, (), FAKE), L.SIGNED_AI_OTHER, ["c2pa", "detector"]),
        (Signals(CAPTURE, NOTHING, (), REAL), L.SIGNED_CAPTURE, ["c2pa", "detector"]),
        (Signals(CAPTURE, NOTHING, (), FAKE), L.SIGNED_CAPTURE, ["c2pa", "fusion", "detector"]),
        (Signals(BROKEN, NOTHING, (), REAL), L.ALTERED_AFTER_SIGNING, ["c2pa", "detector"]),
        (Signals(BROKEN, RESOLVED, (), None), L.ALTERED_AFTER_SIGNING, ["c2pa", "ledger"]),
        (Signals(ABSENT, TRANSPLANT, (), REAL), L.LIKELY_MANIPULATED, ["watermark", "detector"]),
        (Signals(ABSENT, NOTHING, (), FAKE), L.LIKELY_MANIPULATED, ["detector"]),
        (Signals(ABSENT, NOTHING, (PROTECTED,), FAKE), L.LIKELY_MANIPULATED, ["faces", "detector"]),
        (Signals(ABSENT, NOTHING, (), UNSURE), L.UNCERTAIN, ["detector"]),
        (Signals(ABSENT, NOTHING, (), REAL), L.NO_EVIDENCE, ["detector"]),
        (Signals(ABSENT, NOTHING, (), NO_MODEL), L.NO_EVIDENCE, ["detector"]),
        (Signals(), L.NO_EVIDENCE, []),
        (Signals(UNTRUSTED_CAPTURE, None, (CONSENTED,), None), L.SIGNED_CAPTURE, ["c2pa", "faces"]),
    ],
)
def test_rules(signals: Signals, label: L, sources: list[str]) -> None:
    report = fuse(signals)
    assert report.label is label
    assert [e.source for e in report.evidence] == sources
    assert 0.0 <= report.confidence <= 1.0


def test_sentences_a_moderator_understands() -> None:
    report = fuse(Signals(ABSENT, RESOLVED, (REVOKED,), FAKE))
    text = [e.sentence for e in report.evidence]
    assert "generation g_000000000123" in text[0] and "fingerprint distance 8" in text[0]
    assert text[1] == "a face matches cameo c_000000000009 whose consent was revoked on 2026-11-20"
    assert text[2] == (
        "face CNN: 0.93 probability of manipulation on 27 of 32 frames (likely manipulated)"
    )
    assert report.generation_id == "g_000000000123"
    assert (
        fuse(Signals(ABSENT, NOTHING, (), NO_MODEL))
        .evidence[0]
        .sentence.startswith("passive detection is unavailable (no face_cnn model file configured)")
    )
    conflict = fuse(Signals(CAPTURE, NOTHING, (), FAKE)).evidence[1]
    assert conflict.kind.value == "conflict" and "signed as a capture" in conflict.sentence
    assert (
        fuse(Signals(ABSENT, TAKEN_DOWN))
        .to_dict()["headline"]
        .endswith("taken down (deleted by cameo owner)")
    )


def test_confidence_follows_the_evidence() -> None:
    assert fuse(Signals(OURS)).confidence == pytest.approx(0.99)
    assert fuse(Signals(ABSENT, NOTHING, (), FAKE)).confidence == pytest.approx(0.93)
    assert fuse(Signals(ABSENT, NOTHING, (), REAL)).confidence == pytest.approx(0.96)
    assert fuse(Signals(UNTRUSTED_CAPTURE)).confidence < fuse(Signals(CAPTURE)).confidence
