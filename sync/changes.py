"""The registry's change feed, read by cursor: what phones and agencies pull.

Every versioned write adds a change-log row (sync.apply). A reader asks for the
rows after its cursor, in its scope, and keeps the returned cursor for next time.
The cursor is (txid, seq): rows are read in the order of their transaction's id and
only below the oldest transaction still running, so a row can never appear behind a
cursor that has passed its place (see models.changes.ChangeLog).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, tuple_
from sqlmodel import Session

from core.errors import InvalidInput
from models import ChangeLog
from models.base import dialect_sql
from sync.scope import Scope, scope_filter

CHANGE_LOG = ChangeLog.__table__
MAX_PAGE = 5000
_CURSOR = re.compile(r"(\d{1,18})\.(\d{1,18})")


# Every transaction of this database with a smaller id has ended (committed or rolled
# back). PostgreSQL's snapshot lists the transactions in progress in the whole cluster;
# the oldest of them that may be this database's is the horizon. Those known to run in
# another database (pg_stat_activity.backend_xid, a 32-bit xid: compared modulo 2^32)
# cannot write this change log, so a long transaction elsewhere on the server (a
# pg_dump, another application, another test's database) does not hold the feed back.
# An xid that pg_stat_activity does not show (not yet listed, or hidden from a role
# without pg_read_all_stats) counts as this database's: the horizon errs only early.
# SQLite: one writer at a time, and txid is always 0, so every visible row counts.
_FINISHED_BELOW = dialect_sql("finished_below", default="1", postgresql="""(
    SELECT coalesce(min(running.xid),
                    (pg_snapshot_xmax(pg_current_snapshot())::text)::bigint)
    FROM (SELECT (x::text)::bigint AS xid
          FROM pg_snapshot_xip(pg_current_snapshot()) AS x) AS running
    WHERE mod(running.xid, 4294967296) NOT IN (
        SELECT (a.backend_xid::text)::bigint FROM pg_stat_activity AS a
        WHERE a.backend_xid IS NOT NULL AND a.datname IS DISTINCT FROM current_database()))""")


@dataclass(frozen=True, order=True)
class ChangeCursor:
    """Where a reader is in the feed; its text form is "<txid>.<seq>" ("0.0": the start)."""

    txid: int = 0
    seq: int = 0

    def __str__(self) -> str:
        return f"{self.txid}.{self.seq}"

    @classmethod
    def parse(cls, text: str | None) -> ChangeCursor:
        if text is None or not text.strip():
            return cls()
        match = _CURSOR.fullmatch(text.strip())
        if match is None:
            raise InvalidInput(f"Cursor {text[:40]!r} is not one this server gave out: send the "
                               "cursor of your last page, or none to start from the beginning.",
                               code="sync.bad_cursor")
        return cls(int(match[1]), int(match[2]))


@dataclass(frozen=True)
class ChangePage:
    changes: list[dict]  # change-log rows: entity_type, entity_id, version, op, ...
    cursor: ChangeCursor  # to ask for the next page (the last row's; `after` if none)
    more: bool  # a full page: ask again at once


def _in_scope(scope: Scope):
    """Persons by their posyandu or wilayah; rows without a posyandu (households) also
    by the kelurahan of the posyandu in scope (sync.scope)."""
    return or_(scope_filter(scope, CHANGE_LOG.c.kelurahan_code, CHANGE_LOG.c.posyandu_id),
               and_(CHANGE_LOG.c.posyandu_id.is_(None),
                    scope_filter(scope, CHANGE_LOG.c.kelurahan_code)))


def changes_since(session: Session, after: ChangeCursor, *, scope: Scope,
                  limit: int = 500) -> ChangePage:
    """The changes after `after` that `scope` may see, oldest first, at most `limit`."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}.", code="sync.bad_limit")
    c = CHANGE_LOG.c
    rows = session.execute(
        select(c.txid, c.seq, c.entity_type, c.entity_id, c.version, c.op, c.kelurahan_code,
               c.posyandu_id, c.changed_at)
        .where(tuple_(c.txid, c.seq) > tuple_(after.txid, after.seq),
               c.txid < _FINISHED_BELOW, _in_scope(scope))
        .order_by(c.txid, c.seq).limit(limit)).mappings().all()
    changes = [dict(row) for row in rows]
    cursor = ChangeCursor(changes[-1]["txid"], changes[-1]["seq"]) if changes else after
    return ChangePage(changes, cursor, more=len(changes) == limit)
