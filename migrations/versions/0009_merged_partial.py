"""The index of merged persons holds only merged persons (#16, #19)

`ix_person_merged_into_id` answers "who was merged into this survivor". As a plain
index it also held every live person (merged_into_id NULL), and the planner, on a
table never analysed (its defaults take `IS NULL` for rare), then ANDed it with
the household index for "this household's live members" (`household_id = :id AND
merged_into_id IS NULL`): a bitmap of the whole registry's live persons for every
household read. At 28,785 persons that was 0.6 ms a household (a caseload rebuild's
reads through a chunk of 500 households' members 300-630 ms each instead of 7-56 ms
once analysed). It grows with the registry, and a submission's caseload refresh reads
the same members in the same state. Partial, it holds the few merged rows only and
cannot answer `IS NULL` at all, so the household index is the only plan; lookups
by survivor (`merged_into_id = :id`) still use it.

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
