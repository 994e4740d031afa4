"""Review pages for supervisors: submissions (answers with the form's labels,
attachments, reprocessing) and conflicts (base / current / incoming, resolved by
side, per field or by a typed value), over sync.submissions and sync.offline."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.console import render
from api.console.deps import ConsoleDep, PostDep, need_role, pager
from api.deps import ReadSessionDep, SessionDep
from api.pagination import RecordId
from core.errors import InvalidInput
from models.intake import SUBMISSION_STATUSES
from sync import accounts, forms, offline, registry
from sync import submissions as service
from sync.form_labels import answer_rows

router = APIRouter()
PAGE = 50
REVIEWERS = ("supervisor",)


@router.get("/admin/submissions")
def submissions(request: Request, console: ConsoleDep, session: ReadSessionDep,
                status: Literal[SUBMISSION_STATUSES] | None = None,
                form_id: Annotated[str | None, Query(max_length=64)] = None,
                page: Annotated[int, Query(ge=1, le=10_000)] = 1):
    need_role(console, *REVIEWERS)
    rows, total = service.list_submissions(session, principal=console.principal, status=status,
                                           form_id=form_id or None, limit=PAGE,
                                           offset=(page - 1) * PAGE)
    return render.page(request, "submissions.html", rows=rows, status=status,
                       statuses=SUBMISSION_STATUSES, form_id=form_id or "",
                       pages=pager(page, PAGE, total))


def _submission_page(request: Request, session: Session, console, submission_id: int,
                     notice: str | None = None):
    row = service.get_submission_or_raise(session, principal=console.principal,
                                          submission_id=submission_id)
    form = forms.get_form_version(session, row.form_id, row.form_version)
    answers = answer_rows(form.xml if form else None, row.content, row.content_type,
                          render.language(request))
    return render.page(request, "submission.html", s=row, form=form, answers=answers,
                       attachments=service.attachment_names(session, row.id), notice=notice)


@router.get("/admin/submissions/{submission_id}")
def submission(request: Request, submission_id: RecordId, console: ConsoleDep,
               session: ReadSessionDep):
    need_role(console, *REVIEWERS)
    return _submission_page(request, session, console, submission_id)


@router.get("/admin/submissions/{submission_id}/attachments/{name}")
def attachment(submission_id: RecordId, name: str, console: ConsoleDep,
               session: ReadSessionDep):
    need_role(console, *REVIEWERS)
    row = service.get_attachment_or_raise(session, principal=console.principal,
                                          submission_id=submission_id, name=name)
    # Shown as an image or downloaded, never run: the type is the stored one, sniffing off.
    media = row.content_type if row.content_type.startswith("image/") else "application/octet-stream"
    return Response(row.data, media_type=media, headers={
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'",
        "Content-Disposition": f'inline; filename="{row.name.replace(chr(34), "")}"'})


@router.post("/admin/submissions/{submission_id}/reprocess")
async def reprocess(request: Request, submission_id: RecordId, console: PostDep):
    need_role(console, *REVIEWERS)
    status = await request.app.state.submission_writer.store(
        service.reprocess_unit(principal=console.principal, submission_id=submission_id))
    return await run_in_threadpool(_after_reprocess, request, console, submission_id, status)


def _after_reprocess(request: Request, console, submission_id: int, status: str):
    with Session(request.app.state.read_engine, expire_on_commit=False) as session:
        answer = _submission_page(request, session, console, submission_id, notice=status)
        session.commit()
        return answer


# ---------------------------------------------------------------- conflicts


@router.get("/admin/conflicts")
def conflicts(request: Request, console: ConsoleDep, session: ReadSessionDep,
              status: Literal["open", "resolved"] | None = "open",
              kelurahan_code: Annotated[str | None, Query(max_length=13)] = None,
              entity: Literal["person", "household"] | None = None,
              page: Annotated[int, Query(ge=1, le=10_000)] = 1):
    need_role(console, *REVIEWERS)
    rows, total = offline.list_conflicts(session, principal=console.principal, status=status,
                                         kelurahan_code=kelurahan_code or None, entity=entity,
                                         limit=PAGE, offset=(page - 1) * PAGE)
    names = accounts.usernames(session, [r.incoming_by for r in rows])
    return render.page(request, "conflicts.html", rows=rows, status=status or "",
                       kelurahan_code=kelurahan_code or "", entity=entity or "", names=names,
                       pages=pager(page, PAGE, total))


def _conflict_page(request: Request, session: Session, console, conflict_id: int,
                   error: str | None = None, status_code: int = 200):
    row = offline.get_conflict_or_raise(session, principal=console.principal,
                                        conflict_id=conflict_id)
    sources = offline.conflict_detail(session, row)
    names = accounts.usernames(session, [(sources.get(k) or {}).get("user_id")
                                         for k in ("base", "current", "incoming")]
                               + [row.resolved_by])
    return render.page(request, "conflict.html", status_code=status_code, c=row,
                       sources=sources, names=names, error=error,
                       label=registry.record_label(session, row.entity, row.entity_id))


@router.get("/admin/conflicts/{conflict_id}")
def conflict(request: Request, conflict_id: RecordId, console: ConsoleDep,
             session: ReadSessionDep):
    need_role(console, *REVIEWERS)
    return _conflict_page(request, session, console, conflict_id)


_INTEGER_FIELDS = {"posyandu_id"}


def _typed(field: str, text: str):
    text = text.strip()
    if text == "":
        return None
    if field in _INTEGER_FIELDS:
        if not text.isdigit():
            raise InvalidInput(f"{field} must be a number.", code="conflict.bad_resolution")
        return int(text)
    return text


@router.post("/admin/conflicts/{conflict_id}/resolve")
def resolve(request: Request, conflict_id: RecordId, console: PostDep, session: SessionDep):
    """`mode`: current | incoming (every field), or fields: `pick.<field>` is current,
    incoming or typed (then `typed.<field>` is the value)."""
    need_role(console, *REVIEWERS)
    form = request.state.form
    mode = form.get("mode")
    expected = form.get("expected_version")
    expected = int(expected) if expected and str(expected).isdigit() else None
    try:
        if mode in ("current", "incoming"):
            offline.resolve_conflict(session, principal=console.principal,
                                     conflict_id=conflict_id, choose=mode, values=None,
                                     expected_version=expected)
        else:
            row = offline.get_conflict_or_raise(session, principal=console.principal,
                                                conflict_id=conflict_id)
            values = {}
            for field, sides in row.fields.items():
                pick = form.get(f"pick.{field}", "current")
                if pick == "incoming":
                    values[field] = sides["incoming"]
                elif pick == "typed":
                    values[field] = _typed(field, str(form.get(f"typed.{field}", "")))
                else:
                    values[field] = sides["current"]
            offline.resolve_conflict(session, principal=console.principal,
                                     conflict_id=conflict_id, choose=None, values=values,
                                     expected_version=expected)
    except InvalidInput as exc:
        session.rollback()  # nothing of a refused resolution stays
        lang = render.language(request)
        return _conflict_page(request, session, console, conflict_id, status_code=400,
                              error=exc.pesan if lang == "id" else exc.message)
    return render.redirect(request, f"/admin/conflicts/{conflict_id}")
