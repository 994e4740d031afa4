"""Offline sync for apps: the scoped change feed with record data, the snapshot to
start from, versioned pushes, conflicts and their resolution, and the devices that sync.

A push is a list of mutations; each is its own unit of work (sync.unit_of_work), so
each gets its own result, and all of them write through sync.apply, the registry's one
versioned write: a stale base version whose fields the server did not change since is
merged, overlapping fields open a conflict (the current values stay until a person
resolves it), nothing is overwritten silently. Every result is stored under
(user, mutation_id): a replay returns the stored result and changes nothing.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, bindparam, func, insert, literal_column, or_, select, tuple_
from sqlmodel import Session

from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.statements import Prepared
from models import ChangeLog, Household, HouseholdVersion, Person, PersonVersion, UserScope
from models.base import one_of, utcnow
from models.offline import SyncConflict, SyncDevice, SyncMutation
from sync import touched
from sync.accounts import Principal, record_audit
from sync.apply import ENTITIES, PERSON_FIELDS, Provenance, Status, apply, snapshot
from sync.changes import _FINISHED_BELOW, MAX_PAGE, ChangeCursor, fresh_activity
from sync.changes import _in_scope as changes_in_scope
from sync.identity import PersonClaim, pushed_claim, read_ahead, resolve_pushed_person
from sync.scope import Scope, scope_filter

# The field names a push sends and the feed shows (the public contract).
PUSH_FIELDS = {
    "person": tuple(f for f in PERSON_FIELDS if f != "birth_date_estimated"),
    "household": ENTITIES["household"].fields,
}
_TABLES = {"person": (Person, PersonVersion, "person_id"),
           "household": (Household, HouseholdVersion, "household_id")}
MAX_MUTATIONS = 1000
# A push's mutations per transaction (sync.writer.store_all): a commit and a caseload
# refresh per group; a group that fails is redone a unit at a time, as any group.
PUSH_GROUP = 250


# ---------------------------------------------------------------- cursors

def _scope_tag(scope: Scope) -> str:
    """A short fingerprint of a scope: a cursor is only good for the scope it was read in."""
    if scope.everything:
        return "all"
    text = "|".join(sorted(scope.as_strings()) + sorted(scope.posyandu_kelurahan_codes))
    return format(zlib.crc32(text.encode()), "x")


class ResetRequired(Exception):
    """The cursor cannot be served any more (another scope, or not from this server)."""


def encode_cursor(cursor: ChangeCursor, scope: Scope) -> str:
    return f"{cursor}.{_scope_tag(scope)}"


def decode_cursor(text: str | None, scope: Scope) -> ChangeCursor:
    """The feed position of an opaque cursor. Raises InvalidInput for text this server
    never gave out, ResetRequired for a cursor of another scope."""
    if text is None or not text.strip():
        return ChangeCursor()
    position, _, tag = text.strip().rpartition(".")
    cursor = ChangeCursor.parse(position or "x")
    if tag != _scope_tag(scope):
        raise ResetRequired("this cursor was given for another scope")
    return cursor


def _in_scope(scope: Scope, table):
    """Persons by posyandu or wilayah; rows without a posyandu (households) also by the
    kelurahan of the caller's posyandu (as sync.changes)."""
    return or_(scope_filter(scope, table.c.kelurahan_code, table.c.posyandu_id),
               and_(table.c.posyandu_id.is_(None), scope_filter(scope, table.c.kelurahan_code)))


# ---------------------------------------------------------------- pull

def _record(kind: str, data: dict, version: int) -> dict:
    out = {name: data.get(name) for name in PUSH_FIELDS[kind]}
    out["version"] = version
    return out


def _version_data(session: Session, kind: str, pairs: list[tuple[str, int]]) -> dict:
    if not pairs:
        return {}
    _, versions, key = _TABLES[kind]
    table = versions.__table__
    # By id alone, then the versions wanted: a row-value IN of thousands of pairs is
    # planned as thousands of ORs (3.5 s for 5,000 on PostgreSQL), an id IN is one index scan.
    wanted = set(pairs)
    rows = session.execute(select(table.c[key], table.c.version, table.c.data).where(
        table.c[key].in_(sorted({pid for pid, _ in pairs})),
        table.c.version.in_(sorted({v for _, v in pairs})))).all()
    return {(row[0], row[1]): row[2] for row in rows if (row[0], row[1]) in wanted}


