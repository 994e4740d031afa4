"""The records made from submissions, read (any signed-in role, scoped): child
measurements, pregnancy screenings, household sanitation checks."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from api import access
from api.deps import PrincipalDep, ReadSessionDep
from api.pagination import MAX_ID, Page, PageDep
from indicators.categories import AgeGroup, BbuCategory, GiziCategory, TbuCategory
from indicators.maternal import AnaemiaSeverity
from sync.minimise import minimise_all
from sync.queries import record_lists as queries
from sync.queries.record_lists import (
    DateRange,
    MeasurementFilters,
    SanitationFilters,
    ScreeningFilters,
)

router = APIRouter(prefix="/api/v1", tags=["records"])

# ---------------------------------------------------------------- responses


class MeasurementOut(BaseModel):
    """A child measurement with the WHO z-scores and Permenkes 2/2020 categories stored
    when it was processed (WHO anthro names and rules: z-scores rounded to 2 decimals,
    null where WHO gives NA)."""

    id: int
    person_id: str = Field(description="The child's registry id")
    child_name: str = Field(description="The child's name in the registry")
    sex: str | None = Field(description="The child's sex in the registry: male or female")
    kelurahan_code: str
    posyandu_id: int | None
    measured_on: date
    age_days: int | None = Field(description="Age in days on measured_on (from the registry's "
                                 "birth date)")
    weight_kg: float | None
    length_height_cm: float | None = Field(description="As measured")
    measure_method: str | None = Field(description="lying or standing, as measured")
    muac_cm: float | None = Field(description="Mid-upper arm circumference (LiLA)")
    oedema: bool
    clenhei: float | None = Field(description="Length/height after WHO's 0.7 cm conversion "
                                  "(standing under 24 months +0.7, lying from 24 months -0.7)")
    cmeasure: str | None = Field(description="The measure WHO used: L (length) or H (height)")
    c9mo_flag: int = Field(description="1: a standing height under 9 months, discarded as "
                           "WHO does (no length-based z-scores)")
    cbmi: float | None = Field(description="BMI from weight and clenhei, kg/m²")
    zlen: float | None = Field(description="Length/height-for-age z-score (PB/U, TB/U)")
    flen: int | None = Field(description="1 when zlen is implausible (< -6 or > 6)")
    zwei: float | None = Field(description="Weight-for-age z-score (BB/U)")
    fwei: int | None = Field(description="1 when zwei is implausible (< -6 or > 5)")
    zwfl: float | None = Field(description="Weight-for-length/height z-score (BB/PB, BB/TB)")
    fwfl: int | None = Field(description="1 when zwfl is implausible (< -5 or > 5)")
    zbmi: float | None = Field(description="BMI-for-age z-score (IMT/U)")
    fbmi: int | None = Field(description="1 when zbmi is implausible (< -5 or > 5)")
    zac: float | None = Field(description="Arm-circumference-for-age z-score (from 3 months)")
    fac: int | None = Field(description="1 when zac is implausible (< -5 or > 5)")
    bbu_category: BbuCategory | None = Field(
        description="BB/U on zwei: sangat_kurang < -3, kurang -3 to < -2, normal -2 to +1, "
        "risiko_lebih > +1; oedema counts as sangat_kurang; null when zwei is missing or "
        "flagged")
    tbu_category: TbuCategory | None = Field(
        description="PB/U or TB/U on zlen: sangat_pendek < -3, pendek -3 to < -2, normal -2 "
        "to +3, tinggi > +3; null when zlen is missing or flagged")
    bbtb_category: GiziCategory | None = Field(
        description="BB/PB or BB/TB on zwfl: gizi_buruk < -3, gizi_kurang -3 to < -2, "
        "gizi_baik -2 to +1, berisiko_gizi_lebih > +1 to +2, gizi_lebih > +2 to +3, "
        "obesitas > +3; oedema counts as gizi_buruk")
    imtu_category: GiziCategory | None = Field(
        description="IMT/U on zbmi, with the bands of bbtb_category")
    stunted: bool | None = Field(description="tbu_category is pendek or sangat_pendek")
    severely_stunted: bool | None = Field(description="tbu_category is sangat_pendek")
    wasted: bool | None = Field(description="bbtb_category is gizi_kurang or gizi_buruk")
    severely_wasted: bool | None = Field(description="bbtb_category is gizi_buruk")
    underweight: bool | None = Field(description="bbu_category is kurang or sangat_kurang")
    overweight: bool | None = Field(description="bbtb_category is gizi_lebih or obesitas")
    age_group: AgeGroup | None = Field(description="baduta: under 731 days; balita: 731 days "
                                       "to under 60 months")
    plausibility_flags: str = Field(
        description="Semicolon-separated checks against the child's earlier measurements "
        "and the NIKs typed (length_drop, weight_gain, weight_loss, child_nik_inconsistent, "
        "mother_nik_inconsistent); empty when none. Shown, never corrected")
    is_current: bool = Field(description="False once an edit (deprecatedID) replaced it")
    conflict_id: int | None = Field(
        default=None, description="Set while this and another measurement of the same child on "
        "the same day wait in a conflict (GET /api/v1/conflicts/{id}); counted by neither")
    instance_id: str = Field(description="The submission's instanceID")


class PregnancyScreeningOut(BaseModel):
    """A KEK/anaemia screening of a pregnant woman or a woman of reproductive age, with
    the results computed when it was processed (indicators.maternal, DOMAIN.md §4)."""

    id: int
    woman_id: str = Field(description="The woman's registry id")
    woman_name: str
    kelurahan_code: str
    kelurahan_name: str
    posyandu_id: int | None
    posyandu_name: str | None
    pregnancy_id: int | None = Field(description="The pregnancy this screening belongs to "
                                     "(screenings of one pregnancy share it)")
    screened_on: date
    pregnant: bool
    gestational_age_weeks: int | None
    muac_cm: float | None = Field(description="LiLA (mid-upper arm circumference)")
    hb_g_dl: float | None = Field(description="Haemoglobin, g/dL")
    height_cm: float | None
    weight_kg: float | None
    age_years: int | None = Field(description="Completed years on screened_on, from the "
                                  "registry's birth date")
    bmi: float | None = Field(description="weight_kg / (height_cm/100)², kg/m²")
    kek: bool | None = Field(description="Kekurangan energi kronis: LiLA < 23.5 cm; null "
                             "without a LiLA")
    anaemia: bool | None = Field(
        description="Hb below the WHO 2011 cut-off: pregnant < 11.0 g/dL; not pregnant "
        "< 12.0 from 15 years, < 11.5 under 15; null without an Hb")
    anaemia_severity: AnaemiaSeverity | None = Field(
        description="none, mild, moderate or severe (WHO 2011; pregnant: mild 10.0-10.9, "
        "moderate 7.0-9.9, severe < 7.0; not pregnant: mild 11.0 up to the cut-off, moderate "
        "8.0-10.9, severe < 8.0); null without an Hb")
    risk_age_under_20: bool | None = Field(description="Age under 20 years")
    risk_age_over_35: bool | None = Field(description="Age over 35 years")
    risk_short_stature: bool | None = Field(description="Height under 145 cm")
    risk_low_bmi: bool | None = Field(description="BMI under 18.5")
    is_current: bool = Field(description="False once an edit (deprecatedID) replaced it")
    instance_id: str = Field(description="The submission's instanceID")


class SanitationCheckOut(BaseModel):
    """A household sanitation check: the answers, the five STBM pillars (Permenkes
    3/2014) and the latrine/water indicators computed when it was processed
    (indicators.sanitation, DOMAIN.md §5). Results are null when an answer they need is
    missing (a false answer decides even so)."""

    id: int
    household_id: str = Field(description="The household's registry id")
    head_name: str | None = Field(description="The head of the household, as registered")
    kk: str | None = Field(description="The household's Kartu Keluarga number")
    kelurahan_code: str
    kelurahan_name: str
    checked_on: date
    latrine_access: str | None = Field(description="own, shared, communal (MCK umum) or none")
    latrine_type: str | None = Field(description="gooseneck (leher angsa), plengsengan, "
                                     "cemplung or none")
    waste_disposal: str | None = Field(description="septic_tank, ipal, lined_pit, "
                                       "unlined_pit, river_or_open or none")
    handwashing_soap: bool | None = Field(description="Soap and running water at the "
                                          "handwashing place")
    drinking_water_source: str | None = Field(
        description="piped, bottled_refill, borehole, protected_well, protected_spring, "
        "unprotected_well, unprotected_spring, surface_water or rain")
    water_treated: str | None = Field(description="boiled, filtered or none")
    waste_bin: bool | None = Field(description="A closed bin, waste collected or managed")
    wastewater_drain: str | None = Field(description="closed_drain, open_drain or none")
    stop_babs: bool | None = Field(description="Pillar 1, stop open defecation: a latrine "
                                   "whose excreta stay in a pit or tank")
    ctps: bool | None = Field(description="Pillar 2, handwashing with soap and running water")
    pamm_rt: bool | None = Field(description="Pillar 3, drinking water treated at home "
                                 "(boiled or filtered) or bottled/refill")
    ps_rt: bool | None = Field(description="Pillar 4, solid waste goes into a bin")
    plc_rt: bool | None = Field(description="Pillar 5, wastewater to a closed drain (SPAL)")
    jamban_sehat: bool | None = Field(
        description="Healthy latrine: a gooseneck latrine emptying into a septic tank or "
        "IPAL (in a desa, also a lined pit)")
    sanitasi_layak: bool | None = Field(
        description="Own, shared or communal latrine, gooseneck, to a septic tank or IPAL")
    air_minum_layak: bool | None = Field(
        description="Improved drinking-water source: piped, bottled/refill, borehole, "
        "protected well or spring")
    is_current: bool = Field(description="False once an edit (deprecatedID) replaced it")
    instance_id: str = Field(description="The submission's instanceID")


# ---------------------------------------------------------------- filters

KelurahanCode = Annotated[str | None, Query(description="One kelurahan, e.g. 33.75.01.1002")]
PosyanduId = Annotated[int | None, Query(ge=1, le=MAX_ID, description="One posyandu's id")]
CurrentOnly = Annotated[bool, Query(description="Leave out records replaced by an edit")]
#: every value of the four Permenkes categories, for `?category=`
AnyCategory = StrEnum("AnyCategory", {v.value: v.value for enum in (BbuCategory, TbuCategory,
                                                                     GiziCategory) for v in enum})


def _days(
    since: Annotated[date | None, Query(alias="from", description="The record's day "
                                        "(measured_on, screened_on, checked_on) is on or "
                                        "after this one (YYYY-MM-DD)")] = None,
    until: Annotated[date | None, Query(alias="to", description="... on or before this one "
                                        "(YYYY-MM-DD); both days included")] = None,
) -> DateRange:
    return DateRange(since=since, until=until)


def _measurement_filters(
    days: Annotated[DateRange, Depends(_days)],
    kelurahan_code: KelurahanCode = None,
    person_id: Annotated[str | None, Query(description="A child's registry id")] = None,
    posyandu_id: PosyanduId = None,
    flagged: Annotated[bool | None, Query(
        description="true: a plausibility flag or a WHO flag (flen, fwei, fwfl, fbmi, fac, "
        "c9mo_flag); false: none of them")] = None,
    stunted: Annotated[bool | None, Query(description="Rows with no TB/U category match "
                                          "neither true nor false")] = None,
    wasted: bool | None = None,
    underweight: bool | None = None,
    bbu_category: BbuCategory | None = None,
    tbu_category: TbuCategory | None = None,
    bbtb_category: GiziCategory | None = None,
    imtu_category: GiziCategory | None = None,
    category: Annotated[AnyCategory | None, Query(
        description="Rows where any of the four Permenkes categories (BB/U, PB/U or TB/U, "
        "BB/PB or BB/TB, IMT/U) has this value, e.g. pendek or gizi_buruk")] = None,
    current_only: CurrentOnly = True,
) -> MeasurementFilters:
    return MeasurementFilters(
        kelurahan_code=kelurahan_code, posyandu_id=posyandu_id, person_id=person_id, days=days,
        flagged=flagged, stunted=stunted, wasted=wasted, underweight=underweight,
        bbu_category=bbu_category, tbu_category=tbu_category, bbtb_category=bbtb_category,
        imtu_category=imtu_category, category=category and category.value,
        current_only=current_only)


def _screening_filters(
    days: Annotated[DateRange, Depends(_days)],
    kelurahan_code: KelurahanCode = None,
    posyandu_id: PosyanduId = None,
    woman_id: Annotated[str | None, Query(description="A woman's registry id")] = None,
    kek: bool | None = None,
    anaemia: bool | None = None,
    pregnant: bool | None = None,
    current_only: CurrentOnly = True,
) -> ScreeningFilters:
    return ScreeningFilters(kelurahan_code=kelurahan_code, posyandu_id=posyandu_id,
                            woman_id=woman_id, days=days, kek=kek, anaemia=anaemia,
                            pregnant=pregnant, current_only=current_only)


def _sanitation_filters(
    days: Annotated[DateRange, Depends(_days)],
    kelurahan_code: KelurahanCode = None,
    household_id: Annotated[str | None, Query(description="A household's registry id")] = None,
    jamban_sehat: bool | None = None,
    sanitasi_layak: bool | None = None,
    current_only: CurrentOnly = True,
) -> SanitationFilters:
    return SanitationFilters(kelurahan_code=kelurahan_code, household_id=household_id, days=days,
                             jamban_sehat=jamban_sehat, sanitasi_layak=sanitasi_layak,
                             current_only=current_only)


# ---------------------------------------------------------------- endpoints


@router.get("/measurements", response_model=Page[MeasurementOut])
def list_measurements(request: Request, session: ReadSessionDep, principal: PrincipalDep, page: PageDep,
                      filters: Annotated[MeasurementFilters, Depends(_measurement_filters)],
                      ) -> Page[MeasurementOut]:
    """Child measurements with their stored WHO z-scores and categories, in your scope,
    newest first (measured_on, then id). Category filters take the category values
    below; several filters all apply."""
    rows, total = queries.list_measurements(session, scope=principal.scope, filters=filters,
                                            limit=page.limit, offset=page.offset)
    items = [MeasurementOut.model_validate(r) for r in rows]
    access.log_read(request, principal, resource="measurements", persons=[i.person_id for i in items],
                    rows=len(items))
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/pregnancy-screenings", response_model=Page[PregnancyScreeningOut])
def list_pregnancy_screenings(request: Request, session: ReadSessionDep, principal: PrincipalDep, page: PageDep,
                              filters: Annotated[ScreeningFilters, Depends(_screening_filters)],
                              ) -> Page[PregnancyScreeningOut]:
    """Pregnancy screenings with KEK, anaemia and risk markers, in your scope, newest
    first (screened_on, then id)."""
    rows, total = queries.list_pregnancy_screenings(session, scope=principal.scope,
                                                    filters=filters, limit=page.limit,
                                                    offset=page.offset)
    items = [PregnancyScreeningOut.model_validate(r) for r in rows]
    access.log_read(request, principal, resource="pregnancy_screenings", persons=[i.woman_id for i in items],
                    rows=len(items))
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/sanitation-checks", response_model=Page[SanitationCheckOut])
def list_sanitation_checks(request: Request, session: ReadSessionDep, principal: PrincipalDep, page: PageDep,
                           filters: Annotated[SanitationFilters, Depends(_sanitation_filters)],
                           ) -> Page[SanitationCheckOut]:
    """Household sanitation checks with the STBM pillars, jamban sehat and sanitasi layak,
    in your scope (a posyandu kader: the posyandu's kelurahan), newest first (checked_on,
    then id)."""
    rows, total = queries.list_sanitation_checks(session, scope=principal.scope,
                                                 filters=filters, limit=page.limit,
                                                 offset=page.offset)
    items = [SanitationCheckOut.model_validate(r)
             for r in minimise_all(principal, (dict(r) for r in rows))]
    access.log_read(request, principal, resource="sanitation_checks", households=[i.household_id for i in items],
                    rows=len(items))
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
