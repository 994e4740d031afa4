"""Which person or household is this? Deterministic rules for now: the registry id the
phone picked, then the NIK / No. KK, then an exact normalised name with birth date in the
same kelurahan. (Probabilistic matching and the review band come with identity
resolution; it plugs in here.)

Persons and households are dicts of their columns (see sync.apply).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from sync.apply import Provenance, create_household, create_person, update_in_place
from sync.names import is_placeholder_name, name_key
from sync.queries import households, persons
from sync.queries.persons import Candidates, Lookup
from sync.scope import Scope

# A NIK match is only trusted when birth dates agree this closely (kader sometimes type
# the mother's NIK into the child's field).
NIK_BIRTH_DATE_TOLERANCE_DAYS = 62
_MAX_MERGE_HOPS = 20
_TABLES = {"person": persons.PERSONS, "household": households.HOUSEHOLDS}


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
    # An ODK entity create: the phone's id for the person, used if none is found.
    new_id: str | None = None
    # The claim's own fields were written through sync.apply already (an ODK entity
    # update, which may have left some in conflict): settling only fills gaps.
    versioned: bool = False


@dataclass(frozen=True)
class HouseholdClaim:
    registry_id: str | None
    kk: str | None
    kelurahan_code: str
    head_name: str | None = None
    address: str | None = None
    rt: str | None = None
    rw: str | None = None
    new_id: str | None = None  # as PersonClaim's
    versioned: bool = False  # as PersonClaim's


def _by_id_following_merges(session: Session, kind: str, entity_id: str) -> dict | None:
    row = _TABLES[kind].get(session, entity_id)
    hops = 0
    while row is not None and row["merged_into_id"] and hops < _MAX_MERGE_HOPS:
        row = _TABLES[kind].get(session, row["merged_into_id"])
        hops += 1
    return row


def _birth_dates_agree(a: date | None, b: date | None) -> bool:
    return a is None or b is None or abs((a - b).days) <= NIK_BIRTH_DATE_TOLERANCE_DAYS


def _in_scope(scope: Scope, row: dict) -> bool:
    return scope.covers_kelurahan(row["kelurahan_code"], row.get("posyandu_id"))


def lookup_for(claim: PersonClaim) -> Lookup:
    """What find_person's rules search the registry by for this claim: the registry id,
    the NIK, and the name, with the birth date in the kelurahan when there is one, else
    within the household."""
    key = name_key(claim.name) or None
    born = claim.birth_date
    return Lookup(registry_id=claim.registry_id or None, nik=claim.nik or None, name_key=key,
                  kelurahan_code=claim.kelurahan_code if born is not None else None,
                  birth_date=born,
                  household_id=claim.household_id if born is None else None)


def person_candidates(session: Session, *claims: PersonClaim | None) -> Candidates:
    """The registry rows find_person may pick for these claims (at most two; None
    entries are skipped), in one query: a child and its mother together."""
    return persons.candidates(session, *(lookup_for(c) for c in claims if c is not None))


def find_person(session: Session, claim: PersonClaim, scope: Scope = Scope(everything=True),
                candidates: Candidates | None = None) -> dict | None:
    """The registry person this claim is: the registry id the phone picked, then the
    NIK (with agreeing birth dates), then the exact normalised name with the birth date
    in the same kelurahan (and no other mother), else the name in the same household.

    A registry id counts only for a person the submitter may see (an id typed for
    someone elsewhere is no evidence). `candidates`: person_candidates of this claim
    (and perhaps one other), when the caller fetched them already."""
    rows = (candidates or person_candidates(session, claim)).persons
    if claim.registry_id:
        person = next((row for row in rows if row["id"] == claim.registry_id), None)
        if person is not None and person["merged_into_id"]:
            person = _by_id_following_merges(session, "person", person["merged_into_id"])
        if person is not None and _in_scope(scope, person):
            return person
    live = [row for row in rows if row["merged_into_id"] is None]
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
        return create_person(session, data=data, provenance=provenance, entity_id=claim.new_id)
    changes = {k: v for k, v in data.items() if person.get(k) in (None, "")}
    if is_placeholder_name(person["name"]) and not is_placeholder_name(claim.name):
        changes["name"] = claim.name  # "By. Ny. Rina" gets her real name
    if (claim.kelurahan_code != person["kelurahan_code"] and claim.registry_id == person["id"]
            and not claim.versioned):
        changes["kelurahan_code"] = claim.kelurahan_code  # the family moved
        changes["posyandu_id"] = claim.posyandu_id
    # Intake fills gaps and corrects; it never blanks a field.
    changes = {k: v for k, v in changes.items() if v not in (None, "")}
    update_in_place(session, "person", person, changes=changes, provenance=provenance)
    return person


def find_household(session: Session, claim: HouseholdClaim,
                   scope: Scope = Scope(everything=True)) -> dict | None:
    if claim.registry_id:
        household = _by_id_following_merges(session, "household", claim.registry_id)
        if household is not None and _in_scope(scope, household):
            return household
    if claim.kk:
        return households.by_kk(session, claim.kk)
    key = name_key(claim.head_name)
    if key:
        for row in households.without_kk(session, claim.kelurahan_code):
            if name_key(row["head_name"]) == key:
                return row
    return None


def resolve_household(session: Session, claim: HouseholdClaim, provenance: Provenance) -> dict:
    household = find_household(session, claim, provenance.scope)
    data = {"kk": claim.kk, "head_name": claim.head_name, "address": claim.address,
            "rt": claim.rt, "rw": claim.rw, "kelurahan_code": claim.kelurahan_code}
    if household is None:
        return create_household(session, data=data, provenance=provenance,
                                entity_id=claim.new_id)
    changes = {k: v for k, v in data.items()
               if household.get(k) in (None, "") and v not in (None, "")}
    if (claim.kelurahan_code != household["kelurahan_code"] and claim.kk and not claim.versioned
            and claim.kk == household["kk"] and _in_scope(provenance.scope, household)):
        changes["kelurahan_code"] = claim.kelurahan_code  # moved to another kelurahan
    changes = {k: v for k, v in changes.items() if v not in (None, "")}
    update_in_place(session, "household", household, changes=changes, provenance=provenance)
    return household
