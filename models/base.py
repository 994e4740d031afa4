"""Column helpers shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime

import uuid6
from sqlalchemy import BigInteger, DateTime
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, TypeEngine


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_uuid() -> str:
    """A new registry id: a time-ordered UUID (version 7, RFC 9562), so that the persons
    and households created today sit side by side at the end of every index keyed by
    them (the primary keys, a child's measurements, versions, caseload rows) instead of
    each landing on a random page of a province-sized index (README, "What 1,000,000
    persons cost": the full-page WAL images and buffer misses that saves). Ids a phone or
    client chose (ODK entity ids, pushed creates) are kept as they come."""
    return str(uuid6.uuid7())


class UTCDateTime(TypeDecorator):
    """Timestamps in UTC, timezone-aware on the way out whatever the database.

    PostgreSQL keeps the zone (timestamptz); SQLite keeps none, so values are stored as
    UTC and read back as UTC, and the API shows the same instant the same way on both.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


TZ_DATETIME = UTCDateTime()


def dialect_sql(name: str, *, default: str, postgresql: str,
                type_: TypeEngine | None = None) -> FunctionElement:
    """An SQL expression written one way for PostgreSQL and another for the rest
    (SQLite), usable in queries and as a column's server default."""
    kind = type(name, (FunctionElement,), {"type": type_ or BigInteger(), "inherit_cache": True})
    compiles(kind)(lambda element, compiler, **kw: default)
    compiles(kind, "postgresql")(lambda element, compiler, **kw: postgresql)
    return kind()


def one_of(column, values, *, postgresql: bool):
    """`column IN (values)`; on PostgreSQL `column = ANY(:array)`, one parameter: the
    statement is then the same text whatever the number of values, where an IN list of
    hundreds of placeholders is compiled, sent and parsed (psycopg) afresh each time."""
    from sqlalchemy import any_, bindparam
    from sqlalchemy.dialects.postgresql import ARRAY

    if postgresql:
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))
