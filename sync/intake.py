"""Receiving submissions: store the raw bytes first, then process, in one transaction.

Idempotency is keyed on (form, instanceID) and enforced by a unique constraint:
- the same bytes again  -> "duplicate" (new attachments are added: Collect splits
  large submissions over several POSTs);
- different bytes       -> 409 submission.xml_conflict;
- two identical POSTs racing -> the database keeps exactly one (INSERT ... ON CONFLICT
  DO NOTHING), the loser is answered as a duplicate.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import Integer, bindparam, insert, select, text
from sqlmodel import Session

from core.errors import Conflict, Forbidden, InvalidInput
from core.statements import Prepared
from models import Attachment, FormVersion, Posyandu, Submission, Wilayah
from models.base import utcnow
from sync.accounts import Principal
from sync.fields import Answers, flatten_answers, parse_record_id
from sync.forms import version_not_found
from sync.process import PlaceFacts, SubmissionRef, failure_message, process_new
from sync.submission_xml import ParsedSubmission, parse_submission

SUBMISSION = Submission.__table__
ATTACHMENT = Attachment.__table__

SUBMITTING_ROLES = ("kader", "supervisor", "admin")
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class IncomingFile:
    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class IntakeResult:
    submission_id: int
    instance_id: str
    status: str  # received, processed, failed, superseded
    created: bool


def sanitise_filename(name: str) -> str:
    """Keep the base name only, in a safe alphabet: no directories, no traversal."""
    base = unicodedata.normalize("NFKC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME_CHARS.sub("_", base).strip("._")
    if not base:
        raise InvalidInput(f"Attachment name {name!r} is not usable.", code="submission.bad_attachment_name")
    return base[:200]


def _check_scope(principal: Principal, fields: dict[str, str],
                 posyandu_kelurahan: str | None) -> None:
    """The sender may submit for the posyandu and the kelurahan the submission names
    (`posyandu_kelurahan`: where that posyandu really is; None if there is none).
    Both count: a submission is shown to whoever has either in scope."""
    if principal.role not in SUBMITTING_ROLES:
        raise Forbidden(f"A {principal.role} account cannot submit forms.", code="submission.role")
    scope = principal.scope
    if scope.everything:
        return
    kelurahan = (fields.get("kelurahan_code") or "").strip() or None
    raw_posyandu = (fields.get("posyandu_id") or "").strip()
    posyandu_id = parse_record_id(raw_posyandu)
    if raw_posyandu and posyandu_id is None:
        raise InvalidInput(f"posyandu_id {raw_posyandu!r} is not a posyandu id.",
                           code="submission.bad_posyandu_id")
    own_posyandu = posyandu_id is not None and posyandu_id in scope.posyandu_ids
    if posyandu_id is not None and not own_posyandu and not (
            posyandu_kelurahan and scope.covers_wilayah(posyandu_kelurahan)):
        raise Forbidden(f"This submission is for posyandu {posyandu_id}, which is outside "
                        "your scope.", code="submission.scope")
    if (kelurahan is not None or posyandu_id is None) and not scope.covers_kelurahan(
            kelurahan, posyandu_id if own_posyandu else None):
        raise Forbidden(f"This submission is for kelurahan {kelurahan}, which is outside "
                        "your scope.", code="submission.scope")


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
_FIND = Prepared(select(SUBMISSION.c.id, SUBMISSION.c.content_hash, SUBMISSION.c.status).where(
    SUBMISSION.c.form_id == bindparam("form_id"), SUBMISSION.c.instance_id == bindparam("instance_id")))
_FORM_VERSION = FormVersion.__table__
_WILAYAH = Wilayah.__table__
_POSYANDU = Posyandu.__table__
_STORED = SUBMISSION.alias("stored")
_EDIT = SUBMISSION.alias("edit")
# Everything the server knows before storing a submission, in one query: the form
# version's state, the submission if this (form, instanceID) is already stored, whether
# an edit of it (by the same sender) arrived first, and what processing checks of the
# place it names (the kelurahan code's level, the posyandu's kelurahan).
# No row: no such version.
_BEFORE_STORING = Prepared(
    select(_FORM_VERSION.c.state, _STORED.c.id, _STORED.c.content_hash, _STORED.c.status,
           select(_EDIT.c.id).where(_EDIT.c.form_id == bindparam("form_id"),
                                    _EDIT.c.deprecated_id == bindparam("instance_id"),
                                    _EDIT.c.submitter_id == bindparam("submitter_id"))
           .limit(1).scalar_subquery().label("edited_by"),
           select(_WILAYAH.c.level).where(_WILAYAH.c.code == bindparam("kelurahan_code"))
           .scalar_subquery().label("kelurahan_level"),
           select(_POSYANDU.c.kelurahan_code).where(_POSYANDU.c.id == bindparam("posyandu_id"))
           .scalar_subquery().label("posyandu_kelurahan"))
    .select_from(_FORM_VERSION.outerjoin(_STORED, (_STORED.c.form_id == _FORM_VERSION.c.form_id)
                                         & (_STORED.c.instance_id == bindparam("instance_id"))))
    .where(_FORM_VERSION.c.form_id == bindparam("form_id"),
           _FORM_VERSION.c.version == bindparam("version")))
_ATTACHMENTS_OF = Prepared(select(ATTACHMENT.c.name, ATTACHMENT.c.sha256).where(
    ATTACHMENT.c.submission_id == bindparam("submission_id")))
_INSERT_ATTACHMENT = Prepared(insert(ATTACHMENT).inline())


def _insert_if_absent(session: Session, values: dict) -> int | None:
    """The new submission's id, or None when (form, instanceID) is already stored."""
    return _INSERT_IF_ABSENT.scalar(session, values)


