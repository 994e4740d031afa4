"""Merges and unmerges of persons and households, through versioned apply.

A merge keeps the survivor and makes the absorbed record a tombstone pointing at it
(phones holding the old id still resolve to the survivor: sync.identity follows
`merged_into_id`). Every measurement, screening and pregnancy of the absorbed person
(sanitation check of a household), and every registry row linking to it (children
through `mother_id`, members through `household_id`), moves to the survivor. The
survivor keeps its fields, takes the absorbed record's where it has none (and a real
name over a newborn placeholder), and `values` override both. Both records get a new
version and change-log rows; the merge row keeps everything needed to undo it exactly.

An unmerge moves back exactly the records the merge moved (records that arrived for the
survivor after the merge stay), restores the survivor's fields the merge wrote (those
nobody changed since) and revives the absorbed record as it was. Auto-links
(sync.identity) are merges of kind `auto_link` and are undone the same way.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from core.errors import Conflict, InvalidInput, NotFound
from models.base import utcnow
from sync import touched
from sync.accounts import record_audit
from sync.apply import (
    ENTITIES,
    Provenance,
    _jsonable,
    bump,
    revive,
    snapshot,
    tombstone,
    update_in_place,
)
from sync.names import is_placeholder_name
from sync.queries import identity as queries
from sync.queries import merges


def _live_pair_rows(session: Session, entity: str, survivor_id: str, absorbed_id: str):
    rows = ENTITIES[entity].rows
    if survivor_id == absorbed_id:
        raise InvalidInput("A record cannot be merged into itself.", code="merge.same_record")
    survivor = rows.get_for_update(session, survivor_id)
    absorbed = rows.get_for_update(session, absorbed_id)
    if survivor is None or absorbed is None:
        raise NotFound(f"No {entity} {survivor_id if survivor is None else absorbed_id}.",
                       code="merge.not_found")
    for row in (survivor, absorbed):
        if row["merged_into_id"]:
            raise Conflict(f"{entity} {row['id']} was already merged into "
                           f"{row['merged_into_id']}.", code="merge.already_merged")
    return survivor, absorbed


def _coerce_values(entity: str, values: dict) -> dict:
    fields = ENTITIES[entity].fields
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise InvalidInput(f"Unknown field(s): {', '.join(unknown)}.", code="merge.bad_values")
    out = dict(values)
    if isinstance(out.get("birth_date"), str):
        try:
            out["birth_date"] = date.fromisoformat(out["birth_date"])
        except ValueError as error:
            raise InvalidInput("birth_date must be YYYY-MM-DD.", code="merge.bad_values") from error
    return out


def merge(session: Session, *, entity: str, survivor_id: str, absorbed_id: str,
          provenance: Provenance, values: dict | None = None, kind: str = "merge",
          pair_id: int | None = None, submission_ids: tuple[int, ...] = ()) -> dict:
    """Merge `absorbed_id` into `survivor_id` (see the module docstring); returns the
    survivor's row as it is now, with `merge_id`. `submission_ids`: submissions whose
    records, still to be written, belong to the absorbed record (an auto-link at intake)."""
    survivor, absorbed = _live_pair_rows(session, entity, survivor_id, absorbed_id)
    fields = ENTITIES[entity].fields
    survivor_before, absorbed_before = snapshot(survivor, fields), snapshot(absorbed, fields)
    written = {name: absorbed[name] for name in fields
               if survivor.get(name) in (None, "") and absorbed.get(name) not in (None, "")}
    if entity == "person":
        written.pop("birth_date_estimated", None)
        if is_placeholder_name(survivor["name"]) and not is_placeholder_name(absorbed["name"]):
            written["name"] = absorbed["name"]
        if written.get("mother_id") in (survivor_id, absorbed_id):
            written.pop("mother_id")
    written.update(_coerce_values(entity, values or {}))
    written = {k: v for k, v in written.items() if survivor.get(k) != v}
    target = {**survivor, **written}
    if not provenance.scope.covers_kelurahan(
            target["kelurahan_code"], target.get("posyandu_id") if entity == "person" else None):
        raise InvalidInput("The merged record would be outside your scope.", code="merge.scope")
    moved = merges.move(session, entity, merges.owned_ids(session, entity, absorbed_id),
                        to=survivor_id)
    column = merges.LINKED[entity]
    linked = merges.linked_persons(session, entity, absorbed_id)
    for row in linked:
        if row["id"] != survivor_id:
            update_in_place(session, "person", row, changes={column: survivor_id},
                            provenance=provenance)
    moved["persons"] = sorted(row["id"] for row in linked if row["id"] != survivor_id)
    if submission_ids:
        moved["submissions"] = list(submission_ids)
    tombstone(session, entity, absorbed, survivor_id=survivor_id, provenance=provenance)
    bump(session, entity, survivor, changes=written, provenance=provenance)
    merge_id = queries.add_merge(session, dict(
        entity=entity, kind=kind, survivor_id=survivor_id, absorbed_id=absorbed_id,
        pair_id=pair_id, submission_id=provenance.submission_id, status="merged",
        survivor_before=survivor_before, survivor_written=snapshot(written, tuple(written)),
        absorbed_before=absorbed_before, moved=moved, actor_id=provenance.actor_id,
        created_at=utcnow()))
    record_audit(session, actor_id=provenance.actor_id, action=f"{entity}.{kind}",
                 entity_type=entity, entity_id=absorbed_id,
                 detail={"survivor_id": survivor_id, "merge_id": merge_id, "pair_id": pair_id,
                         "written": snapshot(written, tuple(written)),
                         "moved": {k: len(v) for k, v in moved.items()}})
    _mark(session, entity, survivor_id, absorbed_id, moved)
    return {**survivor, "merge_id": merge_id}


def unmerge(session: Session, *, entity: str, absorbed_id: str, provenance: Provenance) -> dict:
    """Undo the merge that absorbed `absorbed_id`; returns the revived record's row."""
    done = queries.active_merge_of(session, entity, absorbed_id)
    if done is None:
        raise NotFound(f"{entity} {absorbed_id} is not merged into another record.",
                       code="merge.not_merged")
    rows = ENTITIES[entity].rows
    absorbed = rows.get_for_update(session, absorbed_id)
    survivor = rows.get_for_update(session, done["survivor_id"])
    if survivor["merged_into_id"]:
        raise Conflict(f"{entity} {survivor['id']} was itself merged into "
                       f"{survivor['merged_into_id']} since: unmerge that first.",
                       code="merge.survivor_merged")
    if not all(provenance.scope.covers_kelurahan(
            row["kelurahan_code"], row.get("posyandu_id") if entity == "person" else None)
            for row in (absorbed, survivor)):
        raise NotFound(f"No {entity} {absorbed_id} in your scope.", code="merge.not_found")
    moved = done["moved"]
    back = {k: v for k, v in moved.items() if k not in ("persons", "submissions")}
    if moved.get("submissions"):
        for table, ids in merges.records_of_submissions(session, entity,
                                                        moved["submissions"]).items():
            back[table] = sorted(set(back.get(table, [])) | set(ids))
    merges.move(session, entity, back, to=absorbed_id, only_from=survivor["id"])
    column = merges.LINKED[entity]
    for row in merges.persons_by_id(session, moved.get("persons", [])):
        if row["merged_into_id"] is None and row[column] == survivor["id"]:
            update_in_place(session, "person", row, changes={column: absorbed_id},
                            provenance=provenance)
    restore = {}
    for name, value in done["survivor_written"].items():
        if _jsonable(survivor.get(name)) == value:  # nobody changed it since the merge
            restore[name] = done["survivor_before"].get(name)
    if entity == "person" and isinstance(restore.get("birth_date"), str):
        restore["birth_date"] = date.fromisoformat(restore["birth_date"])
    if restore.get("name") is None:
        restore.pop("name", None)
    bump(session, entity, survivor, changes=restore, provenance=provenance)
    revive(session, entity, absorbed, data=done["absorbed_before"], provenance=provenance)
    queries.set_merge(session, done["id"], status="undone", undone_by=provenance.actor_id,
                      undone_at=utcnow())
    if done["pair_id"] is not None:
        # A reviewer's merge goes back to the queue; an automatic link that was wrong is
        # a decision that they differ, so it is never proposed (or linked) again.
        status = "dismissed" if done["kind"] == "auto_link" else "open"
        queries.set_pair(session, done["pair_id"], status=status, merge_id=None,
                         decided_by=provenance.actor_id if status == "dismissed" else None,
                         decided_at=utcnow() if status == "dismissed" else None)
    record_audit(session, actor_id=provenance.actor_id, action=f"{entity}.unmerge",
                 entity_type=entity, entity_id=absorbed_id,
                 detail={"survivor_id": survivor["id"], "merge_id": done["id"]})
    _mark(session, entity, survivor["id"], absorbed_id, moved)
    return absorbed


def _mark(session: Session, entity: str, survivor_id: str, absorbed_id: str, moved: dict) -> None:
    linked = moved.get("persons", [])
    if entity == "person":
        touched.mark(session, persons=[survivor_id, absorbed_id, *linked])
    else:
        touched.mark(session, households=[survivor_id, absorbed_id], persons=linked)
