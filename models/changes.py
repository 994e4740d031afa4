"""The change log that phones and agencies pull from, and server-wide settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Integer
from sqlmodel import Field, SQLModel

from models.base import TZ_DATETIME, dialect_sql, utcnow

# The writing transaction's id: PostgreSQL's 64-bit xid (it never wraps). 0 on SQLite,
# where one writer at a time makes `seq` follow commit order by itself.
CURRENT_TXID = dialect_sql("current_txid", default="0",
                           postgresql="(pg_current_xact_id()::text)::bigint")


class ChangeLog(SQLModel, table=True):
    """One row per registry change. The sync cursor is (txid, seq), not seq alone.

    With concurrent writers (PostgreSQL), `seq` is taken when a row is inserted but
    becomes visible when its transaction commits: a reader paging by seq could pass a
    lower seq whose transaction commits later, and never see it. Every transaction
    with an id below the reader's snapshot xmin has ended, so rows ordered by
    (txid, seq) and read only below that horizon never change behind a cursor
    (sync.changes)."""

    __tablename__ = "change_log"
    __table_args__ = (
        Index("ix_change_log_txid_seq", "txid", "seq"),
        Index("ix_change_log_kelurahan_txid_seq", "kelurahan_code", "txid", "seq"),
    )

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
    # Set by the database (never given by the writer): see the class docstring.
    txid: int | None = Field(default=None, sa_column=Column(
        BigInteger, nullable=False, server_default=CURRENT_TXID))


class ServerSetting(SQLModel, table=True):
    """Key/value settings shared by every API worker (e.g. the generated JWT secret)."""

    __tablename__ = "server_setting"

    key: str = Field(primary_key=True, max_length=64)
    value: str
