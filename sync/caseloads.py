"""Caseloads (issue #16): incrementally maintained aggregates per (kelurahan, period),
the case lists that come with them, and their full recompute.

How the aggregates stay right. Writers mark the persons and households whose records
they change (sync.touched). Before the transaction commits, `refresh` recomputes every
contribution of those subjects from their records (indicators.caseload, pure), compares
them with the stored ones and adds the differences to the aggregate rows, all in the
same transaction: a figure never disagrees with the records it counts, and a rolled
back transaction rolls its figures back with it. Refreshing a subject is idempotent
(it is a recompute, not an increment), so a subject marked twice, or marked by a
transaction that then failed and was redone, is counted once.

Concurrency (PostgreSQL): the subjects' registry rows are locked in id order before
their contributions are read, so two transactions refreshing the same child take turns
and the second reads what the first committed (READ COMMITTED); aggregate rows are
then updated in sorted (kelurahan, period) order, so writers never deadlock on them.
Every lock is taken just before the commit, so it is held for the commit only.

`verify` recomputes every subject from the raw records and reports each difference
with the stored contributions, case rows and aggregates; `rebuild` rewrites them.
The read functions (`entry`, `entries`, `series`, `cases`) are plain functions that the
JSON API and the console both call.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from sqlmodel import Session

from core.errors import Forbidden, InvalidInput, NotFound
from core.statements import flush_deferred
from indicators.caseload import (
    BADUTA_MONTHS,
    BALITA_MONTHS,
    METRICS,
    PROGRAMS,
    ChildMeasurement,
    Contribution,
    Member,
    PregnancyRecord,
    SanitationRecord,
    Screening,
    child_contributions,
    children_figures,
    household_contributions,
    nutrition_reasons,
    period_end,
    period_from_index,
    period_index,
    period_of,
    pregnancy_contributions,
    pregnancy_periods,
    registered_window,
    section_figures,
    women_contributions,
)
from sync.queries import caseloads as q
from sync.scope import Scope

# Conflicts on these fields put a child's measurements in doubt (age and z-scores).
CONFLICT_FIELDS = ("birth_date", "sex")
PERSON_PROGRAMS = ("nutrition", "antenatal", "adolescent")
LEVELS = {"kelurahan": ("kelurahan", "desa"), "kecamatan": ("kecamatan",),
          "kabkota": ("kabkota",), "provinsi": ("provinsi",)}
NATIONAL = "ID"


# ---------------------------------------------------------------- computing contributions

@dataclass
class Records:
    """Everything the contributions of a set of subjects are computed from."""

    persons: dict[str, dict] = field(default_factory=dict)  # loaded ones and members
    households: dict[str, dict] = field(default_factory=dict)
    members: dict[str, list[dict]] = field(default_factory=dict)  # household -> persons
    measurements: dict[str, list[dict]] = field(default_factory=dict)
    screenings: dict[str, list[dict]] = field(default_factory=dict)
    pregnancies: dict[str, list[dict]] = field(default_factory=dict)
    checks: dict[str, list[dict]] = field(default_factory=dict)
    doubtful_persons: set[str] = field(default_factory=set)
    doubtful_measurements: set[str] = field(default_factory=set)
    interventions: list[dict] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)  # merged-away person -> survivor
    # A person's child months, computed once per refresh (a household's figures read its
    # children's too).
    child_cache: dict[str, tuple[list, dict]] = field(default_factory=dict)
    loaded: set[str] = field(default_factory=set)  # persons whose records are loaded


def _group(rows: list[dict], key: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row[key], []).append(row)
    return out


def _add_records(r: Records, found: q.PersonRecords) -> None:
    """Persons' records as read (those of persons loaded already are skipped: a
    household's members include the persons refreshed with it): measurements,
    screenings, pregnancies, the open conflicts that keep measurements out, and
    interventions (also of the persons merged into them)."""
    loaded = set(r.loaded)
    for target, rows, key in ((r.measurements, found.measurements, "person_id"),
                              (r.screenings, found.screenings, "woman_id"),
                              (r.pregnancies, found.pregnancies, "woman_id")):
        for row in rows:
            if row[key] not in loaded:
                target.setdefault(row[key], []).append(row)
    for c in found.conflicts:
        if c["entity"] == "measurement":
            r.doubtful_measurements.add(c["entity_id"])
        elif set(c["fields"] or {}) & set(CONFLICT_FIELDS):
            r.doubtful_persons.add(c["entity_id"])
    _add_interventions(r, found.interventions)


def _add_interventions(r: Records, rows: list[dict]) -> None:
    """Each intervention once (one of a person and of the person merged into her comes
    from two reads), noting whose a merged-away person's ones now are."""
    known = {i["id"] for i in r.interventions}
    for i in rows:
        if i["id"] in known:
            continue
        known.add(i["id"])
        if i["merged_into_id"]:
            r.aliases[i["person_id"]] = i["merged_into_id"]
        r.interventions.append(i)


