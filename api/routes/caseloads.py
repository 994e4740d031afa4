"""Caseloads for the agencies that act (issue #16): per-region indicators and rollups,
named case lists per programme (JSON, CSV, XLSX), targets, and the interventions
agencies record. HTTP only: every handler calls one function of sync.caseloads or
sync.interventions."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api import access
from api.deps import AdminDep, PrincipalDep, ReadSessionDep, SessionDep
from api.pagination import PageDep, RecordId
from core.errors import InvalidInput
from indicators.caseload import PROGRAMS
from sync import accounts, caseloads, interventions
from sync.minimise import minimise, minimise_all

router = APIRouter(prefix="/api/v1", tags=["caseloads"])

DEFINITIONS = """
**Definitions** (the same in docs/caseloads.md):
- A child counts in a period (a calendar month, `YYYY-MM`) if measured at least once that
  month; the latest valid measurement of the month (by day, then record) decides the status.
  Valid: current (not replaced by an edit), not in conflict (an open conflict on the child's
  birth date or sex, or on the measurement itself, keeps it out until resolved), age known
  and under 60 months.
- Age group by age at that measurement: `0_23m` (baduta) under 731 days; `0_59m` (balita)
  under 60 months, which includes baduta.
- A z-score flagged by WHO is left out of that indicator: the child is in neither its count
  nor its denominator. Oedema counts as < -3 SD for weight-for-age and weight-for-length/height.
- `*_prevalence` = count / children measured and assessed for that indicator, a fraction
  with 4 decimals (null when none).
- `registered` (= SKDN `S`): children in the registry aged 0-59 months (0-23 for baduta) on
  the period's last day, by birth month, in their current kelurahan, after merges (a merged
  duplicate counts once; the registry records no deaths). `D`: weighed this month; `N`:
  weighed this month and last month and heavier now; `not_gained_twice` (2T): weighed in each
  of the last three months without a gain twice running.
- Pregnancies: `active` in each month from the month first seen to the expected delivery
  (conception + 280 days, else first seen + 300 days); `screened`, `kek` (LiLA < 23.5 cm),
  `anaemia` (Hb < 11 g/dL), `high_risk` (age < 20 or > 35, height < 145 cm or BMI < 18.5) from
  the month's latest screening.
