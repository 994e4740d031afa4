"""`posyandu-sync simulate`: a simulated city of kader phones, against a server or not.

    posyandu-sync simulate --server http://127.0.0.1:8000 --phones 27 --months 3 --seed 1
    posyandu-sync simulate --truth-only --months 12 --out var/truth
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from datetime import date
from pathlib import Path


def _month(text: str) -> date:
    try:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM, got {text!r}") from exc


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="simulate a city of kader phones (load, demo, ground truth)",
        description="Generate a seeded Kota Pekalongan population and drive the server as "
                    "a fleet of ODK Collect phones would, field problems included; write the "
                    "ground truth to --out. See simulator/README.md.",
    )
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--server", metavar="URL", help="base URL of the server")
    target.add_argument("--truth-only", action="store_true",
                        help="only write the population and ground truth (no server)")
    p.add_argument("--phones", type=int, metavar="N",
                   help="virtual phones, one kader each (default: one per posyandu)")
    p.add_argument("--months", type=int, default=6, metavar="M", help="months to simulate")
    p.add_argument("--seed", type=int, default=1, metavar="S", help="random seed")
    p.add_argument("--start", type=_month, metavar="YYYY-MM",
                   help="first simulated month (default: the M months before this one; "
                        "give it for data that does not move with the calendar)")
    p.add_argument("--rates", metavar="FILE", help="JSON or TOML file overriding rates")
    p.add_argument("--scale", type=float, default=1.0,
                   help="households per posyandu multiplier (default 1.0)")
    p.add_argument("--out", default="var/simulation", metavar="DIR",
                   help="where the ground truth goes (default var/simulation)")
    p.add_argument("--admin-user", default=os.environ.get("POSYANDU_ADMIN_USER"),
                   help="admin username (env POSYANDU_ADMIN_USER)")
    p.add_argument("--admin-password", default=os.environ.get("POSYANDU_ADMIN_PASSWORD"),
                   help="admin password (env POSYANDU_ADMIN_PASSWORD)")
    p.add_argument("--concurrency", type=int, default=8, help="phones syncing at once")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per HTTP request")
    p.add_argument("--time-limit", type=float, metavar="SECONDS",
                   help="stop starting new months after this long")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


class ProgressBar:
    """A one-line progress bar on a terminal (nothing when stderr is not a TTY)."""

    def __init__(self, total: int, stream=sys.stderr, enabled: bool = True):
        self.total, self.stream = max(total, 1), stream
        self.enabled = enabled and stream.isatty()
        self._last = 0.0
        self._lock = threading.Lock()  # phones report from several threads

    def update(self, done: int, label: str) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._draw(done, label)

    def _draw(self, done: int, label: str) -> None:
        now = time.monotonic()
        if now - self._last < 0.1 and done < self.total:
            return
        self._last = now
        share = min(done / self.total, 1.0)
        bar = "#" * int(share * 30)
        self.stream.write(f"\r[{bar:<30}] {share:4.0%} {done}/{self.total} POSTs  {label:<8}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")


def run(args: argparse.Namespace) -> int:
    # Imported here so that `posyandu-sync --help` and other commands start fast.
    import httpx

    from simulator.admin import AdminApiError
    from simulator.phone import OpenRosaError
    from simulator.population import CityShape, add_months
    from simulator.rates import Rates
    from simulator.run import SimulationConfig, run_against_server, run_truth_only

    try:
        rates = Rates.load(args.rates) if args.rates else Rates()
    except (OSError, ValueError) as exc:
        print(f"simulate: cannot use --rates {args.rates}: {exc}", file=sys.stderr)
        return 2
    if args.months < 1 or (args.phones is not None and args.phones < 1) or args.scale <= 0:
        print("simulate: --months, --phones and --scale must be positive", file=sys.stderr)
        return 2
    if args.start and add_months(args.start, args.months) > date.today():
        print(f"simulate: {args.months} months from {args.start:%Y-%m} reach into the future; "
              "choose an earlier --start", file=sys.stderr)
        return 2
    config = SimulationConfig(seed=args.seed, months=args.months, start=args.start,
                              phones=args.phones, rates=rates, shape=CityShape(scale=args.scale))
    out = Path(args.out)
    if args.truth_only:
        summary = run_truth_only(config, out)
        print(f"wrote the ground truth of {summary['submissions']} submissions "
              f"({summary['persons']['child']} children, {summary['households']} households, "
              f"{summary['phones']} phones, {summary['months']} months) to {out}/ "
              f"in {summary['elapsed_s']} s")
        return 0
    if not (args.admin_user and args.admin_password):
        print("simulate: --server needs admin credentials (--admin-user/--admin-password or "
              "POSYANDU_ADMIN_USER/POSYANDU_ADMIN_PASSWORD)", file=sys.stderr)
        return 2
    bar: ProgressBar | None = None

    def on_plan(plan) -> None:
        nonlocal bar
        total = sum(s.attempts for s in plan.submissions)
        bar = ProgressBar(total, enabled=not args.no_progress)
        print(f"simulating {len(plan.phones)} phones, {plan.city.months} months, "
              f"{len(plan.submissions)} submissions ({total} POSTs planned) "
              f"against {args.server}", file=sys.stderr)

    def on_progress(done: int, label: str) -> None:
        if bar:
            bar.update(done, label)

    try:
        summary = run_against_server(
            config, out, server=args.server, admin_user=args.admin_user,
            admin_password=args.admin_password, concurrency=args.concurrency,
            timeout=args.timeout, time_limit_s=args.time_limit, on_progress=on_progress,
            on_plan=on_plan,
        )
    except (AdminApiError, OpenRosaError, httpx.HTTPError, OSError) as exc:
        if bar:
            bar.close()
        print(f"simulate: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if bar:
        bar.close()
    r = summary["run"]
    print(f"sent {r['sent']} POSTs for {r['submissions']} submissions: "
          f"accepted {r['accepted']}, duplicates {r['duplicates']}, conflicts {r['conflicts']}, "
          f"errors {r['rejected'] + r['server_errors'] + r['network_errors']}, "
          f"unsent {r['outcomes'].get('unsent', 0)}; {r['elapsed_s']} s "
          f"({r['posts_per_s']} POSTs/s)")
    for problem in r["phone_errors"][:5]:
        print(f"  phone error: {problem}", file=sys.stderr)
    print(f"ground truth and run.csv in {out}/")
    return 0 if r["completed"] and not r["phone_errors"] else 1