def _find(session: Session, form_id: str, instance_id: str):
    return _FIND.first(session, {"form_id": form_id, "instance_id": instance_id})


def _add_attachments(session: Session, submission_id: int, files: list[IncomingFile]) -> None:
    """Store the attachments not stored yet (a split submission sends them over several
    POSTs); the same name with other content is a 409."""
    if not files:
        return
    existing = dict(_ATTACHMENTS_OF.all(session, {"submission_id": submission_id}))
    for f in files:
        name = sanitise_filename(f.name)
        digest = hashlib.sha256(f.data).hexdigest()
        if name in existing:
            if existing[name] != digest:
                raise Conflict(f"Attachment {name} was already received with different content.",
                               code="submission.attachment_conflict")
            continue
        _INSERT_ATTACHMENT.run(session, dict(
            submission_id=submission_id, name=name,
            content_type=(f.content_type or "application/octet-stream")[:100],
            size=len(f.data), sha256=digest, data=f.data, received_at=utcnow()))
        existing[name] = digest


def _may_submit(principal: Principal, form_id: str, before, fields: dict[str, str]) -> None:
    """`before`: what _BEFORE_STORING found (the form's state, the posyandu's kelurahan)."""
    if before.state == "closed":
        raise Conflict(f"Form {form_id} is closed and no longer accepts submissions.",
                       code="form.closed")
    _check_scope(principal, fields, before.posyandu_kelurahan)


def _already_received(session: Session, stored, *, principal: Principal, before,
                      parsed: ParsedSubmission, digest: str,
                      files: list[IncomingFile]) -> IntakeResult:
    """A retry (same bytes: new split attachments are added) or a conflicting reuse of
    the instanceID (409)."""
    if stored.content_hash != digest:
        raise Conflict(
            f"A different submission with instanceID {parsed.instance_id} was already "
            "received. Edits must be sent as a new instance with meta/deprecatedID.",
            code="submission.xml_conflict")
    try:
        _may_submit(principal, parsed.form_id, before, parsed.fields)
    except (Conflict, Forbidden):
        # A phone retrying what was stored before the form closed (or its scope
        # changed) is told it is safe, not that it failed; nothing is added.
        pass
    else:
        _add_attachments(session, stored.id, files)
    return IntakeResult(stored.id, parsed.instance_id, stored.status, created=False)


