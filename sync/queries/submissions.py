"""Raw submissions and their attachments."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Integer, bindparam, insert, select, text, update
from sqlmodel import Session

from core.statements import Prepared
from models import Attachment, FormVersion, Posyandu, Submission, Wilayah

SUBMISSION = Submission.__table__
ATTACHMENT = Attachment.__table__
_FORM_VERSION = FormVersion.__table__
_WILAYAH = Wilayah.__table__
_POSYANDU = Posyandu.__table__


@dataclass(frozen=True)
class PlaceFacts:
    """What the registry says of a submission's kelurahan code and posyandu id."""

    kelurahan_code: str | None
    posyandu_id: int | None
    level: str | None  # the wilayah level of kelurahan_code; None: no such code
    posyandu_kelurahan: str | None  # the posyandu's kelurahan; None: no such posyandu
    posyandu_active: bool | None = None  # None: no such posyandu (or not looked up)


@dataclass(frozen=True)
class IntakeContext:
    """Everything intake and processing need to know about one submission before
    touching it, from one query: its form version's state, the row already stored for
    this (form, instanceID) if any, whether an edit of it by the same sender arrived
    first, and the place it names."""

    form_state: str
    stored_id: int | None
    stored_hash: str | None
    stored_status: str | None
    edited_by: int | None  # the id of a later edit (meta/deprecatedID) already stored
    place: PlaceFacts


_STORED = SUBMISSION.alias("stored")
_EDIT = SUBMISSION.alias("edit")
# No row: no such form version.
_CONTEXT = Prepared(
    select(_FORM_VERSION.c.state, _STORED.c.id, _STORED.c.content_hash, _STORED.c.status,
           select(_EDIT.c.id).where(_EDIT.c.form_id == bindparam("form_id"),
                                    _EDIT.c.deprecated_id == bindparam("instance_id"),
                                    _EDIT.c.submitter_id == bindparam("submitter_id"))
           .limit(1).scalar_subquery().label("edited_by"),
           select(_WILAYAH.c.level).where(_WILAYAH.c.code == bindparam("kelurahan_code"))
           .scalar_subquery().label("kelurahan_level"),
           select(_POSYANDU.c.kelurahan_code).where(_POSYANDU.c.id == bindparam("posyandu_id"))
           .scalar_subquery().label("posyandu_kelurahan"),
           select(_POSYANDU.c.is_active).where(_POSYANDU.c.id == bindparam("posyandu_id"))
           .scalar_subquery().label("posyandu_active"))
    .select_from(_FORM_VERSION.outerjoin(_STORED, (_STORED.c.form_id == _FORM_VERSION.c.form_id)
                                         & (_STORED.c.instance_id == bindparam("instance_id"))))
    .where(_FORM_VERSION.c.form_id == bindparam("form_id"),
           _FORM_VERSION.c.version == bindparam("version")))
_PLACE = Prepared(select(_WILAYAH.c.level, select(_POSYANDU.c.kelurahan_code).where(
    _POSYANDU.c.id == bindparam("posyandu_id")).scalar_subquery()).where(
    _WILAYAH.c.code == bindparam("code")))


def intake_context(session: Session, *, form_id: str, version: str, instance_id: str,
                   submitter_id: int | None, kelurahan_code: str | None,
                   posyandu_id: int | None) -> IntakeContext | None:
    """None when the server has no such form version."""
    row = _CONTEXT.first(session, _context_params(form_id, version, instance_id, submitter_id,
                                                  kelurahan_code, posyandu_id))
    return _context_of(row, kelurahan_code, posyandu_id)


def _context_params(form_id: str, version: str, instance_id: str, submitter_id: int | None,
                    kelurahan_code: str | None, posyandu_id: int | None) -> dict:
    return {"form_id": form_id, "version": version, "instance_id": instance_id,
            "submitter_id": submitter_id, "kelurahan_code": kelurahan_code,
            "posyandu_id": posyandu_id}


