"""SQL of the caseloads (issue #16): the records a subject's contributions are computed
from, the contributions and case rows themselves, and the aggregate rows they add up to.

Writes to `caseload_aggregate` are one INSERT ... ON CONFLICT DO UPDATE (col = col +
delta) with the rows in sorted (kelurahan, period) order: concurrent writers lock
aggregate rows in the same order, so they wait for one another but never deadlock.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import and_, delete, func, insert, or_, select, text
from sqlmodel import Session

from indicators.caseload import METRICS
from models import (
    CASELOAD_AGGREGATE,
    CaseloadCase,
    CaseloadContribution,
    CaseloadTarget,
    Household,
    Intervention,
    Measurement,
    Person,
    Posyandu,
    Pregnancy,
    PregnancyScreening,
    SanitationCheck,
    SyncConflict,
    UserProgram,
    Wilayah,
)

AGG = CASELOAD_AGGREGATE
CONTRIB = CaseloadContribution.__table__
CASE = CaseloadCase.__table__
PERSON = Person.__table__
HOUSEHOLD = Household.__table__
MEASUREMENT = Measurement.__table__
SCREENING = PregnancyScreening.__table__
PREGNANCY = Pregnancy.__table__
SANITATION = SanitationCheck.__table__
CONFLICT = SyncConflict.__table__
INTERVENTION = Intervention.__table__
POSYANDU = Posyandu.__table__
WILAYAH = Wilayah.__table__
TARGET = CaseloadTarget.__table__
CHUNK = 500

_PERSON_COLUMNS = (PERSON.c.id, PERSON.c.name, PERSON.c.birth_date, PERSON.c.kelurahan_code,
                   PERSON.c.posyandu_id, PERSON.c.household_id, PERSON.c.merged_into_id)


def chunks(ids: Sequence, size: int = CHUNK) -> Iterator[list]:
    ids = list(ids)
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _all(session: Session, statement) -> list:
    return list(session.execute(statement).mappings())


def _in(session: Session, column, ids: Iterable, build) -> list:
    out = []
    for part in chunks(sorted(set(ids))):
        out += _all(session, build(column.in_(part)))
    return out


# ---------------------------------------------------------------- the records of subjects

def _locked(statement, lock: bool):
    return statement.with_for_update() if lock else statement


def lock_persons(session: Session, ids: Iterable[str], lock: bool = True) -> dict[str, dict]:
    """The persons, locked in id order until the commit (PostgreSQL): two transactions
    refreshing the same person take turns, the second reading what the first wrote."""
    rows = _in(session, PERSON.c.id, ids, lambda where: _locked(
        select(*_PERSON_COLUMNS).where(where).order_by(PERSON.c.id), lock))
    return {r["id"]: r for r in rows}


def lock_households(session: Session, ids: Iterable[str], lock: bool = True) -> dict[str, dict]:
    rows = _in(session, HOUSEHOLD.c.id, ids, lambda where: _locked(select(
        HOUSEHOLD.c.id, HOUSEHOLD.c.kelurahan_code, HOUSEHOLD.c.merged_into_id).where(where)
        .order_by(HOUSEHOLD.c.id), lock))
    return {r["id"]: r for r in rows}


def household_members(session: Session, household_ids: Iterable[str]) -> list[dict]:
    return _in(session, PERSON.c.household_id, household_ids, lambda where: select(
        *_PERSON_COLUMNS).where(where, PERSON.c.merged_into_id.is_(None)))


def measurements_of(session: Session, person_ids: Iterable[str]) -> list[dict]:
    return _in(session, MEASUREMENT.c.person_id, person_ids,
               lambda where: select(MEASUREMENT).where(where, MEASUREMENT.c.is_current))


def screenings_of(session: Session, person_ids: Iterable[str]) -> list[dict]:
    return _in(session, SCREENING.c.woman_id, person_ids,
               lambda where: select(SCREENING).where(where, SCREENING.c.is_current))


def pregnancies_of(session: Session, person_ids: Iterable[str]) -> list[dict]:
    return _in(session, PREGNANCY.c.woman_id, person_ids,
               lambda where: select(PREGNANCY).where(where))


def sanitation_of(session: Session, household_ids: Iterable[str]) -> list[dict]:
    return _in(session, SANITATION.c.household_id, household_ids,
               lambda where: select(SANITATION).where(where, SANITATION.c.is_current))


def open_conflicts(session: Session, ids: Iterable[str]) -> list[dict]:
    """Open conflicts on these persons or measurements (ids as text)."""
    return _in(session, CONFLICT.c.entity_id, [str(i) for i in ids], lambda where: select(
        CONFLICT.c.entity, CONFLICT.c.entity_id, CONFLICT.c.fields).where(
        where, CONFLICT.c.entity.in_(("person", "measurement")), CONFLICT.c.status == "open"))


def merged_into(session: Session, person_ids: Iterable[str]) -> list[dict]:
    """Persons merged into these (their interventions count for the survivor)."""
    return _in(session, PERSON.c.merged_into_id, person_ids, lambda where: select(
        PERSON.c.id, PERSON.c.merged_into_id).where(where))


def interventions_for(session: Session, person_ids: Iterable[str],
                      household_ids: Iterable[str]) -> list[dict]:
    """Live interventions of these persons (and of the persons merged into them, with
    `merged_into_id` saying whose they now are) or of these households."""
    merged = PERSON.alias("merged")
    columns = (INTERVENTION.c.person_id, INTERVENTION.c.household_id, INTERVENTION.c.program,
               INTERVENTION.c.delivered_on, merged.c.merged_into_id)
    live = INTERVENTION.c.deleted_at.is_(None)
    base = select(*columns).select_from(INTERVENTION.outerjoin(
        merged, merged.c.id == INTERVENTION.c.person_id))
    out = []
    for part in chunks(sorted(set(person_ids))):
        out += _all(session, base.where(live, or_(INTERVENTION.c.person_id.in_(part),
                                                  merged.c.merged_into_id.in_(part))))
    for part in chunks(sorted(set(household_ids))):
        out += _all(session, base.where(live, INTERVENTION.c.household_id.in_(part)))
    return out


# ---------------------------------------------------------------- contributions and cases

def contributions_of(session: Session, kind: str | None, ids: Iterable[str]) -> list[dict]:
    """The stored contributions of these subjects (of one kind, or of either: person and
    household ids are both UUIDs)."""
    return _in(session, CONTRIB.c.subject_id, ids, lambda where: select(CONTRIB).where(
        where, *([CONTRIB.c.subject_kind == kind] if kind else [])))


def replace_contributions(session: Session, kind: str, ids: Iterable[str], rows: list[dict]) -> None:
    for part in chunks(sorted(set(ids))):
        session.execute(delete(CONTRIB).where(CONTRIB.c.subject_kind == kind,
                                              CONTRIB.c.subject_id.in_(part)))
    if rows:  # executemany: compiled once, pipelined by psycopg
        session.execute(insert(CONTRIB), rows)


def replace_cases(session: Session, kind: str, ids: Iterable[str], rows: list[dict]) -> None:
    for part in chunks(sorted(set(ids))):
        session.execute(delete(CASE).where(CASE.c.subject_kind == kind,
                                           CASE.c.subject_id.in_(part)))
    if rows:
        session.execute(insert(CASE), rows)


_COLUMNS = ", ".join(METRICS)
_SET = ", ".join(f"{m} = caseload_aggregate.{m} + excluded.{m}" for m in METRICS)
# All of a transaction's deltas in one statement with one parameter (a JSON array of
# the changed columns per row), so a commit pays one round trip for them, rows applied
# in sorted key order. PostgreSQL reads it with jsonb_to_recordset, SQLite (3.38+) with
# json_each; both speak ON CONFLICT ... DO UPDATE (SQLite needs the WHERE true).
_ADD = {
    "postgresql": text(
        f"INSERT INTO caseload_aggregate (kelurahan_code, period, {_COLUMNS}) "
        f"SELECT kelurahan_code, period, {', '.join(f'COALESCE({m}, 0)' for m in METRICS)} "
        "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(kelurahan_code text, period text, "
        + ", ".join(f"{m} integer" for m in METRICS) + ") ORDER BY kelurahan_code, period "
        f"ON CONFLICT (kelurahan_code, period) DO UPDATE SET {_SET}"),
    "sqlite": text(
        f"INSERT INTO caseload_aggregate (kelurahan_code, period, {_COLUMNS}) "
        "SELECT value ->> '$.kelurahan_code', value ->> '$.period', "
        + ", ".join(f"COALESCE(value ->> '$.{m}', 0)" for m in METRICS)
        + " FROM json_each(:rows) WHERE true ORDER BY 1, 2 "
        f"ON CONFLICT (kelurahan_code, period) DO UPDATE SET {_SET}"),
}


def add_to_aggregates(session: Session, deltas: dict[tuple[str, str], dict[str, int]]) -> None:
    """Add each (kelurahan, period)'s deltas to its aggregate row, in sorted key order."""
    if not deltas:
        return
    rows = [{"kelurahan_code": k, "period": p, **d} for (k, p), d in sorted(deltas.items())]
    dialect = session.get_bind().dialect.name
    for part in chunks(rows, 5000):
        session.execute(_ADD["postgresql" if dialect == "postgresql" else "sqlite"],
                        {"rows": json.dumps(part)})


