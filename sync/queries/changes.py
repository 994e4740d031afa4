"""The change log (one row per registry change; the feed phones and agencies pull)."""

from __future__ import annotations

from sqlalchemy import insert
from sqlmodel import Session

from core.statements import Prepared
from models import ChangeLog

CHANGE_LOG = ChangeLog.__table__
_INSERT = Prepared(insert(CHANGE_LOG).inline())


def add_change(session: Session, values: dict) -> None:
    """Queued: sent with the next statement that must see it (or at commit)."""
    _INSERT.defer(session, values)
