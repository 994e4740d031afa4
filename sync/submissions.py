"""Submissions as administrators see them: scoped listing, detail, reprocessing.
(The records made from them are read in sync/queries/record_lists.py.)"""

from __future__ import annotations

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
from sync.accounts import Principal
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


def reprocess_unit(*, principal: Principal, submission_id: int) -> ReprocessSubmission:
    """The unit of work that reprocesses one submission the principal may see (404 for
    one outside their scope, checked in the unit's own transaction)."""
    def visible(session: Session, submission_id: int) -> None:
        get_submission_or_raise(session, principal=principal, submission_id=submission_id)

    return ReprocessSubmission(submission_id, visible=visible)
