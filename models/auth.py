"""Users, their scopes, per-device app tokens, and the audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from core.roles import ROLES  # noqa: E402,F401  (re-exported)
from models.base import TZ_DATETIME, utcnow


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16)
    agency: str | None = Field(default=None, max_length=120)
    full_name: str | None = Field(default=None, max_length=120)
    is_active: bool = Field(default=True)
    # Carried in every JWT; bumped when a password changes or the account is disabled,
    # so tokens issued before then stop working at once.
    credential_version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    # An agency account sees NIKs and KK numbers masked (sync.minimise) unless an admin
    # grants it the full numbers.
    nik_full: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)


class UserScope(SQLModel, table=True):
    """What a user may see and change: a wilayah (code prefix) or one posyandu."""

    __tablename__ = "user_scope"
    __table_args__ = (UniqueConstraint("user_id", "wilayah_code", "posyandu_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    wilayah_code: str | None = Field(default=None, foreign_key="wilayah.code", max_length=13)
    posyandu_id: int | None = Field(default=None, foreign_key="posyandu.id")


class AppToken(SQLModel, table=True):
    """A per-device token for ODK Collect's `{base}/key/{token}` server URL.

    Only a SHA-256 of the token is stored; the token itself is shown once.
    """

    __tablename__ = "app_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True)
    label: str = Field(default="", max_length=120)
    # How it was issued: 'qr' (a Collect QR code; a new QR revokes the older ones),
    # 'api' or 'cli' (kept until revoked by hand).
    kind: str = Field(default="api", max_length=8, sa_column_kwargs={"server_default": "api"})
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)
    revoked_at: datetime | None = Field(default=None, sa_type=TZ_DATETIME)


class AuditLog(SQLModel, table=True):
    """Who did what to which record, when."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME, index=True)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    action: str = Field(max_length=64)
    entity_type: str = Field(max_length=32)
    entity_id: str = Field(max_length=64)
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    request_id: str | None = Field(default=None, max_length=64)