def _context_of(row, kelurahan_code: str | None, posyandu_id: int | None) -> IntakeContext | None:
    if row is None:
        return None
    return IntakeContext(row.state, row.id, row.content_hash, row.status, row.edited_by,
                         PlaceFacts(kelurahan_code, posyandu_id, row.kelurahan_level,
                                    row.posyandu_kelurahan,
                                    None if row.posyandu_active is None
                                    else bool(row.posyandu_active)))


def context_reads(session: Session, requests: list[dict]) -> list[tuple[Prepared, dict]]:
    """The reads of `intake_context` for each request (its keyword arguments) and, on
    PostgreSQL, of as many new submission ids from the table's sequence (SQLite has
    none): to send in one round trip with others, and decode with `contexts_from`."""
    calls = [(_CONTEXT, _context_params(**request)) for request in requests]
    if session.connection().dialect.name == "postgresql":
        calls.append((_RESERVE_IDS, {"n": len(requests)}))
    return calls


def contexts_from(requests: list[dict], results: list[list]
                  ) -> tuple[list[IntakeContext | None], list[int]]:
    """The contexts and reserved ids (none on SQLite) that `context_reads` read."""
    contexts = [_context_of(rows[0] if rows else None, request["kelurahan_code"],
                            request["posyandu_id"]) for rows, request in zip(results, requests)]
    reserved = results[len(requests):]
    return contexts, [row.id for row in reserved[0]] if reserved else []


def place_facts(session: Session, kelurahan_code: str | None,
                posyandu_id: int | None) -> PlaceFacts:
    row = _PLACE.first(session, {"code": kelurahan_code, "posyandu_id": posyandu_id})
    level, posyandu_kelurahan = row if row is not None else (None, None)
    return PlaceFacts(kelurahan_code, posyandu_id, level, posyandu_kelurahan)


_INSERTED_COLUMNS = [c for c in SUBMISSION.c if c.name != "id"]
# INSERT ... ON CONFLICT DO NOTHING RETURNING id: the same SQL on SQLite and PostgreSQL,
# written once as text (with the columns' types) instead of each dialect's on_conflict
# construct.
_INSERT_IF_ABSENT = Prepared(text(
    f"INSERT INTO submission ({', '.join(c.name for c in _INSERTED_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c.name for c in _INSERTED_COLUMNS)}) "
    "ON CONFLICT (form_id, instance_id) DO NOTHING RETURNING id"
).bindparams(*(bindparam(c.name, type_=c.type) for c in _INSERTED_COLUMNS)).columns(id=Integer),
    tables={"submission"})
# A stored submission with an id taken ahead: a plain INSERT, queued (core.statements.
# deferred_inserts). Its (form, instanceID) was not stored when read ahead; if a racing
# POST stored it since, the unique constraint fails the statement, and with it the
# group, whose units are then redone alone (sync.unit_of_work) and find it stored.
_INSERT_WITH_ID = Prepared(insert(SUBMISSION))
_RESERVE_IDS = Prepared(text(
    "SELECT nextval(pg_get_serial_sequence('submission', 'id')) AS id "
    "FROM generate_series(1, :n)").bindparams(bindparam("n", type_=Integer)).columns(id=Integer),
    tables=set())
_FIND = Prepared(select(SUBMISSION.c.id, SUBMISSION.c.content_hash, SUBMISSION.c.status).where(
    SUBMISSION.c.form_id == bindparam("form_id"), SUBMISSION.c.instance_id == bindparam("instance_id")))
_SENDER = Prepared(select(SUBMISSION.c.id, SUBMISSION.c.submitter_id).where(
    SUBMISSION.c.form_id == bindparam("form_id"),
    SUBMISSION.c.instance_id == bindparam("instance_id")))
_SET = Prepared(update(SUBMISSION).where(SUBMISSION.c.id == bindparam("_id")))
_ATTACHMENTS_OF = Prepared(select(ATTACHMENT.c.name, ATTACHMENT.c.sha256).where(
    ATTACHMENT.c.submission_id == bindparam("submission_id")))
