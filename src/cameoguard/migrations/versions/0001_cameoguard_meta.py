"""cameoguard_meta: key/value facts about this deployment.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

``schema_created_at`` records when this database was first migrated (ISO 8601, UTC). Later
revisions and code keep deployment-wide settings here (for example the watermark key id).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    meta = op.create_table(
        "cameoguard_meta",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_cameoguard_meta")),
    )
    now = datetime.now(UTC).replace(microsecond=0)
    op.bulk_insert(
        meta,
        [{"key": "schema_created_at", "value": now.isoformat(), "updated_at": now}],
    )


def downgrade() -> None:
    op.drop_table("cameoguard_meta")
