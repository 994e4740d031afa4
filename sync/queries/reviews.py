"""What reviewers read: duplicate candidate pairs, persons and households, each scoped
in the query itself (a pair only for someone who may see both of its records)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session

from models import (
    DuplicatePair,
    Household,
    Measurement,
    Person,
    PregnancyScreening,
    SanitationCheck,
)
from sync.scope import Scope, scope_filter

PAIR = DuplicatePair.__table__
PERSON = Person.__table__
HOUSEHOLD = Household.__table__
MEASUREMENT = Measurement.__table__
SCREENING = PregnancyScreening.__table__
CHECK = SanitationCheck.__table__


def person_in_scope(scope: Scope, table=PERSON):
    """A person by posyandu or wilayah; one without a posyandu also by the kelurahan of
    the caller's posyandu (Scope.covers_kelurahan)."""
    return or_(scope_filter(scope, table.c.kelurahan_code, table.c.posyandu_id),
               and_(table.c.posyandu_id.is_(None), scope_filter(scope, table.c.kelurahan_code)))


def household_in_scope(scope: Scope, table=HOUSEHOLD):
    return scope_filter(scope, table.c.kelurahan_code)


@dataclass(frozen=True, kw_only=True)
class PairFilters:
    kelurahan_code: str | None = None  # either record is in this kelurahan
    status: str | None = None
    min_score: float | None = None
    entity: str | None = None


def _pair_query(scope: Scope, filters: PairFilters):
    pa, pb = PERSON.alias("pa"), PERSON.alias("pb")
    ha, hb = HOUSEHOLD.alias("ha"), HOUSEHOLD.alias("hb")
    person = PAIR.c.entity == "person"
    household = PAIR.c.entity == "household"
    joined = (PAIR.outerjoin(pa, and_(person, pa.c.id == PAIR.c.a_id))
              .outerjoin(pb, and_(person, pb.c.id == PAIR.c.b_id))
              .outerjoin(ha, and_(household, ha.c.id == PAIR.c.a_id))
              .outerjoin(hb, and_(household, hb.c.id == PAIR.c.b_id)))
    visible = or_(and_(person, person_in_scope(scope, pa), person_in_scope(scope, pb)),
                  and_(household, household_in_scope(scope, ha), household_in_scope(scope, hb)))
    conditions = [visible]
    if filters.status:
        conditions.append(PAIR.c.status == filters.status)
    if filters.entity:
        conditions.append(PAIR.c.entity == filters.entity)
    if filters.min_score is not None:
        conditions.append(PAIR.c.score >= filters.min_score)
    if filters.kelurahan_code:
        code = filters.kelurahan_code
        conditions.append(or_(pa.c.kelurahan_code == code, pb.c.kelurahan_code == code,
                              ha.c.kelurahan_code == code, hb.c.kelurahan_code == code))
    columns = (
        *PAIR.c,
        func.coalesce(pa.c.name, ha.c.head_name).label("a_name"),
        func.coalesce(pb.c.name, hb.c.head_name).label("b_name"),
        func.coalesce(pa.c.kelurahan_code, ha.c.kelurahan_code).label("a_kelurahan_code"),
        func.coalesce(pb.c.kelurahan_code, hb.c.kelurahan_code).label("b_kelurahan_code"),
    )
    return select(*columns).select_from(joined).where(*conditions), joined, conditions


def list_pairs(session: Session, *, scope: Scope, filters: PairFilters, limit: int,
               offset: int) -> tuple[list[dict], int]:
    """Pairs, strongest first (score, then id), with a name and kelurahan for each side."""
    query, joined, conditions = _pair_query(scope, filters)
    total = session.execute(select(func.count()).select_from(joined).where(*conditions)).scalar()
    rows = session.execute(query.order_by(PAIR.c.score.desc(), PAIR.c.id)
                           .limit(limit).offset(offset)).mappings().all()
    return [dict(r) for r in rows], total


def pair_in_scope(session: Session, *, scope: Scope, pair_id: int) -> dict | None:
    query, _, _ = _pair_query(scope, PairFilters())
    row = session.execute(query.where(PAIR.c.id == pair_id)).mappings().first()
    return dict(row) if row else None


# ---------------------------------------------------------------- persons, households

@dataclass(frozen=True, kw_only=True)
class PersonFilters:
    name: str | None = None  # normalised, matched as a prefix of any word of the name key
    nik: str | None = None
    kelurahan_code: str | None = None
    posyandu_id: int | None = None
    household_id: str | None = None
    include_merged: bool = False


