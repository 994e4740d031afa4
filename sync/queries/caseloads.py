"""SQL of the caseloads (issue #16): the records a subject's contributions are computed
from, the contributions and case rows themselves, and the aggregate rows they add up to.

Writes to `caseload_aggregate` are one INSERT ... ON CONFLICT DO UPDATE (col = col +
delta) with the rows in sorted (kelurahan, period) order: concurrent writers lock
aggregate rows in the same order, so they wait for one another but never deadlock.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import JSON, String, and_, any_, delete, func, insert, literal, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY
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


def region(session: Session, code: str) -> dict | None:
    rows = _all(session, select(WILAYAH.c.code, WILAYAH.c.name, WILAYAH.c.level,
                                WILAYAH.c.parent_code).where(WILAYAH.c.code == code))
    return rows[0] if rows else None


def child_regions(session: Session, code: str) -> list[dict]:
    return _all(session, select(WILAYAH.c.code, WILAYAH.c.name, WILAYAH.c.level)
                .where(WILAYAH.c.parent_code == code).order_by(WILAYAH.c.code))


# ---------------------------------------------------------------- case lists

def case_page(session: Session, *, program: str, period: str, prefix: str,
              after: tuple[str, str] | None, limit: int | None) -> list[dict]:
    """Case rows under a region, ordered by (kelurahan, subject), after a cursor, with
    the registry's names, address and posyandu. The page is chosen first (an ordered
    range of ix_caseload_case_list), then joined to the registry row by row: joining
    every case of the month and sorting it (PostgreSQL's plan otherwise) took 380 ms
    for a page of 10,000 of 19,000 cases."""
    page = _on_page(select(CASE), program=program, period=period, prefix=prefix, after=after,
                    limit=limit).subquery("page")
    hh = HOUSEHOLD.alias("hh")
    own_hh = HOUSEHOLD.alias("own_hh")
    mother = PERSON.alias("mother")
    person = PERSON.alias("person")
    stmt = (select(page, person.c.name.label("person_name"), person.c.nik.label("person_nik"),
                   person.c.sex, person.c.birth_date, person.c.household_id.label("person_household_id"),
                   mother.c.name.label("mother_name"),
                   func.coalesce(hh.c.head_name, own_hh.c.head_name).label("head_name"),
                   func.coalesce(hh.c.address, own_hh.c.address).label("address"),
                   func.coalesce(hh.c.rt, own_hh.c.rt).label("rt"),
                   func.coalesce(hh.c.rw, own_hh.c.rw).label("rw"),
                   func.coalesce(hh.c.kk, own_hh.c.kk).label("kk"),
                   POSYANDU.c.name.label("posyandu_name"))
            .select_from(page)
            .outerjoin(person, and_(page.c.subject_kind == "person", person.c.id == page.c.subject_id))
            .outerjoin(mother, mother.c.id == person.c.mother_id)
            .outerjoin(own_hh, own_hh.c.id == person.c.household_id)
            .outerjoin(hh, and_(page.c.subject_kind == "household", hh.c.id == page.c.subject_id))
            .outerjoin(POSYANDU, POSYANDU.c.id == page.c.posyandu_id)
            .order_by(page.c.kelurahan_code, page.c.subject_id))
    return _all(session, stmt)


def programs_of(session: Session, user_id: int) -> list[str]:
    return list(session.execute(select(UserProgram.__table__.c.program).where(
        UserProgram.__table__.c.user_id == user_id).order_by(UserProgram.__table__.c.program)).scalars())


def cases_of(session: Session, kind: str | None, ids: Iterable[str]) -> list[dict]:
    return _in(session, CASE.c.subject_id, ids, lambda where: select(CASE).where(
        where, *([CASE.c.subject_kind == kind] if kind else [])))


# ---------------------------------------------------------------- the read path (#16, #17)
# Every region's figures in a fixed number of statements, whatever the number of regions:
# the codes of a request are matched in clauses an index answers (exact codes in one IN
# list, shorter codes as LIKE prefixes, which PostgreSQL answers from the
# varchar_pattern_ops indexes of migration 0008_reads), and the rows are summed once per
# group of the longest code asked for, each shorter code adding up the groups under it.

def _one_of(session: Session, column, values: Sequence[str]):
    """`column IN (values)`; on PostgreSQL `= ANY(one array parameter)`: psycopg parses a
    statement of hundreds of placeholders anew each time (17 against 3 ms for 600 codes)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(list(values), ARRAY(String)))
    return column.in_(list(values))