def _add_persons(r: Records, found: q.PersonsRead) -> None:
    r.persons.update(found.persons)
    _add_records(r, found.records)
    r.loaded.update(found.persons)


def _add_households(r: Records, found: q.HouseholdsRead) -> None:
    r.households.update(found.households)
    for m in found.members:
        r.members.setdefault(m["household_id"], []).append(m)
        r.persons.setdefault(m["id"], m)  # a person read (and locked) first stays as read
    _add_records(r, found.records)
    r.loaded.update(m["id"] for m in found.members)
    for row in found.sanitation:
        r.checks.setdefault(row["household_id"], []).append(row)
    _add_interventions(r, found.interventions)


def load_records(session: Session, person_ids: Iterable[str], household_ids: Iterable[str],
                 *, lock: bool = True) -> Records:
    """The registry rows (locked, in id order) and every record of these subjects and of
    the members of these households."""
    r = Records()
    _add_persons(r, q.read_persons(session, list(person_ids), lock=lock, stored=False))
    _add_households(r, q.read_households(session, list(household_ids), lock=lock, stored=False))
    return r


def _child_measurements(r: Records, person_id: str) -> list[ChildMeasurement]:
    doubtful = person_id in r.doubtful_persons
    return [ChildMeasurement(
        id=m["id"], measured_on=m["measured_on"], age_days=m["age_days"], weight_kg=m["weight_kg"],
        stunted=m["stunted"], severely_stunted=m["severely_stunted"], wasted=m["wasted"],
        severely_wasted=m["severely_wasted"], underweight=m["underweight"],
        overweight=m["overweight"], kelurahan_code=m["kelurahan_code"],
        posyandu_id=m["posyandu_id"], is_current=m["is_current"],
        in_conflict=doubtful or str(m["id"]) in r.doubtful_measurements)
        for m in r.measurements.get(person_id, [])]


def _screenings(r: Records, person_id: str) -> list[Screening]:
    return [Screening(
        id=s["id"], screened_on=s["screened_on"], pregnant=s["pregnant"],
        pregnancy_id=s["pregnancy_id"], kelurahan_code=s["kelurahan_code"],
        age_years=s["age_years"], catin=s["catin"], kek=s["kek"], anaemia=s["anaemia"],
        risk_age_under_20=s["risk_age_under_20"], risk_age_over_35=s["risk_age_over_35"],
        risk_short_stature=s["risk_short_stature"], risk_low_bmi=s["risk_low_bmi"],
        is_current=s["is_current"]) for s in r.screenings.get(person_id, [])]


def _pregnancies(r: Records, person_id: str) -> list[PregnancyRecord]:
    return [PregnancyRecord(p["id"], p["first_seen_on"], p["estimated_conception_on"],
                            p["kelurahan_code"], p["status"])
            for p in r.pregnancies.get(person_id, [])]


def _jsonable(value):
    return value.isoformat() if isinstance(value, (date, datetime)) else value


_DETAIL = {
    "nutrition": ("id", "measured_on", "age_days", "weight_kg", "length_height_cm", "muac_cm",
                  "oedema", "zlen", "zwei", "zwfl", "tbu_category", "bbu_category",
                  "bbtb_category"),
    "antenatal": ("id", "screened_on", "gestational_age_weeks", "muac_cm", "hb_g_dl",
                  "anaemia_severity", "bmi", "height_cm", "age_years"),
    "adolescent": ("id", "screened_on", "age_years", "catin", "planned_marriage_date",
                   "muac_cm", "hb_g_dl", "anaemia_severity"),
    "household": ("id", "checked_on", "latrine_access", "latrine_type", "waste_disposal",
                  "handwashing_soap", "drinking_water_source", "jamban_sehat",
                  "sanitasi_layak", "air_minum_layak", "stop_babs"),
}


def _detail(program: str, row: dict | None) -> dict:
    if row is None:
        return {}
    names = _DETAIL.get(program, _DETAIL["household"])
    out = {name: _jsonable(row.get(name)) for name in names}
    out["record"] = {"nutrition": "measurement", "antenatal": "pregnancy_screening",
                     "adolescent": "pregnancy_screening"}.get(program, "sanitation_check")
    return out


def _child_months(r: Records, person_id: str) -> tuple[list[ChildMeasurement], dict]:
    cached = r.child_cache.get(person_id)
    if cached is None:
        measurements = _child_measurements(r, person_id)
        cached = r.child_cache[person_id] = (measurements, child_contributions(measurements))
    return cached


def _nutrition_by_period(r: Records, person_id: str) -> dict[str, tuple[list[str], ChildMeasurement]]:
    measurements, months = _child_months(r, person_id)
    by_id = {m.id: m for m in measurements}
    out = {}
    for period, month in months.items():
        m = by_id[month.measurement_id]
        reasons = nutrition_reasons(m, month.counts)
        if reasons:
            out[period] = (reasons, m)
    return out


