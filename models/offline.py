"""Offline sync state: the result of every pushed mutation (so a replay changes
nothing), the conflicts a person resolves, and the phones that sync."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import TZ_DATETIME, utcnow


class SyncMutation(SQLModel, table=True):
    """One pushed mutation and the result it got. Unique per (user, mutation id): a
    replay returns `result` and changes nothing."""

    __tablename__ = "sync_mutation"
    __table_args__ = (UniqueConstraint("user_id", "mutation_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id")
    device_id: str = Field(max_length=64)
    mutation_id: str = Field(max_length=64)
    result: dict = Field(sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)


class SyncConflict(SQLModel, table=True):
    """Fields an incoming edit and the server both changed since the edit's base
    version: `fields` = {field: {"base", "current", "incoming"}}. The current values
    stay in place until a person resolves it."""

    __tablename__ = "sync_conflict"
    __table_args__ = (Index("ix_sync_conflict_status_kelurahan", "status", "kelurahan_code"),)

    id: int | None = Field(default=None, primary_key=True)
    entity: str = Field(max_length=32)
    entity_id: str = Field(max_length=64, index=True)
    kelurahan_code: str = Field(max_length=13)
    posyandu_id: int | None = Field(default=None)
    base_version: int
    version: int  # the record's version when the conflict was opened
    fields: dict = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="open", max_length=16)  # open | resolved
    incoming_by: int | None = Field(default=None, foreign_key="user_account.id")
    device_id: str | None = Field(default=None, max_length=64)
    mutation_id: str | None = Field(default=None, max_length=64)
    submission_id: int | None = Field(default=None, foreign_key="submission.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)
    resolved_by: int | None = Field(default=None, foreign_key="user_account.id")
    resolved_at: datetime | None = Field(default=None, sa_type=TZ_DATETIME)
    resolution: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class SyncDevice(SQLModel, table=True):
    """A phone or app that syncs: whose it is and when it last pulled and pushed."""

    __tablename__ = "sync_device"

    device_id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    app: str | None = Field(default=None, max_length=120)
    last_pull_at: datetime | None = Field(default=None, sa_type=TZ_DATETIME)
    last_push_at: datetime | None = Field(default=None, sa_type=TZ_DATETIME)
