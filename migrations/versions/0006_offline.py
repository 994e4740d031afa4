"""Offline sync: pushed mutations (idempotent replays), conflicts, devices

Revision ID: 0006_offline
Revises: 0005
Create Date: 2026-12-04 12:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_offline"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sa.String


def upgrade() -> None:
    op.create_table(
        "sync_mutation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id",
                  name="fk_sync_mutation_user_id_user_account"), nullable=False),
        sa.Column("device_id", _S(64), nullable=False),
        sa.Column("mutation_id", _S(64), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sync_mutation"),
        sa.UniqueConstraint("user_id", "mutation_id", name="uq_sync_mutation_user_id_mutation_id"),
    )
    op.create_table(
        "sync_conflict",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("entity", _S(32), nullable=False),
        sa.Column("entity_id", _S(64), nullable=False),
        sa.Column("kelurahan_code", _S(13), nullable=False),
        sa.Column("posyandu_id", sa.Integer(), nullable=True),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("status", _S(16), nullable=False),
        sa.Column("incoming_by", sa.Integer(), sa.ForeignKey(
            "user_account.id", name="fk_sync_conflict_incoming_by_user_account"), nullable=True),
        sa.Column("device_id", _S(64), nullable=True),
        sa.Column("mutation_id", _S(64), nullable=True),
        sa.Column("submission_id", sa.Integer(), sa.ForeignKey(
            "submission.id", name="fk_sync_conflict_submission_id_submission"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_by", sa.Integer(), sa.ForeignKey(
            "user_account.id", name="fk_sync_conflict_resolved_by_user_account"), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sync_conflict"),
    )
    op.create_index("ix_sync_conflict_entity_id", "sync_conflict", ["entity_id"])
    op.create_index("ix_sync_conflict_status_kelurahan", "sync_conflict",
                    ["status", "kelurahan_code"])
    op.create_table(
        "sync_device",
        sa.Column("device_id", _S(64), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey(
            "user_account.id", name="fk_sync_device_user_id_user_account"), nullable=False),
        sa.Column("app", _S(120), nullable=True),
        sa.Column("last_pull_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_push_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("device_id", "user_id", name="pk_sync_device"),
    )


def downgrade() -> None:
    op.drop_table("sync_device")
    op.drop_index("ix_sync_conflict_status_kelurahan", table_name="sync_conflict")
    op.drop_index("ix_sync_conflict_entity_id", table_name="sync_conflict")
    op.drop_table("sync_conflict")
    op.drop_table("sync_mutation")
