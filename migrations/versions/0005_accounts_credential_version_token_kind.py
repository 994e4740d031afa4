"""Accounts: user_account.credential_version (in every JWT) and app_token.kind

`credential_version` is bumped when a password changes or an account is disabled, so a
JWT issued before then is refused. `kind` tells QR-issued device tokens ('qr', which a
new QR code revokes) from the ones made by hand ('api', 'cli'); tokens already stored
are 'api'.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE ADD/DROP COLUMN (SQLite has both since 3.35), not batch mode: batch
# mode on SQLite copies the table and drops the old one, and with foreign keys on (as
# core.db sets them) dropping user_account would cascade to app_token and user_scope.


def upgrade() -> None:
    op.add_column("user_account", sa.Column("credential_version", sa.Integer(), nullable=False,
                                            server_default=sa.text("1")))
    op.add_column("app_token", sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8),
                                         nullable=False, server_default="api"))


def downgrade() -> None:
    op.drop_column("app_token", "kind")
    op.drop_column("user_account", "credential_version")
