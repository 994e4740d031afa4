"""Which person or household is this? Deterministic rules for now: the registry id the
phone picked, then the NIK / No. KK, then an exact normalised name with birth date in the
same kelurahan. (Probabilistic matching and the review band come with identity
resolution; it plugs in here.)

Persons and households are dicts of their columns (see sync.registry).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from sqlalchemy import bindparam, select, union_all
from sqlmodel import Session

from core.statements import Prepared
from models import Measurement
from sync.names import is_placeholder_name, name_key
from sync.registry import (
    HOUSEHOLD,
    PERSON,
    Provenance,
    create_household,
    create_person,
    update_household,
    update_person,
)
from sync.scope import Scope

# A NIK match is only trusted when birth dates agree this closely (kader sometimes type
# the mother's NIK into the child's field).
NIK_BIRTH_DATE_TOLERANCE_DAYS = 62
_MAX_MERGE_HOPS = 20


@dataclass(frozen=True)
class PersonClaim:
    """The identity a submission claims for one person."""

    registry_id: str | None
    nik: str | None
    name: str
    kelurahan_code: str
    sex: str | None = None
    birth_date: date | None = None
    posyandu_id: int | None = None
    household_id: str | None = None
    mother_id: str | None = None


@dataclass(frozen=True)
class HouseholdClaim:
    registry_id: str | None
    kk: str | None
    kelurahan_code: str
    head_name: str | None = None
    address: str | None = None
    rt: str | None = None
    rw: str | None = None


# Statements built once, run with parameters (see sync.registry).
_LIVE_HOUSEHOLD = HOUSEHOLD.c.merged_into_id.is_(None)
_BY_ID = {
    "person": Prepared(select(PERSON).where(PERSON.c.id == bindparam("id"))),
    "household": Prepared(select(HOUSEHOLD).where(HOUSEHOLD.c.id == bindparam("id"))),
}
# Every person any rule of find_person could pick for up to two claims (a and b: the
# child and mother of one measurement), in one query, with each one's current
# measurements (a row per measurement: the growth history plausibility checks need);
# the rules then run in Python over these rows. Each branch is one indexed equality
# lookup (id, nik, (kelurahan_code, name_key) with the birth date, household_id); a
# parameter left None matches nothing. UNION ALL rather than OR: PostgreSQL keeps a
# prepared statement's generic plan, and for an OR of such conditions on a table that
# was small when the plan was made, that is a sequential scan.
_MEASUREMENT = Measurement.__table__
_GROWTH_COLUMNS = {"growth_id": _MEASUREMENT.c.id, "growth_on": _MEASUREMENT.c.measured_on,
                   "growth_weight_kg": _MEASUREMENT.c.weight_kg,
                   "growth_clenhei": _MEASUREMENT.c.clenhei}
_WITH_GROWTH = PERSON.outerjoin(_MEASUREMENT, (_MEASUREMENT.c.person_id == PERSON.c.id)
                                & _MEASUREMENT.c.is_current)
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
_PERSON_CANDIDATES = Prepared(union_all(*(
    select(PERSON, *(column.label(name) for name, column in _GROWTH_COLUMNS.items()))
    .select_from(_WITH_GROWTH).where(*condition) for condition in _CANDIDATE_CONDITIONS)))
# SQLite: without the measurements. A query there is a function call, not a round
# trip, and a row per measurement (each converting the person's dates again in Python)
# cost more than reading the history separately (process.py does, when GROWTH is absent).
_PERSON_CANDIDATES_ONLY = Prepared(union_all(*(
    select(PERSON).where(*condition) for condition in _CANDIDATE_CONDITIONS)))
_HOUSEHOLD_BY_KK = Prepared(select(HOUSEHOLD).where(HOUSEHOLD.c.kk == bindparam("kk"), _LIVE_HOUSEHOLD)
                    .order_by(HOUSEHOLD.c.created_at).limit(1))
_HOUSEHOLDS_WITHOUT_KK = Prepared(select(HOUSEHOLD).where(
    HOUSEHOLD.c.kelurahan_code == bindparam("kelurahan_code"), HOUSEHOLD.c.kk.is_(None),
    _LIVE_HOUSEHOLD))


def _by_id_following_merges(session: Session, kind: str, entity_id: str) -> dict | None:
    row = _BY_ID[kind].mapping(session, {"id": entity_id})
    hops = 0
    while row is not None and row["merged_into_id"] and hops < _MAX_MERGE_HOPS:
        row = _BY_ID[kind].mapping(session, {"id": row["merged_into_id"]})
        hops += 1
    return row


def _birth_dates_agree(a: date | None, b: date | None) -> bool:
    return a is None or b is None or abs((a - b).days) <= NIK_BIRTH_DATE_TOLERANCE_DAYS


def _in_scope(scope: Scope, row: dict) -> bool:
    return scope.covers_kelurahan(row["kelurahan_code"], row.get("posyandu_id"))


class GrowthRecord(NamedTuple):
    """One current measurement of a person, as plausibility checks read it."""

    measured_on: date
    weight_kg: float | None
    clenhei: float | None


# The key of a candidate's current measurements in the person dicts person_candidates
# returns (not a column: registry writes ignore it).
GROWTH = "growth"


def person_candidates(session: Session, *claims: PersonClaim | None) -> list[dict]:
    """The registry rows find_person may pick for these claims (at most two; None
    entries are skipped), oldest first, each with its current measurements under
    GROWTH (on PostgreSQL; see _PERSON_CANDIDATES_ONLY): one query for a child, its
    mother and the child's growth history."""
    claims = [c for c in claims if c is not None]
    if len(claims) > 2:
        raise ValueError("person_candidates takes at most two claims")
    params = {}
    for slot, claim in zip("ab", claims + [None] * (2 - len(claims))):
        key = name_key(claim.name) if claim else ""
        born = claim.birth_date if claim else None
        params.update({
            f"id_{slot}": claim and claim.registry_id or None,
            f"nik_{slot}": claim and claim.nik or None,
            # The name rules as find_person applies them: with the birth date in the
            # kelurahan when there is one, else within the household.
            f"kelurahan_{slot}": claim.kelurahan_code if born is not None else None,
            f"birth_{slot}": born,
            f"household_{slot}": claim.household_id if claim and born is None else None,
            f"key_{slot}": key or None,
        })
    with_growth = session.connection().dialect.name != "sqlite"
    statement = _PERSON_CANDIDATES if with_growth else _PERSON_CANDIDATES_ONLY
    persons: dict[str, dict] = {}
    for row in statement.mappings(session, params):
        person = persons.setdefault(row["id"], row)
        if with_growth:
            measurement = {name: row.pop(name) for name in _GROWTH_COLUMNS}
            history = person.setdefault(GROWTH, {})  # measurement id -> GrowthRecord
            if measurement["growth_id"] is not None:
                history[measurement["growth_id"]] = GrowthRecord(
                    measurement["growth_on"], measurement["growth_weight_kg"],
                    measurement["growth_clenhei"])
    for person in persons.values():
        if with_growth:
            person[GROWTH] = list(person[GROWTH].values())
    return sorted(persons.values(), key=lambda row: (row["created_at"], row["id"]))


