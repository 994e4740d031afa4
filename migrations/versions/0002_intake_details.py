"""intake details: WHO measure used, 9-month flag, BMI, severe wasting; Kobo hook form

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 05:07:07.207845
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kobo_hook", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "form_id",
                sqlmodel.sql.sqltypes.AutoString(length=64),
                nullable=False,
                server_default="anthropometry",
            )
        )

    with op.batch_alter_table("measurement", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("cmeasure", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=True)
        )
        batch_op.add_column(
            sa.Column("c9mo_flag", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(sa.Column("cbmi", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("severely_wasted", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("measurement", schema=None) as batch_op:
        batch_op.drop_column("severely_wasted")
        batch_op.drop_column("cbmi")
        batch_op.drop_column("c9mo_flag")
        batch_op.drop_column("cmeasure")

    with op.batch_alter_table("kobo_hook", schema=None) as batch_op:
        batch_op.drop_column("form_id")
