"""Identity review: the duplicate candidate queue (list, side by side, merge, dismiss),
unmerge, and the person and household look-ups a reviewer needs. Reads are open to
every signed-in role in its scope; merging, dismissing and unmerging need a supervisor
(or an admin), in scope."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from api import access
from api.deps import PrincipalDep, ReadSessionDep, SessionDep, SupervisorDep
from api.pagination import MAX_ID, Page, PageDep
from sync import reviews
from sync.accounts import Principal
from sync.minimise import minimise, minimise_all
from sync.queries.reviews import HouseholdFilters, PairFilters, PersonFilters

router = APIRouter(prefix="/api/v1", tags=["identity"])

RecordKey = Annotated[str, Path(max_length=36, description="A registry id (persons and "
                                "households have UUIDs)")]
PairId = Annotated[int, Path(ge=1, le=MAX_ID, description="A duplicate pair's id")]


class PairStatus(StrEnum):
    open = "open"
    merged = "merged"
    dismissed = "dismissed"


class EntityKind(StrEnum):
    person = "person"
    household = "household"


# ---------------------------------------------------------------- responses

class FieldEvidence(BaseModel):
    level: str = Field(description="How the field compared, e.g. exact, variant, "
                       "day_month_swap, missing, different")
    weight: float | None = Field(default=None, description="Its log2(m/u) weight in the score")


class Evidence(BaseModel):
    """Why the pair was proposed (matching.compare)."""

    score: float | None = None
    band: str | None = Field(default=None, description="auto_link, review or new")
    guard: str | None = Field(default=None, description="Why the band was capped (twins or "
                              "siblings, NIKs that differ, ...)")
    rule: str | None = Field(default=None, description="The deterministic rule (kk, nik) when "
                             "a rule, not a score, proposed it")
    fields: dict[str, FieldEvidence] = Field(default_factory=dict,
                                             description="Per-field comparison")


class DuplicatePairOut(BaseModel):
    """Two records that may be one person or household."""

    id: int
    entity: EntityKind
    a_id: str
    b_id: str
    a_name: str | None = Field(description="The person's name or the household head's")
    b_name: str | None
    a_kelurahan_code: str | None
    b_kelurahan_code: str | None
    score: float = Field(description="Sum of the field weights (higher: likelier one person)")
    band: str = Field(description="What the score said: auto_link or review (a cross-scope "
                      "or guarded auto_link is reviewed, never linked)")
    evidence: Evidence
    cross_scope: bool = Field(description="Proposed by a submitter who may see only one of "
                              "the two records")
    source: str = Field(description="online (at intake) or batch (posyandu-sync dedup)")
    status: PairStatus
    created_at: datetime
    decided_by: int | None
    decided_at: datetime | None
    merge_id: int | None = Field(description="The merge that merged them, if merged")


class MeasurementPoint(BaseModel):
    """A current measurement with its WHO z-scores."""

    id: int
    measured_on: date
    age_days: int | None
    weight_kg: float | None
    length_height_cm: float | None
    muac_cm: float | None
    zlen: float | None = Field(description="Length/height-for-age z-score")
    zwei: float | None = Field(description="Weight-for-age z-score")
    zwfl: float | None = Field(description="Weight-for-length/height z-score")
    zbmi: float | None
    zac: float | None
    stunted: bool | None
    wasted: bool | None
    underweight: bool | None
    plausibility_flags: str
    kelurahan_code: str
    posyandu_id: int | None


class ScreeningPoint(BaseModel):
    id: int
    screened_on: date
    pregnant: bool
    muac_cm: float | None
    hb_g_dl: float | None
    kek: bool | None
    anaemia: bool | None
    pregnancy_id: int | None


class PersonOut(BaseModel):
    id: str
    version: int
    nik: str | None
    name: str
    sex: str | None
    birth_date: date | None
    birth_date_estimated: bool
    mother_id: str | None
    household_id: str | None
    kelurahan_code: str
    posyandu_id: int | None
    merged_into_id: str | None = Field(description="Set on a tombstone: the survivor's id")
    created_at: datetime
    updated_at: datetime


class PersonDetail(PersonOut):
    merged_from: str | None = Field(description="The id asked for, when it was merged into "
                                    "this person (the survivor answers for it)")
    measurements: list[MeasurementPoint] = Field(description="Growth history, oldest first")
    pregnancy_screenings: list[ScreeningPoint]


class SanitationPoint(BaseModel):
    id: int
    checked_on: date
    jamban_sehat: bool | None
    sanitasi_layak: bool | None
    air_minum_layak: bool | None


class Member(BaseModel):
    id: str
    name: str
    sex: str | None
    birth_date: date | None


class HouseholdOut(BaseModel):
    id: str
    version: int
    kk: str | None
    head_name: str | None
    address: str | None
    rt: str | None
    rw: str | None
    kelurahan_code: str
    merged_into_id: str | None
    created_at: datetime
    updated_at: datetime


class HouseholdDetail(HouseholdOut):
    merged_from: str | None
    members: list[Member]
    sanitation_checks: list[SanitationPoint]


class PersonSide(PersonOut):
    measurements: list[MeasurementPoint]
    pregnancy_screenings: list[ScreeningPoint]


class HouseholdSide(HouseholdOut):
    members: list[Member]
    sanitation_checks: list[SanitationPoint]


class DuplicatePairDetail(DuplicatePairOut):
    a: PersonSide | HouseholdSide | None = Field(description="Record a, with its measurements "
                                                 "(a person) or members and checks (a household)")
    b: PersonSide | HouseholdSide | None


class MergeIn(BaseModel):
    survivor_id: str = Field(max_length=36, description="a_id or b_id: the record that stays")
    values: dict[str, Any] = Field(
        default_factory=dict,
        description="Fields of the merged record chosen otherwise: the survivor's fields win, "
        "the absorbed record's fill the survivor's empty ones, these override both")


class MergeOut(BaseModel):
    pair: DuplicatePairOut
    merge_id: int
    survivor: PersonOut | HouseholdOut


# ---------------------------------------------------------------- minimisation and the access log

def _seen(principal: Principal, row: dict, *nested: str) -> dict:
    """`row` as the principal may see it (sync.minimise), nested records too."""
    out = minimise(principal, row)
    for key in nested:
        if isinstance(row.get(key), dict):
            out[key] = minimise(principal, row[key])
    return out


def _pair_subjects(pairs) -> dict:
    """The persons or households whose data a list of pairs shows (names, places)."""
    persons = [i for p in pairs if p["entity"] == "person" for i in (p["a_id"], p["b_id"])]
    households = [i for p in pairs if p["entity"] == "household" for i in (p["a_id"], p["b_id"])]
    return {"persons": persons, "households": households}


# ---------------------------------------------------------------- duplicates

def _pair_filters(
    kelurahan_code: Annotated[str | None, Query(max_length=13, description="Either record is "
                                                "in this kelurahan")] = None,
    status: PairStatus | None = None,
    min_score: Annotated[float | None, Query(description="Score at least this")] = None,
    entity: EntityKind | None = None,
) -> PairFilters:
    return PairFilters(kelurahan_code=kelurahan_code, status=status and status.value,
                       min_score=min_score, entity=entity and entity.value)


@router.get("/duplicates", response_model=Page[DuplicatePairOut])
def list_duplicates(request: Request, session: ReadSessionDep, principal: PrincipalDep,
                    page: PageDep, filters: Annotated[PairFilters, Depends(_pair_filters)]
                    ) -> Page[DuplicatePairOut]:
    """Duplicate candidate pairs whose two records you may both see, strongest first
    (score, then id), with the score and the per-field evidence."""
    rows, total = reviews.list_duplicates(session, principal=principal, filters=filters,
                                          limit=page.limit, offset=page.offset)
    access.log_read(request, principal, resource="duplicates", rows=len(rows),
                    **_pair_subjects(rows))
    return Page(items=[DuplicatePairOut.model_validate(r)
                       for r in minimise_all(principal, rows)], total=total,
                limit=page.limit, offset=page.offset)


@router.get("/duplicates/{pair_id}", response_model=DuplicatePairDetail)
def get_duplicate(request: Request, session: ReadSessionDep, principal: PrincipalDep,
                  pair_id: PairId) -> DuplicatePairDetail:
    """Both records side by side, with their measurements and screenings (persons) or
    members and sanitation checks (households)."""
    pair = reviews.duplicate_detail(session, principal=principal, pair_id=pair_id)
    subjects = _pair_subjects([pair])
    if pair["entity"] == "household":  # the members' names are shown too
        subjects["persons"] = [m["id"] for side in (pair["a"], pair["b"]) if side
                               for m in side["members"]]
    access.log_read(request, principal, resource="duplicate", action="read",
                    subject=("duplicate_pair", pair_id), rows=1, **subjects)
    return DuplicatePairDetail.model_validate(_seen(principal, pair, "a", "b"))


@router.post("/duplicates/{pair_id}/dismiss", response_model=DuplicatePairOut)
def dismiss_duplicate(session: SessionDep, principal: SupervisorDep, pair_id: PairId
                      ) -> DuplicatePairOut:
    """Not the same: the decision is remembered and the pair is never proposed again,
    online or in batch."""
    return DuplicatePairOut.model_validate(
        minimise(principal, reviews.dismiss(session, principal=principal, pair_id=pair_id)))


@router.post("/duplicates/{pair_id}/merge", response_model=MergeOut)
def merge_duplicate(session: SessionDep, principal: SupervisorDep, pair_id: PairId,
                    body: Annotated[MergeIn, Body()]) -> MergeOut:
    """Merge the pair into `survivor_id`: every measurement, screening, pregnancy and
    household link moves to it, the other record becomes a tombstone pointing at it;
    both get a new version, the change log and the audit log say so. Undo with
    POST /api/v1/persons/{id}/unmerge (or households)."""
    return MergeOut.model_validate(_seen(principal, reviews.merge_pair(
        session, principal=principal, pair_id=pair_id, survivor_id=body.survivor_id,
        values=body.values), "pair", "survivor"))


# ---------------------------------------------------------------- persons

def _person_filters(
    name: Annotated[str | None, Query(max_length=120, description="A word of the name, "
                                      "normalised as stored (case, titles, By. Ny.)")] = None,
    nik: Annotated[str | None, Query(max_length=16)] = None,
    kelurahan_code: Annotated[str | None, Query(max_length=13)] = None,
    posyandu_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    household_id: Annotated[str | None, Query(max_length=36)] = None,
    include_merged: Annotated[bool, Query(description="Also tombstones of merged "
                                          "persons")] = False,
) -> PersonFilters:
    return PersonFilters(name=name, nik=nik, kelurahan_code=kelurahan_code,
                         posyandu_id=posyandu_id, household_id=household_id,
                         include_merged=include_merged)


@router.get("/persons", response_model=Page[PersonOut])
def list_persons(request: Request, session: ReadSessionDep, principal: PrincipalDep,
                 page: PageDep, filters: Annotated[PersonFilters, Depends(_person_filters)]
                 ) -> Page[PersonOut]:
    """Persons in your scope, by name then id. An agency without full NIKs sees them
    masked, and cannot search by one (it would tell whose a NIK is)."""
    rows, total = reviews.list_persons(session, principal=principal, filters=filters,
                                       limit=page.limit, offset=page.offset)
    access.log_read(request, principal, resource="persons", persons=[r["id"] for r in rows],
                    rows=len(rows))
    return Page(items=[PersonOut.model_validate(r) for r in minimise_all(principal, rows)],
                total=total,
                limit=page.limit, offset=page.offset)


@router.get("/persons/{person_id}", response_model=PersonDetail)
def get_person(request: Request, session: ReadSessionDep, principal: PrincipalDep,
               person_id: RecordKey) -> PersonDetail:
    """A person with the growth history (z-scores) and screenings. A merged id answers
    with the survivor, and `merged_from` says it was merged."""
    person = reviews.get_person(session, principal=principal, person_id=person_id)
    access.log_read(request, principal, resource="person", action="read",
                    subject=("person", person["id"]), persons=[person["id"]], rows=1)
    return PersonDetail.model_validate(minimise(principal, person))


@router.post("/persons/{person_id}/unmerge", response_model=PersonOut)
def unmerge_person(session: SessionDep, principal: SupervisorDep, person_id: RecordKey
                   ) -> PersonOut:
    """Undo the merge (or auto-link) that absorbed this person: it lives again with its
    own fields and exactly the records that were its own."""
    return PersonOut.model_validate(minimise(principal, reviews.unmerge_record(
        session, principal=principal, entity="person", record_id=person_id)))


# ---------------------------------------------------------------- households

def _household_filters(
    name: Annotated[str | None, Query(max_length=120, description="Part of the head's "
                                      "name")] = None,
    kk: Annotated[str | None, Query(max_length=16)] = None,
    kelurahan_code: Annotated[str | None, Query(max_length=13)] = None,
    include_merged: bool = False,
) -> HouseholdFilters:
    return HouseholdFilters(name=name, kk=kk, kelurahan_code=kelurahan_code,
                            include_merged=include_merged)


@router.get("/households", response_model=Page[HouseholdOut])
def list_households(request: Request, session: ReadSessionDep, principal: PrincipalDep,
                    page: PageDep,
                    filters: Annotated[HouseholdFilters, Depends(_household_filters)]
                    ) -> Page[HouseholdOut]:
    """Households in your scope, by head's name then id (KK numbers masked for an
    agency without full NIKs, which cannot search by one)."""
    rows, total = reviews.list_households(session, principal=principal, filters=filters,
                                          limit=page.limit, offset=page.offset)
    access.log_read(request, principal, resource="households",
                    households=[r["id"] for r in rows], rows=len(rows))
    return Page(items=[HouseholdOut.model_validate(r) for r in minimise_all(principal, rows)],
                total=total,
                limit=page.limit, offset=page.offset)


@router.get("/households/{household_id}", response_model=HouseholdDetail)
def get_household(request: Request, session: ReadSessionDep, principal: PrincipalDep,
                  household_id: RecordKey) -> HouseholdDetail:
    """A household with its members and sanitation checks (a merged id: its survivor)."""
    household = reviews.get_household(session, principal=principal, household_id=household_id)
    access.log_read(request, principal, resource="household", action="read",
                    subject=("household", household["id"]), households=[household["id"]],
                    persons=[m["id"] for m in household["members"]], rows=1)
    return HouseholdDetail.model_validate(minimise(principal, household))


@router.post("/households/{household_id}/unmerge", response_model=HouseholdOut)
def unmerge_household(session: SessionDep, principal: SupervisorDep, household_id: RecordKey
                      ) -> HouseholdOut:
    """Undo the merge that absorbed this household."""
    return HouseholdOut.model_validate(minimise(principal, reviews.unmerge_record(
        session, principal=principal, entity="household", record_id=household_id)))
