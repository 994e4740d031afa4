"""The access log of personal-data reads (access_log)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, cast, func, insert, select
from sqlmodel import Session

from models import AccessLog
from models.base import TZ_DATETIME

_T = AccessLog.__table__


def add(session: Session, values: dict) -> None:
    session.execute(insert(_T).values(**values))


def _where(*, actor_id: int | None, username: str | None, resource: str | None,
           person_id: str | None, household_id: str | None, since: datetime | None,
           until: datetime | None) -> list:
    where = []
    if actor_id is not None:
        where.append(_T.c.actor_id == actor_id)
    if username:
        where.append(_T.c.username == username)
    if resource:
        where.append(_T.c.resource == resource)
    if since is not None:
        where.append(_T.c.at >= cast(since, TZ_DATETIME))
    if until is not None:
        where.append(_T.c.at < cast(until, TZ_DATETIME))
    # Ids are kept as a JSON list per read (one row per read, whatever it returned):
    # "who read this person" searches the text of the list, within the time range
    # given. Admins ask it rarely; the phones' downloads write it all day.
    for column, value in ((_T.c.persons, person_id), (_T.c.households, household_id)):
        if value:
            quoted = '"' + value.replace("\\", "").replace('"', "") + '"'
            where.append((cast(column, String).contains(quoted, autoescape=True))
                         | ((_T.c.subject_id == value)))
    return where


def page(session: Session, *, limit: int, offset: int, **filters) -> tuple[list, int]:
    where = _where(**filters)
    total = session.execute(select(func.count()).select_from(_T).where(*where)).scalar_one()
    rows = session.execute(select(_T).where(*where).order_by(_T.c.at.desc(), _T.c.id.desc())
                           .limit(limit).offset(offset)).mappings().all()
    return [dict(r) for r in rows], total


def stream(session: Session, *, chunk: int = 1000, **filters):
    """Every matching row, oldest first, `chunk` at a time (for CSV exports)."""
    where = _where(**filters)
    after = 0
    while True:
        rows = session.execute(select(_T).where(*where, _T.c.id > after).order_by(_T.c.id)
                               .limit(chunk)).mappings().all()
        if not rows:
            return
        yield from (dict(r) for r in rows)
        after = rows[-1]["id"]