def _merged_into(session: Session, kind: str, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    table = _TABLES[kind][0].__table__
    rows = session.execute(select(table.c.id, table.c.merged_into_id).where(
        table.c.id.in_(ids), table.c.merged_into_id.is_not(None))).all()
    return dict(rows)


# Records made from submissions, in the feed by their submission's id (sync.process).
RECORD_KINDS = ("measurement", "pregnancy_screening", "sanitation_check")


def _record_data(session: Session, changes: list[dict]) -> dict:
    """The current state of the records named in a page: {(kind, id): data}."""
    from sync.queries.records import ENTITY_TABLES

    out = {}
    for kind in RECORD_KINDS:
        ids = sorted({int(c["entity_id"]) for c in changes
                      if c["entity_type"] == kind and c["op"] == "upsert"})
        if not ids:
            continue
        table = ENTITY_TABLES[kind]
        for row in session.execute(select(table).where(table.c.submission_id.in_(ids))).mappings():
            out[(kind, str(row["submission_id"]))] = {
                k: _jsonable(v) for k, v in row.items() if k not in ("id", "created_at")}
    return out


def _jsonable(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


@dataclass(frozen=True)
class FeedPage:
    items: list  # each change as a dict, or already encoded as JSON text (PostgreSQL)
    next_cursor: str
    more: bool
    # The persons and households whose data the page carries (subjects_of of its
    # changes), from the columns the page was read with: the access log needs no
    # decoding of the page's JSON.
    persons: list[str] = field(default_factory=list)
    households: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[dict]:
        return [json.loads(i) if isinstance(i, str) else i for i in self.items]

    def to_json(self) -> str:
        """The page as the API answers it: {"changes", "next_cursor", "more"}."""
        items = ",".join(i if isinstance(i, str) else _dumps(i) for i in self.items)
        return (f'{{"changes":[{items}],"next_cursor":{_dumps(self.next_cursor)},'
                f'"more":{"true" if self.more else "false"}}}')


def _dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# PostgreSQL writes each registry upsert of the page as the JSON text of the change
# itself ({"seq", "entity", "id", "version", "op", "data", "merged_into"}, as the
# Python path below builds the others; `data` the version snapshot without
# birth_date_estimated, with the version): the page is then spliced together as
# text, with no JSON decoded or encoded in Python (most of a 5,000-change page's time
# was that, then json.dumps of each id). `{tag}` is the scope's tag (hex or "all").
_PG_SNAPSHOT = "coalesce(person_version.data, household_version.data)"
_PG_MERGED = "coalesce(person.merged_into_id, household.merged_into_id)"
_PG_ITEM = f"""CASE WHEN change_log.op = 'upsert'
    AND change_log.entity_type IN ('person', 'household') THEN concat(
    '{{"seq":"', change_log.txid, '.', change_log.seq, '.{{tag}}","entity":"',
    change_log.entity_type, '","id":', to_json(change_log.entity_id),
    ',"version":', change_log.version, ',"op":"',
    CASE WHEN coalesce({_PG_MERGED}, '') = '' THEN 'upsert' ELSE 'merge' END,
    '","data":', coalesce((({_PG_SNAPSHOT}::jsonb - 'birth_date_estimated')
        || jsonb_build_object('version', change_log.version))::text, 'null'),
    ',"merged_into":', coalesce(to_json({_PG_MERGED})::text, 'null'), '}}') END"""
_TAG = re.compile(r"[0-9a-z]{1,16}")


def _pg_item(tag: str):
    if not _TAG.fullmatch(tag):  # written into the statement: a scope tag only
        raise ValueError(f"not a scope tag: {tag!r}")
    return literal_column(_PG_ITEM.replace("{tag}", tag))


def _feed_query(after: ChangeCursor, scope: Scope, limit: int, *, postgres: bool = False):
    """The page of change-log rows (sync.changes' order, horizon and scope) with, in
    the same statement, each registry upsert's version snapshot and where the record
    was merged to: one query by index lookups, where separate `IN (...)` lists of
    thousands of ids cost more in building and converting the statement than in
    running it."""
    c = ChangeLog.__table__.c
    pv, hv = PersonVersion.__table__, HouseholdVersion.__table__
    pt, ht = Person.__table__, Household.__table__
    joined = (ChangeLog.__table__
              .outerjoin(pv, and_(c.entity_type == "person", c.op == "upsert",
                                  pv.c.person_id == c.entity_id, pv.c.version == c.version))
              .outerjoin(hv, and_(c.entity_type == "household", c.op == "upsert",
                                  hv.c.household_id == c.entity_id, hv.c.version == c.version))
              .outerjoin(pt, and_(c.entity_type == "person", pt.c.id == c.entity_id))
              .outerjoin(ht, and_(c.entity_type == "household", ht.c.id == c.entity_id)))
    snapshot = func.coalesce(pv.c.data, hv.c.data)
    data = ((_pg_item(_scope_tag(scope)).label("item"), snapshot.is_not(None).label("has_data"))
            if postgres else (snapshot.label("data"),))
    return (select(c.txid, c.seq, c.entity_type, c.entity_id, c.version, c.op, *data,
                   func.coalesce(pt.c.merged_into_id, ht.c.merged_into_id).label("merged_into"))
            .select_from(joined)
            .where(tuple_(c.txid, c.seq) > tuple_(after.txid, after.seq),
                   c.txid < _FINISHED_BELOW, changes_in_scope(scope))
            .order_by(c.txid, c.seq).limit(limit))


def feed(session: Session, *, scope: Scope, since: str | None, limit: int) -> FeedPage:
    """The changes in `scope` after `since`, each with the record as of its version."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}.", code="sync.bad_limit")
    cursor = decode_cursor(since, scope)
    postgres = session.get_bind().dialect.name == "postgresql"
    fresh_activity(session)
    rows = session.execute(_feed_query(cursor, scope, limit, postgres=postgres)).all()
    tag = _scope_tag(scope)
    record_data = _record_data(session, [{"entity_type": r.entity_type, "entity_id": r.entity_id,
                                          "op": r.op} for r in rows
                                         if r.entity_type in RECORD_KINDS])
    out: list = []
    subjects = _Subjects()
    for row in rows:
        kind, entity_id, version, op = row.entity_type, row.entity_id, row.version, row.op
        if postgres and row.item is not None:  # a registry upsert, as PostgreSQL wrote it
            subjects.add(kind, entity_id, row.has_data)
            out.append(row.item)
            continue
        item = {"seq": f"{row.txid}.{row.seq}.{tag}", "entity": kind, "id": entity_id,
                "version": version, "op": op, "data": None, "merged_into": None}
        if op == "upsert" and kind in PUSH_FIELDS:
            snap = row.data
            if isinstance(snap, str):  # a JSON column read through a COALESCE
                snap = json.loads(snap)
            item["data"] = None if snap is None else _record(kind, snap, version)
            if row.merged_into:  # merged away since: a phone needs the survivor
                item.update(op="merge", merged_into=row.merged_into)
        elif op == "merge":
            item["merged_into"] = row.merged_into
        elif op == "upsert" and kind in RECORD_KINDS:
            item["data"] = record_data.get((kind, entity_id))
        subjects.add(kind, entity_id, item["data"])
        out.append(item)
    last = ChangeCursor(rows[-1].txid, rows[-1].seq) if rows else cursor
    return FeedPage(out, encode_cursor(last, scope), len(rows) == limit,
                    subjects.persons, subjects.households)


def _feed_position(session: Session) -> ChangeCursor:
    c = ChangeLog.__table__.c
    fresh_activity(session)
    row = session.execute(select(c.txid, c.seq).where(c.txid < _FINISHED_BELOW)
                          .order_by(c.txid.desc(), c.seq.desc()).limit(1)).first()
    return ChangeCursor(row[0], row[1]) if row else ChangeCursor()


@dataclass(frozen=True)
class SnapshotPage:
    records: list[dict]
    cursor: str  # the feed position to continue from once every page is read
    next_page: str | None


def snapshot_page(session: Session, *, scope: Scope, page: str | None, limit: int) -> SnapshotPage:
    """Every current person and household in scope, by (entity, id), `limit` a page.

    The feed position is taken before the first page is read and carried in the page
    token: a record changed while the pages are read comes again in the feed after it
    (an upsert a client applies twice is the same record)."""
    if not 1 <= limit <= 5000:
        raise InvalidInput("limit must be between 1 and 5000.", code="sync.bad_limit")
    if page:
        try:
            position, kind, after = page.split("|", 2)
            cursor = decode_cursor(position, scope)
        except ValueError as exc:
            raise InvalidInput("This snapshot page token is not one this server gave out.",
                               code="sync.bad_cursor") from exc
        if kind not in _TABLES:
            raise InvalidInput("This snapshot page token is not one this server gave out.",
                               code="sync.bad_cursor")
    else:
        cursor, kind, after = _feed_position(session), "household", ""
    records: list[dict] = []
    kinds = ["household", "person"]
    for current in kinds[kinds.index(kind):]:
        table = _TABLES[current][0].__table__
        where = [table.c.merged_into_id.is_(None), table.c.id > after,
                 _in_scope(scope, table) if current == "person"
                 else scope_filter(scope, table.c.kelurahan_code)]
        rows = session.execute(select(table).where(*where).order_by(table.c.id)
                               .limit(limit - len(records))).mappings().all()
        records += [{"entity": current, "id": row["id"], "version": row["version"],
                     "data": _record(current, snapshot(dict(row), PUSH_FIELDS[current]),
                                     row["version"])} for row in rows]
        if len(records) >= limit:
            last = records[-1]
            token = f"{encode_cursor(cursor, scope)}|{last['entity']}|{last['id']}"
            return SnapshotPage(records, encode_cursor(cursor, scope), token)
        after = ""
    return SnapshotPage(records, encode_cursor(cursor, scope), None)


# ---------------------------------------------------------------- push

def _coerce(kind: str, changes: dict) -> tuple[dict, str | None]:
    """JSON values -> the registry's types, or the reason they cannot be."""
    allowed = PUSH_FIELDS[kind]
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        return {}, f"unknown field(s): {', '.join(unknown)}"
    out = dict(changes)
    if isinstance(out.get("birth_date"), str):
        try:
            out["birth_date"] = date.fromisoformat(out["birth_date"])
        except ValueError:
            return {}, "birth_date must be a date (YYYY-MM-DD)"
    if "posyandu_id" in out and isinstance(out["posyandu_id"], bool):
        return {}, "posyandu_id must be a posyandu's id"
    return out, None


def _result(mutation_id, status, *, version=None, id=None, conflict_id=None, reason=None,
            redirected_from=None) -> dict:
    result = {"mutation_id": mutation_id, "status": status, "version": version,
              "conflict_id": conflict_id, "reason": reason}
    if id is not None:
        result["id"] = id
    if redirected_from is not None:
        result["redirected_from"] = redirected_from
    return result


def _survivor(session: Session, kind: str, entity_id: str) -> dict | None:
    """The row of `entity_id`, or of the record it was merged into (followed to the end)."""
    rows = ENTITIES[kind].rows
    row = rows.get_for_update(session, entity_id)
    for _ in range(16):
        if row is None or not row["merged_into_id"]:
            return row
        row = rows.get_for_update(session, row["merged_into_id"])
    return row


def open_conflict(session: Session, *, kind: str, row: dict, base_version: int, fields: dict,
                  incoming_by: int | None, device_id: str | None = None,
                  mutation_id: str | None = None, submission_id: int | None = None) -> int:
    """Record the overlapping fields of an edit (sync.apply left them as they are)."""
    conflict = SyncConflict(
        entity=kind, entity_id=row["id"], kelurahan_code=row["kelurahan_code"],
        posyandu_id=row.get("posyandu_id") if kind == "person" else None,
        base_version=base_version, version=row["version"],
        fields={name: {"base": f.base, "current": f.current, "incoming": f.incoming}
                for name, f in fields.items()},
        incoming_by=incoming_by, device_id=device_id, mutation_id=mutation_id,
        submission_id=submission_id)
    session.add(conflict)
    session.flush()
    _touch_entity(session, kind, row["id"])
    return conflict.id


def _touch_entity(session: Session, kind: str, entity_id: str) -> None:
    """A conflict opened or resolved changes what the caseloads count (sync.touched)."""
    if kind == "person":
        touched.mark(session, persons=[entity_id])
    elif kind == "household":
        touched.mark(session, households=[entity_id])


def open_measurement_conflict(session: Session, *, person_id: str, kelurahan_code: str,
                              posyandu_id: int | None, current_submission: int, current: dict,
                              incoming_submission: int, incoming: dict,
                              incoming_by: int | None) -> int:
    """Two different measurements of one child on one day, from two submissions: which
    is right is a person's call (resolve with choose current/incoming)."""
    conflict = SyncConflict(
        entity="measurement", entity_id=person_id, kelurahan_code=kelurahan_code,
        posyandu_id=posyandu_id, base_version=0, version=0,
        fields={"measurement": {"base": None,
                                "current": {**current, "submission_id": current_submission},
                                "incoming": {**incoming, "submission_id": incoming_submission}}},
        incoming_by=incoming_by, submission_id=incoming_submission)
    session.add(conflict)
    session.flush()
    return conflict.id


def _resolve_measurements(session: Session, conflict: SyncConflict, choose: str | None) -> None:
    """Keep the chosen measurement; the other no longer counts. Both leave the conflict."""
    from sync import touched
    from sync.process import record_change
    from sync.queries import records

    if choose not in ("incoming", "current"):
        raise InvalidInput('A measurement conflict is resolved with {"choose": "incoming"} or '
                           '{"choose": "current"}.', code="conflict.bad_resolution")
    field = conflict.fields["measurement"]
    keep = field[choose]["submission_id"]
    drop = field["incoming" if choose == "current" else "current"]["submission_id"]
    records.set_measurement_conflict(session, [keep, drop], None)
    records.mark_not_current(session, "anthropometry", drop)
    record_change(session, "anthropometry", keep, version=3)
    record_change(session, "anthropometry", drop, version=3, op="delete")
    touched.mark(session, persons=[conflict.entity_id])


_MUTATIONS = SyncMutation.__table__
_STORED_RESULT = Prepared(select(_MUTATIONS.c.result).where(
    _MUTATIONS.c.user_id == bindparam("user_id"),
    _MUTATIONS.c.mutation_id == bindparam("mutation_id")))
_STORE_RESULT = Prepared(insert(_MUTATIONS).inline())


def stored_results(session: Session, principal: Principal, mutation_ids: list[str]) -> dict:
    """{mutation_id: result} of the ones this account pushed before (a read, before the
    push's units are handed to the writer)."""
    t = _MUTATIONS
    postgres = session.get_bind().dialect.name == "postgresql"
    found = {}
    for start in range(0, len(mutation_ids), 1000):
        found.update(session.execute(select(t.c.mutation_id, t.c.result).where(
            t.c.user_id == principal.user_id, one_of(
                t.c.mutation_id, mutation_ids[start:start + 1000], postgresql=postgres))).all())
    return found


def existing_ids(session: Session, mutations: list[dict]) -> set[tuple[str, str]]:
    """(entity, id) of the push's creates whose id the registry has already."""
    postgres = session.get_bind().dialect.name == "postgresql"
    found = set()
    for kind in ("person", "household"):
        ids = sorted({m["id"] for m in mutations if m["op"] == "create" and m["entity"] == kind})
        table = _TABLES[kind][0].__table__
        for start in range(0, len(ids), 1000):
            found |= {(kind, i) for i in session.execute(select(table.c.id).where(one_of(
                table.c.id, ids[start:start + 1000], postgresql=postgres))).scalars()}
    return found


def apply_mutation(session: Session, principal: Principal, device_id: str, mutation: dict, *,
                   known_new: bool = False) -> dict:
    """One mutation, in the caller's transaction; returns its result (stored with it).

    `known_new`: the push's read before the writer found no stored result for it, so
    the lookup is skipped. If the same mutation was applied meanwhile by a concurrent
    push, storing this result fails on (user, mutation_id) at commit, and the unit of
    work redoes it alone, with the lookup (`known_new` is only taken in a group)."""
    mutation_id = mutation["mutation_id"]
    if not known_new:
        stored = _STORED_RESULT.scalar(session, {"user_id": principal.user_id,
                                                 "mutation_id": mutation_id})
        if stored is not None:
            return stored
    result = _apply_mutation(session, principal, device_id, mutation, known_new=known_new)
    # Queued (nothing reads it back in this transaction): no round trip of its own. The
    # same mutation applied twice at once still fails on (user, mutation_id) at commit.
    _STORE_RESULT.defer(session, {"user_id": principal.user_id, "device_id": device_id,
                                  "mutation_id": mutation_id, "result": result,
                                  "received_at": utcnow()})
    return result


def _apply_mutation(session: Session, principal: Principal, device_id: str, m: dict, *,
                    known_new: bool = False) -> dict:
    mid, kind, op = m["mutation_id"], m["entity"], m["op"]
    changes, problem = _coerce(kind, m.get("changes") or {})
    if problem:
        return _result(mid, "rejected", reason=problem)
    provenance = Provenance(actor_id=principal.user_id, submission_id=None,
                            reason=f"sync:{op}", scope=principal.scope)
    if op == "delete":
        return _result(mid, "rejected", reason="records are not deleted: ask a supervisor to "
                       "merge a duplicate")
    if op == "create":
        problem = _placed(principal, kind, changes)
        if problem:
            return _result(mid, "rejected", reason=problem)
        # known_new: the push's read found neither this mutation nor this id (a create
        # racing it fails on the primary key and is redone alone, with the check).
        if not known_new and (existing := ENTITIES[kind].rows.get(session, m["id"])) is not None:
            return _result(mid, "rejected", version=existing["version"],
                           reason=f"{kind} {m['id']} exists already")
        if kind == "person":  # resolved like a submission's person (sync.identity)
            problem = _bad_person(changes)
            if problem:
                return _result(mid, "rejected", reason=problem)
            person = resolve_pushed_person(session, m["id"], changes, provenance,
                                           known_absent=known_new).person
            redirected = m["id"] if person["id"] != m["id"] else None
            return _result(mid, "applied", id=person["id"], version=person["version"],
                           redirected_from=redirected)
        outcome = apply(session, kind, m["id"], 0, changes, provenance, known_absent=known_new)
        if outcome.status is Status.REJECTED:
            existing = ENTITIES[kind].rows.get(session, m["id"])
            return _result(mid, "rejected", version=existing and existing["version"],
                           reason=outcome.reason)
        return _result(mid, "applied", id=outcome.id, version=outcome.version)
    row = _survivor(session, kind, m["id"])
    if row is None or not principal.scope.covers_kelurahan(
            row["kelurahan_code"], row.get("posyandu_id") if kind == "person" else None):
        return _result(mid, "rejected", reason=f"no {kind} {m['id']} in your scope")
    redirected = m["id"] if row["id"] != m["id"] else None
    target = {**row, **changes}
    if not principal.scope.covers_kelurahan(target["kelurahan_code"],
                                            target.get("posyandu_id") if kind == "person" else None):
        return _result(mid, "rejected", reason="the change would move it outside your scope")
    base = m.get("base_version")
    if redirected:  # the base was a version of the merged-away record, not of the survivor
        base = None if base is None else _base_on_survivor(session, kind, row, base)
    outcome = apply(session, kind, row["id"], base, changes, provenance, current=row)
    extra = {"id": row["id"], "redirected_from": redirected} if redirected else {}
    if outcome.status is Status.REJECTED:
        return _result(mid, "rejected", version=outcome.version, reason=outcome.reason, **extra)
    if outcome.status is Status.CONFLICT:
        conflict_id = open_conflict(session, kind=kind, row=outcome.row, base_version=base,
                                    fields=outcome.conflicts, incoming_by=principal.user_id,
                                    device_id=device_id, mutation_id=mid)
        return _result(mid, "conflict", version=outcome.version, conflict_id=conflict_id, **extra)
    status = "merged" if outcome.merged else "applied"
    return _result(mid, status, version=outcome.version, **extra)


def _placed(principal: Principal, kind: str, changes: dict) -> str | None:
    """A create's place: a kader of one posyandu creates persons there unless told
    otherwise (filled in `changes`); why it cannot be created there, or None."""
    if kind == "person" and changes.get("posyandu_id") is None and \
            len(principal.scope.posyandu_ids) == 1 and not principal.scope.wilayah_codes:
        changes["posyandu_id"] = principal.scope.posyandu_ids[0]
    if not changes.get("kelurahan_code"):
        return "kelurahan_code is required"
    if not principal.scope.covers_kelurahan(changes["kelurahan_code"],
                                            changes.get("posyandu_id")):
        return "outside your scope"
    return None


def _pushed_claim(principal: Principal, mutation: dict) -> PersonClaim | None:
    """The identity claim a person create will resolve (as _apply_mutation checks it),
    or None if it is not one or will be rejected."""
    if mutation["entity"] != "person" or mutation["op"] != "create":
        return None
    changes, problem = _coerce("person", mutation.get("changes") or {})
    if problem or _placed(principal, "person", changes) or _bad_person(changes):
        return None
    return pushed_claim(changes)


def _bad_person(changes: dict) -> str | None:
    """Why a pushed person cannot be created as it is (sync.apply's checks), or None."""
    from sync.apply import ENTITIES, _bad_value

    if not changes.get("name"):
        return "a person needs a name"
    for name, value in changes.items():
        if (problem := _bad_value(ENTITIES["person"], name, value)) is not None:
            return problem
    return None


def _base_on_survivor(session: Session, kind: str, row: dict, base: int) -> int:
    """An edit of a merged-away record is based on the survivor as it was at the merge
    (its version then is unknown here): treat it as based on version 1, so any field the
    survivor changed since is a conflict to review, never an overwrite."""
    return 1


def validate_envelope(body: object, principal: Principal | None = None) -> tuple[str, list[dict]]:
    """(device_id, mutations) of a push body, or InvalidInput (a malformed envelope).
    Agencies read; they do not push."""
    if principal is not None and principal.role == "agency":
        raise Forbidden("Agency accounts read the registry; they do not change it.",
                        code="auth.role")
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.", code="sync.bad_push")
    device_id, mutations = body.get("device_id"), body.get("mutations")
    if not isinstance(device_id, str) or not 1 <= len(device_id) <= 64:
        raise InvalidInput("device_id must be text of 1-64 characters.", code="sync.bad_push")
    if not isinstance(mutations, list) or len(mutations) > MAX_MUTATIONS:
        raise InvalidInput(f"mutations must be a list of at most {MAX_MUTATIONS}.",
                           code="sync.bad_push")
    for i, m in enumerate(mutations):
        ok = (isinstance(m, dict) and isinstance(m.get("mutation_id"), str)
              and 1 <= len(m["mutation_id"]) <= 64 and m.get("entity") in PUSH_FIELDS
              and isinstance(m.get("id"), str) and 1 <= len(m["id"]) <= 36
              and m.get("op") in ("create", "update", "delete")
              and isinstance(m.get("changes", {}), dict)
              and (m.get("base_version") is None or (isinstance(m["base_version"], int)
                                                     and not isinstance(m["base_version"], bool))))
        if not ok:
            raise InvalidInput(f"mutations[{i}] needs mutation_id, entity (person or household), "
                               "id, op (create, update or delete), changes (an object) and "
                               "base_version (a number).", code="sync.bad_push")
    return device_id, mutations


@dataclass
class PushMutation:
    """A unit of work (sync.unit_of_work): one mutation in its own transaction."""

    principal: Principal
    device_id: str
    mutation: dict
    device_token: str | None = None

    known_new: bool = False  # no stored result when the push was read (see apply_mutation)

    @staticmethod
    def prepare_group(tx, units: list) -> None:
        """Before a group's mutations run: the records its updates change, read and
        locked in one statement per entity (sync.queries.versioned.lock_ahead), and
        the identity candidates of its person creates (sync.identity_ahead), not round
        trips per mutation."""
        for kind, entity in ENTITIES.items():
            entity.rows.lock_ahead(tx.session, [
                unit.mutation["id"] for unit in units
                if unit.mutation["entity"] == kind and unit.mutation["op"] == "update"])
        claims = [_pushed_claim(unit.principal, unit.mutation) for unit in units]
        read_ahead(tx.session, [claim for claim in claims if claim is not None])

    def store(self, tx) -> dict:
        # The same mutation sent twice at once: the second fails on (user, mutation_id)
        # and is redone alone, which finds the stored result.
        return apply_mutation(tx.session, self.principal, self.device_id, self.mutation,
                              known_new=self.known_new and tx.grouped)


def push_units(principal: Principal, device_id: str, mutations: list[dict], stored: dict,
               existing: set) -> list[PushMutation | None]:
    """The push's unit of work per mutation (None: a replay of a stored result).
    `known_new` (no lookups in the writer) only for the first mutation of a push with
    its mutation id and, for a create, the first create of its id: a repeat within one
    push looks up what the first one wrote, rather than failing its group at commit."""
    units: list[PushMutation | None] = []
    seen_mutations, seen_creates = set(), set()
    for m in mutations:
        if m["mutation_id"] in stored:
            units.append(None)
            continue
        create = (m["entity"], m["id"]) if m["op"] == "create" else None
        first = m["mutation_id"] not in seen_mutations and (
            create is None or create not in seen_creates)
        seen_mutations.add(m["mutation_id"])
        if create is not None:
            seen_creates.add(create)
        units.append(PushMutation(principal, device_id, m,
                                  known_new=first and (m["entity"], m["id"]) not in existing))
    return units


def touch_device(session: Session, *, principal: Principal, device_id: str, app: str | None,
                 pulled: bool = False, pushed: bool = False) -> None:
    device = session.get(SyncDevice, (device_id, principal.user_id))
    if device is None:
        device = SyncDevice(device_id=device_id, user_id=principal.user_id)
    device.app = (app or device.app or "")[:120] or None
    now = utcnow()
    if pulled:
        device.last_pull_at = now
    if pushed:
        device.last_push_at = now
    session.add(device)


# ---------------------------------------------------------------- conflicts

def _conflicts_in_scope(scope: Scope):
    t = SyncConflict.__table__
    return _in_scope(scope, t)


def list_conflicts(session: Session, *, principal: Principal, status: str | None,
                   kelurahan_code: str | None, entity: str | None, limit: int,
                   offset: int) -> tuple[list[SyncConflict], int]:
    where = [_conflicts_in_scope(principal.scope)]
    if status:
        where.append(SyncConflict.status == status)
    if kelurahan_code:
        where.append(SyncConflict.kelurahan_code == kelurahan_code)
    if entity:
        where.append(SyncConflict.entity == entity)
    total = session.execute(select(func.count()).select_from(SyncConflict).where(*where)).scalar()
    rows = session.execute(select(SyncConflict).where(*where).order_by(SyncConflict.id)
                           .limit(limit).offset(offset)).scalars().all()
    return list(rows), total


def get_conflict_or_raise(session: Session, *, principal: Principal, conflict_id: int,
                          for_update: bool = False) -> SyncConflict:
    query = select(SyncConflict).where(SyncConflict.id == conflict_id,
                                       _conflicts_in_scope(principal.scope))
    row = session.execute(query.with_for_update() if for_update else query).scalar()
    if row is None:
        raise NotFound(f"No conflict {conflict_id} in your scope.", code="conflict.not_found")
    return row


def conflict_detail(session: Session, conflict: SyncConflict) -> dict:
    """Base, current and incoming value per field, with who sent each, when and from where."""
    if conflict.entity == "measurement":
        from models import Submission
        field = conflict.fields["measurement"]

        def sent(submission_id: int) -> dict | None:
            row = session.get(Submission, submission_id)
            return None if row is None else {
                "submission_id": row.id, "instance_id": row.instance_id,
                "user_id": row.submitter_id, "device_id": row.device_id,
                "at": row.received_at.isoformat()}
        return {"base": None, "current": sent(field["current"]["submission_id"]),
                "incoming": sent(field["incoming"]["submission_id"])}
    _, versions, key = _TABLES[conflict.entity]
    vt = versions.__table__

    def who(version: int) -> dict | None:
        row = session.execute(select(vt.c.changed_by, vt.c.changed_at, vt.c.reason).where(
            vt.c[key] == conflict.entity_id, vt.c.version == version)).first()
        return None if row is None else {"version": version, "user_id": row[0],
                                         "at": row[1].isoformat(), "reason": row[2]}

    return {"base": who(conflict.base_version), "current": who(conflict.version),
            "incoming": {"user_id": conflict.incoming_by, "device_id": conflict.device_id,
                         "mutation_id": conflict.mutation_id,
                         "submission_id": conflict.submission_id,
                         "at": conflict.created_at.isoformat()}}


def resolve_conflict(session: Session, *, principal: Principal, conflict_id: int,
                     choose: str | None, values: dict | None,
                     expected_version: int | None) -> tuple[SyncConflict, int]:
    """Write the chosen values as a new version (through sync.apply), mark the conflict
    resolved and audit it. Returns the conflict and the record's version."""
    if principal.role not in ("supervisor", "admin"):
        raise Forbidden("Only a supervisor resolves conflicts.", code="auth.role")
    if (choose is None) == (values is None):
        raise InvalidInput('Send either {"choose": "incoming" | "current"} or {"values": {...}}.',
                           code="conflict.bad_resolution")
    conflict = get_conflict_or_raise(session, principal=principal, conflict_id=conflict_id,
                                     for_update=True)
    if conflict.status != "open":
        raise Conflict(f"Conflict {conflict_id} is already resolved.", code="conflict.resolved")
    if conflict.entity == "measurement":
        _resolve_measurements(session, conflict, choose)
        return _mark_resolved(session, principal, conflict, choose, {}, 0), 0
    if choose is not None:
        if choose not in ("incoming", "current"):
            raise InvalidInput('choose is "incoming" or "current".', code="conflict.bad_resolution")
        chosen = {} if choose == "current" else {f: v["incoming"] for f, v in conflict.fields.items()}
    else:
        unknown = sorted(set(values) - set(PUSH_FIELDS[conflict.entity]))
        if unknown or not values:
            raise InvalidInput(f"values may only name the record's fields ({', '.join(unknown)}).",
                               code="conflict.bad_resolution")
        chosen = dict(values)
    changes, problem = _coerce(conflict.entity, chosen)
    if problem:
        raise InvalidInput(problem, code="conflict.bad_resolution")
    row = ENTITIES[conflict.entity].rows.get_for_update(session, conflict.entity_id)
    if row is None:
        raise NotFound(f"No {conflict.entity} {conflict.entity_id}.", code="conflict.not_found")
    if expected_version is not None and row["version"] != expected_version:
        raise Conflict(f"The record is at version {row['version']}, not {expected_version}: "
                       "look at it again.", code="conflict.record_moved")
    version = row["version"]
    if changes:
        outcome = apply(session, conflict.entity, row["id"], None, changes,
                        Provenance(actor_id=principal.user_id, submission_id=None,
                                   reason="conflict:resolve", scope=principal.scope), current=row)
        if outcome.status is Status.REJECTED:
            raise InvalidInput(outcome.reason or "rejected", code="conflict.bad_resolution")
        version = outcome.version
    from sync import touched
    touched.mark(session, **{"persons" if conflict.entity == "person" else "households":
                             [conflict.entity_id]})
    return _mark_resolved(session, principal, conflict, choose, changes, version), version


def _mark_resolved(session: Session, principal: Principal, conflict: SyncConflict,
                   choose: str | None, changes: dict, version: int) -> SyncConflict:
    conflict.status = "resolved"
    conflict.resolved_by = principal.user_id
    conflict.resolved_at = utcnow()
    conflict.resolution = {"choose": choose, "values": snapshot(changes, tuple(changes)),
                           "version": version}
    session.add(conflict)
    record_audit(session, actor_id=principal.user_id, action="conflict.resolve",
                 entity_type=conflict.entity, entity_id=conflict.entity_id,
                 detail={"conflict_id": conflict.id, **conflict.resolution})
    session.flush()
    return conflict


# ---------------------------------------------------------------- devices

def list_devices(session: Session, *, principal: Principal) -> list[dict]:
    """Each phone's user, app, last pull and push, and its open conflicts (scoped by the
    scopes of the phone's user)."""
    us = UserScope.__table__
    query = select(SyncDevice)
    if not principal.scope.everything:
        from models import Posyandu
        pt = Posyandu.__table__
        place = func.coalesce(us.c.wilayah_code, select(pt.c.kelurahan_code).where(
            pt.c.id == us.c.posyandu_id).scalar_subquery())
        query = query.where(select(us.c.id).where(
            us.c.user_id == SyncDevice.user_id,
            or_(scope_filter(principal.scope, place, us.c.posyandu_id),
                scope_filter(principal.scope, place))).exists())
    devices = session.execute(query.order_by(SyncDevice.user_id, SyncDevice.device_id)).scalars().all()
    pending = dict(session.execute(
        select(SyncConflict.device_id, func.count()).where(SyncConflict.status == "open")
        .group_by(SyncConflict.device_id)).all())
    from models import User
    names = dict(session.execute(select(User.id, User.username).where(
        User.id.in_({d.user_id for d in devices}))).all()) if devices else {}
    return [{"device_id": d.device_id, "user_id": d.user_id, "username": names.get(d.user_id),
             "app": d.app, "last_pull_at": d.last_pull_at, "last_push_at": d.last_push_at,
             "pending_conflicts": pending.get(d.device_id, 0)} for d in devices]


class _Subjects:
    """The persons and households whose data items carry (for the access log): the
    registry records themselves and the subjects of the field records."""

    def __init__(self) -> None:
        from sync.queries.records import RECORD_ENTITIES, SUBJECT_COLUMN

        self.columns = {RECORD_ENTITIES[form]: column for form, column in SUBJECT_COLUMN.items()}
        self.persons: list[str] = []
        self.households: list[str] = []

    def add(self, entity: str, entity_id: str, data) -> None:
        """An item of `entity` with `data` (a record's dict; for a registry record,
        anything true: its data is there)."""
        if not data:
            return
        if entity in ("person", "household"):
            (self.persons if entity == "person" else self.households).append(entity_id)
        elif data.get(column := self.columns.get(entity, "")):
            (self.households if column == "household_id" else self.persons).append(data[column])


def subjects_of(items: list[dict]) -> tuple[list[str], list[str]]:
    """The persons and households whose data is in `items` (feed changes, snapshot
    records): the registry records themselves and the subjects of the field records
    (for the access log)."""
    subjects = _Subjects()
    for item in items:
        subjects.add(item["entity"], item["id"], item.get("data"))
    return subjects.persons, subjects.households
