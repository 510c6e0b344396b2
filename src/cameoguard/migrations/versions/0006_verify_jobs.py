"""verify_jobs: background verification of long uploads (the service).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:50:00

Model and meaning: :mod:`cameoguard.jobs`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "verify_jobs",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.String(length=256), nullable=True),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("webhook_status", sa.String(length=64), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error_code", sa.String(length=128), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_verify_jobs_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verify_jobs")),
    )
    with op.batch_alter_table("verify_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verify_jobs_account"), ["account"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("verify_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verify_jobs_account"))
    op.drop_table("verify_jobs")
