"""Entry points: build the city and the plan, write the truth, and (optionally) drive a
server with the fleet of phones.

    >>> from simulator.run import SimulationConfig, run_truth_only, run_against_server
    >>> run_truth_only(SimulationConfig(seed=7, months=12), "out/truth")
    >>> run_against_server(SimulationConfig(seed=7, months=3, phones=27), "out/run",
    ...                    server="http://127.0.0.1:8000", admin_user="admin",
    ...                    admin_password="...")
    >>> run_against_server(config, "out", client=TestClient(app), ...)   # in-process
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx

from simulator.admin import AdminClient, set_up_phones
from simulator.fieldwork import FieldPlan, assign_phones, plan_fieldwork
from simulator.fleet import FleetResult, run_fleet
from simulator.population import CityShape, add_months, generate_city
from simulator.rates import Rates
from simulator.truth import write_truth


@dataclass(frozen=True)
class SimulationConfig:
    seed: int = 1
    months: int = 6
    #: First simulated month; None: the `months` months before the current one, so the
    #: data is as recent as a server expects (pick lists, ages are relative to today).
    start: date | None = None
    phones: int | None = None  # None: one per posyandu
    rates: Rates = field(default_factory=Rates)
    shape: CityShape = field(default_factory=CityShape)

    def first_month(self, today: date | None = None) -> date:
        if self.start is not None:
            return date(self.start.year, self.start.month, 1)
        return add_months(today or date.today(), -self.months)


def build_plan(config: SimulationConfig) -> FieldPlan:
    """The city and everything its kader will do (deterministic for a config and, without
    a `start`, for the month it is made in)."""
    if config.months < 1:
        raise ValueError("months must be at least 1")
    city = generate_city(seed=config.seed, start=config.first_month(), months=config.months,
                         rates=config.rates, shape=config.shape)
    return plan_fieldwork(city, assign_phones(city, config.phones))


def run_truth_only(config: SimulationConfig, out_dir: str | Path) -> dict:
    """Write the population and the ground truth without a server; returns the summary."""
    started = time.monotonic()
    plan = build_plan(config)
    summary = write_truth(plan, out_dir)
    summary["elapsed_s"] = round(time.monotonic() - started, 2)
    return summary


def run_against_server(
    config: SimulationConfig,
    out_dir: str | Path,
    *,
    server: str | None = None,
    client: httpx.Client | None = None,
    admin_user: str,
    admin_password: str,
    concurrency: int = 8,
    timeout: float = 30.0,
    time_limit_s: float | None = None,
    on_progress: Callable[[int, str], None] | None = None,
    on_plan: Callable[[FieldPlan], None] | None = None,
) -> dict:
    """Set up the phones on the server, run every month, write truth and `run.csv`.

    Give `server` (a base URL) or `client` (an `httpx.Client`, e.g. a FastAPI
    `TestClient`, whose base URL is then the server), or both.
    """
    if client is None and server is None:
        raise ValueError("give a server URL or an httpx.Client")
    server = (server or str(client.base_url)).rstrip("/")
    started = time.monotonic()
    plan = build_plan(config)
    if on_plan:
        on_plan(plan)
    own_client = client is None
    http = client or httpx.Client(timeout=timeout)
    try:
        admin = AdminClient(server, http, admin_user, admin_password)
        accounts = set_up_phones(admin, plan.city, plan.phones)
        result = run_fleet(plan, accounts, http, concurrency=concurrency, timeout=timeout,
                           time_limit_s=time_limit_s, on_progress=on_progress)
    finally:
        if own_client:
            http.close()
    out = Path(out_dir)
    run_summary = fleet_summary(result)
    run_summary["server"] = server
    run_summary["elapsed_s"] = round(time.monotonic() - started, 2)
    summary = write_truth(plan, out, extra_summary={"run": run_summary})
    write_run_records(result, out / "run.csv")
    return summary


def fleet_summary(result: FleetResult) -> dict:
    stats = result.stats
    outcomes: dict[str, int] = {}
    for record in result.records.values():
        outcomes[record.outcome] = outcomes.get(record.outcome, 0) + 1
    return {
        "submissions": len(result.records),
        "sent": stats.posts,
        "accepted": stats.accepted,
        "duplicates": stats.duplicates,
        "conflicts": stats.conflicts,
        "rejected": stats.rejected,
        "server_errors": stats.server_errors,
        "network_errors": stats.transport_errors,
        "phone_errors": stats.phone_errors[:20],
        "outcomes": outcomes,
        "new_registrations_sent": sum(1 for r in result.records.values() if r.new_registration),
        # Sent as new although the phone should have found its own registration in the
        # list it downloaded: the server lost, merged or hid it (see run.csv).
        "new_registrations_unexpected": sum(
            1 for r in result.records.values()
            if r.new_registration and not r.submission.expect_new),
        "completed": result.completed,
        "fleet_elapsed_s": round(result.elapsed_s, 2),
        "posts_per_s": round(stats.posts / result.elapsed_s, 1) if result.elapsed_s else None,
    }


def write_run_records(result: FleetResult, path: Path) -> None:
    """`run.csv`: what the server answered for each planned submission."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["instance_id", "form_id", "phone", "true_id", "statuses", "outcome",
                         "new_registration", "registry_id", "message"])
        for r in result.records.values():
            s = r.submission
            writer.writerow([
                s.instance_id, s.form_id, s.phone_id, s.true_id,
                ";".join(str(x) for x in r.statuses), r.outcome,
                "" if r.new_registration is None else int(r.new_registration),
                r.registry_id, r.message,
            ])
