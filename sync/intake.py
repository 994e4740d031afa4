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

from sqlmodel import Session

from core.errors import Conflict, Forbidden, InvalidInput
from models.base import utcnow
from sync import intake_ahead
from sync.accounts import Principal
from sync.fields import Answers, flatten_answers, named_place, parse_record_id
from sync.forms import version_not_found
from sync.process import SubmissionRef, process_stored
from sync.queries import submissions
from sync.queries.submissions import IntakeContext
from sync.submission_xml import ParsedSubmission, parse_submission
from sync.unit_of_work import Tx

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


def _add_attachments(session: Session, submission_id: int, files: list[IncomingFile]) -> None:
    """Store the attachments not stored yet (a split submission sends them over several
    POSTs); the same name with other content is a 409."""
    if not files:
        return
    existing = submissions.attachments_of(session, submission_id)
    for f in files:
        name = sanitise_filename(f.name)
        digest = hashlib.sha256(f.data).hexdigest()
        if name in existing:
            if existing[name] != digest:
                raise Conflict(f"Attachment {name} was already received with different content.",
                               code="submission.attachment_conflict")
            continue
        submissions.add_attachment(session, dict(
            submission_id=submission_id, name=name,
            content_type=(f.content_type or "application/octet-stream")[:100],
            size=len(f.data), sha256=digest, data=f.data, received_at=utcnow()))
        existing[name] = digest


def _may_submit(principal: Principal, form_id: str, context: IntakeContext,
                fields: dict[str, str]) -> None:
    if context.form_state == "closed":
        raise Conflict(f"Form {form_id} is closed and no longer accepts submissions.",
                       code="form.closed")
    _check_scope(principal, fields, context.place.posyandu_kelurahan)
    if context.place.posyandu_active is False:
        raise Conflict(f"Posyandu {context.place.posyandu_id} is no longer active; it takes no "
                       "new submissions.", code="posyandu.inactive")


def _already_received(session: Session, stored_id: int, stored_hash: str, stored_status: str,
                      *, principal: Principal, context: IntakeContext,
                      parsed: ParsedSubmission, digest: str,
                      files: list[IncomingFile]) -> IntakeResult:
    """A retry (same bytes: new split attachments are added) or a conflicting reuse of
    the instanceID (409)."""
    if stored_hash != digest:
        raise Conflict(
            f"A different submission with instanceID {parsed.instance_id} was already "
            "received. Edits must be sent as a new instance with meta/deprecatedID.",
            code="submission.xml_conflict")
    try:
        _may_submit(principal, parsed.form_id, context, parsed.fields)
    except (Conflict, Forbidden):
        # A phone retrying what was stored before the form closed (or its scope
        # changed) is told it is safe, not that it failed; nothing is added.
        pass
    else:
        _add_attachments(session, stored_id, files)
    return IntakeResult(stored_id, parsed.instance_id, stored_status, created=False)


@dataclass
class StoredSubmission:
    """A submission stored in this transaction (as processed), its processing to come
    (sync.unit_of_work.Staged)."""

    values: dict  # the submission row as inserted
    ref: SubmissionRef
    principal: Principal
    parsed: ParsedSubmission
    context: IntakeContext
    digest: str
    files: list[IncomingFile]

    def process(self, tx: Tx) -> IntakeResult:
        status = process_stored(tx.session, self.ref, Answers(self.parsed.fields),
                                scope=self.principal.scope, context=self.context)
        return IntakeResult(self.ref.id, self.parsed.instance_id, status, created=True)

    def failed(self, tx: Tx, message: str) -> IntakeResult:
        """Stored again, alone, as failed with the reason (its processing rolled back)."""
        values = {**self.values, "status": "failed", "error": message}
        new_id = submissions.insert_if_absent(tx.session, values)
        if new_id is None:  # an identical POST racing this one stored it first
            return self._racing(tx.session)
        _add_attachments(tx.session, new_id, self.files)
        return IntakeResult(new_id, self.parsed.instance_id, "failed", created=True)

    def _racing(self, session: Session) -> IntakeResult:
        row = submissions.find(session, self.parsed.form_id, self.parsed.instance_id)
        return _already_received(session, row.id, row.content_hash, row.status,
                                 principal=self.principal, context=self.context,
                                 parsed=self.parsed, digest=self.digest, files=self.files)


