"""The change log that phones and agencies pull from, and server-wide settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Integer
from sqlmodel import Field, SQLModel

from models.base import TZ_DATETIME, utcnow


class ChangeLog(SQLModel, table=True):
    """One row per registry change; `seq` is monotonic and is the sync cursor."""

    __tablename__ = "change_log"
    __table_args__ = (Index("ix_change_log_kelurahan_seq", "kelurahan_code", "seq"),)

    seq: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
    )
    entity_type: str = Field(max_length=32)
    entity_id: str = Field(max_length=64)
    version: int
    op: str = Field(max_length=16)
    kelurahan_code: str | None = Field(default=None, max_length=13)
    posyandu_id: int | None = Field(default=None)
    changed_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)


class ServerSetting(SQLModel, table=True):
    """Key/value settings shared by every API worker (e.g. the generated JWT secret)."""

    __tablename__ = "server_setting"

    key: str = Field(primary_key=True, max_length=64)
    value: str