def clear_all(session: Session) -> None:
    for table in (CASE, CONTRIB, AGG):
        session.execute(delete(table))


def subject_ids(session: Session) -> tuple[list[str], list[str]]:
    """Every person and household id (for a full recompute)."""
    persons = list(session.execute(select(PERSON.c.id).order_by(PERSON.c.id)).scalars())
    households = list(session.execute(select(HOUSEHOLD.c.id).order_by(HOUSEHOLD.c.id)).scalars())
    return persons, households


def all_contributions(session: Session) -> list[dict]:
    return _all(session, select(CONTRIB))


def all_cases(session: Session) -> list[dict]:
    return _all(session, select(CASE))


def all_aggregates(session: Session) -> list[dict]:
    return _all(session, select(AGG))


# ---------------------------------------------------------------- reading aggregates

def _under(column, prefix: str):
    return or_(column == prefix, column.like(prefix + ".%"))


def summed(session: Session, prefixes: Sequence[str], period: str, registered: dict[str, tuple[str, str]]
           ) -> dict[str, dict[str, int]]:
    """For each region code prefix: the sums of every column for the period, and
    `registered_<group>` = persons born in that group's window of birth months."""
    if not prefixes:
        return {}
    lengths = sorted({len(p) for p in prefixes})
    out: dict[str, dict[str, int]] = {p: {} for p in prefixes}
    first = min(w[0] for w in registered.values())
    for length in lengths:
        group = [p for p in prefixes if len(p) == length]
        key = func.substr(AGG.c.kelurahan_code, 1, length).label("region")
        where_region = or_(*(_under(AGG.c.kelurahan_code, p) for p in group)) if len(group) < 50 \
            else key.in_(group)
        stmt = (select(key, *(func.sum(AGG.c[m]).label(m) for m in METRICS if m != "born"))
                .where(AGG.c.period == period, where_region).group_by(key))
        for row in session.execute(stmt).mappings():
            if row["region"] in out:
                out[row["region"]].update({m: int(row[m] or 0) for m in METRICS if m != "born"})
        windows = [func.sum(AGG.c.born).filter(AGG.c.period >= lo).label(f"registered_{name}")
                   for name, (lo, _hi) in registered.items()]
        stmt = (select(key, *windows).where(AGG.c.period >= first, AGG.c.period <= period,
                                            where_region).group_by(key))
        for row in session.execute(stmt).mappings():
            if row["region"] in out:
                out[row["region"]].update({f"registered_{name}": int(row[f"registered_{name}"] or 0)
                                           for name in registered})
    return out


