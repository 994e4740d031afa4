"""The records made from submissions, as readers see them (their writes are in
sync/queries/records.py): measurements, pregnancy screenings and sanitation checks, each with the names a reader needs (child, woman,
household head, kelurahan, posyandu), scoped and filtered in the query itself.

Every list is ordered newest first by the day of the visit, with the record id as the
tiebreak, so that pages do not overlap or skip rows while nothing new arrives. The total
is counted on the record table alone: the joins add names, never rows (each one follows a
foreign key to exactly one row, and the outer join to posyandu at most one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import case, func, not_, or_
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, select

from core.errors import InvalidInput
from models import Household, Measurement, Person, Posyandu, Submission, Wilayah
from models.records import PregnancyScreening, SanitationCheck
from sync.scope import Scope, scope_filter

Row = Mapping[str, Any]

M = Measurement
P = PregnancyScreening
S = SanitationCheck

# WHO's flags of biologically implausible z-scores (1 = flagged, NULL where the z-score
# is NA) and the discarded standing height under 9 months.
_WHO_FLAGS = (M.flen, M.fwei, M.fwfl, M.fbmi, M.fac, M.c9mo_flag)


@dataclass(frozen=True, kw_only=True)
class DateRange:
    """Days from `since` to `until`, both included; either may be open."""

    since: date | None = None
    until: date | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise InvalidInput(f"'from' ({self.since}) is after 'to' ({self.until}).",
                               code="filter.date_range")

    def conditions(self, column) -> list[ColumnElement[bool]]:
        out = []
        if self.since:
            out.append(column >= self.since)
        if self.until:
            out.append(column <= self.until)
        return out


@dataclass(frozen=True, kw_only=True)
class MeasurementFilters:
    """None = no condition. Booleans (`stunted`, ...) match only rows where the stored
    value is that boolean: a measurement with no category (a flagged or missing
    z-score) is neither stunted nor not stunted."""

    kelurahan_code: str | None = None
    posyandu_id: int | None = None
    person_id: str | None = None
    days: DateRange = DateRange()
    flagged: bool | None = None
    stunted: bool | None = None
    wasted: bool | None = None
    underweight: bool | None = None
    bbu_category: str | None = None
    tbu_category: str | None = None
    bbtb_category: str | None = None
    imtu_category: str | None = None
    category: str | None = None  # any of the four Permenkes categories
    current_only: bool = True


@dataclass(frozen=True, kw_only=True)
class ScreeningFilters:
    kelurahan_code: str | None = None
    posyandu_id: int | None = None
    woman_id: str | None = None
    days: DateRange = DateRange()
    kek: bool | None = None
    anaemia: bool | None = None
    pregnant: bool | None = None
    current_only: bool = True


@dataclass(frozen=True, kw_only=True)
class SanitationFilters:
    kelurahan_code: str | None = None
    household_id: str | None = None
    days: DateRange = DateRange()
    jamban_sehat: bool | None = None
    sanitasi_layak: bool | None = None
    current_only: bool = True


def _equal(pairs) -> list[ColumnElement[bool]]:
    """`column == value` for each pair whose value is given."""
    return [column == value for column, value in pairs if value is not None]


def is_flagged() -> ColumnElement[bool]:
    """A measurement to check: a plausibility flag, or a WHO flag (NULL counts as 0, so
    that NOT of this is true exactly for the unflagged rows)."""
    return or_(M.plausibility_flags != "", *(func.coalesce(flag, 0) != 0 for flag in _WHO_FLAGS))


def _page(session: Session, table, conditions: list, query, order, *, limit: int,
          offset: int) -> tuple[list[Row], int]:
    total = session.exec(select(func.count()).select_from(table).where(*conditions)).one()
    rows = session.execute(query.where(*conditions).order_by(*order)
                           .limit(limit).offset(offset)).mappings().all()
    return list(rows), total


def list_measurements(session: Session, *, scope: Scope, filters: MeasurementFilters,
                      limit: int, offset: int) -> tuple[list[Row], int]:
    """Measurement rows (every column), with `instance_id`, `child_name` and `sex`."""
    f = filters
    conditions = [scope_filter(scope, M.kelurahan_code, M.posyandu_id),
                  *f.days.conditions(M.measured_on),
                  *_equal([(M.kelurahan_code, f.kelurahan_code), (M.posyandu_id, f.posyandu_id),
                           (M.person_id, f.person_id), (M.stunted, f.stunted),
                           (M.wasted, f.wasted), (M.underweight, f.underweight),
                           (M.bbu_category, f.bbu_category), (M.tbu_category, f.tbu_category),
                           (M.bbtb_category, f.bbtb_category),
                           (M.imtu_category, f.imtu_category)])]
    if f.flagged is not None:
        conditions.append(is_flagged() if f.flagged else not_(is_flagged()))
    if f.category is not None:
        conditions.append(or_(M.bbu_category == f.category, M.tbu_category == f.category,
                              M.bbtb_category == f.category, M.imtu_category == f.category))
    if f.current_only:
        conditions.append(M.is_current)
    query = (select(*M.__table__.columns, Submission.instance_id,
                    Person.name.label("child_name"), Person.sex)
             .join(Submission, Submission.id == M.submission_id)
             .join(Person, Person.id == M.person_id))
    return _page(session, M, conditions, query, (M.measured_on.desc(), M.id.desc()),
                 limit=limit, offset=offset)


def list_pregnancy_screenings(session: Session, *, scope: Scope, filters: ScreeningFilters,
                              limit: int, offset: int) -> tuple[list[Row], int]:
    """Screening rows (every column) with `instance_id`, `woman_name`, `kelurahan_name`
    and `posyandu_name`."""
    f = filters
    conditions = [scope_filter(scope, P.kelurahan_code, P.posyandu_id),
                  *f.days.conditions(P.screened_on),
                  *_equal([(P.kelurahan_code, f.kelurahan_code), (P.posyandu_id, f.posyandu_id),
                           (P.woman_id, f.woman_id), (P.kek, f.kek), (P.anaemia, f.anaemia),
                           (P.pregnant, f.pregnant)])]
    if f.current_only:
        conditions.append(P.is_current)
    query = (select(*P.__table__.columns, Submission.instance_id,
                    Person.name.label("woman_name"), Wilayah.name.label("kelurahan_name"),
                    Posyandu.name.label("posyandu_name"))
             .join(Submission, Submission.id == P.submission_id)
             .join(Person, Person.id == P.woman_id)
             .join(Wilayah, Wilayah.code == P.kelurahan_code)
             .outerjoin(Posyandu, Posyandu.id == P.posyandu_id))
    return _page(session, P, conditions, query, (P.screened_on.desc(), P.id.desc()),
                 limit=limit, offset=offset)


def list_sanitation_checks(session: Session, *, scope: Scope, filters: SanitationFilters,
                           limit: int, offset: int) -> tuple[list[Row], int]:
    """Sanitation check rows (every column) with `instance_id`, the household's
    `head_name` and `kk`, and `kelurahan_name`. Checks have no posyandu: a posyandu
    kader sees those of the posyandu's kelurahan (`scope_filter`)."""
    f = filters
    conditions = [scope_filter(scope, S.kelurahan_code), *f.days.conditions(S.checked_on),
                  *_equal([(S.kelurahan_code, f.kelurahan_code), (S.household_id, f.household_id),
                           (S.jamban_sehat, f.jamban_sehat),
                           (S.sanitasi_layak, f.sanitasi_layak)])]
    if f.current_only:
        conditions.append(S.is_current)
    query = (select(*S.__table__.columns, Submission.instance_id, Household.head_name,
                    Household.kk, Wilayah.name.label("kelurahan_name"))
             .join(Submission, Submission.id == S.submission_id)
             .join(Household, Household.id == S.household_id)
             .join(Wilayah, Wilayah.code == S.kelurahan_code))
    return _page(session, S, conditions, query, (S.checked_on.desc(), S.id.desc()),
                 limit=limit, offset=offset)


