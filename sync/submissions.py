"""Submissions as administrators see them: scoped listing, detail, reprocessing.
(The records made from them are read in sync/queries/record_lists.py.)"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from core.errors import NotFound
from models import (
    Attachment,
    Measurement,
    PregnancyScreening,
    SanitationCheck,
    Submission,
)
from sync.accounts import Principal, record_audit
from sync.process import ReprocessSubmission
from sync.scope import scope_filter


def _scoped(principal: Principal):
    return select(Submission).where(
        scope_filter(principal.scope, Submission.kelurahan_code, Submission.posyandu_id))


def list_submissions(session: Session, *, principal: Principal, status: str | None,
                     form_id: str | None, limit: int, offset: int) -> tuple[list[Submission], int]:
    query = _scoped(principal)
    if status:
        query = query.where(Submission.status == status)
    if form_id:
        query = query.where(Submission.form_id == form_id)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Submission.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), total


def get_submission_or_raise(session: Session, *, principal: Principal, submission_id: int) -> Submission:
    row = session.exec(_scoped(principal).where(Submission.id == submission_id)).first()
    if row is None:
        raise NotFound(f"No submission {submission_id} in your scope.", code="submission.not_found")
    return row


def named_in(session: Session, submission_id: int) -> tuple[list[str], list[str]]:
    """The persons and households the records made from a submission are about."""
    persons = [*session.exec(select(Measurement.person_id).where(
        Measurement.submission_id == submission_id)).all(),
               *session.exec(select(PregnancyScreening.woman_id).where(
                   PregnancyScreening.submission_id == submission_id)).all()]
    households = list(session.exec(select(SanitationCheck.household_id).where(
        SanitationCheck.submission_id == submission_id)).all())
    return persons, households


def attachment_names(session: Session, submission_id: int) -> list[str]:
    return list(session.exec(select(Attachment.name).where(
        Attachment.submission_id == submission_id).order_by(Attachment.name)).all())


def get_attachment_or_raise(session: Session, *, principal: Principal, submission_id: int,
                            name: str) -> Attachment:
    """A stored attachment (the photo of the growth card) of a submission in scope."""
    get_submission_or_raise(session, principal=principal, submission_id=submission_id)
    row = session.exec(select(Attachment).where(Attachment.submission_id == submission_id,
                                                Attachment.name == name)).first()
    if row is None:
        raise NotFound(f"Submission {submission_id} has no attachment {name!r}.",
                       code="submission.not_found")
    return row


def reprocess_unit(*, principal: Principal, submission_id: int) -> AuditedReprocess:
    """The unit of work that reprocesses one submission the principal may see (404 for
    one outside their scope, checked in the unit's own transaction), audited with its
    outcome."""
    def visible(session: Session, submission_id: int) -> None:
        get_submission_or_raise(session, principal=principal, submission_id=submission_id)

    return AuditedReprocess(submission_id, visible=visible, actor_id=principal.user_id)


@dataclass
class AuditedReprocess(ReprocessSubmission):
    """A person's reprocessing: the audit entry (who, which submission, what became of
    it) is written in the transaction that records the outcome, processed or failed."""

    actor_id: int | None = None

    def store(self, tx) -> _Audited:
        return _Audited(super().store(tx), self.actor_id)


@dataclass
class _Audited:
    staged: object
    actor_id: int | None

    def process(self, tx) -> str:
        return self._audit(tx, self.staged.process(tx))

    def failed(self, tx, message: str) -> str:
        return self._audit(tx, self.staged.failed(tx, message))

    def _audit(self, tx, status: str) -> str:
        record_audit(tx.session, actor_id=self.actor_id, action="submission.reprocess",
                     entity_type="submission", entity_id=str(self.staged.submission.id),
                     detail={"status": status})
        return status