def store_and_process(session: Session, *, principal: Principal, parsed: ParsedSubmission,
                      content: bytes, content_type: str, source: str,
                      files: list[IncomingFile] = (), identity: bytes | None = None,
                      shared: bool = False) -> IntakeResult:
    """The one write path every intake (OpenRosa, Kobo, JSON) goes through.

    `identity` is what idempotency compares (default: the content itself); Kobo sends
    metadata that may change between retries, so it passes the answers only.

    The submission is stored as processed and processed in the same transaction. If
    processing fails, the transaction is rolled back and the submission is stored
    again, alone, as failed with the reason: it is never lost, and the registry is
    never half-written. `shared`: the transaction holds other submissions too, so it
    cannot be rolled back for this one alone: the failure is raised, and the caller
    rolls everything back and redoes each submission alone (api.submission_writer).
    """
    files = list(files)
    digest = hashlib.sha256(content if identity is None else identity).hexdigest()
    kelurahan_code = (parsed.fields.get("kelurahan_code") or "").strip()[:13] or None
    posyandu_id = parse_record_id(parsed.fields.get("posyandu_id"))
    before = _BEFORE_STORING.first(session, {
        "form_id": parsed.form_id, "version": parsed.form_version,
        "instance_id": parsed.instance_id, "submitter_id": principal.user_id,
        "kelurahan_code": kelurahan_code, "posyandu_id": posyandu_id})
    if before is None:
        raise version_not_found(session, parsed.form_id, parsed.form_version)
    if before.id is not None:
        return _already_received(session, before, principal=principal, before=before,
                                 parsed=parsed, digest=digest, files=files)
    _may_submit(principal, parsed.form_id, before, parsed.fields)

    now = utcnow()
    values = dict(
        form_id=parsed.form_id, form_version=parsed.form_version, instance_id=parsed.instance_id,
        deprecated_id=parsed.deprecated_id, source=source, content_type=content_type,
        content=content, content_hash=digest, submitter_id=principal.user_id,
        app_token_id=principal.app_token_id, device_id=parsed.device_id,
        kelurahan_code=kelurahan_code, posyandu_id=posyandu_id,
        received_at=now, status="processed", error=None, attempts=1, processed_at=now)
    new_id = _insert_if_absent(session, values)
    if new_id is not None:
        _add_attachments(session, new_id, files)
        ref = SubmissionRef(id=new_id, **{k: values[k] for k in (
            "form_id", "instance_id", "deprecated_id", "submitter_id", "content_type", "content",
            "received_at", "attempts")})
        try:
            place = PlaceFacts(kelurahan_code, posyandu_id, before.kelurahan_level,
                               before.posyandu_kelurahan)
            status = process_new(session, ref, Answers(parsed.fields), scope=principal.scope,
                                 edited=before.edited_by is not None, place=place)
            return IntakeResult(new_id, parsed.instance_id, status, created=True)
        except Exception as exc:  # noqa: BLE001 - stored as failed below, shown to admins
            if shared:
                raise
            error = failure_message(exc, new_id)
        session.rollback()
        values.update(status="failed", error=error)
        new_id = _insert_if_absent(session, values)
        if new_id is not None:
            _add_attachments(session, new_id, files)
            return IntakeResult(new_id, parsed.instance_id, "failed", created=True)
    # An identical POST racing this one stored it first.
    return _already_received(session, _find(session, parsed.form_id, parsed.instance_id),
                             principal=principal, before=before, parsed=parsed,
                             digest=digest, files=files)


def receive_openrosa(session: Session, *, principal: Principal, xml: bytes,
                     files: list[IncomingFile], shared: bool = False) -> IntakeResult:
    parsed = parse_submission(xml)
    return store_and_process(session, principal=principal, parsed=parsed, content=xml,
                             content_type="text/xml", source="openrosa", files=files,
                             shared=shared)


def receive_json(session: Session, *, principal: Principal, form_id: str, form_version: str,
                 instance_id: str, answers: dict, source: str,
                 deprecated_id: str | None = None, raw: bytes | None = None) -> IntakeResult:
    """Kobo REST-service and JSON intake: answers keyed by (group/)question name.

    `raw` is the whole payload as received (stored); idempotency compares the answers.
    """
    flat = flatten_answers(answers)
    if any("\x00" in value for value in (*flat.values(), instance_id, deprecated_id or "")):
        raise InvalidInput("Answers and ids may not contain NUL characters.",
                           code="submission.nul")
    parsed = ParsedSubmission(form_id=form_id, form_version=form_version,
                              instance_id=instance_id, deprecated_id=deprecated_id,
                              device_id=(flat.get("deviceid") or "")[:100] or None, fields=flat)
    identity = json.dumps(answers, sort_keys=True, ensure_ascii=False).encode()
    return store_and_process(session, principal=principal, parsed=parsed,
                             content=raw if raw is not None else identity,
                             content_type="application/json", source=source, identity=identity)
