"""generations: the generation library (drafts, published outputs, deletions).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 21:00:00

Model and meaning: :mod:`cameoguard.generator_adapter.library`. One row per generation, keyed
by its ledger id; cameos come from ``ledger_generation_cameos``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "generations",
        sa.Column("id", sa.String(length=14), nullable=False),
        sa.Column("requester", sa.String(length=256), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("backend", sa.String(length=64), nullable=False),
        sa.Column("media_kind", sa.String(length=16), nullable=False),
        sa.Column("mime", sa.String(length=128), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=True),
        sa.Column("prompt_sha256", sa.String(length=64), nullable=False),
        sa.Column("parent_id", sa.String(length=14), nullable=True),
        sa.Column("file_name", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by", sa.String(length=256), nullable=True),
        sa.Column("delete_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'deleted')", name=op.f("ck_generations_status")
        ),
        sa.ForeignKeyConstraint(
            ["id"], ["ledger_generations.id"], name=op.f("fk_generations_id_ledger_generations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generations")),
    )
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_generations_requester"), ["requester"], unique=False)
        batch_op.create_index(batch_op.f("ix_generations_parent_id"), ["parent_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_generations_parent_id"))
        batch_op.drop_index(batch_op.f("ix_generations_requester"))
    op.drop_table("generations")