@dataclass
class Computed:
    """A subject's contribution rows and case rows, as stored."""

    contributions: list[dict]
    cases: list[dict]


def _covered(r: Records, kind: str, subject_id: str, program: str, period: str) -> bool:
    for i in r.interventions:
        if i["program"] != program or period_of(i["delivered_on"]) != period:
            continue
        if kind == "household" and i["household_id"] == subject_id:
            return True
        if kind == "person" and i["person_id"] is not None and (
                i["person_id"] == subject_id or r.aliases.get(i["person_id"]) == subject_id):
            return True
    return False


def _rows(r: Records, kind: str, subject_id: str, parts: dict[tuple[str, str], Contribution],
          records: dict[str, dict], posyandu_id: int | None, household_id: str | None) -> Computed:
    contributions, cases = [], []
    for (period, code), c in sorted(parts.items()):
        counts = dict(c.counts)
        for program, (reasons, decided) in sorted(c.cases.items()):
            covered = _covered(r, kind, subject_id, program, period)
            counts[f"{program}_cases"] = counts.get(f"{program}_cases", 0) + 1
            if covered:
                counts[f"{program}_covered"] = counts.get(f"{program}_covered", 0) + 1
            raw = records.get(f"{program}:{decided.id}") if decided is not None else None
            cases.append({
                "program": program, "period": period, "subject_kind": kind,
                "subject_id": subject_id, "kelurahan_code": code,
                "posyandu_id": (raw or {}).get("posyandu_id") or posyandu_id,
                "reasons": ",".join(dict.fromkeys(reasons)), "detail": _detail(program, raw),
                "covered": covered})
        contributions.append({"subject_kind": kind, "subject_id": subject_id, "period": period,
                              "kelurahan_code": code, "household_id": household_id,
                              "counts": counts})
    return Computed(contributions, cases)


def _merge(into: dict[tuple[str, str], Contribution], more: dict[tuple[str, str], Contribution]) -> None:
    for key, c in more.items():
        target = into.setdefault(key, Contribution(*key))
        for name, value in c.counts.items():
            target.add(name, value)
        target.cases.update(c.cases)


def compute_person(r: Records, person_id: str) -> Computed:
    """A person's contributions: born (by birth month), each month as a child, a
    pregnancy, a woman screened outside pregnancy; and its nutrition, antenatal and
    adolescent cases. A merged-away (or vanished) person contributes nothing."""
    person = r.persons.get(person_id)
    if person is None or person["merged_into_id"]:
        return Computed([], [])
    parts: dict[tuple[str, str], Contribution] = {}
    records: dict[str, dict] = {}
    if person["birth_date"] is not None:
        key = (period_of(person["birth_date"]), person["kelurahan_code"])
        parts.setdefault(key, Contribution(*key)).add("born")
    measurements = {m["id"]: m for m in r.measurements.get(person_id, [])}
    nutrition = _nutrition_by_period(r, person_id)
    for period, month in _child_months(r, person_id)[1].items():
        c = Contribution(period, month.kelurahan_code, dict(month.counts))
        if period in nutrition:
            reasons, m = nutrition[period]
            c.cases["nutrition"] = (reasons, m)
            records[f"nutrition:{m.id}"] = measurements[m.id]
        _merge(parts, {(period, month.kelurahan_code): c})
    screenings = _screenings(r, person_id)
    raw_screenings = {s["id"]: s for s in r.screenings.get(person_id, [])}
    for part in (pregnancy_contributions(_pregnancies(r, person_id), screenings),
                 women_contributions(screenings)):
        for c in part.values():
            for program, (_, s) in c.cases.items():
                records[f"{program}:{s.id}"] = raw_screenings[s.id]
        _merge(parts, part)
    return _rows(r, "person", person_id, parts, records, person["posyandu_id"],
                 person["household_id"])


def _member(r: Records, person: dict) -> Member:
    pid = person["id"]
    pregnant = frozenset(p for preg in _pregnancies(r, pid) for p in pregnancy_periods(preg))
    nutrition = {period: m.stunted is True for period, (_, m) in _nutrition_by_period(r, pid).items()}
    return Member(person["birth_date"], pregnant, nutrition)


def compute_household(r: Records, household_id: str) -> Computed:
    household = r.households.get(household_id)
    if household is None or household["merged_into_id"]:
        return Computed([], [])
    checks = [SanitationRecord(c["id"], c["checked_on"], c["kelurahan_code"], c["jamban_sehat"],
                               c["stop_babs"], c["handwashing_soap"], c["air_minum_layak"],
                               c["is_current"]) for c in r.checks.get(household_id, [])]
    members = [_member(r, p) for p in r.members.get(household_id, [])]
    parts = household_contributions(checks, members, household["kelurahan_code"])
    raw = {c["id"]: c for c in r.checks.get(household_id, [])}
    records = {f"{program}:{check.id}": raw[check.id] for c in parts.values()
               for program, (_, check) in c.cases.items() if check is not None}
    return _rows(r, "household", household_id, parts, records, None, None)