def find_person(session: Session, claim: PersonClaim, scope: Scope = Scope(everything=True),
                candidates: list[dict] | None = None) -> dict | None:
    """The registry person this claim is: the registry id the phone picked, then the
    NIK (with agreeing birth dates), then the exact normalised name with the birth date
    in the same kelurahan (and no other mother), else the name in the same household.

    A registry id counts only for a person the submitter may see (an id typed for
    someone elsewhere is no evidence). `candidates`: person_candidates of this claim
    (and perhaps one other), when the caller fetched them already."""
    if candidates is None:
        candidates = person_candidates(session, claim)
    if claim.registry_id:
        person = next((row for row in candidates if row["id"] == claim.registry_id), None)
        if person is not None and person["merged_into_id"]:
            person = _by_id_following_merges(session, "person", person["merged_into_id"])
        if person is not None and _in_scope(scope, person):
            return person
    live = [row for row in candidates if row["merged_into_id"] is None]
    if claim.nik:
        for row in live:
            if row["nik"] == claim.nik and _birth_dates_agree(row["birth_date"], claim.birth_date):
                return row
    key = name_key(claim.name)
    if key and claim.birth_date is not None:
        return next((row for row in live if row["kelurahan_code"] == claim.kelurahan_code
                     and row["name_key"] == key and row["birth_date"] == claim.birth_date
                     and (not claim.mother_id or row["mother_id"] in (claim.mother_id, None))),
                    None)
    if key and claim.household_id:
        return next((row for row in live if row["household_id"] == claim.household_id
                     and row["name_key"] == key), None)
    return None


