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


# The count keys of each age group ("0_59m" -> "stunted" -> "0_59m.stunted"), made once.
_KEYS = {g: {k: f"{g}.{k}" for k in CHILD_COUNTS} for g in AGE_GROUPS}


def child_months(measurements: Iterable[ChildMeasurement]) -> dict[str, ChildMonth]:
    """One child's contribution to each month it was validly measured in."""
    return _months(measurements, _KEYS)


def _months(measurements: Iterable[ChildMeasurement], keys: dict[str, dict[str, str]]
            ) -> dict[str, ChildMonth]:
    """child_months with its counts named by `keys` (age group -> count -> name)."""
    valid = [m for m in measurements if is_valid(m)]
    latest = _latest(valid)
    weights = _latest(m for m in valid if m.weight_kg is not None)
    out: dict[str, ChildMonth] = {}
    balita, baduta = keys["0_59m"], keys["0_23m"]
    for period, m in latest.items():
        groups = (balita, baduta) if m.age_days < BADUTA_DAYS else (balita,)
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
        counts = {names[k]: 1 for names in groups for k, v in values.items() if v}
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


# ---------------------------------------------------------------- every figure of a region-month
# The stored aggregate keeps one column per count below; a subject's contribution to a
# period is a {column: count} dict with these names, and a region's figures are sums.

PROGRAMS = ("nutrition", "antenatal", "adolescent", "sanitation", "family_counselling",
            "food_aid", "fish_aid")
WOMEN_GROUPS = ("remaja", "catin")
PREGNANCY_COUNTS = ("active", "screened", "kek", "anaemia", "high_risk", "assessed_kek",
                    "assessed_anaemia")
WOMEN_COUNTS = ("screened", "kek", "anaemia", "assessed_kek", "assessed_anaemia")
HOUSEHOLD_COUNTS = ("checked", "no_healthy_latrine", "open_defecation", "no_handwashing_soap",
                    "unimproved_water", "at_risk_families")
_CHILD_COLUMN_GROUP = {"0_23m": "c23", "0_59m": "c59"}


def _column_of(key: str) -> str:
    group, count = key.split(".")
    return f"{_CHILD_COLUMN_GROUP[group]}_{count.lower()}"


_CHILD_COLUMNS = {f"{g}.{k}": _column_of(f"{g}.{k}") for g in AGE_GROUPS for k in CHILD_COUNTS}
# child_contributions' keys: each age group's counts by column ("0_59m" -> "D" -> "c59_d").
_COLUMN_KEYS = {g: {k: _CHILD_COLUMNS[f"{g}.{k}"] for k in CHILD_COUNTS} for g in AGE_GROUPS}


def child_column(key: str) -> str:
    """The aggregate column of a child count key ("0_59m.D" -> "c59_d")."""
    return _CHILD_COLUMNS[key]


METRICS: tuple[str, ...] = (
    tuple(child_column(f"{g}.{k}") for g in AGE_GROUPS for k in CHILD_COUNTS)
    + ("born",)
    + tuple(f"p_{k}" for k in PREGNANCY_COUNTS)
    + tuple(f"w_{g}_{k}" for g in WOMEN_GROUPS for k in WOMEN_COUNTS)
    + tuple(f"h_{k}" for k in HOUSEHOLD_COUNTS)
    + tuple(f"{p}_{k}" for p in PROGRAMS for k in ("cases", "covered"))
)
BADUTA_MONTHS = 24
BALITA_MONTHS = 60
PREGNANCY_DAYS = 280  # conception to expected delivery
PREGNANCY_MAX_DAYS = 300  # no conception date: first seen to the pregnancy's end at the latest
HOUSEHOLD_CHECK_MONTHS = 12  # a sanitation check describes the household for a year


def period_index(period: str) -> int:
    return int(period[:4]) * 12 + int(period[5:7]) - 1