# ---------------------------------------------------------------- refresh (before commit)

def _sums(rows: Iterable[dict], sign: int, into: dict[tuple[str, str], dict[str, int]]) -> None:
    for row in rows:
        target = into.setdefault((row["kelurahan_code"], row["period"]), {})
        for name, value in row["counts"].items():
            target[name] = target.get(name, 0) + sign * value


def _key(row: dict) -> tuple:
    return (row["period"], row["kelurahan_code"], json.dumps(row["counts"], sort_keys=True),
            row.get("household_id"))


def _case_key(row: dict) -> tuple:
    return (row["program"], row["period"], row["kelurahan_code"], row["posyandu_id"],
            row["reasons"], json.dumps(row["detail"], sort_keys=True), bool(row["covered"]))


def _member_facts(rows: list[dict], cases: list[dict]) -> tuple:
    """What a household's figures read of a member, from the member's own stored or
    computed rows: birth month, months of an active pregnancy, nutrition-list months
    (and whether stunted), and the household."""
    return (sorted(r["period"] for r in rows if r["counts"].get("born")),
            sorted(r["period"] for r in rows if r["counts"].get("p_active")),
            sorted((c["period"], "stunted" in c["reasons"].split(",")) for c in cases
                   if c["program"] == "nutrition"),
            next((r["household_id"] for r in rows), None))


def refresh(session: Session, persons: Iterable[str] = (), households: Iterable[str] = ()) -> int:
    """Bring the contributions, case rows and aggregates of these subjects up to date in
    this transaction, and those of the households whose figures they change: a marked
    household, or the old and new household of a person whose birth month, pregnancy
    months or nutrition-list months changed (or who moved). Returns the number of
    subjects whose figures changed. Three round trips at most: the persons, the
    households, the writes."""
    persons = sorted(set(persons))
    session.flush()  # before_commit runs before the commit's own flush
    flush_deferred(session)
    r = Records()
    found = q.read_persons(session, persons)
    _add_persons(r, found)
    old = {"person": _group(found.contributions, "subject_id")}
    old_cases = {"person": _group(found.cases, "subject_id")}
    computed = {pid: compute_person(r, pid) for pid in persons}
    households = set(households)
    for pid, new in computed.items():
        before = _member_facts(old["person"].get(pid, []), old_cases["person"].get(pid, []))
        after = _member_facts(new.contributions, new.cases)
        row = r.persons.get(pid)
        household_now = row["household_id"] if row and not row["merged_into_id"] else None
        if before[:3] == after[:3] == ([], [], []):
            continue  # nothing of this person counts in a household's figures
        if before[:3] != after[:3] or before[3] != household_now:
            households |= {h for h in (before[3], household_now) if h}
    households = sorted(households)
    found_households = q.read_households(session, households)
    _add_households(r, found_households)
    old["household"] = _group(found_households.contributions, "subject_id")
    old_cases["household"] = _group(found_households.cases, "subject_id")
    computed_households = {hid: compute_household(r, hid) for hid in households}
    return _store(session, {"person": computed, "household": computed_households}, old, old_cases)


def _store(session: Session, computed: dict[str, dict[str, Computed]],
           old: dict[str, dict[str, list[dict]]], old_cases: dict[str, dict[str, list[dict]]]) -> int:
    """Write the subjects whose rows changed, and add the differences to the aggregates."""
    out = q.Replacement()
    deltas: dict[tuple[str, str], dict[str, int]] = {}
    changed = 0
    for kind, subjects in computed.items():
        for subject_id, new in subjects.items():
            before = old[kind].get(subject_id, [])
            before_cases = old_cases[kind].get(subject_id, [])
            if (sorted(map(_key, before)) == sorted(map(_key, new.contributions))
                    and sorted(map(_case_key, before_cases)) == sorted(map(_case_key, new.cases))):
                continue
            changed += 1
            if before or before_cases:  # (a subject new to the figures has none to delete)
                out.redo.setdefault(kind, []).append(subject_id)
            _sums(before, -1, deltas)
            _sums(new.contributions, 1, deltas)
            out.contributions += new.contributions
            out.cases += new.cases
    out.deltas = _nonzero(deltas)
    q.write(session, out)
    return changed


# ---------------------------------------------------------------- full recompute

