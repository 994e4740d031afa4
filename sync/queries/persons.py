"""Persons: children, women, household heads."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import bindparam, select, union_all
from sqlmodel import Session

from core.statements import Prepared
from models import Measurement, Person, PersonVersion
from sync.queries.records import GrowthRecord, growth_history
from sync.queries.versioned import VersionedTable

PERSON = Person.__table__
PERSONS = VersionedTable(PERSON, PersonVersion.__table__, "person_id")

_MEASUREMENT = Measurement.__table__
_GROWTH_COLUMNS = {"growth_id": _MEASUREMENT.c.id, "growth_on": _MEASUREMENT.c.measured_on,
                   "growth_weight_kg": _MEASUREMENT.c.weight_kg,
                   "growth_clenhei": _MEASUREMENT.c.clenhei}
_WITH_GROWTH = PERSON.outerjoin(_MEASUREMENT, (_MEASUREMENT.c.person_id == PERSON.c.id)
                                & _MEASUREMENT.c.is_current)
# Every person any identity rule could pick for up to two lookups (a and b: the child
# and mother of one measurement), in one query. Each branch is one indexed equality
# lookup (id, nik, (kelurahan_code, name_key) with the birth date, household_id); a
# parameter left None matches nothing. UNION ALL rather than OR: PostgreSQL keeps a
# prepared statement's generic plan, and for an OR of such conditions on a table that
# was small when the plan was made, that is a sequential scan.
_CANDIDATE_CONDITIONS = (
    (PERSON.c.id == bindparam("id_a"),),
    (PERSON.c.id == bindparam("id_b"),),
    (PERSON.c.nik == bindparam("nik_a"),),
    (PERSON.c.nik == bindparam("nik_b"),),
    (PERSON.c.kelurahan_code == bindparam("kelurahan_a"), PERSON.c.name_key == bindparam("key_a"),
     PERSON.c.birth_date == bindparam("birth_a")),
    (PERSON.c.kelurahan_code == bindparam("kelurahan_b"), PERSON.c.name_key == bindparam("key_b"),
     PERSON.c.birth_date == bindparam("birth_b")),
    (PERSON.c.household_id == bindparam("household_a"), PERSON.c.name_key == bindparam("key_a")),
    (PERSON.c.household_id == bindparam("household_b"), PERSON.c.name_key == bindparam("key_b")),
)
# PostgreSQL: with each person's current measurements (a row per measurement: the
# growth history plausibility checks need), saving a round trip.
_CANDIDATES_WITH_GROWTH = Prepared(union_all(*(
    select(PERSON, *(column.label(name) for name, column in _GROWTH_COLUMNS.items()))
    .select_from(_WITH_GROWTH).where(*condition) for condition in _CANDIDATE_CONDITIONS)))
# SQLite: without them. A query there is a function call, not a round trip, and a row
# per measurement (each converting the person's dates again in Python) cost more than
# reading a history when it is asked for.
_CANDIDATES = Prepared(union_all(*(
    select(PERSON).where(*condition) for condition in _CANDIDATE_CONDITIONS)))


@dataclass(frozen=True)
class Lookup:
    """What one person lookup of `candidates` searches by (None: not by that)."""

    registry_id: str | None = None
    nik: str | None = None
    name_key: str | None = None
    kelurahan_code: str | None = None  # with name_key and birth_date
    birth_date: object = None
    household_id: str | None = None  # with name_key


@dataclass
class Candidates:
    """The rows `candidates` found, oldest first, and the current growth history of
    each when the query brought it along."""

    persons: list[dict]
    _growth: dict[str, list[GrowthRecord]] | None = field(default=None, repr=False)

    def growth_history(self, session: Session, person_id: str) -> list[GrowthRecord]:
        if self._growth is not None and person_id in self._growth:
            return self._growth[person_id]
        return growth_history(session, person_id)


def candidates(session: Session, *lookups: Lookup | None) -> Candidates:
    """Every person matching any of (at most two) lookups, in one query."""
    lookups = [lookup for lookup in lookups if lookup is not None]
    if len(lookups) > 2:
        raise ValueError("candidates takes at most two lookups")
    params = {}
    for slot, lookup in zip("ab", lookups + [Lookup()] * (2 - len(lookups))):
        params.update({
            f"id_{slot}": lookup.registry_id, f"nik_{slot}": lookup.nik,
            f"kelurahan_{slot}": lookup.kelurahan_code, f"birth_{slot}": lookup.birth_date,
            f"household_{slot}": lookup.household_id, f"key_{slot}": lookup.name_key})
    with_growth = session.connection().dialect.name != "sqlite"
    statement = _CANDIDATES_WITH_GROWTH if with_growth else _CANDIDATES
    persons: dict[str, dict] = {}
    growth: dict[str, dict[int, GrowthRecord]] = {}
    for row in statement.mappings(session, params):
        if with_growth:
            measurement = {name: row.pop(name) for name in _GROWTH_COLUMNS}
            history = growth.setdefault(row["id"], {})  # deduplicated by measurement id
            if measurement["growth_id"] is not None:
                history[measurement["growth_id"]] = GrowthRecord(
                    measurement["growth_on"], measurement["growth_weight_kg"],
                    measurement["growth_clenhei"])
        persons.setdefault(row["id"], row)
    ordered = sorted(persons.values(), key=lambda row: (row["created_at"], row["id"]))
    return Candidates(ordered, {pid: list(h.values()) for pid, h in growth.items()}
                      if with_growth else None)
