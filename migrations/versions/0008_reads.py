"""Caseload reads (#16, #17): indexes that answer a region's rows by code prefix

A region's caseload sums the aggregate rows of every kelurahan under its code
(`kelurahan_code LIKE '33.75.%'`) and lists the regions under a parent or a caller's
scope (`wilayah.code LIKE ...`). PostgreSQL answers a LIKE prefix from a B-tree only
with the C collation or a pattern operator class, and the database's collation
(C.UTF-8 here, a language's elsewhere) is not C: without these, each of those reads
is a scan of the whole table. The aggregate index carries `born` too, so the sums of
the registered children (births over 24 and 60 months) are read from the index alone.
On SQLite (LIKE is not indexed there) they are plain indexes.

Revision ID: 0008_reads
Revises: 0007_console
Create Date: 2026-12-04 21:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_reads"
down_revision: str | None = "0007_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_caseload_aggregate_region", "caseload_aggregate",
                    ["kelurahan_code", "period", "born"],
                    postgresql_ops={"kelurahan_code": "varchar_pattern_ops"})
    op.create_index("ix_wilayah_code_prefix", "wilayah", ["code"],
                    postgresql_ops={"code": "varchar_pattern_ops"})


def downgrade() -> None:
    op.drop_index("ix_wilayah_code_prefix", table_name="wilayah")
    op.drop_index("ix_caseload_aggregate_region", table_name="caseload_aggregate")