_INSERT_ATTACHMENT = Prepared(insert(ATTACHMENT).inline())

# What processing reads of a stored submission.
REF_COLUMNS = ("id", "form_id", "form_version", "instance_id", "deprecated_id",
               "submitter_id", "content_type", "content", "received_at", "attempts",
               "kelurahan_code", "posyandu_id", "status")
_REF = Prepared(select(*(SUBMISSION.c[name] for name in REF_COLUMNS))
                .where(SUBMISSION.c.id == bindparam("id")))


# ------------------------------------------------------------------ writes, watched


@dataclass
class Writes:
    """What this transaction wrote to `submission` since `watch_writes` (for a reader
    that read submissions ahead: sync.intake_ahead)."""

    instances: set[tuple[str, str]] = field(default_factory=set)  # (form, instanceID)
    edits_of: set[tuple[str, str]] = field(default_factory=set)  # (form, deprecatedID)
    changed: set[int] = field(default_factory=set)  # ids whose row was updated


_WATCH = "posyandu.submission_writes"


def watch_writes(session: Session) -> Writes:
    """From now until the transaction ends (or `stop_watching`), note this module's
    writes. Writes by other means (an ORM flush, Session.execute) are not noted: a
    watcher must stop trusting them when those happen."""
    writes = session.info[_WATCH] = Writes()
    return writes


def stop_watching(session: Session) -> None:
    session.info.pop(_WATCH, None)


def _inserted(session: Session, values: dict) -> None:
    writes = session.info.get(_WATCH)
    if writes is not None:
        writes.instances.add((values["form_id"], values["instance_id"]))
        if values.get("deprecated_id"):
            writes.edits_of.add((values["form_id"], values["deprecated_id"]))


def insert_if_absent(session: Session, values: dict) -> int | None:
    """The new submission's id, or None when (form, instanceID) is already stored."""
    _inserted(session, values)
    return _INSERT_IF_ABSENT.scalar(session, values)


def insert_queued(session: Session, submission_id: int, values: dict) -> None:
    """Store a new submission under an id reserved for it (`context_reads`), queued
    with the transaction's other writes: read ahead, its (form, instanceID) was not
    stored (see _INSERT_WITH_ID for a racing POST)."""
    _inserted(session, values)
    _INSERT_WITH_ID.defer(session, {"id": submission_id, **values})


def find(session: Session, form_id: str, instance_id: str):
    """(id, content_hash, status) of the stored (form, instanceID), or None."""
    return _FIND.first(session, {"form_id": form_id, "instance_id": instance_id})


def sender_of(session: Session, form_id: str, instance_id: str):
    """(id, submitter_id) of the stored (form, instanceID), or None."""
    return _SENDER.first(session, {"form_id": form_id, "instance_id": instance_id})


def set_values(session: Session, submission_id: int, **values) -> None:
    writes = session.info.get(_WATCH)
    if writes is not None:
        writes.changed.add(submission_id)
    _SET.run(session, {"_id": submission_id, **values})


def attachments_of(session: Session, submission_id: int) -> dict[str, str]:
    """name -> SHA-256 of the submission's stored attachments."""
    return dict(_ATTACHMENTS_OF.all(session, {"submission_id": submission_id}))


def add_attachment(session: Session, values: dict) -> None:
    _INSERT_ATTACHMENT.run(session, values)


def load(session: Session, submission_id: int) -> dict | None:
    """The columns processing needs (REF_COLUMNS), or None."""
    return _REF.mapping(session, {"id": submission_id})


def ids_to_reprocess(session: Session, *, statuses: tuple[str, ...], ids: list[int] | None,
                     limit: int | None) -> list[int]:
    query = select(SUBMISSION.c.id).order_by(SUBMISSION.c.id)
    query = query.where(SUBMISSION.c.id.in_(ids)) if ids else query.where(
        SUBMISSION.c.status.in_(statuses))
    if limit:
        query = query.limit(limit)
    return list(session.execute(query).scalars().all())
