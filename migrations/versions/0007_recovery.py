"""Privacy and retention: legal holds on persons, purged raw submissions

Revision ID: 0007_recovery
Revises: 0006_offline
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_recovery"
down_revision: str | None = "0007_offline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "legal_hold",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.String(36), sa.ForeignKey(
            "person.id", name="fk_legal_hold_person_id_person"), nullable=False),
        sa.Column("reason", sa.String(255), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey(
            "user_account.id", name="fk_legal_hold_created_by_user_account"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.Integer(), sa.ForeignKey(
            "user_account.id", name="fk_legal_hold_released_by_user_account"), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_legal_hold"),
    )
    op.create_index("ix_legal_hold_person_id", "legal_hold", ["person_id"])
    op.create_table(
        "submission_purge",
        sa.Column("submission_id", sa.Integer(), sa.ForeignKey(
            "submission.id", name="fk_submission_purge_submission_id_submission"),
            nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_bytes", sa.Integer(), nullable=False),
        sa.Column("attachments", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("submission_id", name="pk_submission_purge"),
    )


def downgrade() -> None:
    op.drop_table("submission_purge")
    op.drop_index("ix_legal_hold_person_id", table_name="legal_hold")
    op.drop_table("legal_hold")