def _recomputed(session: Session, progress: Callable[[int, int], None] | None = None
                ) -> Iterable[Computed]:
    """Every contribution and case row, recomputed from the raw records, a chunk of
    subjects at a time: households with their live members (read once: a household's
    figures need its members' records anyway, and each child's months are computed
    once for both), then the persons in no household. `progress(done, total)` after
    each chunk, counting households and persons in no household."""
    households, unhoused = q.subject_ids(session)
    total, done = len(households) + len(unhoused), 0
    for part in q.chunks(households):
        r = load_records(session, [], part, lock=False)  # r.persons: their members
        yield _computed(itertools.chain((compute_household(r, hid) for hid in part),
                                        (compute_person(r, pid) for pid in list(r.persons))))
        done += len(part)
        if progress:
            progress(done, total)
    for part in q.chunks(unhoused):
        r = load_records(session, part, [], lock=False)
        yield _computed(compute_person(r, pid) for pid in part)
        done += len(part)
        if progress:
            progress(done, total)


def _computed(parts: Iterable[Computed]) -> Computed:
    out = Computed([], [])
    for c in parts:
        out.contributions += c.contributions
        out.cases += c.cases
    return out


def expected(session: Session) -> Computed:
    """Every contribution and case row, recomputed from the raw records."""
    return _computed(_recomputed(session))


def _nonzero(sums: dict[tuple[str, str], dict[str, int]]) -> dict[tuple[str, str], dict[str, int]]:
    return {k: {m: v for m, v in d.items() if v} for k, d in sums.items()}


def _aggregate_of(contributions: Iterable[dict]) -> dict[tuple[str, str], dict[str, int]]:
    sums: dict[tuple[str, str], dict[str, int]] = {}
    _sums(contributions, 1, sums)
    return _nonzero(sums)


@dataclass
class VerifyReport:
    subjects: int
    contributions: int
    aggregate_rows: int
    differences: list[str]

    @property
    def ok(self) -> bool:
        return not self.differences


def verify(session: Session, *, limit: int = 50) -> VerifyReport:
    """Recompute everything from the raw records and compare: contributions, case rows
    and aggregate rows. Reports at most `limit` differences (and how many there were)."""
    want = expected(session)
    diffs: list[str] = []

    def compare(label, want_rows, have_rows, key, value):
        a = {key(x): value(x) for x in want_rows}
        b = {key(x): value(x) for x in have_rows}
        for k in sorted(set(a) | set(b), key=str):
            if a.get(k) != b.get(k):
                diffs.append(f"{label} {k}: expected {a.get(k)}, stored {b.get(k)}")

    compare("contribution", want.contributions, q.all_contributions(session),
            lambda x: (x["subject_kind"], x["subject_id"], x["period"], x["kelurahan_code"]),
            lambda x: x["counts"])
    compare("case", want.cases, q.all_cases(session),
            lambda x: (x["program"], x["period"], x["subject_kind"], x["subject_id"]),
            lambda x: (x["kelurahan_code"], x["posyandu_id"], x["reasons"],
                       json.dumps(x["detail"], sort_keys=True), bool(x["covered"])))
    stored = {(a["kelurahan_code"], a["period"]): {m: a[m] for m in METRICS if a[m]}
              for a in q.all_aggregates(session)}
    stored = {k: v for k, v in stored.items() if v}
    wanted = {k: v for k, v in _aggregate_of(want.contributions).items() if v}
    for k in sorted(set(stored) | set(wanted)):
        if stored.get(k) != wanted.get(k):
            a, b = wanted.get(k, {}), stored.get(k, {})
            cols = {m: (a.get(m, 0), b.get(m, 0)) for m in METRICS if a.get(m, 0) != b.get(m, 0)}
            diffs.append(f"aggregate {k}: (expected, stored) {cols}")
    subjects = len({(c["subject_kind"], c["subject_id"]) for c in want.contributions})
    report = VerifyReport(subjects, len(want.contributions), len(wanted), diffs[:limit])
    if len(diffs) > limit:
        report.differences.append(f"... and {len(diffs) - limit} more")
    return report


def rebuild(session: Session, progress: Callable[[int, int], None] | None = None) -> VerifyReport:
    """Rewrite every contribution, case row and aggregate from the raw records: a chunk
    of subjects at a time, its rows bulk-copied as they are computed (only the
    aggregate sums are kept until the end), so a province's million persons fit.
    `progress(done, total)`: see _recomputed."""
    q.clear_all(session)
    sums: dict[tuple[str, str], dict[str, int]] = {}
    subjects: set[tuple[str, str]] = set()
    contributions = 0
    for part in _recomputed(session, progress):
        q.copy_rows(session, q.CONTRIB, part.contributions)
        q.copy_rows(session, q.CASE, part.cases)
        _sums(part.contributions, 1, sums)
        subjects.update((c["subject_kind"], c["subject_id"]) for c in part.contributions)
        contributions += len(part.contributions)
    aggregates = _nonzero(sums)
    q.write(session, q.Replacement(deltas=aggregates))
    return VerifyReport(len(subjects), contributions, len(aggregates), [])


# ---------------------------------------------------------------- reading

