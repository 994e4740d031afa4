"""SQL of the caseloads (issue #16): the records a subject's contributions are computed
from, the contributions and case rows themselves, and the aggregate rows they add up to.

Writes to `caseload_aggregate` are one INSERT ... ON CONFLICT DO UPDATE (col = col +
delta) with the rows in sorted (kelurahan, period) order: concurrent writers lock
aggregate rows in the same order, so they wait for one another but never deadlock.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import (
    JSON,
    String,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    null,
    or_,
    select,
    text,
)
from sqlmodel import Session

from core.statements import Branch, EachOf, Prepared, all_together, run_together
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
from models.base import one_of

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



# ---------------------------------------------------------------- the records of subjects
#
# A refresh reads everything its subjects' figures come from in one round trip (the
# reads of `PersonRecords`, pipelined on PostgreSQL), and those of the households whose
# figures follow in a second one, and writes what changed in a third. Each read takes
# its ids as one list parameter and is one index lookup per id whatever the statistics
# (core.statements.EachOf): the same text, and on PostgreSQL the same prepared
# statement and plan, for any number of subjects.

def _locked(statement, lock: bool):
    return statement.with_for_update() if lock else statement


# What the figures and case details read of a measurement (not the whole row).
_MEASUREMENT_COLUMNS = tuple(MEASUREMENT.c[name] for name in (
    "id", "person_id", "measured_on", "age_days", "weight_kg", "length_height_cm", "muac_cm",
    "oedema", "zlen", "zwei", "zwfl", "tbu_category", "bbu_category", "bbtb_category",
    "stunted", "severely_stunted", "wasted", "severely_wasted", "underweight", "overweight",
    "kelurahan_code", "posyandu_id", "is_current"))
_CONFLICT_COLUMNS = (CONFLICT.c.entity, CONFLICT.c.entity_id, CONFLICT.c.fields)
_LIVE = INTERVENTION.c.deleted_at.is_(None)
_MERGED = PERSON.alias("merged")
_INTERVENTION_COLUMNS = (INTERVENTION.c.id, INTERVENTION.c.person_id, INTERVENTION.c.household_id,
                         INTERVENTION.c.program, INTERVENTION.c.delivered_on,
                         _MERGED.c.merged_into_id)
_WITH_MERGED = INTERVENTION.outerjoin(_MERGED, _MERGED.c.id == INTERVENTION.c.person_id)


def _members(match):
    """The live members of the household `match` names."""
    return select(PERSON.c.id.label("member_id")).where(match(PERSON.c.household_id),
                                                        PERSON.c.merged_into_id.is_(None))


def _current_measurements(match):
    """The ids (as text: conflicts name them so) of the person's current measurements."""
    return select(cast(MEASUREMENT.c.id, String).label("measurement_id")).where(
        match(MEASUREMENT.c.person_id), MEASUREMENT.c.is_current)


def _merged_into(match):
    """The persons merged into the person `match` names."""
    return select(PERSON.c.id.label("merged_id")).where(match(PERSON.c.merged_into_id))


def _conflicts(entity: str):
    return lambda columns: [columns.entity == entity, columns.status == "open"]


@dataclass(frozen=True)
class _PersonReads:
    """The records of a set of persons (or of the members of a set of households), one
    statement each."""

    measurements: EachOf
    screenings: EachOf
    pregnancies: EachOf
    conflicts: EachOf  # open, on the persons or on their current measurements
    interventions: EachOf  # live, of the persons or of persons merged into them

    @classmethod
    def of(cls, via: tuple = ()) -> _PersonReads:
        conflict = lambda match: select(*_CONFLICT_COLUMNS, CONFLICT.c.status).where(  # noqa: E731
            match(CONFLICT.c.entity_id))
        intervention = lambda match: select(*_INTERVENTION_COLUMNS).select_from(  # noqa: E731
            _WITH_MERGED).where(_LIVE, match(INTERVENTION.c.person_id))
        return cls(
            EachOf(Branch(lambda match: select(*_MEASUREMENT_COLUMNS).where(
                match(MEASUREMENT.c.person_id), MEASUREMENT.c.is_current)), via=via),
            EachOf(Branch(lambda match: select(SCREENING).where(
                match(SCREENING.c.woman_id), SCREENING.c.is_current)), via=via),
            EachOf(Branch(lambda match: select(PREGNANCY).where(match(PREGNANCY.c.woman_id))),
                   via=via),
            EachOf(Branch(conflict, keep=_conflicts("person")),
                   Branch(conflict, via=(_current_measurements,), keep=_conflicts("measurement")),
                   via=via),
            EachOf(Branch(intervention), Branch(intervention, via=(_merged_into,)), via=via))

    def calls(self, ids: list[str]) -> list[tuple[EachOf, dict]]:
        return [(statement, {"ids": ids}) for statement in (
            self.measurements, self.screenings, self.pregnancies, self.conflicts,
            self.interventions)]


_OF_PERSONS = _PersonReads.of()
_OF_MEMBERS = _PersonReads.of(via=(_members,))


