"""Submissions (read, scoped) and reprocessing (supervisor/admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api import access
from api.deps import ReadSessionDep, SupervisorDep
from api.pagination import Page, PageDep, RecordId
from models.intake import SUBMISSION_STATUSES
from sync import submissions as service

router = APIRouter(prefix="/api/v1", tags=["submissions"])


class SubmissionOut(BaseModel):
    id: int
    form_id: str
    form_version: str
    instance_id: str
    deprecated_id: str | None
    source: str
    kelurahan_code: str | None
    posyandu_id: int | None
    received_at: datetime
    status: str
    error: str | None
    attempts: int
    processed_at: datetime | None


class SubmissionDetail(SubmissionOut):
    content: str
    attachments: list[str]


@router.get("/submissions", response_model=Page[SubmissionOut])
def list_submissions(session: ReadSessionDep, principal: SupervisorDep, page: PageDep,
                     status: Annotated[Literal[SUBMISSION_STATUSES] | None, Query()] = None,
                     form_id: str | None = None) -> Page[SubmissionOut]:
    rows, total = service.list_submissions(session, principal=principal, status=status,
                                           form_id=form_id, limit=page.limit, offset=page.offset)
    return Page(items=[SubmissionOut.model_validate(r, from_attributes=True) for r in rows],
                total=total, limit=page.limit, offset=page.offset)


@router.get("/submissions/{submission_id}", response_model=SubmissionDetail)
def get_submission(submission_id: RecordId, request: Request, session: ReadSessionDep,
                   principal: SupervisorDep) -> SubmissionDetail:
    """One submission with its raw content (the answers as sent: personal data, so the
    read is in the access log)."""
    row = service.get_submission_or_raise(session, principal=principal, submission_id=submission_id)
    persons, households = service.named_in(session, submission_id)
    access.log_read(request, principal, resource="submission", action="read", rows=1,
                    subject=("submission", str(submission_id)), persons=persons,
                    households=households)
    return SubmissionDetail(**SubmissionOut.model_validate(row, from_attributes=True).model_dump(),
                            content=row.content.decode("utf-8", "replace"),
                            attachments=service.attachment_names(session, row.id))


@router.post("/submissions/{submission_id}/reprocess", response_model=SubmissionOut)
async def reprocess(submission_id: RecordId, request: Request,
                    principal: SupervisorDep) -> SubmissionOut:
    """Retry turning a stored submission into its record (idempotent)."""
    await request.app.state.submission_writer.store(
        service.reprocess_unit(principal=principal, submission_id=submission_id))
    row = await run_in_threadpool(_read_submission, request, principal, submission_id)
    return SubmissionOut.model_validate(row, from_attributes=True)


def _read_submission(request: Request, principal, submission_id: int):
    with Session(request.app.state.read_engine, expire_on_commit=False) as session:
        row = service.get_submission_or_raise(session, principal=principal,
                                              submission_id=submission_id)
        session.commit()
        return row
