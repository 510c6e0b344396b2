"""consent: the cameo registry (cameos, approvals, protected people, samples, templates,
change log, grants, hash-chained audit log, and the one-row clock).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 19:05:08

Models and the meaning of each table: :mod:`cameoguard.consent.models`. The clock row starts
at version 0 with an empty audit log whose head is 64 zeros (the chain's genesis value).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent_audit",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=14), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_consent_audit")),
    )
    with op.batch_alter_table("consent_audit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_audit_subject_id"), ["subject_id"], unique=False
        )

    op.create_table(
        "consent_cameos",
        sa.Column("id", sa.String(length=14), nullable=False),
        sa.Column("owner", sa.String(length=256), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("is_minor", sa.Boolean(), nullable=False),
        sa.Column("restrictions", sa.JSON(), nullable=False),
        sa.Column("embedder", sa.String(length=64), nullable=False),
        sa.Column("sample_count", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("quality", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'active' AND revoked_at IS NULL AND deleted_at IS NULL) OR "
            "(status = 'revoked' AND revoked_at IS NOT NULL AND deleted_at IS NULL) OR "
            "(status = 'deleted' AND deleted_at IS NOT NULL)",
            name=op.f("ck_consent_cameos_status_times"),
        ),
        sa.CheckConstraint(
            "NOT (is_minor AND tier = 'everyone')", name=op.f("ck_consent_cameos_minor_tier")
        ),
        sa.CheckConstraint("source IN ('photos', 'video')", name=op.f("ck_consent_cameos_source")),
        sa.CheckConstraint(
            "status IN ('active', 'revoked', 'deleted')", name=op.f("ck_consent_cameos_status")
        ),
        sa.CheckConstraint(
            "tier IN ('only_me', 'approved', 'everyone')", name=op.f("ck_consent_cameos_tier")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_cameos")),
    )
    with op.batch_alter_table("consent_cameos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_cameos_owner"), ["owner"], unique=False)

    op.create_table(
        "consent_changes",
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("subject_id", sa.String(length=14), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_consent_changes")),
    )
    clock = op.create_table(
        "consent_clock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=False),
        sa.Column("audit_head", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_consent_clock_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_clock")),
    )
    op.bulk_insert(clock, [{"id": 1, "version": 0, "audit_seq": 0, "audit_head": "0" * 64}])
    op.create_table(
        "consent_grants",
        sa.Column("id", sa.String(length=27), nullable=False),
        sa.Column("cameo_id", sa.String(length=14), nullable=False),
        sa.Column("requester", sa.String(length=256), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_grants")),
    )
    with op.batch_alter_table("consent_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_grants_cameo_id"), ["cameo_id"], unique=False)

    op.create_table(
        "consent_protected",
        sa.Column("id", sa.String(length=14), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("embedder", sa.String(length=64), nullable=False),
        sa.Column("sample_count", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'removed')", name=op.f("ck_consent_protected_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_protected")),
    )
    op.create_table(
        "consent_samples",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("subject_id", sa.String(length=14), nullable=False),
        sa.Column("embedder", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("face_jpeg", sa.LargeBinary(), nullable=False),
        sa.Column("detector_score", sa.Float(), nullable=False),
        sa.Column("face_px", sa.Float(), nullable=False),
        sa.Column("yaw_deg", sa.Float(), nullable=False),
        sa.Column("sharpness", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_samples")),
    )
    with op.batch_alter_table("consent_samples", schema=None) as batch_op:
        batch_op.create_index("ix_consent_samples_subject_id", ["subject_id"], unique=False)

    op.create_table(
        "consent_templates",
        sa.Column("subject_id", sa.String(length=14), nullable=False),
        sa.Column("embedder", sa.String(length=64), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("n_samples", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "subject_kind IN ('cameo', 'protected')", name=op.f("ck_consent_templates_subject_kind")
        ),
        sa.PrimaryKeyConstraint("subject_id", "embedder", name=op.f("pk_consent_templates")),
    )
    op.create_table(
        "consent_approvals",
        sa.Column("cameo_id", sa.String(length=14), nullable=False),
        sa.Column("account", sa.String(length=256), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "relation IN ('approved', 'guardian')", name=op.f("ck_consent_approvals_relation")
        ),
        sa.ForeignKeyConstraint(
            ["cameo_id"],
            ["consent_cameos.id"],
            name=op.f("fk_consent_approvals_cameo_id_consent_cameos"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cameo_id", "account", name=op.f("pk_consent_approvals")),
    )


def downgrade() -> None:
    op.drop_table("consent_approvals")
    op.drop_table("consent_templates")
    with op.batch_alter_table("consent_samples", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_samples_subject_id")

    op.drop_table("consent_samples")
    op.drop_table("consent_protected")
    with op.batch_alter_table("consent_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_grants_cameo_id"))

    op.drop_table("consent_grants")
    op.drop_table("consent_clock")
    op.drop_table("consent_changes")
    with op.batch_alter_table("consent_cameos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_cameos_owner"))

    op.drop_table("consent_cameos")
    with op.batch_alter_table("consent_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_audit_subject_id"))

    op.drop_table("consent_audit")