def period_from_index(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def period_start(period: str) -> date:
    return date(int(period[:4]), int(period[5:7]), 1)


def period_end(period: str) -> date:
    nxt = period_start(period_from_index(period_index(period) + 1))
    return date.fromordinal(nxt.toordinal() - 1)


def periods_between(first: str, last: str) -> list[str]:
    return [period_from_index(i) for i in range(period_index(first), period_index(last) + 1)]


def registered_window(period: str, months: int) -> tuple[str, str]:
    """Birth months of the children aged 0 to `months`-1 completed months on the period's
    last day: the `months` calendar months ending with the period."""
    return period_from_index(period_index(period) - months + 1), period


def child_contributions(measurements: Iterable[ChildMeasurement]) -> dict[str, ChildMonth]:
    """child_months with aggregate column names as keys."""
    return _months(measurements, _COLUMN_KEYS)


@dataclass(frozen=True)
class Screening:
    """The stored columns of a KEK/anaemia screening that caseloads read."""

    id: int
    screened_on: date
    pregnant: bool
    pregnancy_id: int | None = None
    kelurahan_code: str = ""
    age_years: int | None = None
    catin: bool | None = None
    kek: bool | None = None
    anaemia: bool | None = None
    risk_age_under_20: bool | None = None
    risk_age_over_35: bool | None = None
    risk_short_stature: bool | None = None
    risk_low_bmi: bool | None = None
    is_current: bool = True

    @property
    def risk_markers(self) -> list[str]:
        return [name for name in ("risk_age_under_20", "risk_age_over_35", "risk_short_stature",
                                  "risk_low_bmi") if getattr(self, name) is True]


@dataclass(frozen=True)
class PregnancyRecord:
    id: int
    first_seen_on: date
    estimated_conception_on: date | None
    kelurahan_code: str
    status: str = "ongoing"


def pregnancy_periods(p: PregnancyRecord) -> list[str]:
    """The months a pregnancy is active in: from the month first seen to the month of the
    expected delivery (conception + 280 days; unknown conception: first seen + 300 days)."""
    if p.estimated_conception_on is not None:
        end = date.fromordinal(p.estimated_conception_on.toordinal() + PREGNANCY_DAYS)
    else:
        end = date.fromordinal(p.first_seen_on.toordinal() + PREGNANCY_MAX_DAYS)
    end = max(end, p.first_seen_on)
    return periods_between(period_of(p.first_seen_on), period_of(end))


def _latest_by_period(items, day) -> dict[str, object]:
    latest: dict[str, object] = {}
    for item in sorted(items, key=lambda s: (day(s), s.id)):
        latest[period_of(day(item))] = item
    return latest


@dataclass
class Contribution:
    """A subject's counts in one (period, kelurahan), and what its case lists show."""

    period: str
    kelurahan_code: str
    counts: dict[str, int] = field(default_factory=dict)
    # program -> (reasons, the record that decided)
    cases: dict[str, tuple[list[str], object]] = field(default_factory=dict)

    def add(self, key: str, value: int | bool = 1) -> None:
        if value:
            self.counts[key] = self.counts.get(key, 0) + int(value)


def pregnancy_contributions(pregnancies: Iterable[PregnancyRecord],
                            screenings: Iterable[Screening]) -> dict[tuple[str, str], Contribution]:
    """A woman's pregnancies per month: active, and (when screened that month: the latest
    current screening of the pregnancy in the month decides) KEK, anaemia, risk markers.
    `antenatal` cases: KEK, anaemic or high-risk (any risk marker) pregnancies."""
    out: dict[tuple[str, str], Contribution] = {}
    by_pregnancy: dict[int, list[Screening]] = {}
    for s in screenings:
        if s.is_current and s.pregnant and s.pregnancy_id is not None:
            by_pregnancy.setdefault(s.pregnancy_id, []).append(s)
    for p in pregnancies:
        latest = _latest_by_period(by_pregnancy.get(p.id, []), lambda s: s.screened_on)
        periods = set(pregnancy_periods(p)) | set(latest)
        for period in sorted(periods):
            s = latest.get(period)
            code = s.kelurahan_code if s is not None else p.kelurahan_code
            c = out.setdefault((period, code), Contribution(period, code))
            c.add("p_active")
            if s is None:
                continue
            c.add("p_screened")
            c.add("p_kek", s.kek is True)
            c.add("p_anaemia", s.anaemia is True)
            c.add("p_high_risk", bool(s.risk_markers))
            c.add("p_assessed_kek", s.kek is not None)
            c.add("p_assessed_anaemia", s.anaemia is not None)
            reasons = (["kek"] if s.kek else []) + (["anaemia"] if s.anaemia else []) + (
                ["high_risk"] + s.risk_markers if s.risk_markers else [])
            if reasons:
                c.cases["antenatal"] = (reasons, s)
    return out


def women_groups(s: Screening) -> list[str]:
    """remaja: aged 10-19 at the screening; catin: a bride-to-be (she said so)."""
    return ([g for g, yes in (("remaja", s.age_years is not None and 10 <= s.age_years <= 19),
                              ("catin", s.catin is True)) if yes])


def women_contributions(screenings: Iterable[Screening]) -> dict[tuple[str, str], Contribution]:
    """Screenings outside pregnancy per month (the latest current one of the month
    decides), split remaja / catin (a woman can be both). `adolescent` cases: KEK or
    anaemic remaja and catin."""
    out: dict[tuple[str, str], Contribution] = {}
    latest = _latest_by_period([s for s in screenings if s.is_current and not s.pregnant],
                               lambda s: s.screened_on)
    for period, s in latest.items():
        groups = women_groups(s)
        if not groups:
            continue
        c = out.setdefault((period, s.kelurahan_code), Contribution(period, s.kelurahan_code))
        for g in groups:
            c.add(f"w_{g}_screened")
            c.add(f"w_{g}_kek", s.kek is True)
            c.add(f"w_{g}_anaemia", s.anaemia is True)
            c.add(f"w_{g}_assessed_kek", s.kek is not None)
            c.add(f"w_{g}_assessed_anaemia", s.anaemia is not None)
        reasons = (["kek"] if s.kek else []) + (["anaemia"] if s.anaemia else [])
        if reasons:
            c.cases["adolescent"] = (reasons + groups, s)
    return out


NUTRITION_REASONS = ("severely_stunted", "stunted", "severely_wasted", "wasted", "underweight")


def nutrition_reasons(measurement: ChildMeasurement, counts: dict[str, int]) -> list[str]:
    """Why a child-month is on the `nutrition` list: stunted, wasted, underweight, 2T."""
    reasons = [r for r in NUTRITION_REASONS if getattr(measurement, r) is True]
    if counts.get("c59_not_gained_twice"):
        reasons.append("2T")
    return reasons


@dataclass(frozen=True)
class SanitationRecord:
    id: int
    checked_on: date
    kelurahan_code: str
    jamban_sehat: bool | None = None
    stop_babs: bool | None = None
    handwashing_soap: bool | None = None
    air_minum_layak: bool | None = None
    is_current: bool = True


@dataclass(frozen=True)
class Member:
    """What a household's figures read of one of its members."""

    birth_date: date | None
    # periods in which the member had an active pregnancy / was on the nutrition list
    # (stunted: True when stunted that month)
    pregnant_periods: frozenset[str] = frozenset()
    nutrition: dict[str, bool] = field(default_factory=dict)


def _under_five(birth: date | None, period: str) -> bool:
    if birth is None:
        return False
    first, last = registered_window(period, BALITA_MONTHS)
    return first <= period_of(birth) <= last


def household_contributions(checks: Iterable[SanitationRecord], members: Iterable[Member],
                            kelurahan_code: str) -> dict[tuple[str, str], Contribution]:
    """A household's figures per month: its latest current sanitation check of the 12
    months ending with the month describes it (`checked`, no healthy latrine, open
    defecation, no soap, unimproved water). At-risk family (Keluarga Risiko Stunting):
    described so, with no healthy latrine or unimproved water, and a child aged 0-59
    months or an active pregnancy in the family that month.
    Cases: `sanitation` (no healthy latrine or no handwashing with soap),
    `family_counselling` (at-risk families), `food_aid` and `fish_aid` (families with a
    stunted child or a child at risk on the nutrition list that month, or at-risk families)."""
    members = list(members)
    latest = _latest_by_period([c for c in checks if c.is_current], lambda c: c.checked_on)
    described: dict[str, SanitationRecord] = {}
    for period in sorted(latest):
        start = period_index(period)
        for i in range(start, start + HOUSEHOLD_CHECK_MONTHS):
            described[period_from_index(i)] = latest[period]  # later checks overwrite
    nutrition_periods: dict[str, list[str]] = {}
    for member in members:
        for period, stunted in member.nutrition.items():
            nutrition_periods.setdefault(period, []).append(
                "stunted_child" if stunted else "child_at_risk")
    out: dict[tuple[str, str], Contribution] = {}
    for period in sorted(set(described) | set(nutrition_periods)):
        check = described.get(period)
        code = check.kelurahan_code if check is not None else kelurahan_code
        c = Contribution(period, code)
        at_risk = False
        if check is not None:
            c.add("h_checked")
            no_latrine, unimproved = check.jamban_sehat is False, check.air_minum_layak is False
            c.add("h_no_healthy_latrine", no_latrine)
            c.add("h_open_defecation", check.stop_babs is False)
            c.add("h_no_handwashing_soap", check.handwashing_soap is False)
            c.add("h_unimproved_water", unimproved)
            family = [r for r, yes in (
                ("child_under_5", any(_under_five(m.birth_date, period) for m in members)),
                ("pregnancy", any(period in m.pregnant_periods for m in members))) if yes]
            at_risk = bool(family) and (no_latrine or unimproved)
            c.add("h_at_risk_families", at_risk)
            sanitation = (["no_healthy_latrine"] if no_latrine else []) + (
                ["no_handwashing_soap"] if check.handwashing_soap is False else [])
            if sanitation:
                c.cases["sanitation"] = (sanitation, check)
            if at_risk:
                risk = (["no_healthy_latrine"] if no_latrine else []) + (
                    ["unimproved_water"] if unimproved else [])
                c.cases["family_counselling"] = (["at_risk_family"] + risk + family, check)
        aid = sorted(set(nutrition_periods.get(period, []))) + (["at_risk_family"] if at_risk else [])
        if aid:
            c.cases["food_aid"] = (aid, check)
            c.cases["fish_aid"] = (aid, check)
        if c.counts or c.cases:
            out[(period, code)] = c
    return out


def section_figures(totals: dict[str, int]) -> dict[str, dict]:
    """The pregnancies, women and households sections of an entry from summed columns."""
    get = totals.get
    preg = {k: get(f"p_{k}", 0) for k in PREGNANCY_COUNTS}
    for k in ("kek", "anaemia"):
        preg[f"{k}_prevalence"] = ratio(preg[k], preg[f"assessed_{k}"])
    preg["high_risk_prevalence"] = ratio(preg["high_risk"], preg["screened"])
    women = {}
    for g in WOMEN_GROUPS:
        w = {k: get(f"w_{g}_{k}", 0) for k in WOMEN_COUNTS}
        for k in ("kek", "anaemia"):
            w[f"{k}_prevalence"] = ratio(w[k], w[f"assessed_{k}"])
        women[g] = w
    households = {k: get(f"h_{k}", 0) for k in HOUSEHOLD_COUNTS}
    coverage = {}
    for p in PROGRAMS:
        cases, covered = get(f"{p}_cases", 0), get(f"{p}_covered", 0)
        coverage[p] = {"cases": cases, "covered": covered, "share": ratio(covered, cases)}
    return {"pregnancies": preg, "women": women, "households": households, "coverage": coverage}


def children_figures(totals: dict[str, int], registered: dict[str, int]) -> dict[str, dict]:
    """The `children` section from summed columns (region_figures over column names)."""
    month = ChildMonth("", "", 0, {f"{g}.{k}": totals.get(child_column(f"{g}.{k}"), 0)
                                   for g in AGE_GROUPS for k in CHILD_COUNTS})
    return region_figures([month], registered)
