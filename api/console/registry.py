"""Registry pages: search, a person (a child's growth charts and measurements, a
woman's screenings), a household (sanitation checks and members)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from api.console import charts, i18n, render
from api.console.deps import ConsoleDep, pager
from api.deps import ReadSessionDep
from sync import registry
from sync.minimise import minimise, minimise_all
from sync.queries import record_lists
from sync.queries.record_lists import MeasurementFilters, SanitationFilters, ScreeningFilters

router = APIRouter()
PAGE = 50
MAX_ROWS = 500


@router.get("/admin/registry")
def search(request: Request, console: ConsoleDep, session: ReadSessionDep,
           q: Annotated[str, Query(max_length=120)] = "",
           kind: Literal["persons", "households"] = "persons",
           page: Annotated[int, Query(ge=1, le=10_000)] = 1):
    find = registry.search_persons if kind == "persons" else registry.search_households
    rows, total = find(session, principal=console.principal, text=q or None, limit=PAGE,
                       offset=(page - 1) * PAGE)
    rows = minimise_all(console.principal, rows)  # agencies: masked NIK / KK (#18)
    return render.page(request, "registry.html", q=q, kind=kind, rows=rows,
                       pages=pager(page, PAGE, total))


@router.get("/admin/persons/{person_id}")
def person(request: Request, person_id: str, console: ConsoleDep, session: ReadSessionDep):
    scope = console.principal.scope
    row = registry.get_person_or_raise(
        session, principal=console.principal, person_id=person_id)
    measurements, _ = record_lists.list_measurements(
        session, scope=scope, filters=MeasurementFilters(person_id=row["id"]), limit=MAX_ROWS,
        offset=0)
    screenings, _ = record_lists.list_pregnancy_screenings(
        session, scope=scope, filters=ScreeningFilters(woman_id=row["id"]), limit=MAX_ROWS,
        offset=0)
    lang = render.language(request)
    oldest_first = list(reversed(measurements))
    drawn = []
    for name in charts.charts_for(oldest_first, row["sex"]):
        weight = name != "length_height_for_age"
        x_label = ("chart.age_months" if name in ("length_height_for_age", "weight_for_age")
                   else "chart.length_cm")
        drawn.append((name, charts.growth_chart(
            name, row["sex"], oldest_first, title=i18n.translate(f"chart.{name}", lang),
            x_label=i18n.translate(x_label, lang),
            y_label=i18n.translate("chart.kg" if weight else "chart.cm", lang),
            flagged_label=i18n.translate("chart.flagged", lang))))
    related = registry.names_of(session, [row["mother_id"]] if row["mother_id"] else [])
    survivor = registry.record_label(session, "person", row["merged_into_id"]) \
        if row["merged_into_id"] else None
    return render.page(request, "person.html", p=minimise(console.principal, row),
                       measurements=measurements,
                       screenings=screenings, charts=drawn, mother_name=related.get(row["mother_id"]),
                       survivor_name=survivor,
                       absorbed=registry.merged_into(session, "person", row["id"]))


@router.get("/admin/households/{household_id}")
def household(request: Request, household_id: str, console: ConsoleDep,
              session: ReadSessionDep):
    row = registry.get_household_or_raise(session, principal=console.principal,
                                          household_id=household_id)
    checks, _ = record_lists.list_sanitation_checks(
        session, scope=console.principal.scope, filters=SanitationFilters(household_id=row["id"]),
        limit=MAX_ROWS, offset=0)
    members = registry.household_members(session, principal=console.principal,
                                         household_id=row["id"])
    return render.page(request, "household.html", h=minimise(console.principal, row),
                       checks=minimise_all(console.principal, checks),
                       members=minimise_all(console.principal, members),
                       absorbed=registry.merged_into(session, "household", row["id"]))