def regions(session: Session, *, levels: Sequence[str], parent: str | None,
            codes: Sequence[str] | None, limit: int, offset: int) -> tuple[list[dict], int]:
    where = [WILAYAH.c.level.in_(levels)]
    if parent:
        where.append(WILAYAH.c.code.like(parent + ".%"))
    if codes is not None:
        where.append(or_(*(_under(WILAYAH.c.code, c) for c in codes)) if codes else text("1=0"))
    total = session.execute(select(func.count()).select_from(WILAYAH).where(*where)).scalar_one()
    rows = _all(session, select(WILAYAH.c.code, WILAYAH.c.name, WILAYAH.c.level).where(*where)
                .order_by(WILAYAH.c.code).limit(limit).offset(offset))
    return rows, total


def region(session: Session, code: str) -> dict | None:
    rows = _all(session, select(WILAYAH.c.code, WILAYAH.c.name, WILAYAH.c.level,
                                WILAYAH.c.parent_code).where(WILAYAH.c.code == code))
    return rows[0] if rows else None


def child_regions(session: Session, code: str) -> list[dict]:
    return _all(session, select(WILAYAH.c.code, WILAYAH.c.name, WILAYAH.c.level)
                .where(WILAYAH.c.parent_code == code).order_by(WILAYAH.c.code))