def check_period(period: str | None, name: str = "period") -> str:
    if not period or len(period) != 7 or period[4] != "-" or not (period[:4] + period[5:]).isdigit() \
            or not 1 <= int(period[5:]) <= 12:
        raise InvalidInput(f"{name} must be a month as YYYY-MM, e.g. 2026-11 (got {period!r}).",
                           code="caseload.bad_period")
    return period


def visible(scope: Scope, code: str) -> bool:
    """May the caller see this region's aggregates: the region lies in its scope (a
    posyandu kader: the posyandu's kelurahan)."""
    return scope.everything or scope.covers_wilayah(code) or code in scope.posyandu_kelurahan_codes


def _scope_codes(scope: Scope) -> list[str] | None:
    if scope.everything:
        return None
    return sorted(set(scope.wilayah_codes) | set(scope.posyandu_kelurahan_codes))


def _registered_windows(period: str) -> dict[str, tuple[str, str]]:
    return {"0_23m": registered_window(period, BADUTA_MONTHS),
            "0_59m": registered_window(period, BALITA_MONTHS)}


@lru_cache(maxsize=65536)
def _target_chain(code: str) -> tuple[str, ...]:
    parts = code.split(".")
    return tuple(".".join(parts[:i]) for i in range(len(parts), 0, -1)) + (NATIONAL,)


def _targets_section(found: dict[str, tuple[int, float]], code: str, period: str,
                     current: float | None) -> dict:
    """The target of the region, else of the nearest region above it that has one, else
    the national one; of the period's year, else of the latest year before it
    (`found`: the targets of every region code on the way up, from _Targets.of)."""
    year = int(period[:4])
    source = next((c for c in _target_chain(code) if c in found), None)
    target_year, target = found[source] if source else (None, None)
    national = found.get(NATIONAL)
    return {"year": year, "target_year": target_year, "stunting_prevalence_target": target,
            "target_set_for": source, "national_target": national[1] if national else None,
            "current_stunting_prevalence": current,
            "gap_percentage_points": None if target is None or current is None
            else round((current - target) * 100, 2)}


class _Targets:
    """The targets of some regions and every region above them, read in one statement:
    per year, each code's target of the latest year up to it (year, prevalence)."""

    def __init__(self, session: Session, codes: Iterable[str], last_year: int):
        chains = {c for code in codes for c in _target_chain(code)}
        self.rows = q.target_rows(session, sorted(chains), last_year)
        self.years: dict[int, dict[str, tuple[int, float]]] = {}

    def of(self, period: str) -> dict[str, tuple[int, float]]:
        year = int(period[:4])
        if year not in self.years:  # rows are oldest first: the latest year wins
            self.years[year] = {r["wilayah_code"]: (r["year"], r["stunting_prevalence"])
                                for r in self.rows if r["year"] <= year}
        return self.years[year]


def _figures(session: Session, codes: list[str], periods: list[str]
             ) -> dict[tuple[str, str], dict[str, int]]:
    """Per (region code, period): every summed column and `registered_<group>` (persons
    born in the group's window of birth months), in two statements for all of them."""
    totals = q.region_totals(session, codes, periods)
    windows = {(p, name): w for p in periods for name, w in _registered_windows(p).items()}
    born = q.births(session, codes, windows)
    for code in codes:
        found = born.get(code, {})
        for (period, name) in windows:
            totals.setdefault((code, period), {})[f"registered_{name}"] = found.get((period, name), 0)
    return totals


def _entry(targets: dict, region: dict, period: str, totals: dict[str, int]) -> dict:
    registered = {g: totals.get(f"registered_{g}", 0) for g in ("0_23m", "0_59m")}
    children = children_figures(totals, registered)
    sections = section_figures(totals)
    return {"wilayah": {"code": region["code"], "name": region["name"],
                        "level": "kelurahan" if region["level"] == "desa" else region["level"]},
            "period": period, "children": children, "pregnancies": sections["pregnancies"],
            "women": sections["women"], "households": sections["households"],
            "targets": _targets_section(targets, region["code"], period,
                                        children["0_59m"]["stunted_prevalence"]),
            "coverage": sections["coverage"]}


def _region_or_raise(session: Session, scope: Scope, code: str) -> dict:
    region = q.region(session, code)
    if region is None or not visible(scope, code):
        raise NotFound(f"No region {code} in your scope.", code="caseload.region_not_found")
    return region


def entry(session: Session, *, scope: Scope, code: str, period: str,
          with_children: bool = True) -> dict:
    """One region's caseload for a month; `children_regions`: the regions one level
    down, whose counts add up to it."""
    check_period(period)
    region = _region_or_raise(session, scope, code)
    below = q.child_regions(session, code) if with_children and region["level"] not in (
        "kelurahan", "desa") else []
    codes = [code] + [b["code"] for b in below]
    figures = _figures(session, codes, [period])
    targets = _Targets(session, codes, int(period[:4])).of(period)
    out = _entry(targets, region, period, figures[(code, period)])
    if with_children:
        out["children_regions"] = [_entry(targets, b, period, figures[(b["code"], period)])
                                   for b in below]
    return out


