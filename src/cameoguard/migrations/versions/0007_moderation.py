"""moderation: the queue's items and their history (the service).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:00:00

Model and meaning: :mod:`cameoguard.moderation`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "moderation_items",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("generation_id", sa.String(length=14), nullable=True),
        sa.Column("pdq", sa.String(length=64), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'escalated', 'decided')", name=op.f("ck_moderation_items_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_items")),
        sa.UniqueConstraint("key", name=op.f("uq_moderation_items_key")),
    )
    with op.batch_alter_table("moderation_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_moderation_items_rule"), ["rule"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_moderation_items_generation_id"), ["generation_id"], unique=False
        )
    op.create_table(
        "moderation_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("item_id", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["moderation_items.id"],
            name=op.f("fk_moderation_events_item_id_moderation_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_events")),
    )
    with op.batch_alter_table("moderation_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_moderation_events_item_id"), ["item_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("moderation_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_moderation_events_item_id"))
    op.drop_table("moderation_events")
    with op.batch_alter_table("moderation_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_moderation_items_generation_id"))
        batch_op.drop_index(batch_op.f("ix_moderation_items_rule"))
    op.drop_table("moderation_items")
