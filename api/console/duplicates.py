"""Duplicate review (supervisors): the queue of candidate pairs with filters, a pair
side by side with the per-field evidence and both growth histories, merge (choose the
survivor and, per field, whose value stays) or dismiss; unmerge from a person's or a
household's page. Over sync.reviews, as /api/v1/duplicates."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from api.console import charts, i18n, render
from api.console.deps import ConsoleDep, PostDep, need_role, pager
from api.deps import ReadSessionDep, SessionDep
from api.pagination import RecordId
from core.errors import AppError
from sync import reviews
from sync.offline import PUSH_FIELDS
from sync.queries import record_lists
from sync.queries.record_lists import MeasurementFilters
from sync.queries.reviews import PairFilters

router = APIRouter()
PAGE = 50
REVIEWERS = ("supervisor",)


@router.get("/admin/duplicates")
def duplicates(request: Request, console: ConsoleDep, session: ReadSessionDep,
               status: Literal["open", "merged", "dismissed"] | None = "open",
               entity: Literal["person", "household"] | None = None,
               kelurahan_code: Annotated[str | None, Query(max_length=13)] = None,
               min_score: float | None = None,
               page: Annotated[int, Query(ge=1, le=10_000)] = 1):
    need_role(console, *REVIEWERS)
    rows, total = reviews.list_duplicates(
        session, principal=console.principal,
        filters=PairFilters(kelurahan_code=kelurahan_code or None, status=status,
                            min_score=min_score, entity=entity),
        limit=PAGE, offset=(page - 1) * PAGE)
    return render.page(request, "duplicates.html", rows=rows, status=status or "",
                       entity=entity or "", kelurahan_code=kelurahan_code or "",
                       pages=pager(page, PAGE, total))


def _growth(request, session, console, person: dict | None) -> list:
    if not person:
        return []
    measurements, _ = record_lists.list_measurements(
        session, scope=console.principal.scope,
        filters=MeasurementFilters(person_id=person["id"]), limit=500, offset=0)
    oldest_first = list(reversed(measurements))
    lang = render.language(request)
    out = []
    for name in charts.charts_for(oldest_first, person.get("sex"))[:2]:
        weight = name != "length_height_for_age"
        out.append((name, charts.growth_chart(
            name, person["sex"], oldest_first, title=i18n.translate(f"chart.{name}", lang),
            x_label=i18n.translate("chart.age_months", lang),
            y_label=i18n.translate("chart.kg" if weight else "chart.cm", lang),
            flagged_label=i18n.translate("chart.flagged", lang))))
    return out


def _pair_page(request, session, console, pair_id: int, *, error: str | None = None,
               status_code: int = 200):
    pair = reviews.duplicate_detail(session, principal=console.principal, pair_id=pair_id)
    fields = PUSH_FIELDS[pair["entity"]]
    growth = {"a": [], "b": []}
    if pair["entity"] == "person":
        growth = {side: _growth(request, session, console, pair[side]) for side in ("a", "b")}
    return render.page(request, "duplicate.html", status_code=status_code, p=pair,
                       fields=fields, growth=growth, error=error)


@router.get("/admin/duplicates/{pair_id}")
def duplicate(request: Request, pair_id: RecordId, console: ConsoleDep,
              session: ReadSessionDep):
    need_role(console, *REVIEWERS)
    return _pair_page(request, session, console, pair_id)


@router.post("/admin/duplicates/{pair_id}/merge")
def merge(request: Request, pair_id: RecordId, console: PostDep, session: SessionDep):
    """`survivor`: a or b; `keep.<field>`: a or b, whose value the merged record keeps
    (default: the survivor's, the other filling its empty fields)."""
    need_role(console, *REVIEWERS)
    form = request.state.form
    pair = reviews.get_pair_or_raise(session, principal=console.principal, pair_id=pair_id)
    detail = reviews.duplicate_detail(session, principal=console.principal, pair_id=pair_id)
    survivor = form.get("survivor")
    if survivor not in ("a", "b"):
        return _pair_page(request, session, console, pair_id, status_code=400,
                          error=i18n.translate("dup.choose_survivor", render.language(request)))
    values = {}
    for field in PUSH_FIELDS[pair["entity"]]:
        keep = form.get(f"keep.{field}")
        if keep in ("a", "b") and keep != survivor and detail[keep] is not None:
            values[field] = detail[keep].get(field)
    try:
        reviews.merge_pair(session, principal=console.principal, pair_id=pair_id,
                           survivor_id=pair[f"{survivor}_id"], values=values)
    except AppError as exc:
        session.rollback()
        lang = render.language(request)
        return _pair_page(request, session, console, pair_id, status_code=exc.status_code,
                          error=exc.pesan if lang == "id" else exc.message)
    return render.redirect(request, f"/admin/duplicates/{pair_id}")


@router.post("/admin/duplicates/{pair_id}/dismiss")
def dismiss(request: Request, pair_id: RecordId, console: PostDep, session: SessionDep):
    need_role(console, *REVIEWERS)
    reviews.dismiss(session, principal=console.principal, pair_id=pair_id)
    return render.redirect(request, f"/admin/duplicates/{pair_id}")


def _unmerge(request: Request, console, session, entity: str, record_id: str):
    """Undo the merge that absorbed this record: it comes back as it was."""
    need_role(console, *REVIEWERS)
    reviews.unmerge_record(session, principal=console.principal, entity=entity,
                           record_id=record_id[:36])
    return render.redirect(request, f"/admin/{entity}s/{record_id}")


@router.post("/admin/persons/{person_id}/unmerge")
def unmerge_person(request: Request, person_id: str, console: PostDep, session: SessionDep):
    return _unmerge(request, console, session, "person", person_id)


@router.post("/admin/households/{household_id}/unmerge")
def unmerge_household(request: Request, household_id: str, console: PostDep,
                      session: SessionDep):
    return _unmerge(request, console, session, "household", household_id)
