"""submission edits: a partial (form_id, deprecated_id, submitter_id) index

Every submission looks up whether an edit of it arrived first. With only a
deprecated_id index, SQLite's planner (no statistics) chose the submitter index and
read every submission the kader had ever sent.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EDITS_ONLY = sa.text("deprecated_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_deprecated_id"))
        batch_op.create_index("ix_submission_edit", ["form_id", "deprecated_id", "submitter_id"],
                              unique=False,
                              sqlite_where=_EDITS_ONLY, postgresql_where=_EDITS_ONLY)


def downgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index("ix_submission_edit",
                            sqlite_where=_EDITS_ONLY, postgresql_where=_EDITS_ONLY)
        batch_op.create_index(batch_op.f("ix_submission_deprecated_id"), ["deprecated_id"],
                              unique=False)
