"""The index of merged persons holds only merged persons (#16, #19)

`ix_person_merged_into_id` answers "who was merged into this survivor". As a plain
index it also held every live person (merged_into_id NULL), and a planner without
fresh statistics (a table never analysed, or analysed when tiny) then ANDed it with
the household index for "this household's live members" (`household_id = :id AND
merged_into_id IS NULL`): a bitmap of the whole registry's live persons for every
household read. At 28,785 persons that was 0.6 ms a household (a caseload rebuild's
member reads 300-600 ms a chunk of 500 instead of 3-13 ms); at a province's million
it grows with the registry, on every submission's caseload refresh. Partial, it holds
the few merged rows only and cannot answer `IS NULL` at all, so the household index
is the only plan; lookups by survivor (`merged_into_id = :id`) still use it.

Revision ID: 0009_merged_partial
Revises: 0008_reads
Create Date: 2026-12-06 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_merged_partial"
down_revision: str | None = "0008_reads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MERGED = sa.text("merged_into_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_person_merged_into_id", table_name="person")
    op.create_index("ix_person_merged_into_id", "person", ["merged_into_id"],
                    postgresql_where=_MERGED, sqlite_where=_MERGED)


def downgrade() -> None:
    op.drop_index("ix_person_merged_into_id", table_name="person")
    op.create_index("ix_person_merged_into_id", "person", ["merged_into_id"])