def store(session: Session, *, principal: Principal, parsed: ParsedSubmission,
          content: bytes, content_type: str, source: str, files: list[IncomingFile] = (),
          identity: bytes | None = None,
          ahead: intake_ahead.Ahead | None = None) -> StoredSubmission | IntakeResult:
    """Store a received submission (raw first): the stored submission, to be processed
    in the same transaction, or the answer to a retry of one stored before.

    The one store every intake (OpenRosa, Kobo, JSON) goes through; the unit of work
    processes what it returns, and stores it as failed if that fails.
    `identity` is what idempotency compares (default: the content itself); Kobo sends
    metadata that may change between retries, so it passes the answers only.
    `ahead`: its context as its writer group read it ahead (sync.intake_ahead).
    """
    files = list(files)
    digest = hashlib.sha256(content if identity is None else identity).hexdigest()
    kelurahan_code, posyandu_id = named_place(parsed.fields)
    fresh = ahead is not None and ahead.fresh
    context = ahead.context if fresh else submissions.intake_context(
        session, form_id=parsed.form_id, version=parsed.form_version,
        instance_id=parsed.instance_id, submitter_id=principal.user_id,
        kelurahan_code=kelurahan_code, posyandu_id=posyandu_id)
    if context is None:
        raise version_not_found(session, parsed.form_id, parsed.form_version)
    if context.stored_id is not None:
        return _already_received(session, context.stored_id, context.stored_hash,
                                 context.stored_status, principal=principal, context=context,
                                 parsed=parsed, digest=digest, files=files)
    _may_submit(principal, parsed.form_id, context, parsed.fields)

    now = utcnow()
    values = dict(
        form_id=parsed.form_id, form_version=parsed.form_version, instance_id=parsed.instance_id,
        deprecated_id=parsed.deprecated_id, source=source, content_type=content_type,
        content=content, content_hash=digest, submitter_id=principal.user_id,
        app_token_id=principal.app_token_id, device_id=parsed.device_id,
        kelurahan_code=kelurahan_code, posyandu_id=posyandu_id,
        received_at=now, status="processed", error=None, attempts=1, processed_at=now)
    stored = StoredSubmission(values, None, principal, parsed, context, digest, files)
    if fresh and (new_id := intake_ahead.reserved_id(session)) is not None:
        submissions.insert_queued(session, new_id, values)
    else:
        new_id = submissions.insert_if_absent(session, values)
        if new_id is None:  # an identical POST racing this one stored it first
            return stored._racing(session)
    _add_attachments(session, new_id, files)
    stored.ref = SubmissionRef(id=new_id, **{k: values[k] for k in (
        "form_id", "form_version", "instance_id", "deprecated_id", "submitter_id",
        "content_type", "content", "received_at", "attempts")})
    return stored


@dataclass
class OpenRosaSubmission:
    """A unit of work (sync.unit_of_work): one OpenRosa POST /submission.

    `principal`: the sender when already known (HTTP Basic, checked before the writer);
    else `device_token` is looked up in the unit's transaction, with its group's."""

    xml: bytes
    files: list[IncomingFile]
    principal: Principal | None = None
    device_token: str | None = None

    @staticmethod
    def prepare_group(tx: Tx, units: list[OpenRosaSubmission]) -> None:
        intake_ahead.read(tx, units)

    def store(self, tx: Tx) -> StoredSubmission | IntakeResult:
        ahead = intake_ahead.take(tx.session, self)
        if ahead is not None:
            principal, parsed = ahead.principal, ahead.parsed
        else:
            principal = self.principal or tx.principal_from_app_token(self.device_token)
            parsed = parse_submission(self.xml)
        return store(tx.session, principal=principal, parsed=parsed, content=self.xml,
                     content_type="text/xml", source="openrosa", files=self.files, ahead=ahead)


def store_json(session: Session, *, principal: Principal, form_id: str, form_version: str,
               instance_id: str, answers: dict, source: str,
               deprecated_id: str | None = None,
               raw: bytes | None = None) -> StoredSubmission | IntakeResult:
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
    return store(session, principal=principal, parsed=parsed,
                 content=raw if raw is not None else identity,
                 content_type="application/json", source=source, identity=identity)
