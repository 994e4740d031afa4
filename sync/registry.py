"""Versioned writes to the registry: every change is a new version with who/when/why,
and a change-log row that sync and caseloads read from.

This is the hot path of every submission, so it speaks SQLAlchemy Core (plain dicts,
no ORM unit of work): a person or household is a dict of its columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, insert, update
from sqlmodel import Session

from core.statements import Prepared
from models import ChangeLog, Household, HouseholdVersion, Person, PersonVersion
from models.base import new_uuid, utcnow
from sync.names import name_key
from sync.scope import Scope

PERSON_FIELDS = ("nik", "name", "sex", "birth_date", "birth_date_estimated", "mother_id",
                 "household_id", "kelurahan_code", "posyandu_id")
HOUSEHOLD_FIELDS = ("kk", "head_name", "address", "rt", "rw", "kelurahan_code")

PERSON = Person.__table__
HOUSEHOLD = Household.__table__
_PERSON_VERSION = PersonVersion.__table__
_HOUSEHOLD_VERSION = HouseholdVersion.__table__
_CHANGE_LOG = ChangeLog.__table__

# Values are passed as parameters to statements built once (building a statement with
# literal values per call costs more than running it).
# .inline(): no RETURNING of the new row's key (PostgreSQL would send it back unread).
_INSERT_CHANGE = Prepared(insert(_CHANGE_LOG).inline())
_INSERTS = {t.name: Prepared(insert(t).inline())
            for t in (PERSON, HOUSEHOLD, _PERSON_VERSION, _HOUSEHOLD_VERSION)}
_UPDATES = {t.name: Prepared(update(t).where(t.c.id == bindparam("_id"))) for t in (PERSON, HOUSEHOLD)}


@dataclass(frozen=True)
class Provenance:
    """Who made a change (and what they may touch), from which submission, and why."""

    actor_id: int | None
    submission_id: int | None
    reason: str
    scope: Scope = Scope(everything=True)


def _jsonable(value):
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def snapshot(row: dict, names: tuple[str, ...]) -> dict:
    return {name: _jsonable(row.get(name)) for name in names}


@dataclass(frozen=True)
class _Entity:
    """What differs between versioned registry entities."""

    kind: str  # change-log entity_type
    table: object
    fields: tuple[str, ...]
    version_table: object
    version_key: str  # the version table's foreign key column
    has_posyandu: bool

    @property
    def insert_row(self):
        return _INSERTS[self.table.name]

    @property
    def insert_version(self):
        return _INSERTS[self.version_table.name]

    @property
    def update_row(self):
        return _UPDATES[self.table.name]


_PERSON = _Entity("person", PERSON, PERSON_FIELDS, _PERSON_VERSION, "person_id", True)
_HOUSEHOLD = _Entity("household", HOUSEHOLD, HOUSEHOLD_FIELDS, _HOUSEHOLD_VERSION,
                     "household_id", False)


def _derived(entity: _Entity, row: dict) -> dict:
    return {"name_key": name_key(row["name"])} if entity is _PERSON else {}


def _create(session: Session, entity: _Entity, data: dict, provenance: Provenance) -> dict:
    now = utcnow()
    row = {k: data.get(k) for k in entity.fields}
    row.update(id=new_uuid(), version=1, created_at=now, updated_at=now, merged_into_id=None)
    if entity is _PERSON:
        row["birth_date_estimated"] = bool(data.get("birth_date_estimated"))
    row.update(_derived(entity, row))
    entity.insert_row.defer(session, row)
    _record(session, entity, row, provenance)
    return row


def _update(session: Session, entity: _Entity, row: dict, changes: dict,
            provenance: Provenance) -> bool:
    """Apply non-empty changes; a new version only when something actually changed."""
    diffs = {k: v for k, v in changes.items()
             if k in entity.fields and v not in (None, "") and row.get(k) != v}
    if not diffs:
        return False
    row.update(diffs)
    row.update(version=row["version"] + 1, updated_at=utcnow(), **_derived(entity, row))
    entity.update_row.defer(session, {**diffs, **_derived(entity, row), "version": row["version"],
                                    "updated_at": row["updated_at"], "_id": row["id"]})
    _record(session, entity, row, provenance)
    return True


def _record(session: Session, entity: _Entity, row: dict, provenance: Provenance) -> None:
    """The version snapshot (who/when/why) and the change-log row.

    Like the row itself, they are deferred (core.statements.deferred_inserts): in the
    submission writer, they are sent with the next statement that reads the registry,
    so a new child costs no round trip of its own."""
    entity.insert_version.defer(session, {
        entity.version_key: row["id"], "version": row["version"],
        "data": snapshot(row, entity.fields), "changed_at": row["updated_at"],
        "changed_by": provenance.actor_id, "submission_id": provenance.submission_id,
        "reason": provenance.reason})
    _INSERT_CHANGE.defer(session, dict(
        entity_type=entity.kind, entity_id=row["id"], version=row["version"], op="upsert",
        kelurahan_code=row["kelurahan_code"],
        posyandu_id=row.get("posyandu_id") if entity.has_posyandu else None,
        changed_at=row["updated_at"]))


def create_person(session: Session, *, data: dict, provenance: Provenance) -> dict:
    return _create(session, _PERSON, data, provenance)


def update_person(session: Session, person: dict, *, changes: dict,
                  provenance: Provenance) -> bool:
    return _update(session, _PERSON, person, changes, provenance)


def create_household(session: Session, *, data: dict, provenance: Provenance) -> dict:
    return _create(session, _HOUSEHOLD, data, provenance)


def update_household(session: Session, household: dict, *, changes: dict,
                     provenance: Provenance) -> bool:
    return _update(session, _HOUSEHOLD, household, changes, provenance)
