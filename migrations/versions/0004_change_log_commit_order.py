"""change_log: the writing transaction's id, for a sync cursor in commit order

`seq` alone is not a safe cursor on PostgreSQL: concurrent transactions take seq
values in one order and commit in another. Rows already stored get txid 0 (they are
all committed); new rows get their transaction's id (see models.changes).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_POSTGRES_TXID = sa.text("(pg_current_xact_id()::text)::bigint")


def upgrade() -> None:
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("txid", sa.BigInteger(), nullable=False,
                                      server_default=sa.text("0")))
        batch_op.drop_index("ix_change_log_kelurahan_seq")
        batch_op.create_index("ix_change_log_txid_seq", ["txid", "seq"], unique=False)
        batch_op.create_index("ix_change_log_kelurahan_txid_seq",
                              ["kelurahan_code", "txid", "seq"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("change_log", "txid", server_default=_POSTGRES_TXID)


def downgrade() -> None:
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.drop_index("ix_change_log_kelurahan_txid_seq")
        batch_op.drop_index("ix_change_log_txid_seq")
        batch_op.create_index("ix_change_log_kelurahan_seq", ["kelurahan_code", "seq"],
                              unique=False)
        batch_op.drop_column("txid")