@dataclass
class PersonRecords:
    """What `read_persons` / `read_households` found, as dicts."""

    measurements: list[dict] = field(default_factory=list)
    screenings: list[dict] = field(default_factory=list)
    pregnancies: list[dict] = field(default_factory=list)
    conflicts: list[dict] = field(default_factory=list)
    interventions: list[dict] = field(default_factory=list)

    @classmethod
    def of(cls, results: list[list]) -> PersonRecords:
        return cls(*([row._asdict() for row in rows] for rows in results))


def _of_kind(table):
    return Branch(lambda match: select(table).where(table.c.subject_kind == bindparam("kind"),
                                                    match(table.c.subject_id)))


# Locked one by one in the order of the ids given (sorted): two transactions refreshing
# the same subjects lock them in the same order.
_PERSONS = {lock: EachOf(Branch(lambda match, lock=lock: _locked(select(*_PERSON_COLUMNS).where(
    match(PERSON.c.id)), lock))) for lock in (True, False)}
_HOUSEHOLDS = {lock: EachOf(Branch(lambda match, lock=lock: _locked(select(
    HOUSEHOLD.c.id, HOUSEHOLD.c.kelurahan_code, HOUSEHOLD.c.merged_into_id).where(
    match(HOUSEHOLD.c.id)), lock))) for lock in (True, False)}
_MEMBERS = EachOf(Branch(lambda match: select(*_PERSON_COLUMNS).where(
    match(PERSON.c.household_id), PERSON.c.merged_into_id.is_(None))))
_SANITATION = EachOf(Branch(lambda match: select(SANITATION).where(
    match(SANITATION.c.household_id), SANITATION.c.is_current)))
# (No merged person to follow: a household's figures read its own interventions.)
_HOUSEHOLD_INTERVENTIONS = EachOf(Branch(lambda match: select(
    *_INTERVENTION_COLUMNS[:-1], null().label("merged_into_id")).where(
    _LIVE, match(INTERVENTION.c.household_id))))
_CONTRIBUTIONS = EachOf(_of_kind(CONTRIB))
_CASES = EachOf(_of_kind(CASE))


@dataclass
class PersonsRead:
    persons: dict[str, dict]  # id -> registry row (locked until the commit with `lock`)
    records: PersonRecords
    contributions: list[dict]  # stored, with `stored`
    cases: list[dict]


def read_persons(session: Session, ids: Sequence[str], *, lock: bool = True,
                 stored: bool = True) -> PersonsRead:
    """These persons (locked in id order until the commit on PostgreSQL, so that two
    transactions refreshing the same person take turns, the second reading what the
    first wrote), their records and (`stored`) their stored contributions and case
    rows: one round trip."""
    ids = sorted(set(ids))
    if not ids:
        return PersonsRead({}, PersonRecords(), [], [])
    calls = [(_PERSONS[lock], {"ids": ids}), *_OF_PERSONS.calls(ids)]
    if stored:
        calls += [(_CONTRIBUTIONS, {"kind": "person", "ids": ids}),
                  (_CASES, {"kind": "person", "ids": ids})]
    results = all_together(session, calls)
    persons = {row.id: row._asdict() for row in results[0]}
    contributions, cases = ([row._asdict() for row in rows] for rows in results[6:8]) \
        if stored else ([], [])
    return PersonsRead(persons, PersonRecords.of(results[1:6]), contributions, cases)


@dataclass
class HouseholdsRead:
    households: dict[str, dict]
    members: list[dict]  # live members' registry rows
    records: PersonRecords  # the members' records
    sanitation: list[dict]
    interventions: list[dict]  # the households' own
    contributions: list[dict]
    cases: list[dict]


def read_households(session: Session, ids: Sequence[str], *, lock: bool = True,
                    stored: bool = True) -> HouseholdsRead:
    """These households (locked in id order with `lock`), their live members and the
    members' records, their sanitation checks and interventions, and (`stored`) their
    stored contributions and case rows: one round trip."""
    ids = sorted(set(ids))
    if not ids:
        return HouseholdsRead({}, [], PersonRecords(), [], [], [], [])
    calls = [(_HOUSEHOLDS[lock], {"ids": ids}), (_MEMBERS, {"ids": ids}), *_OF_MEMBERS.calls(ids),
             (_SANITATION, {"ids": ids}), (_HOUSEHOLD_INTERVENTIONS, {"ids": ids})]
    if stored:
        calls += [(_CONTRIBUTIONS, {"kind": "household", "ids": ids}),
                  (_CASES, {"kind": "household", "ids": ids})]
    results = all_together(session, calls)
    dicts = [[row._asdict() for row in rows] for rows in results]
    households = {row["id"]: row for row in dicts[0]}
    contributions, cases = (dicts[9], dicts[10]) if stored else ([], [])
    return HouseholdsRead(households, dicts[1], PersonRecords.of(results[2:7]), dicts[7],
                          dicts[8], contributions, cases)


# ---------------------------------------------------------------- contributions and cases

