"""Households (a family card, No. KK, and its address)."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlmodel import Session

from core.statements import Prepared, forget_on_session_writes
from models import Household, HouseholdVersion
from sync.queries.versioned import VersionedTable, watch_writes, written

HOUSEHOLD = Household.__table__
HOUSEHOLDS = VersionedTable(HOUSEHOLD, HouseholdVersion.__table__, "household_id")

_LIVE = HOUSEHOLD.c.merged_into_id.is_(None)
_BY_KK = Prepared(select(HOUSEHOLD).where(HOUSEHOLD.c.kk == bindparam("kk"), _LIVE)
                  .order_by(HOUSEHOLD.c.created_at).limit(20))
_WITHOUT_KK = Prepared(select(HOUSEHOLD).where(
    HOUSEHOLD.c.kelurahan_code == bindparam("kelurahan_code"), HOUSEHOLD.c.kk.is_(None), _LIVE))


def by_kk(session: Session, kk: str) -> dict | None:
    """The oldest live household with this No. KK."""
    return _BY_KK.mapping(session, {"kk": kk})


def with_kk(session: Session, kk: str) -> list[dict]:
    """The live households with this No. KK, oldest first (one each in the kelurahan
    of submitters who typed it without seeing the others). Read ahead
    (`with_kk_calls`) unless the transaction wrote a household since that has this
    No. KK or is one of those read."""
    ahead = session.info.get(_KK_AHEAD)
    rows = ahead.get(kk) if ahead is not None else None
    if rows is not None:
        since = written(session, "household")
        ids = {row["id"] for row in rows}
        if since is not None and not any(hid in ids or row.get("kk") == kk for hid, row in since):
            return [dict(row) for row in rows]
    return _BY_KK.mappings(session, {"kk": kk})


# A writer group's No. KKs, read with its other reads ahead (sync.intake_ahead).
_KK_AHEAD = "posyandu.households_by_kk_ahead"


def with_kk_calls(kks: list[str]) -> list[tuple[Prepared, dict]]:
    """The reads of `with_kk` for these No. KKs, to send in one round trip with others."""
    return [(_BY_KK, {"kk": kk}) for kk in kks]


def keep_with_kk(session: Session, kks: list[str], results: list[list]) -> None:
    """Keep what `with_kk_calls` read, for `with_kk` to answer from until the
    transaction ends; the transaction's own household writes are watched from now
    (not when there is nothing to answer from: watching copies every row written)."""
    if not kks:
        return
    watch_writes(session)
    session.info[_KK_AHEAD] = {kk: [row._asdict() for row in rows]
                               for kk, rows in zip(kks, results)}


def _forget_kks(session: Session) -> None:
    session.info.pop(_KK_AHEAD, None)


forget_on_session_writes(_KK_AHEAD, frozenset({"household"}), _forget_kks)


def without_kk(session: Session, kelurahan_code: str) -> list[dict]:
    """The kelurahan's live households that have no No. KK."""
    return _WITHOUT_KK.mappings(session, {"kelurahan_code": kelurahan_code})
