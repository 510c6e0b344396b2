"""Values the consent registry hands out: cameos, protected people, grants, decisions, matches.

Frozen dataclasses with ``to_dict`` for JSON (CLI ``--json``, later the API); none holds an
embedding or a photo, so they can be logged and returned to any caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cameoguard.consent.enrollment import LivenessReport
from cameoguard.consent.faces import DetectedFace
from cameoguard.consent.matching import Decision
from cameoguard.consent.models import CameoStatus, PermissionTier, SubjectKind
from cameoguard.consent.policy import Denial

__all__ = [
    "OPERATOR",
    "Actor",
    "Authorization",
    "Cameo",
    "DeleteResult",
    "EnrollResult",
    "FaceResult",
    "Grant",
    "GrantStatus",
    "IdentifyResult",
    "ProtectResult",
    "ProtectedPerson",
    "RevokeResult",
    "SubjectMatch",
]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks for a change: an account, or an operator (``admin``) acting for anyone."""

    account: str
    admin: bool = False


#: The operator at the command line: may act on any cameo (recorded as such in the audit log).
OPERATOR = Actor("operator", admin=True)


@dataclass(frozen=True, slots=True)
class Cameo:
    id: str
    owner: str
    name: str
    status: CameoStatus
    tier: PermissionTier
    is_minor: bool
    approved: tuple[str, ...]
    guardians: tuple[str, ...]
    restrictions: tuple[str, ...]
    embedder: str
    sample_count: int
    source: str
    quality: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    deleted_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "owner": self.owner,
            "status": self.status.value,
            "tier": self.tier.value,
            "is_minor": self.is_minor,
            "approved": list(self.approved),
            "guardians": list(self.guardians),
            "restrictions": list(self.restrictions),
            "embedder": self.embedder,
            "sample_count": self.sample_count,
            "source": self.source,
            "quality": self.quality,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "revoked_at": _iso(self.revoked_at),
            "revocation_reason": self.revocation_reason,
            "deleted_at": _iso(self.deleted_at),
        }


@dataclass(frozen=True, slots=True)
class ProtectedPerson:
    id: str
    name: str
    reason: str
    status: str
    sample_count: int
    added_by: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "reason": self.reason,
            "status": self.status,
            "sample_count": self.sample_count,
            "added_by": self.added_by,
            "created_at": _iso(self.created_at),
        }


@dataclass(frozen=True, slots=True)
class EnrollResult:
    cameo: Cameo
    liveness: LivenessReport | None = None

    def to_dict(self) -> dict[str, Any]:
        out = self.cameo.to_dict()
        out["liveness"] = None if self.liveness is None else self.liveness.to_dict()
        return out


@dataclass(frozen=True, slots=True)
class ProtectResult:
    person: ProtectedPerson
    #: cameos (of any owner) whose face matches the newly protected person
    conflicting_cameos: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**self.person.to_dict(), "conflicting_cameos": list(self.conflicting_cameos)}


@dataclass(frozen=True, slots=True)
class RevokeResult:
    cameo: Cameo
    generations: tuple[str, ...]
    already_revoked: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.cameo.to_dict(),
            "generations": list(self.generations),
            "already_revoked": self.already_revoked,
        }


@dataclass(frozen=True, slots=True)
class DeleteResult:
    cameo: Cameo
    removed_samples: int
    removed_templates: int
    generations: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.cameo.to_dict(),
            "removed_samples": self.removed_samples,
            "removed_templates": self.removed_templates,
            "generations": list(self.generations),
        }


@dataclass(frozen=True, slots=True)
class Grant:
    grant_id: str
    cameo_id: str
    requester: str
    scope: dict[str, Any]
    expires_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "grant_id": self.grant_id,
            "cameo_id": self.cameo_id,
            "requester": self.requester,
            "scope": self.scope,
            "expires_at": _iso(self.expires_at),
        }


