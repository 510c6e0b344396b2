"""Stage 4 of generation: scan the raw output for faces before anything is marked or signed.

What flows through: the backend's raw file is sampled (every picture of an image, evenly spaced
frames of a video), every face is matched against the consent registry (enrolled cameos and
protected people), and each face gets a verdict:

* ``authorized``: it matches a cameo this generation holds a grant for;
* ``violation``: it matches (or possibly matches) a protected person, or a cameo this
  generation has no grant for, or it matches nobody while the policy says ``deny``;
* ``unmatched``: it matches nobody and the policy allows unknown faces (the default).

A *possible* match counts as a match here: when in doubt the output is refused (fail closed).
Any violation makes the pipeline discard the output. The scan keeps no face data: only ids,
distances and frame times reach the result, the ledger and the manifest's summary.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cameoguard.consent.matching import Decision
from cameoguard.consent.models import SubjectKind
from cameoguard.consent.registry import CameoRegistry
from cameoguard.consent.values import FaceResult
from cameoguard.media import Limits, load_image, probe, sample_frames
from cameoguard.media.types import MediaKind

__all__ = ["FaceScan", "ScanPolicy", "ScannedFace", "scan_output"]

Verdict = Literal["authorized", "unmatched", "violation"]


@dataclass(frozen=True, slots=True)
class ScanPolicy:
    unmatched_faces: Literal["allow", "deny"] = "allow"
    video_frames: int = 16


@dataclass(frozen=True, slots=True)
class ScannedFace:
    verdict: Verdict
    reason: str
    frame_index: int | None
    t_s: float | None
    subject_kind: str | None
    subject_id: str | None
    distance: float | None
    decision: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "frame_index": self.frame_index,
            "t_s": None if self.t_s is None else round(self.t_s, 3),
            "subject_kind": self.subject_kind,
            "subject_id": self.subject_id,
            "distance": None if self.distance is None else round(self.distance, 4),
            "decision": self.decision,
        }


@dataclass(frozen=True, slots=True)
class FaceScan:
    frames_sampled: int
    faces: tuple[ScannedFace, ...]
    policy: ScanPolicy

    @property
    def violations(self) -> tuple[ScannedFace, ...]:
        return tuple(f for f in self.faces if f.verdict == "violation")

    @property
    def ok(self) -> bool:
        return not self.violations

    def cameos_seen(self) -> dict[str, int]:
        """Authorized cameo id -> in how many sampled frames it was recognised."""
        seen: dict[str, set[int | None]] = {}
        for face in self.faces:
            if face.verdict == "authorized" and face.subject_id is not None:
                seen.setdefault(face.subject_id, set()).add(face.frame_index)
        return {cameo: len(frames) for cameo, frames in sorted(seen.items())}

    def summary(self) -> dict[str, Any]:
        """What the manifest and the generation record keep (no biometric data)."""
        return {
            "frames_sampled": self.frames_sampled,
            "faces": len(self.faces),
            "authorized": sum(f.verdict == "authorized" for f in self.faces),
            "unmatched": sum(f.verdict == "unmatched" for f in self.faces),
            "violations": len(self.violations),
            "cameos_seen": self.cameos_seen(),
        }

    def explain(self) -> str:
        reasons = list(dict.fromkeys(f.reason for f in self.violations))
        where = sorted({f.t_s for f in self.violations if f.t_s is not None})
        at = f" (at {', '.join(f'{t:.1f} s' for t in where[:5])})" if where else ""
        return "; ".join(reasons) + at

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "detail": [f.to_dict() for f in self.faces]}


def _verdict(
    result: FaceResult, authorized: Collection[str], policy: ScanPolicy
) -> tuple[Verdict, str]:
    match = result.match
    if match is None or result.decision is Decision.NO_MATCH:
        if policy.unmatched_faces == "deny":
            return "violation", "a face that matches no enrolled cameo (policy: deny unknown faces)"
        return "unmatched", "matches no enrolled person"
    strength = "matches" if result.decision is Decision.MATCH else "possibly matches"
    if match.kind is SubjectKind.PROTECTED:
        return "violation", f"a face {strength} protected person {match.subject_id}"
    if match.subject_id in authorized:
        return "authorized", f"{strength} authorized cameo {match.subject_id}"
    return "violation", (
        f"a face {strength} cameo {match.subject_id} ({match.status}), which this generation "
        "has no consent for"
    )


def scan_output(
    registry: CameoRegistry,
    path: Path,
    limits: Limits,
    authorized: Collection[str],
    policy: ScanPolicy,
) -> FaceScan:
    """Identify every face in the raw output and judge it against the authorized cameos."""
    info = probe(path, limits)
    if info.kind is MediaKind.IMAGE:
        results = registry.identify_image(load_image(path, limits))
        frames = 1
    elif info.kind is MediaKind.VIDEO:
        sampled = sample_frames(path, policy.video_frames, limits)
        frames = len(sampled)
        results = registry.identify_frames([(f.rgb, f.index, f.pts_s) for f in sampled])
    else:
        return FaceScan(0, (), policy)
    faces = []
    for result in results:
        verdict, reason = _verdict(result, authorized, policy)
        faces.append(
            ScannedFace(
                verdict,
                reason,
                result.frame_index,
                result.t_s,
                None if result.match is None else result.match.kind.value,
                None if result.match is None else result.match.subject_id,
                result.nearest_distance,
                result.decision.value,
            )
        )
    return FaceScan(frames, tuple(faces), policy)