def measurement_figures(session: Session, *, scope: Scope, days: DateRange) -> list[Row]:
    """Per kelurahan in scope, the current measurements of `days`: how many, and how
    many are stunted, wasted and underweight, or not (true and false counted apart, as
    `list_measurements(stunted=...)` filters: a row with no category is neither). With
    the kelurahan's name; by kelurahan code."""
    def count_of(column, value):
        return func.sum(case((column == value, 1), else_=0))

    conditions = [scope_filter(scope, M.kelurahan_code, M.posyandu_id), M.is_current,
                  *days.conditions(M.measured_on)]
    query = (select(M.kelurahan_code, Wilayah.name.label("kelurahan_name"),
                    func.count().label("measurements"),
                    func.count(func.distinct(M.person_id)).label("children"),
                    *(count_of(getattr(M, name), value).label(f"{name}_{'yes' if value else 'no'}")
                      for name in ("stunted", "wasted", "underweight") for value in (True, False)))
             .join(Wilayah, Wilayah.code == M.kelurahan_code)
             .where(*conditions).group_by(M.kelurahan_code, Wilayah.name)
             .order_by(M.kelurahan_code))
    return list(session.execute(query).mappings().all())


def measurement_days(session: Session, *, scope: Scope, days: DateRange) -> list[Row]:
    """The scope's current measurements of `days`, counted per (measured_on, stunted,
    wasted, underweight): a few thousand rows for a year, which the caller folds into
    months. Counting plain groups, rather than summing a CASE per indicator per row,
    keeps the year's scan cheap on PostgreSQL."""
    conditions = [scope_filter(scope, M.kelurahan_code, M.posyandu_id), M.is_current,
                  *days.conditions(M.measured_on)]
    query = (select(M.measured_on, M.stunted, M.wasted, M.underweight,
                    func.count().label("measurements"))
             .where(*conditions).group_by(M.measured_on, M.stunted, M.wasted, M.underweight))
    return list(session.execute(query).mappings().all())
