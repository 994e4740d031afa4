"""Security: sign-in throttling, the access log of personal-data reads, full-NIK grants

Revision ID: 0007_security
Revises: 0006_offline
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_security"
down_revision: str | None = "0007_recovery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sa.String
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "auth_throttle",
        sa.Column("key", _S(200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", _TS, nullable=False),
        sa.Column("locked_until", _TS, nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_auth_throttle"),
    )
    op.create_index("ix_auth_throttle_updated_at", "auth_throttle", ["updated_at"])
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey(
            "user_account.id", name="fk_access_log_actor_id_user_account"), nullable=True),
        sa.Column("username", _S(64), nullable=False),
        sa.Column("role", _S(16), nullable=False),
        sa.Column("resource", _S(64), nullable=False),
        sa.Column("action", _S(16), nullable=False),
        sa.Column("subject_type", _S(32), nullable=True),
        sa.Column("subject_id", _S(64), nullable=True),
        sa.Column("persons", sa.JSON(), nullable=False),
        sa.Column("households", sa.JSON(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("address", _S(64), nullable=True),
        sa.Column("user_agent", _S(200), nullable=True),
        sa.Column("app_token_id", sa.Integer(), nullable=True),
        sa.Column("request_id", _S(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_access_log"),
    )
    op.create_index("ix_access_log_at", "access_log", ["at"])
    op.create_index("ix_access_log_actor_id", "access_log", ["actor_id"])
    op.create_index("ix_access_log_subject", "access_log", ["subject_type", "subject_id"])
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("nik_full", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("nik_full")
    op.drop_index("ix_access_log_subject", table_name="access_log")
    op.drop_index("ix_access_log_actor_id", table_name="access_log")
    op.drop_index("ix_access_log_at", table_name="access_log")
    op.drop_table("access_log")
    op.drop_index("ix_auth_throttle_updated_at", table_name="auth_throttle")
    op.drop_table("auth_throttle")