def _within(session: Session, column, prefixes: Iterable[str]):
    """`column` lies under one of these region codes (is one, or starts with it and a
    dot), written so an index can answer it: the codes too long to have anything under
    them in this column as one list, the others as `= code OR LIKE 'code.%'`."""
    asked = set(prefixes)
    # A code under another one asked for adds no rows: leave it out of the filter.
    cover = sorted(p for p in asked if not any(a in asked for a in _above(p)))
    longest = column.type.length
    exact = [p for p in cover if longest is not None and len(p) + 2 > longest]
    clauses = [_one_of(session, column, exact)] if exact else []
    clauses += [_under(column, p) for p in cover if p not in exact]
    return or_(*clauses) if clauses else text("1=0")


def _above(code: str) -> list[str]:
    """The codes `code` lies under: its beginnings up to each dot ("33.75.01": 33, 33.75)."""
    return [code[:i] for i, c in enumerate(code) if c == "."]


def _groups_under(prefixes: Sequence[str], length: int, groups: dict[tuple[str, str], dict]
                  ) -> dict[str, list]:
    """For each code: the groups (a row code's first `length` characters, the character
    after them) holding its rows, exactly the rows `_under(column, code)` selects: a code
    of `length` characters its own group (a row code equal to it or going on with a
    dot), a shorter one every group equal to it or beginning with it and a dot."""
    by_code: dict[str, list] = {}
    for (g, after), value in groups.items():
        if len(g) < length or after in ("", "."):
            by_code.setdefault(g, []).append(value)
        for a in _above(g):
            by_code.setdefault(a, []).append(value)
    return {p: by_code.get(p, []) for p in prefixes}


def region_totals(session: Session, prefixes: Sequence[str], periods: Sequence[str]
                  ) -> dict[tuple[str, str], dict[str, int]]:
    """Per (region code, period): the sums of every column but `born` in one statement
    for all the codes and periods (the months `periods` spans, first to last)."""
    if not prefixes or not periods:
        return {}
    length = max(len(p) for p in prefixes)
    key = func.substr(AGG.c.kelurahan_code, 1, length)
    after = func.substr(AGG.c.kelurahan_code, length + 1, 1)
    names = [m for m in METRICS if m != "born"]
    period_clause = (AGG.c.period == periods[0] if len(periods) == 1
                     else and_(AGG.c.period >= min(periods), AGG.c.period <= max(periods)))
    stmt = (select(key.label("g"), after.label("after"), AGG.c.period,
                   *(func.sum(AGG.c[m]).label(m) for m in names))
            .where(period_clause, _within(session, AGG.c.kelurahan_code, prefixes))
            .group_by(key, after, AGG.c.period))
    groups: dict[str, dict[tuple[str, str], dict]] = {}
    for row in session.execute(stmt).mappings():
        groups.setdefault(row["period"], {})[(row["g"], row["after"] or "")] = row
    out: dict[tuple[str, str], dict[str, int]] = {}
    for period in periods:
        for p, rows in _groups_under(prefixes, length, groups.get(period, {})).items():
            out[(p, period)] = {m: sum(int(r[m] or 0) for r in rows) for m in names} if rows else {}
    return out


SUMMED_WINDOWS = 8  # up to this many windows summed by the database, more from month rows


def births(session: Session, prefixes: Sequence[str], windows: dict[str, tuple[str, str]]
           ) -> dict[str, dict[str, int]]:
    """Per region code and window name: persons born in the window's months (first,
    last), one statement for all the codes. A few windows (one period's age groups) are
    summed by the database, one row per group of codes; more (a series) from the births
    per group and month."""
    if not prefixes or not windows:
        return {}
    length = max(len(p) for p in prefixes)
    key = func.substr(AGG.c.kelurahan_code, 1, length)
    after = func.substr(AGG.c.kelurahan_code, length + 1, 1)
    first, last = min(lo for lo, _ in windows.values()), max(hi for _, hi in windows.values())
    where = (AGG.c.period >= first, AGG.c.period <= last, AGG.c.born != 0,
             _within(session, AGG.c.kelurahan_code, prefixes))
    summed = len(windows) <= SUMMED_WINDOWS
    names = list(windows)
    sums = ([func.sum(AGG.c.born).filter(and_(AGG.c.period >= lo, AGG.c.period <= hi)).label(f"w{i}")
             for i, (lo, hi) in enumerate(windows.values())] if summed
            else [AGG.c.period, func.sum(AGG.c.born).label("born")])
    stmt = (select(key.label("g"), after.label("after"), *sums).where(*where)
            .group_by(key, after, *([] if summed else [AGG.c.period])))
    groups: dict[tuple[str, str], dict[str, int]] = {}
    for row in session.execute(stmt).mappings():
        found = groups.setdefault((row["g"], row["after"] or ""), dict.fromkeys(names, 0))
        if summed:
            for i, name in enumerate(names):
                found[name] += int(row[f"w{i}"] or 0)
        else:
            for name, (lo, hi) in windows.items():
                if lo <= row["period"] <= hi:
                    found[name] += int(row["born"])
    return {p: {name: sum(part[name] for part in found) for name in names}
            for p, found in _groups_under(prefixes, length, groups).items()}