def entries(session: Session, *, scope: Scope, period: str, level: str, parent: str | None,
            limit: int, offset: int) -> tuple[list[dict], int]:
    """One entry per region of a level (under `parent`), those in the caller's scope:
    five statements whatever the number of regions."""
    check_period(period)
    if level not in LEVELS:
        raise InvalidInput(f"level is one of {', '.join(LEVELS)}.", code="caseload.bad_level")
    # Regions under the caller's scope only (an agency of one kecamatan has no kabkota).
    rows, total = q.regions_within(session, levels=LEVELS[level], parent=parent,
                                   codes=_scope_codes(scope), limit=limit, offset=offset)
    codes = [r["code"] for r in rows]
    figures = _figures(session, codes, [period]) if codes else {}
    targets = _Targets(session, codes, int(period[:4])).of(period)
    return [_entry(targets, r, period, figures[(r["code"], period)]) for r in rows], total


def series(session: Session, *, scope: Scope, code: str, first: str, last: str) -> list[dict]:
    """The region's entry for every month from `first` to `last` (at most 120), in four
    statements."""
    check_period(first, "from")
    check_period(last, "to")
    if first > last or period_index(last) - period_index(first) >= 120:
        raise InvalidInput("from must not be after to, and a series is at most 120 months.",
                           code="caseload.bad_period")
    region = _region_or_raise(session, scope, code)
    periods = [period_from_index(i) for i in range(period_index(first), period_index(last) + 1)]
    figures = _figures(session, [code], periods)
    targets = _Targets(session, [code], int(last[:4]))
    return [_entry(targets.of(p), region, p, figures[(code, p)]) for p in periods]


def period_of_today() -> str:
    return period_of(date.today())


__all__ = ["PROGRAMS", "entry", "entries", "series", "refresh", "verify", "rebuild", "period_end"]


# ---------------------------------------------------------------- case lists

CASE_PAGE_MAX = 10_000


def encode_case_cursor(row: dict) -> str:
    return base64.urlsafe_b64encode(f"{row['kelurahan_code']}|{row['subject_id']}".encode()).decode()


def decode_case_cursor(text: str | None) -> tuple[str, str] | None:
    if not text:
        return None
    try:
        code, _, subject = base64.urlsafe_b64decode(text.encode()).decode().partition("|")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("This cursor was not given by this list.", code="caseload.bad_cursor") from exc
    if not code or not subject:
        raise InvalidInput("This cursor was not given by this list.", code="caseload.bad_cursor")
    return code, subject


def case_row(raw: dict, interventions: list[dict]) -> dict:
    """One case as agencies read it: who (ids, names, address, RT/RW, posyandu), why
    (reasons), the values that decided, and the programme's interventions received.
    The one place a case row is built (JSON, CSV and XLSX all come from it)."""
    person = raw["subject_kind"] == "person"
    return {
        "subject": raw["subject_kind"],
        "person_id": raw["subject_id"] if person else None,
        "household_id": raw["person_household_id"] if person else raw["subject_id"],
        "name": raw["person_name"] if person else raw["head_name"],
        "nik": raw["person_nik"] if person else None,
        "sex": raw["sex"] if person else None,
        "birth_date": _jsonable(raw["birth_date"]) if person else None,
        "mother_name": raw["mother_name"] if person else None,
        "head_name": raw["head_name"],
        "kk": raw["kk"],
        "address": raw["address"], "rt": raw["rt"], "rw": raw["rw"],
        "kelurahan_code": raw["kelurahan_code"],
        "posyandu": ({"id": raw["posyandu_id"], "name": raw["posyandu_name"]}
                     if raw["posyandu_id"] is not None else None),
        "period": raw["period"],
        "reasons": raw["reasons"].split(",") if raw["reasons"] else [],
        "values": raw["detail"],
        "covered": bool(raw["covered"]),
        "interventions": [{"id": i["id"], "type": i["type"],
                           "delivered_on": _jsonable(i["delivered_on"]),
                           "quantity": i["quantity"], "unit": i["unit"], "agency": i["agency"]}
                          for i in sorted(interventions, key=lambda i: (i["delivered_on"], i["id"]))],
    }


