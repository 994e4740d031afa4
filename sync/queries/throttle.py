"""Sign-in throttling counters (auth_throttle): one row per account or address."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, delete, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models import AuthThrottle
from models.base import TZ_DATETIME

_T = AuthThrottle.__table__


def locked_rows(session: Session, keys: list[str]) -> dict[str, tuple[int, datetime | None]]:
    """{key: (failures, locked_until)} of the keys that have a row."""
    rows = session.execute(select(_T.c.key, _T.c.failures, _T.c.locked_until)
                           .where(_T.c.key.in_(keys))).all()
    return {key: (failures, until) for key, failures, until in rows}


def add_failure(session: Session, *, key: str, now: datetime, window_floor: datetime,
                max_failures: int, lock_until: datetime) -> None:
    """One failure more for `key`, atomically (INSERT ... ON CONFLICT DO UPDATE: two
    workers counting at once both count). A window that began before `window_floor`
    starts again at 1; reaching `max_failures` sets locked_until."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    ts = lambda value: literal(value, TZ_DATETIME)  # noqa: E731 - the column's own conversion
    fresh = _T.c.window_started_at < ts(window_floor)
    failures = case((fresh, 1), else_=_T.c.failures + 1)
    statement = insert(_T).values(key=key, failures=1, window_started_at=now,
                                  locked_until=lock_until if max_failures <= 1 else None,
                                  updated_at=now)
    statement = statement.on_conflict_do_update(index_elements=[_T.c.key], set_={
        "failures": failures,
        "window_started_at": case((fresh, ts(now)), else_=_T.c.window_started_at),
        "locked_until": case((failures >= max_failures, ts(lock_until)),
                             else_=_T.c.locked_until),
        "updated_at": ts(now)})
    session.execute(statement)


def clear(session: Session, keys: list[str]) -> None:
    session.execute(delete(_T).where(_T.c.key.in_(keys)))


def prune(session: Session, *, before: datetime) -> int:
    """Rows untouched since `before` and not locked any more (they count nothing)."""
    result = session.execute(delete(_T).where(
        _T.c.updated_at < literal(before, TZ_DATETIME),
        (_T.c.locked_until.is_(None)) | (_T.c.locked_until < literal(before, TZ_DATETIME))))
    return result.rowcount or 0