def list_persons(session: Session, *, scope: Scope, filters: PersonFilters, limit: int,
                 offset: int) -> tuple[list[dict], int]:
    conditions = [person_in_scope(scope)]
    if not filters.include_merged:
        conditions.append(PERSON.c.merged_into_id.is_(None))
    if filters.name:
        conditions.append(or_(PERSON.c.name_key.startswith(filters.name),
                              PERSON.c.name_key.contains(" " + filters.name)))
    for column, value in ((PERSON.c.nik, filters.nik),
                          (PERSON.c.kelurahan_code, filters.kelurahan_code),
                          (PERSON.c.posyandu_id, filters.posyandu_id),
                          (PERSON.c.household_id, filters.household_id)):
        if value is not None:
            conditions.append(column == value)
    total = session.execute(select(func.count()).select_from(PERSON).where(*conditions)).scalar()
    rows = session.execute(select(PERSON).where(*conditions).order_by(
        PERSON.c.name_key, PERSON.c.id).limit(limit).offset(offset)).mappings().all()
    return [dict(r) for r in rows], total


def person_in_scope_by_id(session: Session, *, scope: Scope, person_id: str) -> dict | None:
    row = session.execute(select(PERSON).where(PERSON.c.id == person_id,
                                               person_in_scope(scope))).mappings().first()
    return dict(row) if row else None


@dataclass(frozen=True, kw_only=True)
class HouseholdFilters:
    name: str | None = None
    kk: str | None = None
    kelurahan_code: str | None = None
    include_merged: bool = False


def list_households(session: Session, *, scope: Scope, filters: HouseholdFilters, limit: int,
                    offset: int) -> tuple[list[dict], int]:
    conditions = [household_in_scope(scope)]
    if not filters.include_merged:
        conditions.append(HOUSEHOLD.c.merged_into_id.is_(None))
    if filters.name:
        conditions.append(func.lower(HOUSEHOLD.c.head_name).contains(filters.name))
    if filters.kk is not None:
        conditions.append(HOUSEHOLD.c.kk == filters.kk)
    if filters.kelurahan_code is not None:
        conditions.append(HOUSEHOLD.c.kelurahan_code == filters.kelurahan_code)
    total = session.execute(select(func.count()).select_from(HOUSEHOLD).where(*conditions)).scalar()
    rows = session.execute(select(HOUSEHOLD).where(*conditions).order_by(
        HOUSEHOLD.c.head_name, HOUSEHOLD.c.id).limit(limit).offset(offset)).mappings().all()
    return [dict(r) for r in rows], total


def household_in_scope_by_id(session: Session, *, scope: Scope, household_id: str
                             ) -> dict | None:
    row = session.execute(select(HOUSEHOLD).where(
        HOUSEHOLD.c.id == household_id, household_in_scope(scope))).mappings().first()
    return dict(row) if row else None


_GROWTH = (MEASUREMENT.c.id, MEASUREMENT.c.measured_on, MEASUREMENT.c.age_days,
           MEASUREMENT.c.weight_kg, MEASUREMENT.c.length_height_cm, MEASUREMENT.c.muac_cm,
           MEASUREMENT.c.zlen, MEASUREMENT.c.zwei, MEASUREMENT.c.zwfl, MEASUREMENT.c.zbmi,
           MEASUREMENT.c.zac, MEASUREMENT.c.stunted, MEASUREMENT.c.wasted,
           MEASUREMENT.c.underweight, MEASUREMENT.c.plausibility_flags,
           MEASUREMENT.c.kelurahan_code, MEASUREMENT.c.posyandu_id, MEASUREMENT.c.is_current)


def growth_history(session: Session, person_id: str) -> list[dict]:
    """A child's current measurements with their z-scores, oldest first."""
    return [dict(r) for r in session.execute(select(*_GROWTH).where(
        MEASUREMENT.c.person_id == person_id, MEASUREMENT.c.is_current).order_by(
        MEASUREMENT.c.measured_on, MEASUREMENT.c.id)).mappings()]


def screenings_of(session: Session, woman_id: str) -> list[dict]:
    return [dict(r) for r in session.execute(select(
        SCREENING.c.id, SCREENING.c.screened_on, SCREENING.c.pregnant, SCREENING.c.muac_cm,
        SCREENING.c.hb_g_dl, SCREENING.c.kek, SCREENING.c.anaemia, SCREENING.c.pregnancy_id)
        .where(SCREENING.c.woman_id == woman_id, SCREENING.c.is_current)
        .order_by(SCREENING.c.screened_on, SCREENING.c.id)).mappings()]


def checks_of(session: Session, household_id: str) -> list[dict]:
    return [dict(r) for r in session.execute(select(
        CHECK.c.id, CHECK.c.checked_on, CHECK.c.jamban_sehat, CHECK.c.sanitasi_layak,
        CHECK.c.air_minum_layak).where(CHECK.c.household_id == household_id, CHECK.c.is_current)
        .order_by(CHECK.c.checked_on, CHECK.c.id)).mappings()]


def members_of(session: Session, household_id: str) -> list[dict]:
    return [dict(r) for r in session.execute(select(
        PERSON.c.id, PERSON.c.name, PERSON.c.sex, PERSON.c.birth_date).where(
        PERSON.c.household_id == household_id, PERSON.c.merged_into_id.is_(None))
        .order_by(PERSON.c.birth_date, PERSON.c.id)).mappings()]