def targets(session: Session, codes: Sequence[str], year: int) -> dict[str, tuple[int, float]]:
    """Per region code: the target of the latest year up to `year` (year, prevalence)."""
    rows = _all(session, select(TARGET.c.wilayah_code, TARGET.c.year, TARGET.c.stunting_prevalence)
                .where(TARGET.c.wilayah_code.in_(list(codes)), TARGET.c.year <= year)
                .order_by(TARGET.c.year))
    return {r["wilayah_code"]: (r["year"], r["stunting_prevalence"]) for r in rows}


# ---------------------------------------------------------------- case lists

def case_page(session: Session, *, program: str, period: str, prefix: str,
              after: tuple[str, str] | None, limit: int | None) -> list[dict]:
    """Case rows under a region, ordered by (kelurahan, subject), after a cursor, with
    the registry's names, address and posyandu."""
    hh = HOUSEHOLD.alias("hh")
    own_hh = HOUSEHOLD.alias("own_hh")
    mother = PERSON.alias("mother")
    person = PERSON.alias("person")
    stmt = (select(CASE, person.c.name.label("person_name"), person.c.nik.label("person_nik"),
                   person.c.sex, person.c.birth_date, person.c.household_id.label("person_household_id"),
                   mother.c.name.label("mother_name"),
                   func.coalesce(hh.c.head_name, own_hh.c.head_name).label("head_name"),
                   func.coalesce(hh.c.address, own_hh.c.address).label("address"),
                   func.coalesce(hh.c.rt, own_hh.c.rt).label("rt"),
                   func.coalesce(hh.c.rw, own_hh.c.rw).label("rw"),
                   func.coalesce(hh.c.kk, own_hh.c.kk).label("kk"),
                   POSYANDU.c.name.label("posyandu_name"))
            .select_from(CASE)
            .outerjoin(person, and_(CASE.c.subject_kind == "person", person.c.id == CASE.c.subject_id))
            .outerjoin(mother, mother.c.id == person.c.mother_id)
            .outerjoin(own_hh, own_hh.c.id == person.c.household_id)
            .outerjoin(hh, and_(CASE.c.subject_kind == "household", hh.c.id == CASE.c.subject_id))
            .outerjoin(POSYANDU, POSYANDU.c.id == CASE.c.posyandu_id)
            .where(CASE.c.program == program, CASE.c.period == period,
                   _under(CASE.c.kelurahan_code, prefix)))
    if after is not None:
        stmt = stmt.where(or_(CASE.c.kelurahan_code > after[0],
                              and_(CASE.c.kelurahan_code == after[0], CASE.c.subject_id > after[1])))
    stmt = stmt.order_by(CASE.c.kelurahan_code, CASE.c.subject_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return _all(session, stmt)


def interventions_of_subjects(session: Session, person_ids: Sequence[str],
                              household_ids: Sequence[str], program: str) -> list[dict]:
    columns = (INTERVENTION.c.id, INTERVENTION.c.person_id, INTERVENTION.c.household_id,
               INTERVENTION.c.program, INTERVENTION.c.type, INTERVENTION.c.delivered_on,
               INTERVENTION.c.quantity, INTERVENTION.c.unit, INTERVENTION.c.agency)
    live = and_(INTERVENTION.c.deleted_at.is_(None), INTERVENTION.c.program == program)
    return (_in(session, INTERVENTION.c.person_id, person_ids,
                lambda where: select(*columns).where(where, live))
            + _in(session, INTERVENTION.c.household_id, household_ids,
                  lambda where: select(*columns).where(where, live)))


def programs_of(session: Session, user_id: int) -> list[str]:
    return list(session.execute(select(UserProgram.__table__.c.program).where(
        UserProgram.__table__.c.user_id == user_id).order_by(UserProgram.__table__.c.program)).scalars())


def cases_of(session: Session, kind: str | None, ids: Iterable[str]) -> list[dict]:
    return _in(session, CASE.c.subject_id, ids, lambda where: select(CASE).where(
        where, *([CASE.c.subject_kind == kind] if kind else [])))
