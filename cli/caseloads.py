"""`posyandu-sync caseloads verify|rebuild`: check the caseload aggregates against a
full recompute from the raw records, or rewrite them from it."""

from __future__ import annotations

import argparse
import sys
import time


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("caseloads", help="caseload aggregates: verify against the raw records "
                       "or rebuild them")
    csub = p.add_subparsers(dest="caseloads_command", metavar="ACTION", required=True)
    verify = csub.add_parser("verify", help="recompute every caseload figure from the raw "
                             "records and report any difference (exit 1 if there is one)")
    verify.add_argument("--limit", type=int, default=50, help="differences shown (default 50)")
    verify.set_defaults(func=run_verify)
    rebuild = csub.add_parser("rebuild", help="recompute every caseload figure from the raw "
                              "records and store it (one transaction)")
    rebuild.set_defaults(func=run_rebuild)


def run_verify(args: argparse.Namespace) -> int:
    from core.db import session_scope
    from sync import caseloads

    with session_scope() as session:
        report = caseloads.verify(session, limit=args.limit)
    print(f"caseloads verify: {report.subjects} subjects, {report.contributions} contributions, "
          f"{report.aggregate_rows} aggregate rows recomputed")
    if report.ok:
        print("caseloads verify: no difference")
        return 0
    for line in report.differences:
        print(f"  {line}", file=sys.stderr)
    print("caseloads verify: DIFFERENCES found; `posyandu-sync caseloads rebuild` rewrites them",
          file=sys.stderr)
    return 1


class Progress:
    """A line on stderr (or `out`) at most every `every` seconds, and at the end: how
    many of `what` are done, the rate and the time left at that rate. Plain lines, not
    a redrawn bar (cli.simulate.ProgressBar, which is silent off a terminal): a rebuild
    runs from maintenance scripts whose output goes to a log."""

    def __init__(self, label: str, what: str, every: float = 10.0, clock=time.monotonic,
                 out=None) -> None:
        self.label, self.what, self.every, self.clock, self.out = label, what, every, clock, out
        self.started = self.last = clock()

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if now - self.last < self.every and done < total:
            return
        self.last = now
        rate = done / max(now - self.started, 1e-9)
        left = (total - done) / rate if rate else 0
        print(f"{self.label}: {done:,} of {total:,} {self.what} "
              f"({100 * done / max(total, 1):.0f} %), {rate:,.0f}/s, about {left:,.0f} s left",
              file=self.out or sys.stderr, flush=True)


def run_rebuild(args: argparse.Namespace) -> int:
    from core.db import session_scope
    from sync import caseloads

    with session_scope() as session:
        report = caseloads.rebuild(session, progress=Progress(
            "caseloads rebuild", "households and persons in none"))
    print(f"caseloads rebuild: {report.subjects} subjects, {report.contributions} contributions, "
          f"{report.aggregate_rows} aggregate rows written")
    return 0
