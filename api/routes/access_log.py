"""The access log of personal-data reads (admin): query and CSV export."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlmodel import Session

from api import access
from api.deps import AdminDep, ReadSessionDep
from api.pagination import MAX_ID, Page, PageDep
from sync import access as service

router = APIRouter(prefix="/api/v1", tags=["access log"])

CSV_COLUMNS = ("id", "at", "actor_id", "username", "role", "resource", "action",
               "subject_type", "subject_id", "rows", "persons", "households", "query",
               "address", "user_agent", "app_token_id", "request_id")


class AccessLogOut(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    username: str
    role: str
    resource: str = Field(description="What was read: measurements, pregnancy_screenings, "
                          "sanitation_checks, sync_snapshot, sync_changes, submission, "
                          "conflict(s), picklist:<file>, access_log, ...")
    action: str = Field(description="read (one record), list, export or download")
    subject_type: str | None
    subject_id: str | None
    persons: list[str] = Field(description="Registry ids of the persons in the answer")
    households: list[str] = Field(description="Registry ids of the households in the answer")
    rows: int
    query: dict = Field(description="The filters asked for")
    address: str | None
    user_agent: str | None
    app_token_id: int | None = Field(description="The device token used, for a phone")
    request_id: str | None = Field(description="Joins the request's log lines")


def _filters(
    username: Annotated[str | None, Query(max_length=64, description="Who read")] = None,
    actor_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    resource: Annotated[str | None, Query(max_length=64)] = None,
    person_id: Annotated[str | None, Query(max_length=36, description="Reads whose answer "
                                           "held this person")] = None,
    household_id: Annotated[str | None, Query(max_length=36)] = None,
    since: Annotated[date | None, Query(alias="from", description="On or after this day "
                                        "(UTC, YYYY-MM-DD)")] = None,
    until: Annotated[date | None, Query(alias="to", description="On or before this day")] = None,
) -> dict:
    return {"username": username, "actor_id": actor_id, "resource": resource,
            "person_id": person_id, "household_id": household_id,
            "since": since and datetime.combine(since, time(), UTC),
            "until": until and datetime.combine(until + timedelta(days=1), time(), UTC)}


Filters = Annotated[dict, Depends(_filters)]


@router.get("/access-log", response_model=Page[AccessLogOut])
def list_access_log(session: ReadSessionDep, admin: AdminDep, page: PageDep,
                    filters: Filters) -> Page[AccessLogOut]:
    """Who read personal data, newest first: which persons or lists, when, from where."""
    rows, total = service.list_reads(session, limit=page.limit, offset=page.offset, **filters)
    return Page(items=[AccessLogOut.model_validate(r) for r in rows], total=total,
                limit=page.limit, offset=page.offset)


@router.get("/access-log/export", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}}})
def export_access_log(request: Request, admin: AdminDep, filters: Filters) -> StreamingResponse:
    """The matching reads as CSV, oldest first (persons, households and query as JSON)."""
    access.log_read(request, admin, resource="access_log", action="export")

    def lines():
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        with Session(request.app.state.read_engine) as session:
            for row in service.export_reads(session, **filters):
                writer.writerow([json.dumps(row[c], ensure_ascii=False)
                                 if c in ("persons", "households", "query")
                                 else row[c].isoformat() if c == "at" else
                                 "" if row[c] is None else row[c] for c in CSV_COLUMNS])
                if out.tell() > 64 * 1024:
                    yield out.getvalue()
                    out.seek(0)
                    out.truncate()
            session.commit()
        yield out.getvalue()

    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="access-log.csv"'})
