"""Sign-in throttling and the access log of personal-data reads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from models.base import TZ_DATETIME, utcnow


class AuthThrottle(SQLModel, table=True):
    """Failed sign-ins of one account or one address, in the database so that every API
    worker (on every machine) counts the same attempts. `key` is `account:<username>`
    or `address:<ip>`."""

    __tablename__ = "auth_throttle"

    key: str = Field(primary_key=True, max_length=200)
    failures: int = Field(default=0)
    window_started_at: datetime = Field(sa_type=TZ_DATETIME)
    locked_until: datetime | None = Field(default=None, sa_type=TZ_DATETIME)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME, index=True)


class AccessLog(SQLModel, table=True):
    """Who read personal data (a person, a list, an export, a phone's pick list), when
    and from where. Separate from the change audit (audit_log): nothing here changed."""

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_subject", "subject_type", "subject_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME, index=True)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    username: str = Field(max_length=64)
    role: str = Field(max_length=16)
    # what was read: a list endpoint (measurements, pregnancy_screenings, ...), a
    # pick list (picklist:children.csv), one record (submission), an export
    resource: str = Field(max_length=64)
    action: str = Field(max_length=16)  # read | list | export | download
    # one person/household/record when the read named one, else null
    subject_type: str | None = Field(default=None, max_length=32)
    subject_id: str | None = Field(default=None, max_length=64)
    # the persons and households whose data was in the answer (capped, see sync.access)
    persons: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    households: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    rows: int = Field(default=0)
    query: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    address: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=200)
    app_token_id: int | None = Field(default=None)
    request_id: str | None = Field(default=None, max_length=64)
