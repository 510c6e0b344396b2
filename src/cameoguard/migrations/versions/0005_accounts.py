"""accounts: API accounts with roles and hashed keys (the service).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 00:45:00

Model and meaning: :mod:`cameoguard.accounts`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('user', 'platform', 'moderator', 'admin')", name=op.f("ck_accounts_role")
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_accounts")),
        sa.UniqueConstraint("key_sha256", name=op.f("uq_accounts_key_sha256")),
    )


def downgrade() -> None:
    op.drop_table("accounts")
