"""Versioned apply: the one way a person or household is created or changed.

`apply(session, entity, entity_id, base_version, changes, provenance)` answers
- `applied`: the changes are the next version (also when `base_version` is stale but
  no field it changes was changed on the server since: `merged` says so);
- `unchanged`: nothing differs from the current record; no version is written;
- `conflict`: some changed fields were also changed on the server since
  `base_version`; those are left as they are (`conflicts` holds base, current and
  incoming value of each), the others are applied;
- `rejected`: no such record, a merged-away record, an unknown field, a bad value,
  or a base version the record never had (`reason` says which).

Every applied change writes the row, a version snapshot (who, when, why, from which
submission) and a change-log row. Safe with concurrent writers (PostgreSQL): the row
update is a compare-and-set on the version the writer read, and a writer that lost the
race fails on the snapshot's primary key (`is_version_race`); the unit of work then
redoes its whole unit from a fresh read (sync.unit_of_work), so a race never ends as a
failed submission. OpenRosa, Kobo and, with the sync API, pushes and merges all write
through here.

This is the hot path of every submission: rows are dicts of their columns and the
writes are queued (core.statements deferred writes), costing no round trip of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from sqlmodel import Session

from matching.names import phonetic_key
from models.base import new_uuid, utcnow
from sync import touched
from sync.names import name_key
from sync.queries.changes import add_change
from sync.queries.households import HOUSEHOLDS
from sync.queries.persons import PERSONS
from sync.queries.versioned import VersionedTable
from sync.scope import Scope

PERSON_FIELDS = ("nik", "name", "sex", "birth_date", "birth_date_estimated", "mother_id",
                 "household_id", "kelurahan_code", "posyandu_id")
HOUSEHOLD_FIELDS = ("kk", "head_name", "address", "rt", "rw", "kelurahan_code")
_NIK = re.compile(r"\d{16}")


@dataclass(frozen=True)
class Provenance:
    """Who made a change (and what they may touch), from which submission, and why."""

    actor_id: int | None
    submission_id: int | None
    reason: str
    scope: Scope = Scope(everything=True)


class Status(StrEnum):
    APPLIED = "applied"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"
    REJECTED = "rejected"


@dataclass(frozen=True)
class FieldConflict:
    """One field changed both on the server (base -> current) and by the incoming edit."""

    base: object
    current: object
    incoming: object


@dataclass(frozen=True)
class ApplyResult:
    status: Status
    entity: str
    id: str | None
    version: int | None  # the record's version after apply (None: rejected, not found)
    applied: tuple[str, ...] = ()  # the fields written
    conflicts: dict[str, FieldConflict] = field(default_factory=dict)
    merged: bool = False  # a stale base whose changes did not overlap, applied on top
    reason: str | None = None
    row: dict | None = None  # the current row after apply


def _jsonable(value):
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def snapshot(row: dict, names: tuple[str, ...]) -> dict:
    return {name: _jsonable(row.get(name)) for name in names}


@dataclass(frozen=True)
class Entity:
    """What differs between versioned registry entities."""

    kind: str  # the change log's entity_type
    rows: VersionedTable
    fields: tuple[str, ...]
    has_posyandu: bool

    def derived(self, row: dict) -> dict:
        """Columns computed from the fields (not given by writers)."""
        if self.kind != "person":
            return {}
        return {"name_key": name_key(row["name"]), "name_block": phonetic_key(row["name"])[:8]}


ENTITIES = {
    "person": Entity("person", PERSONS, PERSON_FIELDS, True),
    "household": Entity("household", HOUSEHOLDS, HOUSEHOLD_FIELDS, False),
}


def _bad_value(entity: Entity, name: str, value) -> str | None:
    """Why `value` cannot be stored in `name`, or None."""
    if value is None:
        return "a person needs a name" if name == "name" else None
    if name in ("birth_date",) and not isinstance(value, date):
        return "birth_date must be a date"
    if name in ("birth_date_estimated",) and not isinstance(value, bool):
        return "birth_date_estimated must be true or false"
    if name == "posyandu_id" and not isinstance(value, int):
        return "posyandu_id must be a posyandu's id"
    if name in ("birth_date", "birth_date_estimated", "posyandu_id"):
        return None
    if not isinstance(value, str):
        return f"{name} must be text"
    if name in ("nik", "kk") and not _NIK.fullmatch(value):
        return f"{name} must be 16 digits"
    if name == "sex" and value not in ("male", "female"):
        return "sex must be male or female"
    if name == "name" and not value.strip():
        return "a person needs a name"
    limit = {"rt": 8, "rw": 8, "kelurahan_code": 13, "address": 255, "mother_id": 36,
             "household_id": 36}.get(name, 120)
    if len(value) > limit:
        return f"{name} is at most {limit} characters"
    return None


def _rejected(entity: Entity, entity_id: str | None, reason: str, row: dict | None = None,
              version: int | None = None) -> ApplyResult:
    return ApplyResult(Status.REJECTED, entity.kind, entity_id, version, reason=reason, row=row)


def _write_version(session: Session, entity: Entity, row: dict, provenance: Provenance) -> None:
    """The version snapshot (who/when/why) and the change-log row (queued); the caseloads
    follow the changed record (sync.touched)."""
    if entity.kind == "person":
        touched.mark(session, persons=[row["id"]])
    else:
        touched.mark(session, households=[row["id"]])
    entity.rows.add_version(session, {
        entity.rows.version_key: row["id"], "version": row["version"],
        "data": snapshot(row, entity.fields), "changed_at": row["updated_at"],
        "changed_by": provenance.actor_id, "submission_id": provenance.submission_id,
        "reason": provenance.reason})
    add_change(session, dict(
        entity_type=entity.kind, entity_id=row["id"], version=row["version"], op="upsert",
        kelurahan_code=row["kelurahan_code"],
        posyandu_id=row.get("posyandu_id") if entity.has_posyandu else None,
        changed_at=row["updated_at"]))


def _left_place(session: Session, entity: Entity, row: dict, diffs: dict) -> None:
    """A record that moves to another kelurahan or posyandu leaves the scope of those who
    saw it there: a tombstone in the change log at its old place (sync.offline's feed)."""
    moved = [name for name in ("kelurahan_code", "posyandu_id") if name in diffs
             and (name != "posyandu_id" or entity.has_posyandu)]
    if moved:
        add_change(session, dict(
            entity_type=entity.kind, entity_id=row["id"], version=row["version"], op="delete",
            kelurahan_code=row["kelurahan_code"],
            posyandu_id=row.get("posyandu_id") if entity.has_posyandu else None,
            changed_at=utcnow()))


def _create(session: Session, entity: Entity, entity_id: str | None, data: dict,
            provenance: Provenance) -> ApplyResult:
    now = utcnow()
    row = {name: data.get(name) for name in entity.fields}
    if entity.kind == "person":
        row["birth_date_estimated"] = bool(data.get("birth_date_estimated"))
    row.update(id=entity_id or new_uuid(), version=1, created_at=now, updated_at=now,
               merged_into_id=None)
    row.update(entity.derived(row))
    entity.rows.insert(session, row)
    _write_version(session, entity, row, provenance)
    return ApplyResult(Status.APPLIED, entity.kind, row["id"], 1,
                       applied=tuple(k for k in entity.fields if row.get(k) is not None), row=row)


def apply(session: Session, entity: str, entity_id: str | None, base_version: int | None,
          changes: dict, provenance: Provenance, *, current: dict | None = None,
          known_absent: bool = False) -> ApplyResult:
    """Create (`base_version` 0: `entity_id` may be a client's id, or None for a new
    one) or change a person or household; see the module docstring.

    `base_version` None: the caller's edit is based on the current version whatever it
    is. `current`: the row as the caller read it in this transaction (it is updated in
    place); else it is read here, locked against concurrent writers. `known_absent`: a
    create whose id the caller found absent already (if it appeared meanwhile, the
    insert fails on the primary key and the caller's unit is redone).
    """
    kind = ENTITIES.get(entity)
    if kind is None:
        raise ValueError(f"no versioned entity {entity!r}")
    unknown = sorted(set(changes) - set(kind.fields))
    if unknown:
        return _rejected(kind, entity_id, f"unknown field(s): {', '.join(unknown)}")
    for name, value in changes.items():
        if (problem := _bad_value(kind, name, value)) is not None:
            return _rejected(kind, entity_id, problem)
    if base_version == 0:
        if entity_id is not None and not known_absent and kind.rows.get(session, entity_id) is not None:
            return _rejected(kind, entity_id, f"{entity} {entity_id} exists already")
        return _create(session, kind, entity_id, changes, provenance)
    row = current if current is not None else kind.rows.get_for_update(session, entity_id)
    if row is None:
        return _rejected(kind, entity_id, f"no {entity} {entity_id}")
    if row["merged_into_id"]:
        return _rejected(kind, entity_id, f"{entity} {entity_id} was merged into "
                         f"{row['merged_into_id']}", row, row["version"])
    if base_version is not None and not 1 <= base_version <= row["version"]:
        return _rejected(kind, entity_id, f"{entity} {entity_id} has no version {base_version} "
                         f"(it is at version {row['version']})", row, row["version"])
    diffs = {k: v for k, v in changes.items() if row.get(k) != v}
    conflicts: dict[str, FieldConflict] = {}
    stale = base_version is not None and base_version != row["version"]
    if stale and diffs:
        base = kind.rows.version_data(session, row["id"], base_version) or {}
        for name in list(diffs):
            if base.get(name) != _jsonable(row.get(name)):  # the server changed it too
                conflicts[name] = FieldConflict(base.get(name), _jsonable(row.get(name)),
                                                _jsonable(diffs.pop(name)))
    if diffs:
        read_version = row["version"]
        _left_place(session, kind, row, diffs)
        row.update(diffs)
        row.update(version=read_version + 1, updated_at=utcnow(), **kind.derived(row))
        kind.rows.update(session, row["id"], read_version, {
            **diffs, **kind.derived(row), "version": row["version"],
            "updated_at": row["updated_at"]}, row)
        _write_version(session, kind, row, provenance)
    status = (Status.CONFLICT if conflicts else Status.APPLIED if diffs else Status.UNCHANGED)
    return ApplyResult(status, kind.kind, row["id"], row["version"], applied=tuple(diffs),
                       conflicts=conflicts, merged=stale and bool(diffs) and not conflicts,
                       reason=None, row=row)


def is_version_race(error: BaseException) -> bool:
    """Whether a database error is a versioned write that lost a race with another
    transaction (redo the work from a fresh read)."""
    return any(kind.rows.is_race(error) for kind in ENTITIES.values())


def create_person(session: Session, *, data: dict, provenance: Provenance,
                  entity_id: str | None = None) -> dict:
    return _create(session, ENTITIES["person"], entity_id, data, provenance).row


def create_household(session: Session, *, data: dict, provenance: Provenance,
                     entity_id: str | None = None) -> dict:
    return _create(session, ENTITIES["household"], entity_id, data, provenance).row


def update_in_place(session: Session, entity: str, row: dict, *, changes: dict,
                    provenance: Provenance) -> bool:
    """Apply `changes` to a row as read in this transaction (updated in place); True if
    it changed. For writers whose changes come from what they read (intake fills the
    registry's gaps): a rejection is their bug, raised as ValueError."""
    result = apply(session, entity, row["id"], row["version"], changes, provenance, current=row)
    if result.status is Status.REJECTED:
        raise ValueError(f"{entity} {row['id']}: {result.reason}")
    return result.status is Status.APPLIED


def _new_version(session: Session, entity: Entity, row: dict, values: dict,
                 provenance: Provenance, *, op: str = "upsert") -> None:
    """Write `values` (which may be empty) as the row's next version, whatever they are:
    for merges, whose version must move even when no field of the survivor changes
    (its measurements did)."""
    read_version = row["version"]
    if "kelurahan_code" in values or "posyandu_id" in values:
        _left_place(session, entity, row, {k: v for k, v in values.items()
                                           if row.get(k) != v})
    row.update(values)
    row.update(version=read_version + 1, updated_at=utcnow(), **entity.derived(row))
    entity.rows.update(session, row["id"], read_version, {
        **values, **entity.derived(row), "version": row["version"],
        "updated_at": row["updated_at"]}, row)
    entity.rows.add_version(session, {
        entity.rows.version_key: row["id"], "version": row["version"],
        "data": {**snapshot(row, entity.fields), "merged_into_id": row.get("merged_into_id")},
        "changed_at": row["updated_at"], "changed_by": provenance.actor_id,
        "submission_id": provenance.submission_id, "reason": provenance.reason})
    add_change(session, dict(
        entity_type=entity.kind, entity_id=row["id"], version=row["version"], op=op,
        kelurahan_code=row["kelurahan_code"],
        posyandu_id=row.get("posyandu_id") if entity.has_posyandu else None,
        changed_at=row["updated_at"]))


def bump(session: Session, entity: str, row: dict, *, changes: dict,
         provenance: Provenance) -> None:
    """A live record's next version with `changes` (possibly none): a merge's survivor."""
    kind = ENTITIES[entity]
    for name, value in changes.items():
        if name not in kind.fields or (problem := _bad_value(kind, name, value)) is not None:
            raise ValueError(f"{entity} {row['id']}: {name}: {problem or 'unknown field'}")
    _new_version(session, kind, row, dict(changes), provenance)


def tombstone(session: Session, entity: str, row: dict, *, survivor_id: str,
              provenance: Provenance) -> None:
    """Make a record a tombstone pointing at its survivor (a merge): its next version,
    and a change-log `merge` entry, so phones holding its id learn where it went."""
    _new_version(session, ENTITIES[entity], row, {"merged_into_id": survivor_id}, provenance,
                 op="merge")


def revive(session: Session, entity: str, row: dict, *, data: dict,
           provenance: Provenance) -> None:
    """Undo a tombstone (an unmerge): the record lives again with `data` as its fields."""
    kind = ENTITIES[entity]
    values = {name: data.get(name) for name in kind.fields if name in data}
    if entity == "person":
        values["birth_date"] = _as_date(values.get("birth_date"))
    values["merged_into_id"] = None
    _new_version(session, kind, row, values, provenance)


def _as_date(value):
    return date.fromisoformat(value) if isinstance(value, str) else value
