"""Households (a family card, No. KK, and its address)."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlmodel import Session

from core.statements import Prepared
from models import Household, HouseholdVersion
from sync.queries.versioned import VersionedTable

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
    of submitters who typed it without seeing the others)."""
    return _BY_KK.mappings(session, {"kk": kk})


def without_kk(session: Session, kelurahan_code: str) -> list[dict]:
    """The kelurahan's live households that have no No. KK."""
    return _WITHOUT_KK.mappings(session, {"kelurahan_code": kelurahan_code})
