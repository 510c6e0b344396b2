"""The verify flow: one upload -> every signal -> one explained verdict.

    upload -> probe and limits -> C2PA -> watermark + ledger/fingerprint -> faces and consent
           -> passive detectors -> fused verdict (:func:`cameoguard.detection.fusion.fuse`)

:class:`Verifier` holds what the steps need (limits, trust anchors, the ledger resolver, the
consent registry, optionally a passive detector) and :meth:`Verifier.verify` runs them on one
file. Steps whose inputs are missing say so instead of guessing: without a watermark key there
is no soft-binding check; without a calibrated passive detector the verdict says "passive
detection is unavailable". The CLI's ``verify`` and (later) the API call this.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cameoguard import db
from cameoguard.consent.registry import CameoRegistry
from cameoguard.consent.values import IdentifyResult
from cameoguard.detection.fusion import (
    AuthenticityReport,
    DetectorSignal,
    FaceSignal,
    ManifestSignal,
    ResolutionSignal,
    Signals,
    fuse,
)
from cameoguard.detection.scorer import CalibratedScorer, FileScore
from cameoguard.errors import CameoguardError
from cameoguard.media import Limits, probe
from cameoguard.media.types import MediaKind
from cameoguard.provenance.ledger import Ledger, LedgerStatus
from cameoguard.provenance.likeness import read_likeness
from cameoguard.provenance.report import ProvenanceReport, ProvenanceState
from cameoguard.provenance.softbinding import Resolution, Resolver
from cameoguard.provenance.trust import TrustPolicy
from cameoguard.provenance.verify import read_manifest_json, verify_file
from cameoguard.settings import Settings

__all__ = ["VerificationResult", "Verifier"]

NO_DETECTOR = "no calibrated detector is configured: set CAMEOGUARD_DETECTOR_MODEL"


@dataclass(frozen=True)
class VerificationResult:
    provenance: ProvenanceReport
    authenticity: AuthenticityReport
    resolution: Resolution | None = None
    faces: IdentifyResult | None = None
    notes: tuple[str, ...] = field(default=())
    detector: FileScore | None = None  # the passive detector's scores, per face and frame

    def to_dict(self) -> dict[str, Any]:
        return {
            "authenticity": self.authenticity.to_dict(),
            "provenance": self.provenance.model_dump(mode="json"),
            "resolution": None
            if self.resolution is None
            else self.resolution.to_dict(include_manifest=False),
            "faces": None if self.faces is None else self.faces.to_dict(),
            "detector": None if self.detector is None else _scores(self.detector),
            "notes": list(self.notes),
        }


@dataclass
class Verifier:
    limits: Limits
    trust: TrustPolicy
    resolver: Resolver | None = None
    registry: CameoRegistry | None = None
    scorer: CalibratedScorer | None = None
    scorer_problem: str = NO_DETECTOR

    @classmethod
    @contextlib.contextmanager
    def from_settings(cls, settings: Settings) -> Iterator[Verifier]:
        """A verifier over the configured ledger, watermark key and registry (closed on exit)."""
        from cameoguard.watermark.keys import load_watermark_key
        from cameoguard.watermark.marker import Watermarker

        limits = Limits.from_settings(settings)
        engine = db.engine_from_settings(settings)
        db.upgrade(engine)
        ledger = Ledger(db.session_factory(engine))
        resolver = None
        if settings.watermark_key_path.is_file():
            key = load_watermark_key(settings.watermark_key_path)
            resolver = Resolver(ledger, Watermarker(key), limits)
        with CameoRegistry.from_settings(settings, engine, ledger=ledger) as registry:
            try:
                yield cls.of_parts(settings, resolver, registry)
            finally:
                engine.dispose()

    @classmethod
    def of_parts(
        cls, settings: Settings, resolver: Resolver | None, registry: CameoRegistry
    ) -> Verifier:
        """A verifier over parts something else opened (a generation pipeline's resolver and
        registry, say), so a process loads its face models once; the detector configured by
        CAMEOGUARD_DETECTOR_MODEL is loaded here, or the reason it cannot be is kept."""
        limits = Limits.from_settings(settings)
        scorer, problem = None, NO_DETECTOR
        if settings.detector_model is not None:
            try:
                scorer = CalibratedScorer.load(settings.detector_model, registry.detector, limits)
            except CameoguardError as exc:
                problem = f"CAMEOGUARD_DETECTOR_MODEL could not be used: {exc.message}"
        return cls(limits, TrustPolicy.from_settings(settings), resolver, registry, scorer, problem)

    def verify(self, path: Path) -> VerificationResult:
        info = probe(path, self.limits)
        report = verify_file(path, limits=self.limits, trust=self.trust, info=info)
        notes: list[str] = []
        resolution = None
        if self.resolver is None:
            notes.append("no watermark key configured: watermark and ledger were not checked")
        else:
            resolution = self.resolver.resolve(path)
        consented = self._consented_cameos(path, info.type.mime, report, resolution)
        faces = None
        if self.registry is not None and info.kind is not MediaKind.AUDIO:
            faces = self.registry.identify(path)
        score = None if self.scorer is None else self.scorer.score(path)
        signals = Signals(
            manifest=self._manifest_signal(report, resolution),
            resolution=None if resolution is None else _resolution_signal(resolution),
            faces=self._face_signals(faces, consented),
            detector=self._detector_signal(score),
        )
        return VerificationResult(report, fuse(signals), resolution, faces, tuple(notes), score)

    # ------------------------------------------------------------------ signals

    def _detector_signal(self, score: FileScore | None) -> DetectorSignal:
        if self.scorer is None or score is None:
            return DetectorSignal(False, reason=self.scorer_problem)
        if score.fake_probability is None:
            return DetectorSignal(False, self.scorer.name, reason=score.note)
        return DetectorSignal(
            True, self.scorer.name, score.fake_probability, score.verdict, score.span
        )

    @staticmethod
    def _manifest_signal(report: ProvenanceReport, resolution: Resolution | None) -> ManifestSignal:
        entry = None if resolution is None or not resolution.matched else resolution.entry
        same = entry is not None and bool(report.manifest_label)
        ours = (
            entry.generation_id
            if same and entry and report.manifest_label == (entry.manifest_label)
            else None
        )
        signer = report.signer
        issuer = None if signer is None else (signer.organization or signer.common_name)
        source = report.ai_source_type or next(
            (a.digital_source_type for a in report.actions if a.digital_source_type), None
        )
        return ManifestSignal(
            state=report.state.value,
            ai_generated=report.ai_generated,
            issuer=issuer,
            source_type=None if source is None else source.rsplit("/", 1)[-1],
            generation_id=ours,
            failures=tuple(e.code for e in report.integrity_failures),
        )

    def _consented_cameos(
        self, path: Path, mime: str, report: ProvenanceReport, resolution: Resolution | None
    ) -> set[str]:
        found: set[str] = set()
        if report.state in (ProvenanceState.VALID, ProvenanceState.TRUSTED):
            data = read_likeness(read_manifest_json(path, mime, self.trust) or "{}")
            found |= {c["cameo_id"] for c in (data or {}).get("cameos", [])}
        if resolution is not None and resolution.matched and resolution.entry is not None:
            found |= set(resolution.entry.cameo_ids)
        return found

    def _face_signals(
        self, faces: IdentifyResult | None, consented: set[str]
    ) -> tuple[FaceSignal, ...]:
        if faces is None:
            return ()
        out = []
        for subject in faces.subjects():
            revoked_at = None
            if subject["kind"] == "cameo" and subject["status"] == "revoked" and self.registry:
                cameo = self.registry.get(subject["id"])
                revoked_at = None if cameo.revoked_at is None else f"{cameo.revoked_at:%Y-%m-%d}"
            out.append(
                FaceSignal(
                    subject_kind=subject["kind"],
                    subject_id=subject["id"],
                    status=subject["status"],
                    decision=subject["decision"],
                    revoked_at=revoked_at,
                    in_consent=subject["id"] in consented,
                    frames=int(subject.get("frames", 1)),
                )
            )
        return tuple(out)


def _resolution_signal(resolution: Resolution) -> ResolutionSignal:
    entry = resolution.entry
    return ResolutionSignal(
        status=resolution.status.value,
        generation_id=resolution.generation_id,
        method=resolution.method,
        strength=resolution.strength,
        taken_down=entry is not None and entry.status is LedgerStatus.TAKEN_DOWN,
        takedown_reason=None if entry is None else entry.takedown_reason,
        explanation=resolution.explanation,
    )


def _scores(score: FileScore) -> dict[str, Any]:
    """The detector's answer without the server's path: a timeline of calibrated scores."""
    out = score.to_dict()
    del out["path"]
    return out
