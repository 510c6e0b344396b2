"""The cameo registry: enrollment, permissions, authorization, revocation, identification.

What flows through: enrollment photos or a video become checked samples
(:mod:`~cameoguard.consent.enrollment`), their mean becomes the cameo's template, and one
write transaction stores the cameo, samples, template, a change-log row and an audit entry.
Permission changes, restrictions, revocation and deletion are each one write transaction
with their audit entry. :meth:`CameoRegistry.authorize` reads every requested cameo fresh from
the database, decides with :func:`~cameoguard.consent.policy.decide_use`, and records grants
and the decision together. :meth:`CameoRegistry.identify` finds faces in an image or sampled
video frames and names the nearest enrolled cameo or protected person with a decision.

Freshness across processes: nothing that decides consent is cached. Every write first locks
the single ``consent_clock`` row (``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE``
on SQLite), so writes are serialised and every change of a template gets the next registry
version in commit order. Each process keeps a :class:`~cameoguard.consent.matching.TemplateIndex`
in memory and, before each search, replays the change log past the version it has seen (one
indexed query when nothing changed). Status, names and permissions of matched subjects are read
from the database on every call, so a revocation in one process is seen by the very next call
in every other.

What revocation and deletion keep: see docs/consent.md. In short, revoking keeps the template
(so the face is still recognised, and refused, in generation and verification) and the audit
log; deleting removes every sample, photo and template of the cameo from the database (SQLite
runs with ``secure_delete`` and its write-ahead log is truncated afterwards), and leaves a
tombstone row (id, owner, times; no name) so ledger links and audit entries stay readable.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import secrets
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from PIL import Image
from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from cameoguard import db
from cameoguard.consent import audit
from cameoguard.consent.embedders.base import FaceEmbedder, OperatingPoint, create_embedder
from cameoguard.consent.enrollment import (
    EnrollmentRules,
    LivenessReport,
    Sample,
    photo_samples,
    video_samples,
)
from cameoguard.consent.faces import DetectedFace, FaceDetector
from cameoguard.consent.matching import EXACT_BELOW, Decision, TemplateIndex, decide, make_template
from cameoguard.consent.models import (
    ACCOUNT_MAX,
    NAME_MAX,
    AccountRelation,
    ApprovalRow,
    CameoRow,
    CameoStatus,
    ChangeRow,
    ClockRow,
    GrantRow,
    PermissionTier,
    ProtectedRow,
    SampleRow,
    SubjectKind,
    TemplateRow,
)
from cameoguard.consent.policy import (
    MAX_RESTRICTIONS,
    Denial,
    UseRequest,
    decide_use,
    normalise_restriction,
)
from cameoguard.consent.values import (
    OPERATOR,
    Actor,
    Authorization,
    Cameo,
    DeleteResult,
    EnrollResult,
    FaceResult,
    Grant,
    GrantStatus,
    IdentifyResult,
    ProtectedPerson,
    ProtectResult,
    RevokeResult,
    SubjectMatch,
)
from cameoguard.errors import (
    BadInputError,
    ConfigurationError,
    ConsentDeniedError,
    ConsentPolicyError,
    EnrollmentError,
    NotFoundError,
    PermissionDeniedError,
)
from cameoguard.media import Limits, load_image, probe, sample_frames
from cameoguard.media.types import MediaKind
from cameoguard.settings import Settings

if TYPE_CHECKING:
    from cameoguard.provenance.ledger import Ledger

__all__ = ["MAX_CAMEOS_PER_REQUEST", "MAX_PROMPT_CHARS", "CameoRegistry"]

log = logging.getLogger(__name__)

MAX_CAMEOS_PER_REQUEST = 16
MAX_PROMPT_CHARS = 4_000
_NEIGHBOURS = 8


def _new_id(prefix: str, hex_digits: int = 12) -> str:
    return f"{prefix}{secrets.token_hex(hex_digits // 2)}"


def _check_account(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > ACCOUNT_MAX:
        raise BadInputError(
            f"{name} must be a non-empty account id of at most {ACCOUNT_MAX} characters, "
            f"got {value!r}",
            code="consent.bad_account",
        )
    return value.strip()


def _check_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > NAME_MAX:
        raise BadInputError(
            f"the display name must be 1 to {NAME_MAX} characters, got {value!r}",
            code="consent.bad_name",
        )
    return value.strip()


def _schema_missing() -> ConfigurationError:
    return ConfigurationError(
        "the consent registry's tables are missing; run `cameoguard db upgrade`",
        code="consent.schema_missing",
    )


def _vector_bytes(vector: npt.NDArray[np.float32]) -> bytes:
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def _vector(data: bytes, dim: int) -> npt.NDArray[np.float32]:
    array = np.frombuffer(data, dtype="<f4")
    if array.size != dim:
        raise ConfigurationError(
            f"a stored template has {array.size} values where the embedder makes {dim}; the "
            "database was written with another embedder setting",
            code="consent.template_dim",
        )
    return array.astype(np.float32)


class CameoRegistry:
    """Consent registry over one database; see the module docstring. Thread-safe."""

    def __init__(
        self,
        engine: Engine,
        embedder: FaceEmbedder,
        *,
        detector: FaceDetector | None = None,
        ledger: Ledger | None = None,
        limits: Limits | None = None,
        rules: EnrollmentRules | None = None,
        grant_ttl_s: int = 3600,
        match_threshold: float | None = None,
        video_frames: int = 16,
        exact_below: int = EXACT_BELOW,
    ) -> None:
        self.engine = engine
        self.embedder = embedder
        self.detector = detector or FaceDetector()
        self.ledger = ledger
        self.limits = limits or Limits.from_settings(Settings())
        self.rules = rules or EnrollmentRules()
        self.grant_ttl = timedelta(seconds=grant_ttl_s)
        point = embedder.operating_point
        self.operating_point: OperatingPoint = (
            point if match_threshold is None else point.with_match(match_threshold)
        )
        self.video_frames = video_frames
        self._reader = db.session_factory(engine)
        self._writer = db.write_session_factory(engine)
        self._index = TemplateIndex(embedder.dim, exact_below=exact_below)
        self._index_version: int | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, engine: Engine | None = None, *, ledger: Ledger | None = None
    ) -> CameoRegistry:
        """A registry configured from settings (embedder, limits, thresholds, grant TTL)."""
        engine = engine or db.engine_from_settings(settings)
        rules = EnrollmentRules(min_face_px=settings.face_min_size)
        return cls(
            engine,
            create_embedder(settings.face_embedder, settings),
            ledger=ledger,
            limits=Limits.from_settings(settings),
            rules=rules,
            grant_ttl_s=settings.consent_grant_ttl_s,
            match_threshold=settings.face_match_threshold,
            video_frames=settings.identify_video_frames,
        )

    def close(self) -> None:
        self.embedder.close()
        self.detector.close()

    def __enter__(self) -> CameoRegistry:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ transactions

    @contextlib.contextmanager
    def _write(self) -> Iterator[tuple[Session, ClockRow]]:
        with db.session_scope(self._writer) as session:
            clock = session.execute(
                select(ClockRow).where(ClockRow.id == 1).with_for_update()
            ).scalar_one_or_none()
            if clock is None:
                raise _schema_missing()
            yield session, clock

    @contextlib.contextmanager
    def _read(self) -> Iterator[Session]:
        with db.session_scope(self._reader) as session:
            yield session

    @staticmethod
    def _changed(session: Session, clock: ClockRow, subject_id: str) -> None:
        clock.version += 1
        session.add(ChangeRow(version=clock.version, subject_id=subject_id, at=db.utcnow()))

    @staticmethod
    def _audit(
        session: Session,
        clock: ClockRow,
        actor: Actor | str,
        action: str,
        subject_id: str | None,
        **details: Any,
    ) -> None:
        audit.append(
            session,
            clock,
            at=db.utcnow(),
            actor=actor if isinstance(actor, str) else actor.account,
            action=action,
            subject_id=subject_id,
            details=details,
        )

    # ------------------------------------------------------------------ index sync

    def _sync(self, session: Session) -> None:
        """Bring the in-memory index up to the database's registry version."""
        name = self.embedder.name
        if self._index_version is None:
            clock = session.get(ClockRow, 1)
            if clock is None:
                raise _schema_missing()
            version = clock.version
            keys: list[str] = []
            vectors: list[npt.NDArray[np.float32]] = []
            rows = session.execute(
                select(TemplateRow.subject_id, TemplateRow.vector)
                .where(TemplateRow.embedder == name)
                .execution_options(yield_per=10_000)
            )
            for subject_id, data in rows:
                keys.append(subject_id)
                vectors.append(_vector(data, self.embedder.dim))
            if keys:  # one insert, so a FAISS index is trained on all templates at once
                self._index.upsert_many(keys, np.stack(vectors))
            self._index_version = version
            return
        changes = session.execute(
            select(ChangeRow.version, ChangeRow.subject_id)
            .where(ChangeRow.version > self._index_version)
            .order_by(ChangeRow.version)
        ).all()
        if not changes:
            return
        subjects = sorted({subject for _, subject in changes})
        for start in range(0, len(subjects), 500):
            batch = subjects[start : start + 500]
            query = select(TemplateRow.subject_id, TemplateRow.vector).where(
                TemplateRow.embedder == name, TemplateRow.subject_id.in_(batch)
            )
            found: dict[str, bytes] = {key: data for key, data in session.execute(query)}
            self._index.remove_many([s for s in batch if s not in found])
            if found:
                keys = list(found)
                self._index.upsert_many(
                    keys, np.stack([_vector(found[k], self.embedder.dim) for k in keys])
                )
        self._index_version = max(version for version, _ in changes)

    def sync(self) -> int:
        """Replay changes made by any process; returns the number of templates indexed."""
        with self._read() as session:
            self._sync(session)
        return len(self._index)

    @property
    def index(self) -> TemplateIndex:
        return self._index

    # ------------------------------------------------------------------ reading values

    @staticmethod
    def _cameo_value(session: Session, row: CameoRow) -> Cameo:
        approvals = session.execute(
            select(ApprovalRow.account, ApprovalRow.relation)
            .where(ApprovalRow.cameo_id == row.id)
            .order_by(ApprovalRow.account)
        ).all()
        return Cameo(
            id=row.id,
            owner=row.owner,
            name=row.display_name,
            status=CameoStatus(row.status),
            tier=PermissionTier(row.tier),
            is_minor=row.is_minor,
            approved=tuple(a for a, r in approvals if r == AccountRelation.APPROVED),
            guardians=tuple(a for a, r in approvals if r == AccountRelation.GUARDIAN),
            restrictions=tuple(row.restrictions),
            embedder=row.embedder,
            sample_count=row.sample_count,
            source=row.source,
            quality=dict(row.quality),
            created_at=row.created_at,
            updated_at=row.updated_at,
            revoked_at=row.revoked_at,
            revocation_reason=row.revocation_reason,
            deleted_at=row.deleted_at,
        )

    @staticmethod
    def _protected_value(row: ProtectedRow) -> ProtectedPerson:
        return ProtectedPerson(
            row.id,
            row.display_name,
            row.reason,
            row.status,
            row.sample_count,
            row.added_by,
            row.created_at,
        )

    def get(self, cameo_id: str) -> Cameo:
        """The cameo with this id (deleted ones too, as tombstones); NotFoundError if none."""
        with self._read() as session:
            row = session.get(CameoRow, cameo_id)
            if row is None:
                raise self._unknown(cameo_id)
            return self._cameo_value(session, row)

    def list_cameos(
        self, *, owner: str | None = None, include_deleted: bool = False
    ) -> list[Cameo]:
        with self._read() as session:
            query = select(CameoRow).order_by(CameoRow.created_at, CameoRow.id)
            if owner is not None:
                query = query.where(CameoRow.owner == owner)
            if not include_deleted:
                query = query.where(CameoRow.status != CameoStatus.DELETED.value)
            return [self._cameo_value(session, row) for row in session.scalars(query)]

    def list_protected(self, *, include_removed: bool = False) -> list[ProtectedPerson]:
        with self._read() as session:
            query = select(ProtectedRow).order_by(ProtectedRow.created_at)
            if not include_removed:
                query = query.where(ProtectedRow.status == "active")
            return [self._protected_value(row) for row in session.scalars(query)]

    @staticmethod
    def _unknown(cameo_id: str) -> NotFoundError:
        return NotFoundError(
            f"no cameo with id {cameo_id!r}; `cameoguard cameo list` shows the ids",
            code="consent.unknown_cameo",
        )

    def _owned(self, session: Session, cameo_id: str, actor: Actor) -> CameoRow:
        row = session.get(CameoRow, cameo_id)
        if row is None:
            raise self._unknown(cameo_id)
        if not actor.admin and actor.account != row.owner:
            raise PermissionDeniedError(
                f"{actor.account!r} does not own cameo {cameo_id}; only its owner can change it",
            )
        return row

    # ------------------------------------------------------------------ enrollment

    def _load(self, photos: Sequence[Path]) -> list[tuple[str, npt.NDArray[np.uint8]]]:
        return [(f"photo {i + 1} ({p.name})", load_image(p, self.limits))
                for i, p in enumerate(photos)]  # fmt: skip

    @staticmethod
    def _check_enroller(owner: str, name: str, actor: Actor | None) -> tuple[str, str]:
        """Valid owner and name, and an actor who may enroll for that owner (before any work)."""
        owner, name = _check_account("owner", owner), _check_name(name)
        if actor is not None and not actor.admin and actor.account != owner:
            raise PermissionDeniedError(
                f"{actor.account!r} cannot enroll a cameo for {owner!r}: people enroll their "
                "own face"
            )
        return owner, name

    def enroll_photos(
        self,
        owner: str,
        name: str,
        photos: Sequence[Path],
        *,
        is_minor: bool = False,
        actor: Actor | None = None,
    ) -> EnrollResult:
        """Enroll a cameo from 3 or more photos of one face (see :class:`EnrollmentRules`)."""
        owner, name = self._check_enroller(owner, name, actor)
        samples = photo_samples(self._load(photos), self.detector, self.embedder, self.rules)
        return self._enroll(owner, name, samples, "photos", is_minor, actor, None)

    def enroll_video(
        self,
        owner: str,
        name: str,
        video: Path,
        *,
        is_minor: bool = False,
        actor: Actor | None = None,
    ) -> EnrollResult:
        """Enroll a cameo from a short video of the head turning (liveness checked)."""
        owner, name = self._check_enroller(owner, name, actor)
        samples, liveness = video_samples(
            video, self.detector, self.embedder, self.rules, self.limits
        )
        return self._enroll(owner, name, samples, "video", is_minor, actor, liveness)

    def enroll_samples(
        self,
        owner: str,
        name: str,
        samples: Sequence[Sample],
        *,
        source: str = "photos",
        is_minor: bool = False,
        actor: Actor | None = None,
    ) -> EnrollResult:
        """Enroll already checked samples (for callers that ran the checks themselves)."""
        owner, name = self._check_enroller(owner, name, actor)
        return self._enroll(owner, name, list(samples), source, is_minor, actor, None)

    def _conflicts(
        self, session: Session, template: npt.NDArray[np.float32]
    ) -> list[tuple[float, CameoRow | ProtectedRow]]:
        """Live subjects whose template is within the possible-match distance, nearest first."""
        self._sync(session)
        out: list[tuple[float, CameoRow | ProtectedRow]] = []
        for neighbour in self._index.search(template[None, :], _NEIGHBOURS)[0]:
            if neighbour.distance > self.operating_point.possible:
                break
            cameo = session.get(CameoRow, neighbour.key)
            if cameo is not None and cameo.status != CameoStatus.DELETED:
                out.append((neighbour.distance, cameo))
                continue
            person = session.get(ProtectedRow, neighbour.key)
            if person is not None and person.status == "active":
                out.append((neighbour.distance, person))
        return out

    @staticmethod
    def _refusal(
        conflicts: list[tuple[float, CameoRow | ProtectedRow]], owner: str
    ) -> tuple[EnrollmentError, float, str] | None:
        """Why a template with these conflicts may not be enrolled for ``owner``, if it may not.

        A protected person outranks another owner's cameo (active or revoked), which outranks
        the owner's own active cameo; the owner's revoked cameos do not count.
        """
        for distance, row in conflicts:
            if isinstance(row, ProtectedRow):
                return (
                    EnrollmentError(
                        "enrollment refused: this face matches a protected person, whose likeness "
                        "may not be enrolled or generated; if this is you, contact the operator",
                        code="enroll.protected_person",
                    ),
                    distance,
                    row.id,
                )
        for distance, row in conflicts:
            if isinstance(row, CameoRow) and row.owner != owner:
                return (
                    EnrollmentError(
                        "enrollment refused: this face already belongs to a cameo of another "
                        "account; nobody may enroll someone else's face. If it is your face, ask "
                        "the operator to review the other cameo",
                        code="enroll.already_enrolled",
                    ),
                    distance,
                    row.id,
                )
        for distance, row in conflicts:
            if isinstance(row, CameoRow) and row.status == CameoStatus.ACTIVE:
                return (
                    EnrollmentError(
                        f"enrollment refused: you already enrolled this face as cameo {row.id} "
                        f"({row.display_name!r}); change that one, or delete it first",
                        code="enroll.duplicate_own",
                    ),
                    distance,
                    row.id,
                )
        return None

    def _enroll(
        self,
        owner: str,
        name: str,
        samples: list[Sample],
        source: str,
        is_minor: bool,
        actor: Actor | None,
        liveness: LivenessReport | None,
    ) -> EnrollResult:
        if not samples:
            raise EnrollmentError(
                "enrollment needs at least one sample", code="enroll.too_few_samples"
            )
        actor = actor or Actor(owner)
        vectors = np.stack([s.embedding for s in samples]).astype(np.float32)
        template = make_template(vectors)
        cameo_id = _new_id("c_")
        now = db.utcnow()
        refusal: EnrollmentError | None = None
        with self._write() as (session, clock):
            found = self._refusal(self._conflicts(session, template), owner)
            if found is not None:
                refusal, distance, matched = found
                self._audit(
                    session,
                    clock,
                    actor,
                    "cameo.enroll_refused",
                    None,
                    owner=owner,
                    reason=refusal.code,
                    matched=matched,
                    distance=round(distance, 4),
                )
            if refusal is None:
                quality = {
                    "yaw_span_deg": round(
                        max(s.face.yaw_deg for s in samples) - min(s.face.yaw_deg for s in samples),
                        1,
                    ),
                    "min_face_px": round(min(s.face.size for s in samples), 1),
                    "min_sharpness": round(min(s.sharpness for s in samples), 1),
                    "liveness": None if liveness is None else liveness.to_dict(),
                }
                session.add(
                    CameoRow(
                        id=cameo_id,
                        owner=owner,
                        display_name=name,
                        status=CameoStatus.ACTIVE.value,
                        tier=PermissionTier.ONLY_ME.value,
                        is_minor=is_minor,
                        restrictions=[],
                        embedder=self.embedder.name,
                        sample_count=len(samples),
                        source=source,
                        quality=quality,
                        created_at=now,
                        updated_at=now,
                    )
                )
                self._store_biometrics(session, cameo_id, SubjectKind.CAMEO, samples, template, now)
                self._changed(session, clock, cameo_id)
                self._audit(
                    session,
                    clock,
                    actor,
                    "cameo.enroll",
                    cameo_id,
                    owner=owner,
                    source=source,
                    samples=len(samples),
                    is_minor=is_minor,
                    embedder=self.embedder.name,
                    tier=PermissionTier.ONLY_ME.value,
                )
        if refusal is not None:
            raise refusal
        log.info(
            "enrolled cameo %s for %s from %d %s samples", cameo_id, owner, len(samples), source
        )
        return EnrollResult(self.get(cameo_id), liveness)

    def _store_biometrics(
        self,
        session: Session,
        subject_id: str,
        kind: SubjectKind,
        samples: Sequence[Sample],
        template: npt.NDArray[np.float32],
        now: Any,
    ) -> None:
        for position, sample in enumerate(samples):
            session.add(
                SampleRow(
                    subject_id=subject_id,
                    embedder=self.embedder.name,
                    position=position,
                    source=sample.source[:200],
                    vector=_vector_bytes(sample.embedding),
                    face_jpeg=sample.crop_jpeg,
                    detector_score=sample.face.score,
                    face_px=sample.face.size,
                    yaw_deg=sample.face.yaw_deg,
                    sharpness=sample.sharpness,
                    created_at=now,
                )
            )
        session.add(
            TemplateRow(
                subject_id=subject_id,
                embedder=self.embedder.name,
                subject_kind=kind.value,
                dim=self.embedder.dim,
                vector=_vector_bytes(template),
                n_samples=len(samples),
                updated_at=now,
            )
        )

    # ------------------------------------------------------------------ protected people

    @staticmethod
    def _check_protector(name: str, actor: Actor) -> str:
        if not actor.admin:
            raise PermissionDeniedError("only an operator can add protected people")
        return _check_name(name)

    def protect(
        self, name: str, photos: Sequence[Path], *, reason: str = "", actor: Actor = OPERATOR
    ) -> ProtectResult:
        """Add a person whose face may never be generated (1 or more photos)."""
        self._check_protector(name, actor)  # before the slow part
        samples = photo_samples(
            self._load(photos), self.detector, self.embedder, self.rules, min_photos=1
        )
        return self.protect_samples(name, samples, reason=reason, actor=actor)

    def protect_samples(
        self, name: str, samples: Sequence[Sample], *, reason: str = "", actor: Actor = OPERATOR
    ) -> ProtectResult:
        """Add a protected person from already checked samples."""
        name = self._check_protector(name, actor)
        if not samples:
            raise EnrollmentError(
                "a protected person needs at least one sample", code="enroll.too_few_samples"
            )
        template = make_template(np.stack([s.embedding for s in samples]))
        person_id = _new_id("p_")
        now = db.utcnow()
        with self._write() as (session, clock):
            conflicts = tuple(
                row.id for _, row in self._conflicts(session, template) if isinstance(row, CameoRow)
            )
            session.add(
                ProtectedRow(
                    id=person_id,
                    display_name=name,
                    reason=reason[:2000],
                    status="active",
                    embedder=self.embedder.name,
                    sample_count=len(samples),
                    added_by=actor.account,
                    created_at=now,
                    updated_at=now,
                )
            )
            self._store_biometrics(
                session, person_id, SubjectKind.PROTECTED, samples, template, now
            )
            self._changed(session, clock, person_id)
            self._audit(
                session,
                clock,
                actor,
                "protected.add",
                person_id,
                samples=len(samples),
                conflicting_cameos=list(conflicts),
            )
            person = self._protected_value(session.get_one(ProtectedRow, person_id))
        return ProtectResult(person, conflicts)

    def unprotect(self, person_id: str, *, actor: Actor = OPERATOR) -> ProtectedPerson:
        """Remove a protected person and their biometric data."""
        if not actor.admin:
            raise PermissionDeniedError("only an operator can remove protected people")
        with self._write() as (session, clock):
            row = session.get(ProtectedRow, person_id)
            if row is None:
                raise NotFoundError(
                    f"no protected person with id {person_id!r}", code="consent.unknown_protected"
                )
            self._erase(session, person_id)
            row.status, row.updated_at = "removed", db.utcnow()
            self._changed(session, clock, person_id)
            self._audit(session, clock, actor, "protected.remove", person_id)
            person = self._protected_value(row)
        self._scrub()
        return person

    # ------------------------------------------------------------------ permissions

    def set_permissions(
        self,
        cameo_id: str,
        *,
        tier: PermissionTier | str | None = None,
        approve: Sequence[str] = (),
        guardians: Sequence[str] = (),
        unapprove: Sequence[str] = (),
        actor: Actor,
    ) -> Cameo:
        """Set the tier and edit the approved accounts (guardians for a minor's cameo)."""
        try:
            new_tier = None if tier is None else PermissionTier(tier)
        except ValueError:
            raise ConsentPolicyError(
                f"unknown tier {tier!r}; use one of {', '.join(t.value for t in PermissionTier)}",
                code="consent.unknown_tier",
            ) from None
        approve = [_check_account("approved account", a) for a in approve]
        guardians = [_check_account("guardian account", a) for a in guardians]
        unapprove = [_check_account("account", a) for a in unapprove]
        with self._write() as (session, clock):
            row = self._owned(session, cameo_id, actor)
            self._require_active(row)
            if row.is_minor and new_tier is PermissionTier.EVERYONE:
                raise ConsentPolicyError(
                    f"cameo {cameo_id} belongs to a minor: its tier can only be only_me or "
                    "approved (guardians)",
                    code="consent.minor_tier",
                )
            if row.is_minor and approve:
                raise ConsentPolicyError(
                    f"cameo {cameo_id} belongs to a minor: only guardians can be approved; "
                    "add them with --guardian",
                    code="consent.minor_approval",
                )
            now = db.utcnow()
            for account in unapprove:
                session.execute(
                    delete(ApprovalRow).where(
                        ApprovalRow.cameo_id == cameo_id, ApprovalRow.account == account
                    )
                )
            for account, relation in [
                *((a, AccountRelation.APPROVED) for a in approve),
                *((g, AccountRelation.GUARDIAN) for g in guardians),
            ]:
                if account == row.owner:
                    continue
                existing = session.get(ApprovalRow, (cameo_id, account))
                if existing is None:
                    session.add(
                        ApprovalRow(
                            cameo_id=cameo_id,
                            account=account,
                            relation=relation.value,
                            created_at=now,
                        )
                    )
                else:
                    existing.relation = relation.value
            if new_tier is not None:
                row.tier = new_tier.value
            row.updated_at = now
            self._audit(
                session,
                clock,
                actor,
                "cameo.permit",
                cameo_id,
                tier=row.tier,
                approved=sorted(approve),
                guardians=sorted(guardians),
                unapproved=sorted(unapprove),
            )
            session.flush()
            return self._cameo_value(session, row)

    def restrict(
        self,
        cameo_id: str,
        *,
        forbid: Sequence[str] = (),
        allow: Sequence[str] = (),
        actor: Actor,
    ) -> Cameo:
        """Add forbidden terms or ``topic:NAME`` restrictions, or lift them (``allow``)."""
        add = [normalise_restriction(t) for t in forbid]
        lift = {normalise_restriction(t) for t in allow}
        with self._write() as (session, clock):
            row = self._owned(session, cameo_id, actor)
            self._require_active(row)
            current = [t for t in row.restrictions if t not in lift]
            current.extend(t for t in add if t not in current)
            if len(current) > MAX_RESTRICTIONS:
                raise ConsentPolicyError(
                    f"a cameo can carry at most {MAX_RESTRICTIONS} restrictions; "
                    f"this change would make {len(current)}",
                    code="consent.too_many_restrictions",
                )
            row.restrictions = current
            row.updated_at = db.utcnow()
            self._audit(
                session,
                clock,
                actor,
                "cameo.restrict",
                cameo_id,
                added=add,
                lifted=sorted(lift),
                restrictions=current,
            )
            return self._cameo_value(session, row)

    @staticmethod
    def _require_active(row: CameoRow) -> None:
        if row.status != CameoStatus.ACTIVE:
            raise ConsentPolicyError(
                f"cameo {row.id} is {row.status}; its permissions can no longer change "
                "(enroll again to use your likeness)",
                code=f"consent.cameo_{row.status}",
            )

    # ------------------------------------------------------------------ revocation, deletion

    def generations(self, cameo_id: str) -> tuple[str, ...]:
        """Ids of the ledger generations that used this cameo (none without a ledger)."""
        if self.ledger is None:
            return ()
        return tuple(e.generation_id for e in self.ledger.by_cameo(cameo_id))

    def revoke(self, cameo_id: str, *, actor: Actor, reason: str | None = None) -> RevokeResult:
        """Withdraw consent now: every later authorize() in any process is refused."""
        with self._write() as (session, clock):
            row = self._owned(session, cameo_id, actor)
            if row.status == CameoStatus.DELETED:
                raise ConsentPolicyError(
                    f"cameo {cameo_id} was deleted; nothing to revoke", code="consent.cameo_deleted"
                )
            already = row.status == CameoStatus.REVOKED
            if not already:
                now = db.utcnow()
                row.status, row.revoked_at, row.updated_at = CameoStatus.REVOKED.value, now, now
                row.revocation_reason = (reason or "")[:2000] or None
                self._audit(
                    session, clock, actor, "cameo.revoke", cameo_id, reason=row.revocation_reason
                )
            cameo = self._cameo_value(session, row)
        return RevokeResult(cameo, self.generations(cameo_id), already)

    def delete(self, cameo_id: str, *, actor: Actor) -> DeleteResult:
        """Delete a cameo's biometric data (samples, photos, templates); keep a tombstone."""
        with self._write() as (session, clock):
            row = self._owned(session, cameo_id, actor)
            if row.status == CameoStatus.DELETED:
                raise ConsentPolicyError(
                    f"cameo {cameo_id} is already deleted", code="consent.cameo_deleted"
                )
            samples, templates = self._erase(session, cameo_id)
            session.execute(delete(ApprovalRow).where(ApprovalRow.cameo_id == cameo_id))
            now = db.utcnow()
            if row.revoked_at is None:
                row.revoked_at = now
            row.status, row.deleted_at, row.updated_at = CameoStatus.DELETED.value, now, now
            row.display_name, row.restrictions, row.quality = "", [], {}
            self._changed(session, clock, cameo_id)
            self._audit(
                session,
                clock,
                actor,
                "cameo.delete",
                cameo_id,
                removed_samples=samples,
                removed_templates=templates,
            )
            cameo = self._cameo_value(session, row)
        self._scrub()
        self._index.remove(cameo_id)
        return DeleteResult(cameo, samples, templates, self.generations(cameo_id))

    @staticmethod
    def _erase(session: Session, subject_id: str) -> tuple[int, int]:
        samples = session.execute(delete(SampleRow).where(SampleRow.subject_id == subject_id))
        templates = session.execute(delete(TemplateRow).where(TemplateRow.subject_id == subject_id))
        return int(getattr(samples, "rowcount", 0)), int(getattr(templates, "rowcount", 0))

    def _scrub(self) -> None:
        """Make deleted biometric bytes unrecoverable from the database files where we can.

        The deletion itself is already committed; a failure here (another reader holding the
        WAL, no VACUUM privilege) is logged, not raised.
        """
        try:
            with self.engine.connect() as connection:
                if connection.dialect.name == "sqlite":
                    # secure_delete zeroed the freed pages; the WAL still holds old page images.
                    connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                elif connection.dialect.name == "postgresql":
                    autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
                    autocommit.execute(text("VACUUM consent_samples, consent_templates"))
        except SQLAlchemyError as error:
            log.warning(
                "deleted biometric rows could not be scrubbed from storage yet: %s",
                str(error).splitlines()[0],
            )

    # ------------------------------------------------------------------ authorization

    def authorize(self, requester: str, cameo_ids: Sequence[str], prompt: str) -> Authorization:
        """Decide, for ``requester`` and ``prompt``, every cameo in ``cameo_ids``; record it."""
        requester = _check_account("requester", requester)
        if isinstance(cameo_ids, str):
            cameo_ids = [cameo_ids]
        ids = list(dict.fromkeys(cameo_ids))
        if not ids or len(ids) > MAX_CAMEOS_PER_REQUEST:
            raise BadInputError(
                f"a request names 1 to {MAX_CAMEOS_PER_REQUEST} cameos, got {len(ids)}",
                code="consent.bad_request",
            )
        if not isinstance(prompt, str) or len(prompt) > MAX_PROMPT_CHARS:
            raise BadInputError(
                f"the prompt must be text of at most {MAX_PROMPT_CHARS} characters",
                code="consent.bad_prompt",
            )
        prompt_sha = hashlib.sha256(prompt.encode()).hexdigest()
        now = db.utcnow()
        denials: list[Denial] = []
        permitted: list[str] = []
        grants: list[Grant] = []
        with self._write() as (session, clock):
            rows = {r.id: r for r in session.scalars(select(CameoRow).where(CameoRow.id.in_(ids)))}
            approvals: dict[str, list[tuple[str, str]]] = {}
            for cid, account, relation in session.execute(
                select(ApprovalRow.cameo_id, ApprovalRow.account, ApprovalRow.relation).where(
                    ApprovalRow.cameo_id.in_(ids)
                )
            ):
                approvals.setdefault(cid, []).append((account, relation))
            for cid in ids:
                row = rows.get(cid)
                request = (
                    None
                    if row is None
                    else UseRequest(
                        cameo_id=cid,
                        owner=row.owner,
                        status=CameoStatus(row.status),
                        tier=PermissionTier(row.tier),
                        is_minor=row.is_minor,
                        approved=frozenset(a for a, r in approvals.get(cid, []) if r == "approved"),
                        guardians=frozenset(
                            a for a, r in approvals.get(cid, []) if r == "guardian"
                        ),
                        restrictions=tuple(row.restrictions),
                        revoked_at=None if row.revoked_at is None else f"{row.revoked_at:%Y-%m-%d}",
                    )
                )
                denial = decide_use(requester, request, cid, prompt)
                if denial is None:
                    permitted.append(cid)
                else:
                    denials.append(denial)
            if not denials:
                expires = now + self.grant_ttl
                for cid in ids:
                    row = rows[cid]
                    scope = {
                        "use": "generation",
                        "requester": requester,
                        "prompt_sha256": prompt_sha,
                        "tier": row.tier,
                        "owner_is_requester": row.owner == requester,
                        "restrictions_checked": len(row.restrictions),
                    }
                    grant_id = _new_id("gr_", 24)
                    session.add(
                        GrantRow(
                            id=grant_id,
                            cameo_id=cid,
                            requester=requester,
                            scope=scope,
                            created_at=now,
                            expires_at=expires,
                        )
                    )
                    grants.append(Grant(grant_id, cid, requester, scope, expires))
            self._audit(
                session,
                clock,
                requester,
                "consent.authorize",
                ids[0] if len(ids) == 1 else None,
                cameos=ids,
                prompt_sha256=prompt_sha,
                allowed=not denials,
                grants=[g.grant_id for g in grants],
                denials=[{"cameo_id": d.cameo_id, "reason": d.reason.value} for d in denials],
            )
        return Authorization(requester, prompt_sha, tuple(grants), tuple(denials), tuple(permitted))

    def grant_status(self, grant_id: str) -> GrantStatus:
        """Whether the consent behind ``grant_id`` still stands (active, revoked or deleted)."""
        with self._read() as session:
            grant = session.get(GrantRow, grant_id)
            if grant is None:
                raise NotFoundError(
                    f"no consent grant with id {grant_id!r}", code="consent.unknown_grant"
                )
            cameo = session.get(CameoRow, grant.cameo_id)
            now = db.utcnow()
            state = "deleted" if cameo is None else cameo.status
            return GrantStatus(
                grant_id=grant.id,
                cameo_id=grant.cameo_id,
                state=state,
                usable_for_new_generation=state == "active" and now < grant.expires_at,
                expires_at=grant.expires_at,
                checked_at=now,
                revoked_at=None if cameo is None else cameo.revoked_at,
            )

    def likeness(self, grant_id: str, requester: str) -> list[npt.NDArray[np.uint8]]:
        """The enrolled face pictures behind an active grant, for rendering that cameo.

        Only the grant's requester gets them, only while the grant is unexpired and the cameo
        active; most frontal and sharpest first. Every read is audited (owners see when their
        likeness was used). The pictures are biometric: callers must not log or keep them.
        """
        requester = _check_account("requester", requester)
        with self._write() as (session, clock):
            grant = session.get(GrantRow, grant_id)
            if grant is None or grant.requester != requester:
                raise PermissionDeniedError(
                    f"grant {grant_id!r} was not issued to {requester!r}; authorize the "
                    "generation first",
                    code="consent.grant_mismatch",
                )
            cameo = session.get(CameoRow, grant.cameo_id)
            now = db.utcnow()
            if cameo is None or cameo.status != CameoStatus.ACTIVE.value or now >= grant.expires_at:
                state = "deleted" if cameo is None else cameo.status
                raise ConsentDeniedError(
                    f"grant {grant_id} no longer allows use of cameo {grant.cameo_id} (cameo "
                    f"{state}, grant expires {grant.expires_at:%Y-%m-%d %H:%M} UTC); ask for a "
                    "new authorization",
                    code="consent.grant_inactive",
                )
            rows = session.scalars(
                select(SampleRow)
                .where(SampleRow.subject_id == cameo.id)
                .order_by(func.abs(SampleRow.yaw_deg), SampleRow.sharpness.desc())
            ).all()
            faces = [_decode_jpeg(row.face_jpeg) for row in rows]
            self._audit(session, clock, requester, "cameo.likeness_used", cameo.id,
                        grant=grant_id, samples=len(faces))  # fmt: skip
        if not faces:
            raise ConsentDeniedError(
                f"cameo {grant.cameo_id} has no stored face pictures to render from; its owner "
                "must enroll again",
                code="consent.no_likeness",
            )
        return faces

    # ------------------------------------------------------------------ identification

    def match_embeddings(
        self, vectors: npt.NDArray[np.float32]
    ) -> list[tuple[SubjectMatch | None, float | None]]:
        """For each probe vector: the nearest enrolled subject within the possible distance."""
        if len(vectors) == 0:
            return []
        with self._read() as session:
            self._sync(session)
            neighbours = self._index.search(vectors, 1)
            keys = {
                n[0].key for n in neighbours if n and n[0].distance <= self.operating_point.possible
            }
            cameos = (
                {r.id: r for r in session.scalars(select(CameoRow).where(CameoRow.id.in_(keys)))}
                if keys
                else {}
            )
            people = (
                {
                    r.id: r
                    for r in session.scalars(select(ProtectedRow).where(ProtectedRow.id.in_(keys)))
                }
                if keys
                else {}
            )
        out: list[tuple[SubjectMatch | None, float | None]] = []
        for found in neighbours:
            if not found:
                out.append((None, None))
                continue
            nearest = found[0]
            decision = decide(nearest.distance, self.operating_point)
            match: SubjectMatch | None = None
            if decision is not Decision.NO_MATCH:
                if nearest.key in cameos:
                    c = cameos[nearest.key]
                    match = SubjectMatch(
                        SubjectKind.CAMEO,
                        c.id,
                        c.display_name,
                        c.owner,
                        c.status,
                        nearest.distance,
                        decision,
                    )
                elif nearest.key in people:
                    p = people[nearest.key]
                    match = SubjectMatch(
                        SubjectKind.PROTECTED,
                        p.id,
                        p.display_name,
                        None,
                        p.status,
                        nearest.distance,
                        decision,
                    )
            out.append((match, nearest.distance))
        return out

    def identify_frames(
        self, frames: Sequence[tuple[npt.NDArray[np.uint8], int | None, float | None]]
    ) -> list[FaceResult]:
        """Faces in ``(rgb, frame_index, t_s)`` pictures, matched in one search."""
        found: list[tuple[DetectedFace, int | None, float | None]] = []
        vectors: list[npt.NDArray[np.float32]] = []
        for rgb, index, t_s in frames:
            faces = self.detector.detect(rgb)
            if faces:
                found.extend((face, index, t_s) for face in faces)
                vectors.append(self.embedder.embed(rgb, faces))
        if not found:
            return []
        matches = self.match_embeddings(np.concatenate(vectors))
        return [
            FaceResult(face, match, distance, index, t_s)
            for (face, index, t_s), (match, distance) in zip(found, matches, strict=True)
        ]

    def identify_image(self, rgb: npt.NDArray[np.uint8]) -> list[FaceResult]:
        return self.identify_frames([(rgb, None, None)])

    def identify(self, path: Path) -> IdentifyResult:
        """Every face in an image, or in sampled frames of a video, with its best match."""
        info = probe(path, self.limits)
        point = self.operating_point
        results: list[FaceResult] = []
        notes: list[str] = []
        frames = 0
        if info.kind is MediaKind.IMAGE:
            frames = 1
            results = self.identify_image(load_image(path, self.limits))
        elif info.kind is MediaKind.VIDEO:
            sampled = sample_frames(path, self.video_frames, self.limits)
            frames = len(sampled)
            results = self.identify_frames([(f.rgb, f.index, f.pts_s) for f in sampled])
        else:
            notes.append(f"{info.type.mime} has no pictures: no faces to identify")
        if frames and not results:
            notes.append("no face found")
        if not point.calibrated:
            notes.append(f"the {self.embedder.name} threshold is not calibrated: {point.source}")
        return IdentifyResult(
            info.kind.value,
            frames,
            tuple(results),
            self.embedder.name,
            point.match,
            point.possible,
            tuple(notes),
        )

    # ------------------------------------------------------------------ audit

    def audit_verify(self) -> audit.AuditVerification:
        with self._read() as session:
            return audit.verify_chain(session)

    def audit_entries(
        self, subject_id: str | None = None, limit: int = 1000
    ) -> list[audit.AuditEntry]:
        with self._read() as session:
            out = []
            for row in audit.iter_entries(session, subject_id=subject_id):
                out.append(
                    audit.AuditEntry(
                        row.seq,
                        row.at,
                        row.actor,
                        row.action,
                        row.subject_id,
                        dict(row.details),
                        row.hash,
                    )
                )
                if len(out) >= limit:
                    break
            return out

    def counts(self) -> dict[str, int]:
        with self._read() as session:

            def n(model: Any, *where: Any) -> int:
                return int(
                    session.scalar(select(func.count()).select_from(model).where(*where)) or 0
                )

            return {
                "cameos_active": n(CameoRow, CameoRow.status == "active"),
                "cameos_revoked": n(CameoRow, CameoRow.status == "revoked"),
                "cameos_deleted": n(CameoRow, CameoRow.status == "deleted"),
                "protected": n(ProtectedRow, ProtectedRow.status == "active"),
                "templates": n(TemplateRow),
                "samples": n(SampleRow),
            }


def _decode_jpeg(data: bytes) -> npt.NDArray[np.uint8]:
    with Image.open(io.BytesIO(data)) as im:
        return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))
