"""Versioned writes to the registry: every change is a new version with who/when/why,
and a change-log row that sync and caseloads read from.

This is the hot path of every submission, so it speaks SQLAlchemy Core (plain dicts,
no ORM unit of work): a person or household is a dict of its columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import insert, update
from sqlmodel import Session

from models import ChangeLog, Household, HouseholdVersion, Person, PersonVersion
from models.base import new_uuid, utcnow
from sync.names import name_key

PERSON_FIELDS = ("nik", "name", "sex", "birth_date", "birth_date_estimated", "mother_id",
                 "household_id", "kelurahan_code", "posyandu_id")
HOUSEHOLD_FIELDS = ("kk", "head_name", "address", "rt", "rw", "kelurahan_code")

PERSON = Person.__table__
HOUSEHOLD = Household.__table__
_PERSON_VERSION = PersonVersion.__table__
_HOUSEHOLD_VERSION = HouseholdVersion.__table__
_CHANGE_LOG = ChangeLog.__table__

# Statements built once; values are passed as parameters (building a statement with
# literal values per call costs more than running it).
_INSERT_PERSON = insert(PERSON)
_INSERT_PERSON_VERSION = insert(_PERSON_VERSION)
_INSERT_HOUSEHOLD = insert(HOUSEHOLD)
_INSERT_HOUSEHOLD_VERSION = insert(_HOUSEHOLD_VERSION)
_INSERT_CHANGE = insert(_CHANGE_LOG)


@dataclass(frozen=True)
class Provenance:
    """Who made a change, from which submission, and why."""

    actor_id: int | None
    submission_id: int | None
    reason: str


def _jsonable(value):
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def snapshot(row: dict, names: tuple[str, ...]) -> dict:
    return {name: _jsonable(row.get(name)) for name in names}


def _log_change(session: Session, *, entity_type: str, row: dict, posyandu_id: int | None) -> None:
    session.execute(_INSERT_CHANGE, dict(
        entity_type=entity_type, entity_id=row["id"], version=row["version"], op="upsert",
        kelurahan_code=row["kelurahan_code"], posyandu_id=posyandu_id, changed_at=utcnow()))


def _changed(row: dict, changes: dict, fields: tuple[str, ...]) -> dict:
    return {k: v for k, v in changes.items()
            if k in fields and v not in (None, "") and row.get(k) != v}


def create_person(session: Session, *, data: dict, provenance: Provenance) -> dict:
    now = utcnow()
    row = {k: data.get(k) for k in PERSON_FIELDS}
    row.update(id=new_uuid(), name_key=name_key(data["name"]), version=1, created_at=now,
               updated_at=now, merged_into_id=None,
               birth_date_estimated=bool(data.get("birth_date_estimated")))
    session.execute(_INSERT_PERSON, row)
    _record_person(session, row, provenance)
    return row


def update_person(session: Session, person: dict, *, changes: dict,
                  provenance: Provenance) -> bool:
    """Apply non-empty changes; a new version only when something actually changed."""
    diffs = _changed(person, changes, PERSON_FIELDS)
    if not diffs:
        return False
    person.update(diffs)
    person.update(name_key=name_key(person["name"]), version=person["version"] + 1,
                  updated_at=utcnow())
    session.execute(update(PERSON).where(PERSON.c.id == person["id"]).values(
        **diffs, name_key=person["name_key"], version=person["version"],
        updated_at=person["updated_at"]))
    _record_person(session, person, provenance)
    return True


def _record_person(session: Session, row: dict, provenance: Provenance) -> None:
    session.execute(_INSERT_PERSON_VERSION, dict(
        person_id=row["id"], version=row["version"], data=snapshot(row, PERSON_FIELDS),
        changed_at=row["updated_at"], changed_by=provenance.actor_id,
        submission_id=provenance.submission_id, reason=provenance.reason))
    _log_change(session, entity_type="person", row=row, posyandu_id=row.get("posyandu_id"))


def create_household(session: Session, *, data: dict, provenance: Provenance) -> dict:
    now = utcnow()
    row = {k: data.get(k) for k in HOUSEHOLD_FIELDS}
    row.update(id=new_uuid(), version=1, created_at=now, updated_at=now, merged_into_id=None)
    session.execute(_INSERT_HOUSEHOLD, row)
    _record_household(session, row, provenance)
    return row


def update_household(session: Session, household: dict, *, changes: dict,
                     provenance: Provenance) -> bool:
    diffs = _changed(household, changes, HOUSEHOLD_FIELDS)
    if not diffs:
        return False
    household.update(diffs)
    household.update(version=household["version"] + 1, updated_at=utcnow())
    session.execute(update(HOUSEHOLD).where(HOUSEHOLD.c.id == household["id"]).values(
        **diffs, version=household["version"], updated_at=household["updated_at"]))
    _record_household(session, household, provenance)
    return True


def _record_household(session: Session, row: dict, provenance: Provenance) -> None:
    session.execute(_INSERT_HOUSEHOLD_VERSION, dict(
        household_id=row["id"], version=row["version"], data=snapshot(row, HOUSEHOLD_FIELDS),
        changed_at=row["updated_at"], changed_by=provenance.actor_id,
        submission_id=provenance.submission_id, reason=provenance.reason))
    _log_change(session, entity_type="household", row=row, posyandu_id=None)
