"""A region-month's child caseload figures from its records: pure, no database.

The definitions (issue #16; what agencies read in the API docs):
- a child counts in a period if measured at least once in that calendar month; the
  latest valid measurement of the month (by day, then by record id) decides the status;
- valid = current (not replaced by an edit), not in conflict, age known and under
  60 months (age_days / 30.4375 < 60) at that measurement;
- age group by age at that measurement: `0_23m` (baduta) age_days < 731, `0_59m`
  (balita, which includes baduta) under 60 months;
- WHO-flagged z-scores are excluded from that indicator: the stored status is None
  (neither stunted nor not stunted), so the child is not in that indicator's count
  nor its denominator (`assessed_*`);
- oedema counts as < -3 SD for weight-for-age and weight-for-length/height (the stored
  categories already say so: indicators.categories);
- SKDN: D = weighed this month (a valid measurement with a weight), N = weighed this
  month and last month and heavier now (latest weight of each month), 2T
  (`not_gained_twice`) = weighed in each of the last three months and no gain twice
  running.

`child_months` gives one child's contribution per month; `region_figures` adds the
contributions of a region's children up. The incremental aggregates (sync side) store
exactly these contributions, so a full recompute is the same two functions over all
records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

AGE_GROUPS = ("0_23m", "0_59m")
BADUTA_DAYS = 731
DAYS_PER_MONTH = 30.4375
CHILD_COUNTS = ("measured", "stunted", "severely_stunted", "wasted", "severely_wasted",
                "underweight", "overweight", "assessed_stunting", "assessed_wasting",
                "assessed_underweight", "D", "N", "not_gained_twice")
_PREVALENCE = {"stunted": "assessed_stunting", "wasted": "assessed_wasting",
               "underweight": "assessed_underweight", "overweight": "assessed_wasting"}


@dataclass(frozen=True)
class ChildMeasurement:
    """The stored columns of a measurement that caseloads read."""

    id: int
    measured_on: date
    age_days: int | None
    weight_kg: float | None = None
    stunted: bool | None = None
    severely_stunted: bool | None = None
    wasted: bool | None = None
    severely_wasted: bool | None = None
    underweight: bool | None = None
    overweight: bool | None = None
    kelurahan_code: str = ""
    posyandu_id: int | None = None
    is_current: bool = True
    in_conflict: bool = False


@dataclass
class ChildMonth:
    """One child's contribution to one period: the counts per age group it is in."""

    period: str
    kelurahan_code: str
    measurement_id: int
    counts: dict[str, int] = field(default_factory=dict)  # "0_59m.stunted" -> 1


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def previous_period(period: str, months: int = 1) -> str:
    year, month = int(period[:4]), int(period[5:7])
    index = year * 12 + month - 1 - months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def is_valid(m: ChildMeasurement) -> bool:
    return (m.is_current and not m.in_conflict and m.age_days is not None
            and 0 <= m.age_days and m.age_days / DAYS_PER_MONTH < 60)


def _latest(measurements: Iterable[ChildMeasurement]) -> dict[str, ChildMeasurement]:
    latest: dict[str, ChildMeasurement] = {}
    for m in sorted(measurements, key=lambda m: (m.measured_on, m.id)):
        latest[period_of(m.measured_on)] = m
    return latest


def child_months(measurements: Iterable[ChildMeasurement]) -> dict[str, ChildMonth]:
    """One child's contribution to each month it was validly measured in."""
    valid = [m for m in measurements if is_valid(m)]
    latest = _latest(valid)
    weights = _latest(m for m in valid if m.weight_kg is not None)
    out: dict[str, ChildMonth] = {}
    for period, m in latest.items():
        groups = ["0_59m"] + (["0_23m"] if m.age_days < BADUTA_DAYS else [])
        w0 = weights.get(period)
        w1 = weights.get(previous_period(period))
        w2 = weights.get(previous_period(period, 2))
        values = {
            "measured": 1,
            "stunted": m.stunted is True, "severely_stunted": m.severely_stunted is True,
            "wasted": m.wasted is True, "severely_wasted": m.severely_wasted is True,
            "underweight": m.underweight is True, "overweight": m.overweight is True,
            "assessed_stunting": m.stunted is not None, "assessed_wasting": m.wasted is not None,
            "assessed_underweight": m.underweight is not None,
            "D": w0 is not None,
            "N": w0 is not None and w1 is not None and w0.weight_kg > w1.weight_kg,
            "not_gained_twice": (w0 is not None and w1 is not None and w2 is not None
                                 and w0.weight_kg <= w1.weight_kg <= w2.weight_kg),
        }
        counts = {f"{g}.{k}": int(v) for g in groups for k, v in values.items() if v}
        out[period] = ChildMonth(period, m.kelurahan_code, m.id, counts)
    return out


def region_figures(months: Iterable[ChildMonth], registered: dict[str, int] | None = None
                   ) -> dict[str, dict]:
    """The `children` figures of a region-month from its children's contributions
    (`registered`: {age group: children alive and aged in it on the period's last day}).
    Prevalence = count / children assessed for that indicator, 4 decimals."""
    totals: dict[str, int] = {}
    for month in months:
        for key, value in month.counts.items():
            totals[key] = totals.get(key, 0) + value
    out: dict[str, dict] = {}
    for g in AGE_GROUPS:
        figures = {k: totals.get(f"{g}.{k}", 0) for k in CHILD_COUNTS}
        figures["registered"] = figures["S"] = (registered or {}).get(g, 0)
        for count, denominator in _PREVALENCE.items():
            figures[f"{count}_prevalence"] = ratio(figures[count], figures[denominator])
        figures["D_over_S"] = ratio(figures["D"], figures["S"])
        figures["N_over_D"] = ratio(figures["N"], figures["D"])
        out[g] = figures
    return out


def ratio(count: int, denominator: int) -> float | None:
    return round(count / denominator, 4) if denominator else None