def regions_within(session: Session, *, levels: Sequence[str], parent: str | None,
                   codes: Sequence[str] | None, limit: int, offset: int) -> tuple[list[dict], int]:
    """The regions of these levels under `parent` and under one of `codes` (None: any),
    by code, a page of them and how many there are."""
    where = [WILAYAH.c.level.in_(levels)]
    if parent:
        where.append(WILAYAH.c.code.like(parent + ".%"))
    if codes is not None:
        where.append(_within(session, WILAYAH.c.code, codes))
    total = session.execute(select(func.count()).select_from(WILAYAH).where(*where)).scalar_one()
    rows = _all(session, select(WILAYAH.c.code, WILAYAH.c.name, WILAYAH.c.level).where(*where)
                .order_by(WILAYAH.c.code).limit(limit).offset(offset))
    return rows, total


def target_rows(session: Session, codes: Sequence[str], year: int) -> list[dict]:
    """Every target of these region codes for a year up to `year`, oldest first."""
    return _all(session, select(TARGET.c.wilayah_code, TARGET.c.year, TARGET.c.stunting_prevalence)
                .where(_one_of(session, TARGET.c.wilayah_code, codes), TARGET.c.year <= year)
                .order_by(TARGET.c.year))


def copy_rows(session: Session, table, rows: list[dict]) -> None:
    """Insert many rows in bulk (a full recompute): PostgreSQL's COPY in this
    transaction, an executemany elsewhere. JSON columns go in as their text."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    names = [c.name for c in table.columns if c.name in rows[0]]
    as_json = {c.name for c in table.columns if isinstance(c.type, JSON)}
    connection = session.connection().connection.driver_connection
    with connection.cursor() as cursor, cursor.copy(
            f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(row.get(n)) if n in as_json else row.get(n) for n in names])


def _on_page(stmt, *, program: str, period: str, prefix: str, after: tuple[str, str] | None,
             limit: int | None):
    """`stmt` (over caseload_case) narrowed to one page of a case list: a programme's
    cases of a month under a region, by (kelurahan, subject), after a cursor."""
    stmt = stmt.where(CASE.c.program == program, CASE.c.period == period,
                      _under(CASE.c.kelurahan_code, prefix))
    if after is not None:
        stmt = stmt.where(or_(CASE.c.kelurahan_code > after[0],
                              and_(CASE.c.kelurahan_code == after[0], CASE.c.subject_id > after[1])))
    stmt = stmt.order_by(CASE.c.kelurahan_code, CASE.c.subject_id)
    return stmt if limit is None else stmt.limit(limit)


def page_interventions(session: Session, *, program: str, period: str, prefix: str,
                       after: tuple[str, str] | None, limit: int | None) -> list[dict]:
    """The live interventions of the programme received by the subjects of one page of
    a case list (as case_page selects it), in one statement however long the page: a
    person's own, those of the persons merged into it, a household's. `merged_into_id`:
    the person the intervention's person was merged into (whose case it counts for)."""
    page = _on_page(select(CASE.c.subject_kind, CASE.c.subject_id), program=program,
                    period=period, prefix=prefix, after=after, limit=limit).cte("page")
    persons = select(page.c.subject_id).where(page.c.subject_kind == "person")
    households = select(page.c.subject_id).where(page.c.subject_kind == "household")
    receiver = PERSON.alias("receiver")
    columns = (INTERVENTION.c.id, INTERVENTION.c.person_id, INTERVENTION.c.household_id,
               INTERVENTION.c.program, INTERVENTION.c.type, INTERVENTION.c.delivered_on,
               INTERVENTION.c.quantity, INTERVENTION.c.unit, INTERVENTION.c.agency,
               receiver.c.merged_into_id)
    live = and_(INTERVENTION.c.deleted_at.is_(None), INTERVENTION.c.program == program)
    base = select(*columns).select_from(INTERVENTION.outerjoin(
        receiver, receiver.c.id == INTERVENTION.c.person_id))
    merged = select(PERSON.c.id).where(PERSON.c.merged_into_id.in_(persons))
    return _all(session, base.where(live, or_(
        INTERVENTION.c.person_id.in_(persons), INTERVENTION.c.person_id.in_(merged),
        INTERVENTION.c.household_id.in_(households))).order_by(INTERVENTION.c.id))
