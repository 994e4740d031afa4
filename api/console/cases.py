"""Case lists per programme (what GET /api/v1/caseloads/{code}/cases gives): the named
cases of a region for a month, downloaded as CSV or XLSX, printable, and an
intervention recorded from a case. Over sync.caseloads and sync.interventions; an
agency sees only the programmes an admin granted it, as in the API."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.console import i18n, render
from api.console.deps import ConsoleDep, PostDep
from api.deps import ReadSessionDep, SessionDep
from core.errors import AppError
from indicators.caseload import PROGRAMS
from sync import caseloads, dashboard, interventions

router = APIRouter()
PAGE = 200
Period = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")]


def _regions(session, console, period: str) -> list[dict]:
    """The kelurahan with caseload entries for the month in the caller's scope."""
    figures = dashboard.measurement_kelurahan(session, principal=console.principal,
                                              period=period)
    return [e["wilayah"] for e in dashboard.caseload_entries(
        session, principal=console.principal, codes=figures, period=period)]


@router.get("/admin/cases")
def cases(request: Request, console: ConsoleDep, session: ReadSessionDep,
          code: Annotated[str | None, Query(max_length=13)] = None,
          program: Literal[PROGRAMS] = "nutrition", period: Period = None,
          cursor: Annotated[str | None, Query(max_length=200)] = None,
          done: int | None = None):
    month = caseloads.check_period(period or caseloads.period_of_today())
    regions = _regions(session, console, month)
    code = code or (regions[0]["code"] if regions else None)
    rows, next_cursor = ([], None) if code is None else caseloads.cases(
        session, principal=console.principal, code=code, program=program, period=month,
        cursor=cursor, limit=PAGE)
    return render.page(request, "cases.html", rows=rows, next_cursor=next_cursor, code=code or "",
                       program=program, programs=PROGRAMS, period=month, regions=regions,
                       types=interventions.TYPES, today=date.today().isoformat(),
                       done=done, error=None)


@router.get("/admin/cases/download")
def download(console: ConsoleDep, session: ReadSessionDep,
             code: Annotated[str, Query(max_length=13)], program: Literal[PROGRAMS],
             format: Literal["csv", "xlsx"], period: Period = None):
    month = caseloads.check_period(period or caseloads.period_of_today())
    rows, _ = caseloads.cases(session, principal=console.principal, code=code, program=program,
                              period=month, limit=None)
    name = f"cases-{program}-{code}-{month}"
    if format == "csv":
        return Response(caseloads.as_csv(program, rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return Response(caseloads.as_xlsx(program, rows),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


@router.post("/admin/interventions")
def record_intervention(request: Request, console: PostDep, session: SessionDep):
    """An intervention delivered to a case's person or household (audited by
    sync.interventions.record); back to the case list."""
    form = request.state.form
    back = (f"/admin/cases?code={form.get('code', '')}&program={form.get('program', '')}"
            f"&period={form.get('period', '')}")
    values = {"program": form.get("program"), "type": form.get("type"),
              "delivered_on": form.get("delivered_on")}
    for name in ("person_id", "household_id", "unit", "notes"):
        if form.get(name):
            values[name] = str(form.get(name))[:255]
    try:
        values["delivered_on"] = date.fromisoformat(str(values["delivered_on"]))
        if form.get("quantity"):
            values["quantity"] = float(str(form.get("quantity")))
    except ValueError:
        return render.redirect(request, back + "&done=0")
    try:
        interventions.record(session, principal=console.principal, values=values)
    except AppError as exc:
        session.rollback()
        lang = render.language(request)
        return render.error_page(request, exc.status_code, exc.code,
                                 exc.message if lang == "en" else (exc.pesan or exc.message))
    return render.redirect(request, back + "&done=1")


def program_label(program: str, lang: str) -> str:
    return i18n.translate(f"program.{program}", lang)
