"""The console's home page figures for a caller's scope: this month's measurements per
kelurahan and the queues waiting for a person (open conflicts and duplicates, failed submissions,
phones that have not synced for a week). Every figure comes from the functions the
JSON API answers with, so the page and the API cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session

from sync import caseloads, offline, reviews, submissions
from sync.accounts import Principal
from sync.queries import record_lists
from sync.queries.record_lists import DateRange
from sync.queries.reviews import PairFilters
from sync.scope import Scope

STALE_AFTER = timedelta(days=7)
TREND_MONTHS = 12
REVIEWERS = ("supervisor", "admin")


def month_of(day: date) -> DateRange:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return DateRange(since=first, until=following - timedelta(days=1))


def prevalence(yes: int, no: int) -> float | None:
    return None if yes + no == 0 else yes / (yes + no)


@dataclass
class Dashboard:
    month: DateRange
    kelurahan: list[dict]
    totals: dict
    trend: list[dict]  # the last TREND_MONTHS months: {"month": "YYYY-MM", prevalences}
    caseload: list[dict]  # sync.caseloads entries of the kelurahan above
    open_conflicts: int | None  # None: not the caller's queue (kader, agency)
    open_duplicates: int | None
    failed_submissions: int | None
    stale_phones: int | None


def _last_sync(device: dict) -> datetime | None:
    times = [t for t in (device["last_pull_at"], device["last_push_at"]) if t is not None]
    if not times:
        return None
    latest = max(times)
    return latest if latest.tzinfo else latest.replace(tzinfo=UTC)


def stale_devices(session: Session, *, principal: Principal, now: datetime) -> list[dict]:
    """The phones in scope (sync.offline.list_devices) not synced for STALE_AFTER."""
    return [d for d in offline.list_devices(session, principal=principal)
            if (_last_sync(d) or datetime.min.replace(tzinfo=UTC)) < now - STALE_AFTER]


def dashboard(session: Session, *, principal: Principal, today: date,
              now: datetime | None = None) -> Dashboard:
    month = month_of(today)
    rows = [dict(r) for r in record_lists.measurement_figures(session, scope=principal.scope,
                                                               days=month)]
    keys = ("measurements", "children", "stunted_yes", "stunted_no", "wasted_yes", "wasted_no",
            "underweight_yes", "underweight_no")
    totals = {key: sum(int(r[key] or 0) for r in rows) for key in keys}
    for figures in [*rows, totals]:
        for name in ("stunted", "wasted", "underweight"):
            figures[name] = prevalence(int(figures[f"{name}_yes"] or 0),
                                       int(figures[f"{name}_no"] or 0))
    trend = _trend(session, principal=principal, month=month)
    caseload = caseload_entries(session, principal=principal,
                                codes=[r["kelurahan_code"] for r in rows],
                                period=month.since.strftime("%Y-%m"))
    if principal.role not in REVIEWERS:
        return Dashboard(month, rows, totals, trend, caseload, None, None, None, None)
    _, conflicts = offline.list_conflicts(session, principal=principal, status="open",
                                          kelurahan_code=None, entity=None, limit=0, offset=0)
    _, failed = submissions.list_submissions(session, principal=principal, status="failed",
                                             form_id=None, limit=0, offset=0)
    stale = stale_devices(session, principal=principal, now=now or datetime.now(UTC))
    _, duplicates = reviews.list_duplicates(session, principal=principal,
                                            filters=PairFilters(status="open"), limit=0, offset=0)
    return Dashboard(month, rows, totals, trend, caseload, conflicts, duplicates, failed,
                     len(stale))


def caseload_entries(session: Session, *, principal: Principal, codes: list[str],
                     period: str) -> list[dict]:
    """The caseload API's entries (sync.caseloads) of these kelurahan, those the API
    would show the caller, in one call: the region list is narrowed to them (listing
    every kelurahan of an admin's scope would be the whole country's)."""
    codes = [code for code in codes if caseloads.visible(principal.scope, code)]
    if not codes:
        return []
    items, _ = caseloads.entries(session, scope=Scope(wilayah_codes=tuple(codes)), period=period,
                                 level="kelurahan", parent=None, limit=len(codes), offset=0)
    return items


def _months_back(first: date, count: int) -> list[date]:
    out = [first]
    while len(out) < count:
        out.append((out[-1] - timedelta(days=1)).replace(day=1))
    return out[::-1]


def _trend(session: Session, *, principal: Principal, month: DateRange) -> list[dict]:
    months = _months_back(month.since, TREND_MONTHS)
    found: dict[tuple[int, int], dict] = {}
    for r in record_lists.measurement_days(session, scope=principal.scope,
                                           days=DateRange(since=months[0], until=month.until)):
        sums = found.setdefault((r["measured_on"].year, r["measured_on"].month), {})
        sums["measurements"] = sums.get("measurements", 0) + r["measurements"]
        for name in ("stunted", "wasted", "underweight"):
            if r[name] is not None:  # no category: neither yes nor no (as the API filters)
                key = f"{name}_{'yes' if r[name] else 'no'}"
                sums[key] = sums.get(key, 0) + r["measurements"]
    out = []
    for first in months:
        r = found.get((first.year, first.month), {})
        item = {"month": first.strftime("%Y-%m"), "measurements": int(r.get("measurements") or 0)}
        for name in ("stunted", "wasted", "underweight"):
            item[name] = prevalence(int(r.get(f"{name}_yes") or 0), int(r.get(f"{name}_no") or 0))
        out.append(item)
    return out


def measurement_kelurahan(session: Session, *, principal: Principal, period: str) -> list[str]:
    """The kelurahan in scope with measurements in the month `period` (YYYY-MM)."""
    first = date(int(period[:4]), int(period[5:7]), 1)
    rows = record_lists.measurement_figures(session, scope=principal.scope, days=month_of(first))
    return [r["kelurahan_code"] for r in rows]
