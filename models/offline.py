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


class EntityAction(SQLModel, table=True):
    """One ODK offline-entity action of a submission (`<meta><entity>`): a create or an
    update of a `children`, `women` or `households` entity, as the phone made it.

    Collect numbers an entity's versions itself while offline (`local_version`: 1 for a
    create, `base_version + 1` for an update) and sends updates made on one branch of
    offline edits with its `branch_id`; `server_version` is the registry version the
    action became. An update whose base is a version of its branch the server has not
    seen yet is `held` (no server_version) until that one arrives, then applied in
    branch order (sync.entities): never dropped, never applied out of order."""

    __tablename__ = "entity_action"
    __table_args__ = (
        Index("ix_entity_action_entity_branch", "entity_id", "branch_id", "local_version"),
        Index("ix_entity_action_entity_status", "entity_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    dataset: str = Field(max_length=32)
    entity_id: str = Field(max_length=36)
    action: str = Field(max_length=8)  # create | update
    base_version: int | None = None
    trunk_version: int | None = None
    branch_id: str | None = Field(default=None, max_length=64)
    local_version: int
    server_version: int | None = None
    properties: dict = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="applied", max_length=8)  # applied | held
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)