@dataclass(frozen=True, slots=True)
class Authorization:
    """The outcome of :meth:`CameoRegistry.authorize`: all cameos granted, or why not.

    Grants are issued only when every requested cameo is allowed; ``permitted`` lists the
    cameos that would have been allowed on their own.
    """

    requester: str
    prompt_sha256: str
    grants: tuple[Grant, ...]
    denials: tuple[Denial, ...]
    permitted: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        return not self.denials and bool(self.grants)

    def to_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "requester": self.requester,
            "prompt_sha256": self.prompt_sha256,
            "grants": [g.to_dict() for g in self.grants],
            "denials": [d.to_dict() for d in self.denials],
            "permitted": list(self.permitted),
        }


@dataclass(frozen=True, slots=True)
class GrantStatus:
    """Whether the consent behind a grant still stands (the answer a status URL gives)."""

    grant_id: str
    cameo_id: str
    state: str  # active | revoked | deleted
    usable_for_new_generation: bool
    expires_at: datetime
    checked_at: datetime
    revoked_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "grant_id": self.grant_id,
            "cameo_id": self.cameo_id,
            "state": self.state,
            "usable_for_new_generation": self.usable_for_new_generation,
            "expires_at": _iso(self.expires_at),
            "checked_at": _iso(self.checked_at),
            "revoked_at": _iso(self.revoked_at),
        }


@dataclass(frozen=True, slots=True)
class SubjectMatch:
    """The enrolled subject nearest to a face, with the decision at the operating point."""

    kind: SubjectKind
    subject_id: str
    name: str
    owner: str | None
    status: str
    distance: float
    decision: Decision

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "id": self.subject_id,
            "name": self.name,
            "owner": self.owner,
            "status": self.status,
            "distance": round(self.distance, 4),
            "decision": self.decision.value,
        }


@dataclass(frozen=True, slots=True)
class FaceResult:
    face: DetectedFace
    #: nearest enrolled subject within the possible-match distance, else None
    match: SubjectMatch | None
    nearest_distance: float | None
    frame_index: int | None = None
    t_s: float | None = None

    @property
    def decision(self) -> Decision:
        return Decision.NO_MATCH if self.match is None else self.match.decision

    def to_dict(self) -> dict[str, Any]:
        return {
            "frame_index": self.frame_index,
            "t_s": None if self.t_s is None else round(self.t_s, 3),
            **self.face.to_dict(),
            "decision": self.decision.value,
            "match": None if self.match is None else self.match.to_dict(),
            "nearest_distance": None
            if self.nearest_distance is None
            else round(self.nearest_distance, 4),
        }


@dataclass(frozen=True, slots=True)
class IdentifyResult:
    media_kind: str
    frames_sampled: int
    faces: tuple[FaceResult, ...]
    embedder: str
    match_threshold: float
    possible_threshold: float
    notes: tuple[str, ...] = field(default=())

    def subjects(self) -> list[dict[str, Any]]:
        """One line per matched subject: in how many frames, nearest distance, decision."""
        best: dict[str, dict[str, Any]] = {}
        for result in self.faces:
            if result.match is None:
                continue
            m = result.match
            entry = best.setdefault(m.subject_id, {**m.to_dict(), "frames": 0, "first_t_s": None})
            entry["frames"] += 1
            if result.t_s is not None and entry["first_t_s"] is None:
                entry["first_t_s"] = round(result.t_s, 3)
            if m.distance < entry["distance"]:
                entry.update(distance=round(m.distance, 4), decision=m.decision.value)
        return sorted(best.values(), key=lambda e: e["distance"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "media_kind": self.media_kind,
            "frames_sampled": self.frames_sampled,
            "embedder": self.embedder,
            "match_threshold": self.match_threshold,
            "possible_threshold": self.possible_threshold,
            "faces": [f.to_dict() for f in self.faces],
            "subjects": self.subjects(),
            "notes": list(self.notes),
        }
