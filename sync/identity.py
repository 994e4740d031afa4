"""Which person or household is this? Deterministic rules for now: the registry id the
phone picked, then the NIK / No. KK, then an exact normalised name with birth date in the
same kelurahan. (Probabilistic matching and the review band come with identity
resolution; it plugs in here.)

Persons and households are dicts of their columns (see sync.registry).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, select
from sqlmodel import Session

from core.statements import Prepared
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
_LIVE_PERSON = PERSON.c.merged_into_id.is_(None)
_LIVE_HOUSEHOLD = HOUSEHOLD.c.merged_into_id.is_(None)
_BY_ID = {
    "person": Prepared(select(PERSON).where(PERSON.c.id == bindparam("id"))),
    "household": Prepared(select(HOUSEHOLD).where(HOUSEHOLD.c.id == bindparam("id"))),
}
_PERSONS_BY_NIK = Prepared(select(PERSON).where(PERSON.c.nik == bindparam("nik"), _LIVE_PERSON)
                   .order_by(PERSON.c.created_at))
_PERSON_BY_NAME_BIRTH = Prepared(select(PERSON).where(
    PERSON.c.kelurahan_code == bindparam("kelurahan_code"), PERSON.c.name_key == bindparam("key"),
    PERSON.c.birth_date == bindparam("birth_date"), _LIVE_PERSON)
    .order_by(PERSON.c.created_at).limit(1))
_PERSON_BY_NAME_BIRTH_MOTHER = Prepared(select(PERSON).where(
    PERSON.c.kelurahan_code == bindparam("kelurahan_code"), PERSON.c.name_key == bindparam("key"),
    PERSON.c.birth_date == bindparam("birth_date"), _LIVE_PERSON,
    (PERSON.c.mother_id == bindparam("mother_id")) | PERSON.c.mother_id.is_(None))
    .order_by(PERSON.c.created_at).limit(1))
_PERSON_BY_NAME_HOUSEHOLD = Prepared(select(PERSON).where(
    PERSON.c.household_id == bindparam("household_id"), PERSON.c.name_key == bindparam("key"),
    _LIVE_PERSON).order_by(PERSON.c.created_at).limit(1))
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


def find_person(session: Session, claim: PersonClaim,
                scope: Scope = Scope(everything=True)) -> dict | None:
    """The registry person this claim is. A registry id counts only for a person the
    submitter may see (an id typed for someone elsewhere is no evidence)."""
    if claim.registry_id:
        person = _by_id_following_merges(session, "person", claim.registry_id)
        if person is not None and _in_scope(scope, person):
            return person
    if claim.nik:
        for row in _PERSONS_BY_NIK.mappings(session, {"nik": claim.nik}):
            if _birth_dates_agree(row["birth_date"], claim.birth_date):
                return row
    key = name_key(claim.name)
    if key and claim.birth_date is not None:
        if claim.mother_id:
            return _PERSON_BY_NAME_BIRTH_MOTHER.mapping(session, {
                "kelurahan_code": claim.kelurahan_code, "key": key,
                "birth_date": claim.birth_date, "mother_id": claim.mother_id})
        return _PERSON_BY_NAME_BIRTH.mapping(session, {
            "kelurahan_code": claim.kelurahan_code, "key": key, "birth_date": claim.birth_date})
    if key and claim.household_id:
        return _PERSON_BY_NAME_HOUSEHOLD.mapping(session, {"household_id": claim.household_id,
                                                           "key": key})
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