def resolve_person(session: Session, claim: PersonClaim, provenance: Provenance) -> dict:
    """The matching person, filled in where the registry had gaps; or a new person."""
    return settle_person(session, find_person(session, claim, provenance.scope), claim,
                         provenance)


def settle_person(session: Session, person: dict | None, claim: PersonClaim,
                  provenance: Provenance) -> dict:
    """Write what a claim adds to the person it was matched to (None: a new person)."""
    data = {
        "nik": claim.nik, "name": claim.name, "sex": claim.sex, "birth_date": claim.birth_date,
        "kelurahan_code": claim.kelurahan_code, "posyandu_id": claim.posyandu_id,
        "household_id": claim.household_id, "mother_id": claim.mother_id,
    }
    if person is None:
        return create_person(session, data=data, provenance=provenance)
    changes = {k: v for k, v in data.items() if person.get(k) in (None, "")}
    if is_placeholder_name(person["name"]) and not is_placeholder_name(claim.name):
        changes["name"] = claim.name  # "By. Ny. Rina" gets her real name
    if claim.kelurahan_code != person["kelurahan_code"] and claim.registry_id == person["id"]:
        changes["kelurahan_code"] = claim.kelurahan_code  # the family moved
        changes["posyandu_id"] = claim.posyandu_id
    update_person(session, person, changes=changes, provenance=provenance)
    return person


def find_household(session: Session, claim: HouseholdClaim,
                   scope: Scope = Scope(everything=True)) -> dict | None:
    if claim.registry_id:
        household = _by_id_following_merges(session, "household", claim.registry_id)
        if household is not None and _in_scope(scope, household):
            return household
    if claim.kk:
        return _HOUSEHOLD_BY_KK.mapping(session, {"kk": claim.kk})
    key = name_key(claim.head_name)
    if key:
        for row in _HOUSEHOLDS_WITHOUT_KK.mappings(session, {"kelurahan_code": claim.kelurahan_code}):
            if name_key(row["head_name"]) == key:
                return row
    return None


def resolve_household(session: Session, claim: HouseholdClaim, provenance: Provenance) -> dict:
    household = find_household(session, claim, provenance.scope)
    data = {"kk": claim.kk, "head_name": claim.head_name, "address": claim.address,
            "rt": claim.rt, "rw": claim.rw, "kelurahan_code": claim.kelurahan_code}
    if household is None:
        return create_household(session, data=data, provenance=provenance)
    changes = {k: v for k, v in data.items() if household.get(k) in (None, "")}
    if (claim.kelurahan_code != household["kelurahan_code"] and claim.kk
            and claim.kk == household["kk"] and _in_scope(provenance.scope, household)):
        changes["kelurahan_code"] = claim.kelurahan_code  # moved to another kelurahan
    update_household(session, household, changes=changes, provenance=provenance)
    return household
