"""ODK offline entities: the registry on the phone, as ODK Collect (v2024.3+) keeps it.

The three forms declare entity lists with pyxform's `entities` sheet (children, women,
households; clients.kobo_forms.build.ENTITY_LISTS). Collect downloads each list (the
manifest's `type="entityList"` media), keeps it on the phone, adds an entity a form
creates and applies a form's update at once, offline, and tells the server what it did
in the submission's `<meta><entity>` block. This module is the server's side of it:

- the list a kader's phone gets (her scope only, `name` = registry id, `__version` =
  registry version) and its fingerprint (the ETag and the manifest hash), cheap to ask
  for: a count and a maximum over the change log in scope, no rendering;
- the integrity answer: which ids the phone holds were merged away (deleted, with the
  survivor) (`merged_into`, the one function to wire to identity's merges);
- an entity block's create or update, through the same versioned write as every other
  change (sync.apply). A create is the new registry id of the person identity
  resolution did not find, or an alias of the one it found. An update is the fields
  the kader changed relative to the version her phone had, applied on that version:
  merged if the server changed none of them since, else a conflict for a person.
  Collect numbers versions it makes offline itself (a branch of edits, `branchId`,
  started from `trunkVersion`); an update based on a version of its branch that has
  not arrived yet is held, and applied as soon as that one is, in branch order.
  Nothing is dropped and nothing is force-applied: a held submission is visible
  (status `held`, with what it waits for) until its predecessor comes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from lxml import etree
from sqlalchemy import and_, func, or_, select
from sqlmodel import Session

from core.errors import InvalidInput
from models import ChangeLog, EntityAction, FormVersion
from models.base import utcnow
from sync.apply import ENTITIES, Provenance, Status, apply, snapshot
from sync.fields import ProcessingError
from sync.scope import Scope, scope_filter
from sync.submission_xml import safe_parse

# list name -> (registry entity, the media file forms read it from)
LISTS = {"children": ("person", "children.csv"), "women": ("person", "women.csv"),
         "households": ("household", "households.csv")}
LIST_OF_MEDIA = {media: name for name, (_, media) in LISTS.items()}
# An entity's properties that are its registry record's own fields (the others, e.g. a
# child's mother_name, describe related records and are settled by identity).
PROPERTY_FIELDS = {
    "children": {"nik": "nik", "full_name": "name", "sex": "sex", "birth_date": "birth_date",
                 "kelurahan_code": "kelurahan_code", "posyandu_id": "posyandu_id"},
    "women": {"nik": "nik", "full_name": "name", "birth_date": "birth_date",
              "kelurahan_code": "kelurahan_code", "posyandu_id": "posyandu_id"},
    "households": {"kk": "kk", "head_name": "head_name", "address": "address", "rt": "rt",
                   "rw": "rw", "kelurahan_code": "kelurahan_code"},
}
# Change-log entity types whose rows can change a list's content.
_LIST_CHANGES = {"children": ("person",), "women": ("person", "pregnancy_screening"),
                 "households": ("household",)}
LIST_FORMAT = "1"  # bump when the CSV's columns or rules change: every phone downloads again
MAX_INTEGRITY_IDS = 5000
_ENTITIES_NS = "http://www.opendatakit.org/xforms/entities"


# ---------------------------------------------------------------- forms

_DECLARED: dict[str, tuple[frozenset[str], dict[str, str]]] = {}


def _declarations(xml: bytes) -> tuple[frozenset[str], dict[str, str]]:
    """(entity lists a form declares, {field leaf name: property}) of an XForm."""
    key = hashlib.md5(xml, usedforsecurity=False).hexdigest()
    if key not in _DECLARED:
        doc = safe_parse(xml)
        lists = frozenset(el.get("dataset") for el in doc.iter("{*}entity") if el.get("dataset"))
        saveto = {}
        for bind in doc.iter("{*}bind"):
            prop = bind.get(f"{{{_ENTITIES_NS}}}saveto")
            if prop:
                saveto[bind.get("nodeset", "").rsplit("/", 1)[-1]] = prop
        _DECLARED[key] = (lists, saveto)
    return _DECLARED[key]


def declared_lists(xml: bytes) -> frozenset[str]:
    """The entity lists an XForm declares (empty for a form without entities)."""
    return _declarations(xml)[0] if b"entities-version" in xml else frozenset()


def entity_list_media(form_xml: bytes, media: str) -> str | None:
    """The entity list a form's media file is (None: a plain CSV attachment). Like ODK
    Central, a form that declares entities reads `<list>.csv` as that entity list."""
    name = LIST_OF_MEDIA.get(media)
    return name if name is not None and declared_lists(form_xml) else None


def _saveto_of(session: Session, form_id: str, version: str) -> dict[str, str]:
    """{field: property} of a published form version: its md5 is read, its XML (about
    100 kB) only the first time this process sees that md5."""
    md5 = session.execute(select(FormVersion.md5).where(
        FormVersion.form_id == form_id, FormVersion.version == version)).scalar()
    if md5 is None:
        return {}
    if md5 not in _DECLARED:
        xml = session.execute(select(FormVersion.xml).where(
            FormVersion.form_id == form_id, FormVersion.version == version)).scalar()
        _declarations(xml)
    return _DECLARED[md5][1]


# ---------------------------------------------------------------- the list on the phone

def _list_scope(scope: Scope, table):
    return or_(scope_filter(scope, table.c.kelurahan_code, table.c.posyandu_id),
               and_(table.c.posyandu_id.is_(None), scope_filter(scope, table.c.kelurahan_code)))


def scope_tag(scope: Scope) -> str:
    if scope.everything:
        return "all"
    return "|".join(sorted(scope.as_strings()) + sorted(scope.posyandu_kelurahan_codes))


def list_etag(session: Session, *, scope: Scope, name: str, today: date | None = None) -> str:
    """A fingerprint of the list a caller with `scope` gets: it changes whenever a row
    of the list can have changed, without rendering it. Every registry write adds a
    change-log row at the record's place (sync.apply), and rows are only added, so the
    number of rows in scope and their highest seq move with every change a phone must
    see (a count alone also catches a row whose transaction committed after a higher
    seq's). The day is in it because the children's list is the under-sixes of today."""
    c = ChangeLog.__table__.c
    count, top = session.execute(select(func.count(), func.max(c.seq)).where(
        c.entity_type.in_(_LIST_CHANGES[name]), _list_scope(scope, ChangeLog.__table__))).one()
    text = f"{LIST_FORMAT}|{name}|{scope_tag(scope)}|{count}|{top}|{today or utcnow().date()}"
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


# ---------------------------------------------------------------- integrity

def merged_into(session: Session, kind: str, ids: list[str]) -> dict[str, str | None]:
    """For each id the registry knows: the live record it now is (itself, or the end of
    its chain of merges; None if the chain does not end in a live record). Ids the
    registry never saw are left out. (Merges are identity's (#14); this reads the
    registry's `merged_into_id`, the one place the integrity answer asks.)"""
    table = ENTITIES[kind].rows.table
    known = dict(session.execute(select(table.c.id, table.c.merged_into_id).where(
        table.c.id.in_(ids))).all()) if ids else {}
    pending = {v for v in known.values() if v and v not in known}
    for _ in range(16):
        if not pending:
            break
        more = dict(session.execute(select(table.c.id, table.c.merged_into_id).where(
            table.c.id.in_(sorted(pending)))).all())
        known.update(more)
        pending = {v for v in more.values() if v and v not in known}
    out: dict[str, str | None] = {}
    for entity_id in ids:
        if entity_id not in known:
            continue
        current, hops = entity_id, 0
        while current is not None and known.get(current) and hops < 16:
            current, hops = known[current], hops + 1
        out[entity_id] = current if current in known and not known.get(current) else None
    return out


@dataclass(frozen=True)
class Integrity:
    id: str
    deleted: bool
    merged_into: str | None = None


def integrity(session: Session, *, scope: Scope, name: str, ids: list[str]) -> list[Integrity]:
    """Which of the ids a phone holds offline are gone from the registry: merged into
    another record (the survivor, when the caller may see it). An id the server has not
    received yet (its form is still on the phone) is not deleted."""
    if name not in LISTS:
        raise InvalidInput(f"There is no entity list {name!r}.", code="entity.unknown_list")
    if len(ids) > MAX_INTEGRITY_IDS or any(not i or len(i) > 36 for i in ids):
        raise InvalidInput(f"Ask for 1 to {MAX_INTEGRITY_IDS} ids of at most 36 characters.",
                           code="entity.bad_ids")
    kind = LISTS[name][0]
    where = merged_into(session, kind, ids)
    rows = ENTITIES[kind].rows
    out = []
    for entity_id in ids:
        survivor = where.get(entity_id, entity_id)
        if entity_id not in where or survivor == entity_id:
            out.append(Integrity(entity_id, False))
            continue
        row = rows.get(session, survivor) if survivor else None
        visible = row is not None and scope.covers_kelurahan(
            row["kelurahan_code"], row.get("posyandu_id") if kind == "person" else None)
        out.append(Integrity(entity_id, True, survivor if visible else None))
    return out


# ---------------------------------------------------------------- submissions

@dataclass(frozen=True)
class EntityBlock:
    """A submission's `<meta><entity>`: what the phone did to one entity."""

    dataset: str
    id: str
    create: bool
    update: bool
    base_version: int | None
    trunk_version: int | None
    branch_id: str | None
    label: str | None

    @property
    def kind(self) -> str:
        return LISTS[self.dataset][0]


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true")


def _version(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def entity_block(content: bytes, content_type: str) -> EntityBlock | None:
    """The entity block of a stored submission (None: none, or not one of our lists, or
    neither a create nor an update)."""
    if content_type != "text/xml" or b"entity" not in content:
        return None
    root = safe_parse(content)
    meta = next((el for el in root if isinstance(el.tag, str)
                 and etree.QName(el).localname == "meta"), None)
    element = None if meta is None else next(
        (el for el in meta if isinstance(el.tag, str) and etree.QName(el).localname == "entity"),
        None)
    if element is None or element.get("dataset") not in LISTS:
        return None
    create, update = _flag(element.get("create")), _flag(element.get("update"))
    entity_id = (element.get("id") or "").strip().removeprefix("uuid:")
    if not (create or update) or not entity_id:
        return None
    if len(entity_id) > 36:
        raise ProcessingError("The entity id is longer than 36 characters.",
                              code="submission.bad_entity")
    label = next((el.text for el in element if isinstance(el.tag, str)
                  and etree.QName(el).localname == "label"), None)
    return EntityBlock(element.get("dataset"), entity_id, create, update,
                       _version(element.get("baseVersion")), _version(element.get("trunkVersion")),
                       (element.get("branchId") or "").strip()[:64] or None,
                       (label or "").strip() or None)


def _properties(answers, saveto: dict[str, str]) -> dict[str, str]:
    """The entity's properties as the phone saved them (text, as in the list CSV)."""
    return {prop: (answers.text(field, max_length=255) or "") for field, prop in saveto.items()}


def _as_text(value) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


def _record_props(name: str, data: dict) -> dict[str, str]:
    """A registry version snapshot as the entity's properties."""
    return {prop: _as_text(data.get(field)) for prop, field in PROPERTY_FIELDS[name].items()}


def _typed(field: str, text: str):
    if field == "birth_date":
        try:
            return date.fromisoformat(text[:10])
        except ValueError as exc:
            raise ProcessingError(f"'{text}' is not a date.", code="submission.bad_date") from exc
    if field == "posyandu_id":
        if not text.isdigit() or len(text) > 9:
            raise ProcessingError(f"posyandu_id '{text}' is not a posyandu id.",
                                  code="submission.bad_entity")
        return int(text)
    return text


class Held(Exception):
    """The update is based on a version of its branch the server has not seen yet."""


def _action_of(session: Session, submission_id: int) -> EntityAction | None:
    return session.execute(select(EntityAction).where(
        EntityAction.submission_id == submission_id)).scalar()


def _base_action(session: Session, block: EntityBlock) -> EntityAction | None:
    """The applied action that made the version this update is based on, when that is a
    version the phone made (offline), else None."""
    t = EntityAction
    if block.trunk_version is None and block.base_version == 1:
        where = [t.action == "create"]  # an entity created offline: its first version
    else:
        where = [t.branch_id == block.branch_id, t.local_version == block.base_version]
    return session.execute(select(t).where(t.entity_id == block.id, t.status == "applied", *where)
                           .order_by(t.id.desc()).limit(1)).scalar()


def _record_action(session: Session, submission_id: int, block: EntityBlock, *, props: dict,
                   server_version: int | None, status: str) -> None:
    action = _action_of(session, submission_id) or EntityAction(
        submission_id=submission_id, dataset=block.dataset, entity_id=block.id,
        action="create" if block.create and not block.update else "update",
        base_version=block.base_version, trunk_version=block.trunk_version,
        branch_id=block.branch_id, local_version=1, properties={})
    action.action = "update" if block.update and not (block.create and action.action == "create") \
        else action.action
    action.local_version = 1 if action.action == "create" else (block.base_version or 0) + 1
    action.properties = props
    action.server_version = server_version
    action.status = status
    session.add(action)
    session.flush()


@dataclass(frozen=True)
class UpdateOutcome:
    entity_id: str  # the record written (the survivor, if the entity was merged away)
    status: Status
    conflict_id: int | None = None


def apply_update(session: Session, *, submission_id: int, form_id: str, form_version: str,
                 answers, block: EntityBlock, provenance: Provenance,
                 device_id: str | None) -> UpdateOutcome:
    """An entity update from a submission, through sync.apply: the properties the
    kader changed relative to the version her phone had (`baseVersion`), applied on
    that version (merged or a conflict). Raises Held when that version is one of the
    phone's own that has not arrived yet."""
    from sync.offline import open_conflict  # conflicts live with the sync API's

    name, kind = block.dataset, block.kind
    props = _properties(answers, _saveto_of(session, form_id, form_version))
    entity = ENTITIES[kind]
    row = entity.rows.get_for_update(session, block.id)
    if row is None and not block.create:
        _record_action(session, submission_id, block, props=props, server_version=None,
                       status="held")
        raise Held(f"{name} {block.id} is not on the server yet: its registration will come")
    redirected = False
    for _ in range(16):
        if row is None or not row["merged_into_id"]:
            break
        row, redirected = entity.rows.get_for_update(session, row["merged_into_id"]), True
    if row is None:
        raise ProcessingError(f"{name} {block.id} was merged into a record that is gone.",
                              code="submission.bad_entity")
    if not provenance.scope.covers_kelurahan(row["kelurahan_code"],
                                             row.get("posyandu_id") if kind == "person" else None):
        raise ProcessingError(f"{name} {block.id} is outside your scope.", code="submission.entity_scope")
    if block.base_version is None:
        base_version, base_props = row["version"], _record_props(name, row)
    elif block.trunk_version is not None and block.base_version == block.trunk_version:
        base_version = block.base_version  # a version the phone had from the server
        data = entity.rows.version_data(session, block.id if not redirected else row["id"],
                                        base_version) if not redirected else None
        base_props = _record_props(name, data) if data else _record_props(name, row)
    else:
        before = _base_action(session, block)
        if before is None or before.server_version is None:
            _record_action(session, submission_id, block, props=props, server_version=None,
                           status="held")
            raise Held(f"{name} {block.id} version {block.base_version} of branch "
                       f"{block.branch_id} has not arrived yet")
        base_version, base_props = before.server_version, before.properties
    if redirected:
        base_version = 1  # (as a push to a merged record: any survivor change is a conflict)
    base_version = min(base_version, row["version"])
    changes = {}
    for prop, field in PROPERTY_FIELDS[name].items():
        incoming = props.get(prop, "")
        # Only what the kader changed; a blank never erases (as everywhere in intake).
        if incoming and incoming != base_props.get(prop, ""):
            changes[field] = _typed(field, incoming)
    outcome = apply(session, kind, row["id"], base_version, changes, provenance, current=row)
    if outcome.status is Status.REJECTED:
        raise ProcessingError(f"The update of {name} {block.id} cannot be stored: "
                              f"{outcome.reason}.", code="submission.bad_entity")
    conflict_id = None
    if outcome.status is Status.CONFLICT:
        conflict_id = open_conflict(session, kind=kind, row=outcome.row, base_version=base_version,
                                    fields=outcome.conflicts, incoming_by=provenance.actor_id,
                                    device_id=device_id, submission_id=submission_id)
    _record_action(session, submission_id, block, props=props, server_version=outcome.version,
                   status="applied")
    _touch(session, kind, row["id"])
    return UpdateOutcome(row["id"], outcome.status, conflict_id)


def _touch(session: Session, kind: str, entity_id: str) -> None:
    from sync import touched
    touched.mark(session, **{"persons" if kind == "person" else "households": [entity_id]})


def record_create(session: Session, *, submission_id: int, form_id: str, form_version: str,
                  answers, block: EntityBlock, subject_id: str, provenance: Provenance) -> None:
    """After processing a create: the entity's id is the registry id of what identity
    resolution settled on. If that is another record (the child was registered
    already), the phone's id becomes a tombstone merged into it, so follow-ups of it
    reach the record and the integrity answer tells the phone."""
    kind = block.kind
    rows = ENTITIES[kind].rows
    subject = rows.get(session, subject_id)
    if subject_id != block.id and rows.get(session, block.id) is None:
        alias_of(session, kind=kind, alias_id=block.id, survivor=subject, provenance=provenance)
    props = _properties(answers, _saveto_of(session, form_id, form_version))
    _record_action(session, submission_id, block, props=props,
                   server_version=subject["version"] if subject else None, status="applied")


def alias_of(session: Session, *, kind: str, alias_id: str, survivor: dict,
             provenance: Provenance) -> None:
    """A tombstone `alias_id` merged into `survivor` (a phone's id for a record the
    registry already had): version 1, a copy of the survivor's fields, and a change-log
    `merge` row at its place. (#14's merges write tombstones the same way.)"""
    from sync.queries.changes import add_change

    entity = ENTITIES[kind]
    now = utcnow()
    row = {name: survivor.get(name) for name in entity.fields}
    if kind == "person":
        row["birth_date_estimated"] = bool(survivor.get("birth_date_estimated"))
    row.update(id=alias_id, version=1, created_at=now, updated_at=now,
               merged_into_id=survivor["id"], **entity.derived(row))
    entity.rows.insert(session, row)
    entity.rows.add_version(session, {
        entity.rows.version_key: alias_id, "version": 1, "data": snapshot(row, entity.fields),
        "changed_at": now, "changed_by": provenance.actor_id,
        "submission_id": provenance.submission_id, "reason": "entity:alias"})
    add_change(session, dict(entity_type=kind, entity_id=alias_id, version=1, op="merge",
                             kelurahan_code=row["kelurahan_code"],
                             posyandu_id=row.get("posyandu_id") if entity.has_posyandu else None,
                             changed_at=now))


def held_waiting_on(session: Session, entity_id: str) -> list[int]:
    """Submissions held for this entity, oldest base first (their turn may have come)."""
    t = EntityAction
    return list(session.execute(select(t.submission_id).where(
        t.entity_id == entity_id, t.status == "held")
        .order_by(t.base_version, t.id)).scalars().all())


def exists(session: Session, block: EntityBlock) -> bool:
    """Whether the registry has a record (live or merged away) with the entity's id."""
    return ENTITIES[block.kind].rows.get(session, block.id) is not None


# The form fields that are a subject's own registry fields (the forms' public contract),
# for edits (deprecatedID) of forms with or without entities.
EDIT_FIELDS = {
    "anthropometry": ("children", {"child_nik": "nik", "child_name": "name", "child_sex": "sex",
                                   "child_birth_date": "birth_date"}),
    "pregnancy_screening": ("women", {"woman_nik": "nik", "woman_name": "name",
                                      "woman_birth_date": "birth_date"}),
    "sanitation_check": ("households", {"household_kk": "kk", "head_name": "head_name",
                                        "address": "address", "rt": "rt", "rw": "rw"}),
}


def _version_at(session: Session, kind: str, entity_id: str, edited_id: int, moment) -> int | None:
    """The version the subject had once the edited submission was processed: the last
    one it wrote, else the last one before it arrived."""
    versions = ENTITIES[kind].rows.versions
    key = versions.c[ENTITIES[kind].rows.version_key]
    written = session.execute(select(func.max(versions.c.version)).where(
        key == entity_id, versions.c.submission_id == edited_id)).scalar()
    return written or session.execute(select(func.max(versions.c.version)).where(
        key == entity_id, versions.c.changed_at <= moment)).scalar()


def apply_edit(session: Session, *, form_id: str, subject_id: str, old_answers, answers,
               edited_id: int, edited_at, provenance: Provenance,
               submission_id: int) -> EntityBlock | None:
    """An edit (meta/deprecatedID) that corrects its subject's details: the fields the
    edit changed relative to the submission it replaces, applied through sync.apply on
    the version the subject had when that submission was processed, so a change made
    on the server since is merged or becomes a conflict, never overwritten. Returns an
    update block naming the subject (so identity settles on it and only fills gaps)."""
    from sync.offline import open_conflict

    name, fields = EDIT_FIELDS[form_id]
    kind = LISTS[name][0]
    rows = ENTITIES[kind].rows
    row = rows.get_for_update(session, subject_id)
    for _ in range(16):
        if row is None or not row["merged_into_id"]:
            break
        row = rows.get_for_update(session, row["merged_into_id"])
    if row is None:
        return None
    block = EntityBlock(name, row["id"], False, True, None, None, None, None)
    changes = {}
    for form_field, field in fields.items():
        new, old = answers.text(form_field, max_length=255), old_answers.text(form_field,
                                                                               max_length=255)
        if new and new != old:
            changes[field] = _typed(field, new)
    if not changes:
        return block
    base = (_version_at(session, kind, subject_id, edited_id, edited_at)
            if row["id"] == subject_id else 1)
    base = min(base or 1, row["version"])
    outcome = apply(session, kind, row["id"], base, changes, provenance, current=row)
    if outcome.status is Status.REJECTED:
        raise ProcessingError(f"The edit cannot correct {name} {row['id']}: {outcome.reason}.",
                              code="submission.bad_entity")
    if outcome.status is Status.CONFLICT:
        open_conflict(session, kind=kind, row=outcome.row, base_version=base,
                      fields=outcome.conflicts, incoming_by=provenance.actor_id,
                      submission_id=submission_id)
    _touch(session, kind, row["id"])
    return block
