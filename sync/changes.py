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

from sqlalchemy import and_, or_, select, text, tuple_
from sqlmodel import Session

from core.errors import InvalidInput
from models import ChangeLog
from models.base import dialect_sql
from sync.scope import Scope, scope_filter

CHANGE_LOG = ChangeLog.__table__
MAX_PAGE = 5000
_CURSOR = re.compile(r"(\d{1,18})\.(\d{1,18})")


# Every transaction of this database with a smaller id has ended (committed or rolled
# back) as far as the statement's snapshot can tell. SQLite: one writer at a time, and
# txid is always 0, so every visible row counts.
#
# PostgreSQL: the snapshot's xmin is cluster-wide, so one old transaction in *another*
# database on the same server (a report, a benchmark building its template, another
# test run) held every reader of this feed at its start, however long it ran: pulls came
# back empty. The horizon is instead the smallest xid that was running when the
# statement's snapshot was taken (its xip list), leaving out those seen running in
# another database now: a transaction belongs to one database for life, so those can
# never add rows here. An xid not seen running elsewhere (it may have ended meanwhile,
# or be this database's, or be hidden from an unprivileged account) still holds the
# horizon, as before; with none running it is the snapshot's xmax. So the horizon is
# never above the old rule's for this database's own transactions, and a row can still
# never appear behind a cursor that passed its place.
_HORIZON = """(SELECT least(pg_snapshot_xmax(pg_current_snapshot()),
    (SELECT min(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
     WHERE mod(x::text::bigint, 4294967296) NOT IN (
         SELECT backend_xid::text::bigint FROM pg_stat_activity
         WHERE datname IS DISTINCT FROM current_database() AND backend_xid IS NOT NULL)))
 ::text::bigint)"""
_FINISHED_BELOW = dialect_sql("finished_below", default="1", postgresql=_HORIZON)


def fresh_activity(session: Session) -> None:
    """Before a statement that uses the horizon: PostgreSQL keeps the pg_stat_activity it
    read first for the rest of the transaction, so a later statement would not see the
    transactions other databases began since, and each of them would hold the feed back
    for as long as it ran (on a server shared with busy databases, nearly always)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_stat_clear_snapshot()"))


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
    fresh_activity(session)
    rows = session.execute(
        select(c.txid, c.seq, c.entity_type, c.entity_id, c.version, c.op, c.kelurahan_code,
               c.posyandu_id, c.changed_at)
        .where(tuple_(c.txid, c.seq) > tuple_(after.txid, after.seq),
               c.txid < _FINISHED_BELOW, _in_scope(scope))
        .order_by(c.txid, c.seq).limit(limit)).mappings().all()
    changes = [dict(row) for row in rows]
    cursor = ChangeCursor(changes[-1]["txid"], changes[-1]["seq"]) if changes else after
    return ChangePage(changes, cursor, more=len(changes) == limit)
