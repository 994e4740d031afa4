"""`posyandu-sync caseloads verify|rebuild`: check the caseload aggregates against a
full recompute from the raw records, or rewrite them from it."""

from __future__ import annotations

import argparse
import sys


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


def run_rebuild(args: argparse.Namespace) -> int:
    from core.db import session_scope
    from sync import caseloads

    with session_scope() as session:
        report = caseloads.rebuild(session)
    print(f"caseloads rebuild: {report.subjects} subjects, {report.contributions} contributions, "
          f"{report.aggregate_rows} aggregate rows written")
    return 0
