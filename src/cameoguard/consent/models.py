"""Tables of the consent registry (declared on :class:`cameoguard.db.Base`, migration ``0003``).

* ``consent_cameos``: one row per enrolled likeness: owner, display name, status (active /
  revoked / deleted), permission tier, restrictions, minor flag, times. After deletion the row
  stays as a tombstone without a name, so ledger links and the audit log stay readable.
* ``consent_approvals``: accounts the owner approved (``approved``) or, for a minor, the
  guardians (``guardian``).
* ``consent_protected``: people whose faces may never be generated.
* ``consent_samples``: the enrollment samples of a cameo or protected person: the embedding
  and the aligned face crop (JPEG), with their quality measurements. Biometric.
* ``consent_templates``: one template per subject and embedder (mean of its samples). Biometric.
* ``consent_changes``: which subject's template changed at which registry version; the search
  index of every process replays it to stay current. No biometric data.
* ``consent_grants``: every consent grant handed out by ``authorize``, so that a status URL can
  say later whether it still holds.
* ``consent_audit``: the append-only, hash-chained audit log.
* ``consent_clock``: one row: the registry version, the audit log's length and head hash.
  Every write takes it first (row lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), which
  orders versions and audit entries in commit order.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cameoguard.db import Base, UTCDateTime

__all__ = [
    "AccountRelation",
    "ApprovalRow",
    "AuditRow",
    "CameoRow",
    "CameoStatus",
    "ChangeRow",
    "ClockRow",
    "GrantRow",
    "PermissionTier",
    "ProtectedRow",
    "SampleRow",
    "SubjectKind",
    "TemplateRow",
]

ID_LEN = 14  # "c_" / "p_" + 12 hex digits
GRANT_ID_LEN = 27  # "gr_" + 24 hex digits
ACCOUNT_MAX = 256
NAME_MAX = 200
EMBEDDER_MAX = 64


class CameoStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    DELETED = "deleted"


class PermissionTier(StrEnum):
    ONLY_ME = "only_me"
    APPROVED = "approved"
    EVERYONE = "everyone"


class AccountRelation(StrEnum):
    APPROVED = "approved"
    GUARDIAN = "guardian"


class SubjectKind(StrEnum):
    CAMEO = "cameo"
    PROTECTED = "protected"


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class CameoRow(Base):
    __tablename__ = "consent_cameos"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    owner: Mapped[str] = mapped_column(String(ACCOUNT_MAX), index=True)
    display_name: Mapped[str] = mapped_column(String(NAME_MAX))
    status: Mapped[str] = mapped_column(String(16))
    tier: Mapped[str] = mapped_column(String(16))
    is_minor: Mapped[bool] = mapped_column(Boolean)
    restrictions: Mapped[list[str]] = mapped_column(JSON)
    embedder: Mapped[str] = mapped_column(String(EMBEDDER_MAX))
    sample_count: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    quality: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revocation_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        CheckConstraint(_in("status", CameoStatus), name="status"),
        CheckConstraint(_in("tier", PermissionTier), name="tier"),
        CheckConstraint("source IN ('photos', 'video')", name="source"),
        CheckConstraint("NOT (is_minor AND tier = 'everyone')", name="minor_tier"),
        CheckConstraint(
            "(status = 'active' AND revoked_at IS NULL AND deleted_at IS NULL) OR "
            "(status = 'revoked' AND revoked_at IS NOT NULL AND deleted_at IS NULL) OR "
            "(status = 'deleted' AND deleted_at IS NOT NULL)",
            name="status_times",
        ),
    )

    def __repr__(self) -> str:
        return f"CameoRow(id={self.id!r}, owner={self.owner!r}, status={self.status!r})"


class ApprovalRow(Base):
    __tablename__ = "consent_approvals"

    cameo_id: Mapped[str] = mapped_column(
        String(ID_LEN), ForeignKey("consent_cameos.id", ondelete="CASCADE"), primary_key=True
    )
    account: Mapped[str] = mapped_column(String(ACCOUNT_MAX), primary_key=True)
    relation: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint(_in("relation", AccountRelation), name="relation"),)


class ProtectedRow(Base):
    __tablename__ = "consent_protected"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(NAME_MAX))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    embedder: Mapped[str] = mapped_column(String(EMBEDDER_MAX))
    sample_count: Mapped[int] = mapped_column(Integer)
    added_by: Mapped[str] = mapped_column(String(ACCOUNT_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("status IN ('active', 'removed')", name="status"),)


class SampleRow(Base):
    __tablename__ = "consent_samples"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    subject_id: Mapped[str] = mapped_column(String(ID_LEN))
    embedder: Mapped[str] = mapped_column(String(EMBEDDER_MAX))
    position: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(200))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    face_jpeg: Mapped[bytes] = mapped_column(LargeBinary)
    detector_score: Mapped[float] = mapped_column(Float)
    face_px: Mapped[float] = mapped_column(Float)
    yaw_deg: Mapped[float] = mapped_column(Float)
    sharpness: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_consent_samples_subject_id", "subject_id"),)

    def __repr__(self) -> str:  # never the vector or the photo
        return f"SampleRow(subject_id={self.subject_id!r}, position={self.position})"


class TemplateRow(Base):
    __tablename__ = "consent_templates"

    subject_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    embedder: Mapped[str] = mapped_column(String(EMBEDDER_MAX), primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(16))
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    n_samples: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint(_in("subject_kind", SubjectKind), name="subject_kind"),)

    def __repr__(self) -> str:  # never the vector
        return f"TemplateRow(subject_id={self.subject_id!r}, embedder={self.embedder!r})"


class ChangeRow(Base):
    __tablename__ = "consent_changes"

    version: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    subject_id: Mapped[str] = mapped_column(String(ID_LEN))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class GrantRow(Base):
    __tablename__ = "consent_grants"

    id: Mapped[str] = mapped_column(String(GRANT_ID_LEN), primary_key=True)
    cameo_id: Mapped[str] = mapped_column(String(ID_LEN), index=True)
    requester: Mapped[str] = mapped_column(String(ACCOUNT_MAX))
    scope: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditRow(Base):
    __tablename__ = "consent_audit"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(ACCOUNT_MAX))
    action: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str | None] = mapped_column(String(ID_LEN), nullable=True, index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ClockRow(Base):
    __tablename__ = "consent_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)
    audit_seq: Mapped[int] = mapped_column(BigInteger)
    audit_head: Mapped[str] = mapped_column(String(64))

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)
