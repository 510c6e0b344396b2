"""ledger: the generation ledger (generations, video frame hashes, cameo links).

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02 00:00:00

``ledger_generations`` holds one row per generated output: its text id ``g_`` + 12 hex digits
(primary key) and 48-bit watermark payload (unique), file facts, the C2PA manifest store and
report, perceptual hashes, and takedown status. ``ledger_frame_hashes`` holds the vPDQ hashes
of video frames and ``ledger_generation_cameos`` indexes generations by the cameos they used;
both go with their generation (ON DELETE CASCADE). Models: :mod:`cameoguard.provenance.ledger`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MAX_PAYLOAD = (1 << 48) - 1


def upgrade() -> None:
    op.create_table(
        "ledger_generations",
        sa.Column("id", sa.String(length=14), nullable=False),
        sa.Column("payload", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requester", sa.String(length=256), nullable=False),
        sa.Column("backend", sa.String(length=64), nullable=False),
        sa.Column("media_kind", sa.String(length=16), nullable=False),
        sa.Column("mime", sa.String(length=128), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("watermark_scheme", sa.String(length=64), nullable=True),
        sa.Column("watermark_key_id", sa.String(length=16), nullable=True),
        sa.Column("cameo_ids", sa.JSON(), nullable=False),
        sa.Column("consent_grant_ids", sa.JSON(), nullable=False),
        sa.Column("manifest_label", sa.String(length=256), nullable=True),
        sa.Column("manifest_store", sa.LargeBinary(), nullable=False),
        sa.Column("manifest_json", sa.Text(), nullable=False),
        sa.Column("pdq", sa.String(length=64), nullable=True),
        sa.Column("pdq_quality", sa.Integer(), nullable=True),
        sa.Column("pdq_crops", sa.Text(), nullable=True),
        sa.Column("audio_fingerprint", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("taken_down_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("takedown_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            f"payload > 0 AND payload <= {_MAX_PAYLOAD}",
            name=op.f("ck_ledger_generations_payload_range"),
        ),
        sa.CheckConstraint(
            "media_kind IN ('image', 'video', 'audio')",
            name=op.f("ck_ledger_generations_media_kind"),
        ),
        sa.CheckConstraint(
            "(status = 'active' AND taken_down_at IS NULL AND takedown_reason IS NULL) OR "
            "(status = 'taken_down' AND taken_down_at IS NOT NULL "
            "AND takedown_reason IS NOT NULL)",
            name=op.f("ck_ledger_generations_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_generations")),
        sa.UniqueConstraint("payload", name=op.f("uq_ledger_generations_payload")),
    )
    op.create_index(op.f("ix_ledger_generations_created_at"), "ledger_generations", ["created_at"])
    op.create_index(op.f("ix_ledger_generations_sha256"), "ledger_generations", ["sha256"])

    op.create_table(
        "ledger_frame_hashes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("generation_id", sa.String(length=14), nullable=False),
        sa.Column("t_s", sa.Float(), nullable=False),
        sa.Column("pdq", sa.String(length=64), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["ledger_generations.id"],
            name=op.f("fk_ledger_frame_hashes_generation_id_ledger_generations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_frame_hashes")),
    )
    op.create_index(
        op.f("ix_ledger_frame_hashes_generation_id_t_s"),
        "ledger_frame_hashes",
        ["generation_id", "t_s"],
    )

    op.create_table(
        "ledger_generation_cameos",
        sa.Column("generation_id", sa.String(length=14), nullable=False),
        sa.Column("cameo_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["ledger_generations.id"],
            name=op.f("fk_ledger_generation_cameos_generation_id_ledger_generations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "generation_id", "cameo_id", name=op.f("pk_ledger_generation_cameos")
        ),
    )
    op.create_index(
        op.f("ix_ledger_generation_cameos_cameo_id"), "ledger_generation_cameos", ["cameo_id"]
    )


def downgrade() -> None:
    op.drop_table("ledger_generation_cameos")
    op.drop_table("ledger_frame_hashes")
    op.drop_table("ledger_generations")
