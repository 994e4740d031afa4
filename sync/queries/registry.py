"""Reading the registry as reviewers see it: persons and households found by name,
NIK or No. KK, one record with its place names, a household's members. Scoped in the
query (sync.scope), as every other read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session

from models import Household, Person, Posyandu, Wilayah
from sync.scope import Scope, scope_filter

Row = Mapping[str, Any]
_P = Person.__table__
_H = Household.__table__
_W = Wilayah.__table__
_POS = Posyandu.__table__


def person_in_scope(scope: Scope):
    """Persons by posyandu or wilayah; those without a posyandu also by the kelurahan of
    the caller's posyandu (as the change feed, sync.offline)."""
    return or_(scope_filter(scope, _P.c.kelurahan_code, _P.c.posyandu_id),
               and_(_P.c.posyandu_id.is_(None), scope_filter(scope, _P.c.kelurahan_code)))


def household_in_scope(scope: Scope):
    return scope_filter(scope, _H.c.kelurahan_code)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_persons(session: Session, *, scope: Scope, name_key: str | None, digits: str | None,
                   limit: int, offset: int) -> tuple[list[Row], int]:
    """Live (not merged away) persons whose name key contains `name_key` or whose NIK
    starts with `digits`, with kelurahan and posyandu names; by name."""
    where = [_P.c.merged_into_id.is_(None), person_in_scope(scope)]
    if digits:
        where.append(_P.c.nik.startswith(digits))
    if name_key:
        where.append(_P.c.name_key.like(_like(name_key), escape="\\"))
    total = session.execute(select(func.count()).select_from(_P).where(*where)).scalar()
    rows = session.execute(
        select(_P, _W.c.name.label("kelurahan_name"), _POS.c.name.label("posyandu_name"))
        .select_from(_P.join(_W, _W.c.code == _P.c.kelurahan_code)
                     .outerjoin(_POS, _POS.c.id == _P.c.posyandu_id))
        .where(*where).order_by(_P.c.name_key, _P.c.id).limit(limit).offset(offset)
    ).mappings().all()
    return list(rows), total


def search_households(session: Session, *, scope: Scope, text: str | None, digits: str | None,
                      limit: int, offset: int) -> tuple[list[Row], int]:
    """Live households whose head's name contains `text` or whose No. KK starts with
    `digits`; with the kelurahan's name and the number of members."""
    where = [_H.c.merged_into_id.is_(None), household_in_scope(scope)]
    if digits:
        where.append(_H.c.kk.startswith(digits))
    if text:
        where.append(func.lower(_H.c.head_name).like(_like(text.lower()), escape="\\"))
    total = session.execute(select(func.count()).select_from(_H).where(*where)).scalar()
    members = (select(func.count()).where(_P.c.household_id == _H.c.id,
                                          _P.c.merged_into_id.is_(None))
               .scalar_subquery().label("members"))
    rows = session.execute(
        select(_H, _W.c.name.label("kelurahan_name"), members)
        .select_from(_H.join(_W, _W.c.code == _H.c.kelurahan_code))
        .where(*where).order_by(_H.c.head_name, _H.c.id).limit(limit).offset(offset)
    ).mappings().all()
    return list(rows), total


def person(session: Session, person_id: str) -> Row | None:
    """One person (any, scope aside) with kelurahan and posyandu names."""
    return session.execute(
        select(_P, _W.c.name.label("kelurahan_name"), _POS.c.name.label("posyandu_name"))
        .select_from(_P.join(_W, _W.c.code == _P.c.kelurahan_code)
                     .outerjoin(_POS, _POS.c.id == _P.c.posyandu_id))
        .where(_P.c.id == person_id)).mappings().first()


def person_visible(session: Session, scope: Scope, person_id: str) -> bool:
    return session.execute(select(_P.c.id).where(_P.c.id == person_id,
                                                 person_in_scope(scope))).first() is not None


def household(session: Session, household_id: str) -> Row | None:
    return session.execute(
        select(_H, _W.c.name.label("kelurahan_name"))
        .select_from(_H.join(_W, _W.c.code == _H.c.kelurahan_code))
        .where(_H.c.id == household_id)).mappings().first()


def household_visible(session: Session, scope: Scope, household_id: str) -> bool:
    return session.execute(select(_H.c.id).where(_H.c.id == household_id,
                                                 household_in_scope(scope))).first() is not None


def members(session: Session, *, scope: Scope, household_id: str) -> list[Row]:
    """The household's live members in scope, oldest first."""
    return list(session.execute(
        select(_P).where(_P.c.household_id == household_id, _P.c.merged_into_id.is_(None),
                         person_in_scope(scope))
        .order_by(_P.c.birth_date, _P.c.id)).mappings().all())


def names_of(session: Session, person_ids: list[str]) -> dict[str, str]:
    if not person_ids:
        return {}
    return dict(session.execute(select(_P.c.id, _P.c.name).where(_P.c.id.in_(person_ids))).all())


def merged_into(session: Session, entity: str, record_id: str) -> list[Row]:
    """The records merged into this one (tombstones pointing at it), as (id, name)."""
    table, name = (_P, _P.c.name) if entity == "person" else (_H, _H.c.head_name)
    return list(session.execute(select(table.c.id, name.label("name")).where(
        table.c.merged_into_id == record_id).order_by(table.c.id)).mappings().all())
