"""ODK offline entities: the entity actions of submissions (branch order, held updates);
measurements waiting in a same-day conflict

Revision ID: 0007_offline
Revises: 0006_offline
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_offline"
down_revision: str | None = "0007_caseloads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sa.String


def upgrade() -> None:
    op.create_table(
        "entity_action",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("submission_id", sa.Integer(), sa.ForeignKey(
            "submission.id", name="fk_entity_action_submission_id_submission"), nullable=False),
        sa.Column("dataset", _S(32), nullable=False),
        sa.Column("entity_id", _S(36), nullable=False),
        sa.Column("action", _S(8), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("trunk_version", sa.Integer(), nullable=True),
        sa.Column("branch_id", _S(64), nullable=True),
        sa.Column("local_version", sa.Integer(), nullable=False),
        sa.Column("server_version", sa.Integer(), nullable=True),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("status", _S(8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_entity_action"),
    )
    op.create_index("ix_entity_action_submission_id", "entity_action", ["submission_id"])
    op.create_index("ix_entity_action_entity_branch", "entity_action",
                    ["entity_id", "branch_id", "local_version"])
    op.create_index("ix_entity_action_entity_status", "entity_action", ["entity_id", "status"])
    with op.batch_alter_table("measurement") as batch:
        batch.add_column(sa.Column("conflict_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_measurement_conflict_id_sync_conflict", "sync_conflict",
                                 ["conflict_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("measurement") as batch:
        batch.drop_constraint("fk_measurement_conflict_id_sync_conflict", type_="foreignkey")
        batch.drop_column("conflict_id")
    op.drop_index("ix_entity_action_entity_status", table_name="entity_action")
    op.drop_index("ix_entity_action_entity_branch", table_name="entity_action")
    op.drop_index("ix_entity_action_submission_id", table_name="entity_action")
    op.drop_table("entity_action")