def cases(session: Session, *, principal, code: str, program: str, period: str,
          cursor: str | None = None, limit: int | None = 100) -> tuple[list[dict], str | None]:
    """A region's named cases of one programme for a month, ordered by (kelurahan,
    subject id), from a cursor; returns the rows and the next cursor (None: the end).
    `limit` None: every case (spreadsheets)."""
    from sync.interventions import require_program

    check_period(period)
    require_program(session, principal, program)
    _region_or_raise(session, principal.scope, code)
    after = decode_case_cursor(cursor)
    fetch = None if limit is None else limit + 1
    raws = q.case_page(session, program=program, period=period, prefix=code, after=after,
                       limit=fetch)
    more = limit is not None and len(raws) > limit
    raws = raws[:limit] if limit is not None else raws
    people = {r["subject_id"] for r in raws if r["subject_kind"] == "person"}
    given = q.page_interventions(session, program=program, period=period, prefix=code,
                                 after=after, limit=limit) if raws else []
    by_subject: dict[str, list[dict]] = {}
    for i in given:  # a merged-away person's count for the survivor on the page
        key = (i["household_id"] if i["person_id"] is None
               else i["merged_into_id"] if i["merged_into_id"] in people else i["person_id"])
        by_subject.setdefault(key, []).append(i)
    rows = [case_row(r, by_subject.get(r["subject_id"], [])) for r in raws]
    return rows, (encode_case_cursor(raws[-1]) if more and raws else None)


TABLE_COLUMNS = ("subject", "person_id", "household_id", "name", "nik", "sex", "birth_date",
                 "mother_name", "head_name", "kk", "address", "rt", "rw", "kelurahan_code",
                 "posyandu_id", "posyandu_name", "period", "reasons")


def table(program: str, rows: list[dict]) -> tuple[list[str], list[list]]:
    """The case rows as a spreadsheet: fixed columns, the programme's values, then
    whether covered and the interventions received."""
    value_names = [n for n in _DETAIL.get(program, _DETAIL["household"]) if n != "id"]
    header = list(TABLE_COLUMNS) + value_names + ["covered", "interventions"]
    out = []
    for row in rows:
        posyandu = row["posyandu"] or {}
        cells = {**row, "posyandu_id": posyandu.get("id"), "posyandu_name": posyandu.get("name"),
                 "reasons": ";".join(row["reasons"])}
        fixed = [cells[c] for c in TABLE_COLUMNS]
        values = [row["values"].get(n) for n in value_names]
        given = "; ".join(f"{i['delivered_on']} {i['type']}"
                          + (f" {i['quantity']:g} {i['unit'] or ''}".rstrip() if i["quantity"] is not None else "")
                          for i in row["interventions"])
        out.append(fixed + values + ["yes" if row["covered"] else "no", given])
    return header, out


def as_csv(program: str, rows: list[dict]) -> bytes:
    import csv
    import io

    header, body = table(program, rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for line in body:
        # A cell starting with = + - @ is a formula to spreadsheets: quote it as text.
        writer.writerow(["'" + v if isinstance(v, str) and v[:1] in "=+-@" else v for v in line])
    return ("\ufeff" + buffer.getvalue()).encode()  # BOM: Excel reads UTF-8 names right


def as_xlsx(program: str, rows: list[dict]) -> bytes:
    import io

    from openpyxl import Workbook

    header, body = table(program, rows)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=program[:31])
    sheet.append(header)
    for line in body:
        sheet.append(["'" + v if isinstance(v, str) and v[:1] == "=" else v for v in line])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------- targets

def set_target(session: Session, *, principal, code: str, year: int, value: float) -> dict:
    from sync.accounts import record_audit

    if principal.role != "admin":
        raise Forbidden("Only an admin sets targets.", code="auth.role")
    if code != NATIONAL and q.region(session, code) is None:
        raise InvalidInput(f"Unknown region {code!r} (ID is the national target).",
                           code="target.bad_value")
    if not 2000 <= year <= 2100 or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise InvalidInput("A target is a prevalence between 0 and 1 (14% is 0.14) for a year "
                           "from 2000 to 2100.", code="target.bad_value")
    from models import CaseloadTarget

    row = session.get(CaseloadTarget, (code, year))
    before = row.stunting_prevalence if row else None
    if row is None:
        row = CaseloadTarget(wilayah_code=code, year=year, stunting_prevalence=value)
    row.stunting_prevalence = float(value)
    row.set_by = principal.user_id
    row.set_at = datetime.now().astimezone()
    session.add(row)
    session.flush()
    record_audit(session, actor_id=principal.user_id, action="target.set", entity_type="target",
                 entity_id=f"{code}/{year}", detail={"before": before, "after": float(value)})
    return {"wilayah_code": code, "year": year, "stunting_prevalence": float(value)}


SEED_TARGETS = (("33.75", 2023, 0.1488), ("33.75", 2024, 0.1224), (NATIONAL, 2024, 0.14))


def seed_targets(session: Session) -> int:
    """Kota Pekalongan's 14.88% (2023) and 12.24% (2024) and the national 14% (2024),
    where no target is set yet (also seeded by migration 0007); returns how many added."""
    from models import CaseloadTarget

    added = 0
    for code, year, value in SEED_TARGETS:
        if session.get(CaseloadTarget, (code, year)) is None:
            session.add(CaseloadTarget(wilayah_code=code, year=year, stunting_prevalence=value))
            added += 1
    session.flush()
    return added