# One statement per subject (an executemany: one round trip): each deletes by its key.
_DELETE_CONTRIBUTIONS = Prepared(delete(CONTRIB).where(CONTRIB.c.subject_kind == bindparam("kind"),
                                                       CONTRIB.c.subject_id == bindparam("id")))
_DELETE_CASES = Prepared(delete(CASE).where(CASE.c.subject_kind == bindparam("kind"),
                                            CASE.c.subject_id == bindparam("id")))
_INSERT_CONTRIBUTION = Prepared(insert(CONTRIB))
_INSERT_CASE = Prepared(insert(CASE))

_COLUMNS = ", ".join(METRICS)
_SET = ", ".join(f"{m} = caseload_aggregate.{m} + excluded.{m}" for m in METRICS)
# All of a transaction's deltas in one statement with one parameter (a JSON array of
# the changed columns per row), rows applied in sorted key order. PostgreSQL reads it
# with jsonb_to_recordset, SQLite (3.38+) with json_each; both speak ON CONFLICT ... DO
# UPDATE (SQLite needs the WHERE true).
_ADD = {
    "postgresql": Prepared(text(
        f"INSERT INTO caseload_aggregate (kelurahan_code, period, {_COLUMNS}) "
        f"SELECT kelurahan_code, period, {', '.join(f'COALESCE({m}, 0)' for m in METRICS)} "
        "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(kelurahan_code text, period text, "
        + ", ".join(f"{m} integer" for m in METRICS) + ") ORDER BY kelurahan_code, period "
        f"ON CONFLICT (kelurahan_code, period) DO UPDATE SET {_SET}"), tables={AGG.name}),
    "sqlite": Prepared(text(
        f"INSERT INTO caseload_aggregate (kelurahan_code, period, {_COLUMNS}) "
        "SELECT value ->> '$.kelurahan_code', value ->> '$.period', "
        + ", ".join(f"COALESCE(value ->> '$.{m}', 0)" for m in METRICS)
        + " FROM json_each(:rows) WHERE true ORDER BY 1, 2 "
        f"ON CONFLICT (kelurahan_code, period) DO UPDATE SET {_SET}"), tables={AGG.name}),
}


@dataclass
class Replacement:
    """What a refresh writes: the stored rows of the `redo` subjects deleted, the new
    rows of every changed subject inserted, and the aggregate deltas ((kelurahan,
    period) -> column -> delta)."""

    redo: dict[str, list[str]] = field(default_factory=dict)  # kind -> ids with stored rows
    contributions: list[dict] = field(default_factory=list)
    cases: list[dict] = field(default_factory=list)
    deltas: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)


def write(session: Session, replacement: Replacement) -> None:
    """Delete the redone subjects' rows, insert the new ones and add the deltas to the
    aggregates (rows in sorted (kelurahan, period) order): one round trip."""
    writes = []
    for kind, ids in sorted(replacement.redo.items()):
        if ids:
            keys = [{"kind": kind, "id": i} for i in sorted(ids)]
            writes += [(_DELETE_CONTRIBUTIONS, keys), (_DELETE_CASES, keys)]
    writes += [(_INSERT_CONTRIBUTION, replacement.contributions),
               (_INSERT_CASE, replacement.cases)]
    dialect = session.get_bind().dialect.name
    rows = [{"kelurahan_code": k, "period": p, **d}
            for (k, p), d in sorted(replacement.deltas.items()) if d]
    writes += [(_ADD["postgresql" if dialect == "postgresql" else "sqlite"],
                [{"rows": json.dumps(part)}]) for part in chunks(rows, 5000)]
    run_together(session, writes)


def clear_all(session: Session) -> None:
    for table in (CASE, CONTRIB, AGG):
        session.execute(delete(table))


def subject_ids(session: Session) -> tuple[list[str], list[str]]:
    """For a full recompute: every household id, and the ids of the live persons in no
    household (every other live person is a member of one of them; a merged-away
    person contributes nothing)."""
    households = list(session.execute(select(HOUSEHOLD.c.id).order_by(HOUSEHOLD.c.id)).scalars())
    unhoused = list(session.execute(select(PERSON.c.id).where(
        PERSON.c.household_id.is_(None), PERSON.c.merged_into_id.is_(None)).order_by(
        PERSON.c.id)).scalars())
    return households, unhoused


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



# ---------------------------------------------------------------- the read path (#16, #17)
# Every region's figures in a fixed number of statements, whatever the number of regions:
# the codes of a request are matched in clauses an index answers (exact codes in one IN
# list, shorter codes as LIKE prefixes, which PostgreSQL answers from the
# varchar_pattern_ops indexes of migration 0008_reads), and the rows are summed once per
# group of the longest code asked for, each shorter code adding up the groups under it.

def _one_of(session: Session, column, values: Sequence[str]):
    """models.base.one_of for this session's database: on PostgreSQL one array parameter,
    as psycopg parses a statement of hundreds of placeholders anew each time (17 against
    3 ms for 600 codes)."""
    return one_of(column, values, postgresql=session.get_bind().dialect.name == "postgresql")


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