- Women outside pregnancy: the month's latest screening; `remaja` aged 10-19, `catin`
  brides-to-be (the form's `catin` answer).
- Households: described by their latest sanitation check of the 12 months ending with the
  period; `at_risk_families` (Keluarga Risiko Stunting): no healthy latrine or unimproved
  drinking water, with a child aged 0-59 months or an active pregnancy.
- `coverage`: per programme, the cases of the period and how many received at least one
  intervention of the programme in the period.
"""


# ---------------------------------------------------------------- responses

class Wilayah(BaseModel):
    code: str
    name: str
    level: str = Field(description="kelurahan (also desa), kecamatan, kabkota or provinsi")


class ChildGroup(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    registered: int = Field(description="Children in the registry of this age on the period's last day")
    measured: int
    stunted: int
    severely_stunted: int
    wasted: int
    severely_wasted: int
    underweight: int
    overweight: int
    assessed_stunting: int = Field(description="Denominator of stunted_prevalence")
    assessed_wasting: int = Field(description="Denominator of wasted and overweight prevalence")
    assessed_underweight: int
    stunted_prevalence: float | None
    wasted_prevalence: float | None
    underweight_prevalence: float | None
    overweight_prevalence: float | None
    S: int = Field(description="SKDN S: registered")
    D: int = Field(description="SKDN D: weighed this month")
    N: int = Field(description="SKDN N: weighed and gained weight since last month")
    not_gained_twice: int = Field(description="2T: no weight gain two months running")
    D_over_S: float | None
    N_over_D: float | None


class Children(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    baduta: ChildGroup = Field(alias="0_23m", description="Baduta: under 731 days")
    balita: ChildGroup = Field(alias="0_59m", description="Balita: under 60 months (includes baduta)")


class Pregnancies(BaseModel):
    active: int
    screened: int
    kek: int
    anaemia: int
    high_risk: int = Field(description="Screened with a maternal risk marker")
    assessed_kek: int
    assessed_anaemia: int
    kek_prevalence: float | None
    anaemia_prevalence: float | None
    high_risk_prevalence: float | None = Field(description="high_risk / screened")


class WomenGroup(BaseModel):
    screened: int
    kek: int
    anaemia: int
    assessed_kek: int
    assessed_anaemia: int
    kek_prevalence: float | None
    anaemia_prevalence: float | None


class Women(BaseModel):
    remaja: WomenGroup = Field(description="Aged 10-19, screened outside pregnancy")
    catin: WomenGroup = Field(description="Brides-to-be, screened outside pregnancy")


class Households(BaseModel):
    checked: int = Field(description="With a sanitation check in the 12 months ending with the period")
    no_healthy_latrine: int
    open_defecation: int
    no_handwashing_soap: int
    unimproved_water: int
    at_risk_families: int = Field(description="Keluarga Risiko Stunting (see the definitions)")


class Targets(BaseModel):
    year: int
    target_year: int | None = Field(description="The year the target was set for: the period's "
                                    "year, else the latest year before it that has a target")
    stunting_prevalence_target: float | None = Field(
        description="The balita stunting prevalence target (fraction) of the region, or of the "
        "nearest region above it that has one, or the national one")
    target_set_for: str | None = Field(description="The region code the target is set for (ID: national)")
    national_target: float | None = Field(description="The national target (latest up to the year)")
    current_stunting_prevalence: float | None = Field(description="children.0_59m.stunted_prevalence")
    gap_percentage_points: float | None = Field(description="(current - target) x 100; positive: above target")


class Coverage(BaseModel):
    cases: int
    covered: int = Field(description="Cases that received at least one intervention of the programme in the period")
    share: float | None


class CaseloadEntry(BaseModel):
    wilayah: Wilayah
    period: str
    children: Children
    pregnancies: Pregnancies
    women: Women
    households: Households
    targets: Targets
    coverage: dict[str, Coverage] = Field(description=f"Per programme: {', '.join(PROGRAMS)}")


class CaseloadRegion(CaseloadEntry):
    children_regions: list[CaseloadEntry] = Field(
        description="The regions one level down; their counts add up to this region's")


class CaseloadPage(BaseModel):
    items: list[CaseloadEntry]
    total: int
    limit: int
    offset: int


class Program(StrEnum):
    nutrition = "nutrition"
    antenatal = "antenatal"
    adolescent = "adolescent"
    sanitation = "sanitation"
    family_counselling = "family_counselling"
    food_aid = "food_aid"
    fish_aid = "fish_aid"


class Level(StrEnum):
    kelurahan = "kelurahan"
    kecamatan = "kecamatan"
    kabkota = "kabkota"
    provinsi = "provinsi"


class CaseFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


class Posyandu(BaseModel):
    id: int
    name: str | None


class InterventionBrief(BaseModel):
    id: int
    type: str
    delivered_on: date
    quantity: float | None
    unit: str | None
    agency: str | None


class Case(BaseModel):
    subject: str = Field(description="person or household")
    person_id: str | None
    household_id: str | None
    name: str | None = Field(description="The person's name, or the household head's")
    nik: str | None
    sex: str | None
    birth_date: date | None
    mother_name: str | None
    head_name: str | None
    kk: str | None
    address: str | None
    rt: str | None
    rw: str | None
    kelurahan_code: str
    posyandu: Posyandu | None
    period: str
    reasons: list[str] = Field(description="Why on the list: e.g. stunted, severely_stunted, "
                               "wasted, underweight, 2T, kek, anaemia, high_risk, "
                               "no_healthy_latrine, no_handwashing_soap, at_risk_family, "
                               "stunted_child, child_at_risk")
    values: dict = Field(description="The latest relevant values (the record that decided)")
    covered: bool = Field(description="Received an intervention of the programme in the period")
    interventions: list[InterventionBrief] = Field(description="Every intervention of the "
                                                   "programme received (not withdrawn)")


class CasePage(BaseModel):
    program: str
    period: str
    items: list[Case]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null at the end")


class TargetIn(BaseModel):
    stunting_prevalence: float = Field(ge=0, le=1, description="A fraction: 14% is 0.14")


class TargetOut(BaseModel):
    wilayah_code: str
    year: int
    stunting_prevalence: float


class ProgramsIn(BaseModel):
    programs: list[Program]


class ProgramsOut(BaseModel):
    username: str
    programs: list[str]


class InterventionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    program: Program
    type: str = Field(description=f"One of {', '.join(interventions.TYPES)}")
    delivered_on: date
    person_id: str | None = None
    household_id: str | None = None
    quantity: float | None = None
    unit: str | None = None
    notes: str | None = None


class InterventionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    program: Program | None = None
    type: str | None = None
    delivered_on: date | None = None
    person_id: str | None = None
    household_id: str | None = None
    quantity: float | None = None
    unit: str | None = None
    notes: str | None = None


class InterventionOut(BaseModel):
    id: int
    program: str
    type: str
    delivered_on: date
    person_id: str | None
    household_id: str | None
    kelurahan_code: str
    quantity: float | None
    unit: str | None
    notes: str | None
    agency: str | None
    recorded_by: int | None
    version: int
    created_at: str
    updated_at: str
    withdrawn: bool
    deleted_at: str | None


class InterventionPage(BaseModel):
    items: list[InterventionOut]
    total: int
    limit: int
    offset: int


Period = Annotated[str | None, Query(description="A month, YYYY-MM (default: this month)",
                                     pattern=r"^\d{4}-\d{2}$")]


def _period(value: str | None) -> str:
    return caseloads.check_period(value or caseloads.period_of_today())


# ---------------------------------------------------------------- caseloads

@router.get("/caseloads", response_model=CaseloadPage, response_model_by_alias=True,
            description="One entry per region of a level (under `parent`), those in your scope."
            + DEFINITIONS)
def list_caseloads(session: ReadSessionDep, principal: PrincipalDep, page: PageDep,
                   period: Period = None, level: Level = Level.kelurahan,
                   parent: Annotated[str | None, Query(max_length=13)] = None) -> dict:
    items, total = caseloads.entries(session, scope=principal.scope, period=_period(period),
                                     level=level.value, parent=parent, limit=page.limit,
                                     offset=page.offset)
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}


@router.get("/caseloads/{code}", response_model=CaseloadRegion, response_model_by_alias=True,
            description="One region's caseload for a month, with `children_regions` (one level "
            "down) whose counts add up to it." + DEFINITIONS)
def get_caseload(code: str, session: ReadSessionDep, principal: PrincipalDep,
                 period: Period = None) -> dict:
    return caseloads.entry(session, scope=principal.scope, code=code, period=_period(period))


@router.get("/caseloads/{code}/series", response_model=list[CaseloadEntry],
            response_model_by_alias=True,
            description="The region's caseload for every month from `from` to `to` (at most 120)."
            + DEFINITIONS)
def get_series(code: str, session: ReadSessionDep, principal: PrincipalDep,
               first: Annotated[str, Query(alias="from", pattern=r"^\d{4}-\d{2}$")],
               last: Annotated[str, Query(alias="to", pattern=r"^\d{4}-\d{2}$")]) -> list[dict]:
    return caseloads.series(session, scope=principal.scope, code=code, first=first, last=last)


@router.get("/caseloads/{code}/cases", response_model=CasePage,
            responses={200: {"content": {"text/csv": {}, "application/vnd.openxmlformats-"
                                         "officedocument.spreadsheetml.sheet": {}}}},
            description="The named cases of one programme in a region for a month. Programmes: "
            "`nutrition` (stunted, wasted or underweight children, 2T), `antenatal` (KEK, anaemic "
            "or high-risk pregnancies), `adolescent` (anaemic or KEK remaja and catin), "
            "`sanitation` (households without a healthy latrine or handwashing with soap), "
            "`family_counselling` (at-risk families), `food_aid` and `fish_aid` (families with a "
            "stunted child or a child at risk, and at-risk families). An agency account sees "
            "only the programmes an admin granted it. JSON pages follow `next_cursor`; "
            "`format=csv` and `format=xlsx` give the whole list as a spreadsheet.")
def get_cases(request: Request, code: str, session: ReadSessionDep, principal: PrincipalDep,
              program: Program, period: Period = None,
              cursor: Annotated[str | None, Query(max_length=200)] = None,
              limit: Annotated[int, Query(ge=1, le=caseloads.CASE_PAGE_MAX)] = 100,
              format: CaseFormat = CaseFormat.json):
    month = _period(period)
    whole = format is not CaseFormat.json  # a spreadsheet holds the whole list
    rows, next_cursor = caseloads.cases(session, principal=principal, code=code,
                                        program=program.value, period=month, cursor=cursor,
                                        limit=None if whole else limit)
    # Every case names a person or a household (and a person's case shows her household).
    access.log_read(request, principal, resource=f"cases:{program.value}",
                    action="download" if whole else "list", rows=len(rows),
                    persons=[r["person_id"] for r in rows],
                    households=[r["household_id"] for r in rows],
                    subject=("wilayah", code))
    rows = minimise_all(principal, rows)  # the same masking in JSON, CSV and XLSX
    if not whole:
        return {"program": program.value, "period": month, "items": rows,
                "next_cursor": next_cursor}
    name = f"cases-{program.value}-{code}-{month}"
    if format is CaseFormat.csv:
        return Response(caseloads.as_csv(program.value, rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return Response(caseloads.as_xlsx(program.value, rows),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


# ---------------------------------------------------------------- targets and programmes

@router.put("/targets/{code}/{year}", response_model=TargetOut,
            description="Set the balita stunting prevalence target of a region (code `ID`: the "
            "national target) for a year (admins).")
def put_target(code: str, year: int, body: TargetIn, session: SessionDep, admin: AdminDep) -> dict:
    return caseloads.set_target(session, principal=admin, code=code, year=year,
                                value=body.stunting_prevalence)


@router.put("/users/{username}/programs", response_model=ProgramsOut,
            description="Grant an agency account the programmes whose named case lists it may "
            "read and act on (replaces the earlier grant; admins).")
def put_programs(username: str, body: ProgramsIn, session: SessionDep, admin: AdminDep) -> dict:
    user = accounts.get_user_by_username_or_raise(session, username)
    chosen = interventions.grant_programs(session, user=user, programs=[p.value for p in body.programs],
                                          actor_id=admin.user_id)
    return {"username": user.username, "programs": chosen}


@router.get("/users/{username}/programs", response_model=ProgramsOut)
def get_programs(username: str, session: ReadSessionDep, admin: AdminDep) -> dict:
    user = accounts.get_user_by_username_or_raise(session, username)
    principal = accounts.principal_for(session, user)
    return {"username": user.username, "programs": list(interventions.programs_of(session, principal))}


# ---------------------------------------------------------------- interventions

def _out(principal, row) -> dict:
    """An intervention as the principal may see it (a note can hold a NIK)."""
    return minimise(principal, interventions.as_dict(row))


def _subjects(items: list[dict]) -> dict:
    return {"persons": [i["person_id"] for i in items],
            "households": [i["household_id"] for i in items]}


@router.post("/interventions", response_model=InterventionOut, status_code=201,
             description="Record what was delivered to a person or a household, in your scope "
             "and programmes (audited). The caseload's coverage follows at once.")
def post_intervention(body: InterventionIn, session: SessionDep, principal: PrincipalDep) -> dict:
    values = body.model_dump(exclude_none=True)
    values["program"] = body.program.value
    return _out(principal, interventions.record(session, principal=principal, values=values))


@router.get("/interventions", response_model=InterventionPage)
def list_interventions(request: Request, session: ReadSessionDep, principal: PrincipalDep,
                       page: PageDep,
                       program: Program | None = None, person_id: str | None = None,
                       household_id: str | None = None,
                       kelurahan_code: Annotated[str | None, Query(max_length=13)] = None,
                       delivered_from: date | None = None, delivered_to: date | None = None,
                       include_withdrawn: bool = False) -> dict:
    rows, total = interventions.list_interventions(
        session, principal=principal, limit=page.limit, offset=page.offset,
        filters=interventions.Filters(program.value if program else None, person_id, household_id,
                                      kelurahan_code, delivered_from, delivered_to,
                                      include_withdrawn))
    items = [_out(principal, r) for r in rows]
    access.log_read(request, principal, resource="interventions", rows=len(items),
                    **_subjects(items))
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}


@router.get("/interventions/{intervention_id}", response_model=InterventionOut)
def get_intervention(request: Request, intervention_id: RecordId, session: ReadSessionDep,
                     principal: PrincipalDep) -> dict:
    item = _out(principal, interventions.get_or_raise(session, principal=principal,
                                                      intervention_id=intervention_id))
    access.log_read(request, principal, resource="intervention", action="read", rows=1,
                    subject=("intervention", intervention_id), **_subjects([item]))
    return item


@router.patch("/interventions/{intervention_id}", response_model=InterventionOut,
              description="Correct an intervention (audited with before and after).")
def patch_intervention(intervention_id: RecordId, body: InterventionPatch, session: SessionDep,
                       principal: PrincipalDep) -> dict:
    changes = body.model_dump(exclude_unset=True)
    if "program" in changes and changes["program"] is not None:
        changes["program"] = body.program.value
    if not changes:
        raise InvalidInput("Nothing to change.", code="intervention.invalid")
    return _out(principal, interventions.correct(session, principal=principal,
                                      intervention_id=intervention_id, changes=changes))


@router.delete("/interventions/{intervention_id}", response_model=InterventionOut,
               description="Withdraw an intervention: it stays as a tombstone (`withdrawn`), "
               "no longer counts for coverage, and the audit log keeps who and when.")
def delete_intervention(intervention_id: RecordId, session: SessionDep,
                        principal: PrincipalDep) -> dict:
    return _out(principal, interventions.withdraw(session, principal=principal,
                                       intervention_id=intervention_id))


