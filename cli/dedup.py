"""`posyandu-sync dedup`: batch deduplication of the registry, or of a CSV file."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dedup", help="find duplicate persons in the registry (opens candidate pairs for "
        "review) or in a CSV file (--csv IN.csv -o OUT.csv, no database)")
    p.add_argument("--csv", metavar="IN.csv", help="deduplicate this file instead of the "
                   "registry: a record_id column and child_nik, child_name, child_sex, "
                   "child_birth_date, mother_name, mother_nik, household_kk, kelurahan_code")
    p.add_argument("-o", "--output", metavar="OUT.csv", help="with --csv: where to write "
                   "record_id, cluster_id, review_cluster_id, reason (default: stdout)")
    p.add_argument("--auto-merge", action="store_true", help="registry: merge the auto-link "
                   "band (each merge recorded and undoable); without it nothing is merged")
    p.set_defaults(func=run)


class _Progress:
    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        bar = ""
        if total:
            filled = int(30 * done / total) if total else 30
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,}"
        else:
            bar = f"{done:,}"
        end = "\r" if self.tty else "\n"
        print(f"dedup: {stage:9} {bar}", end=end, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    if args.csv:
        return _run_csv(args)
    if args.output:
        print("error: -o/--output goes with --csv", file=sys.stderr)
        return 2
    from core.db import get_engine
    from sync.dedup import scan_registry

    summary = scan_registry(get_engine(), auto_merge=args.auto_merge, progress=_Progress())
    print(file=sys.stderr)
    print(f"dedup: {summary.persons:,} persons scanned in {summary.seconds:.1f} s; "
          f"{summary.pairs_found:,} candidate pairs, {summary.opened:,} opened for review"
          f"{f', {summary.merged:,} merged (auto-link band)' if args.auto_merge else ''}, "
          f"{summary.already_known:,} known before (open, merged or dismissed)")
    return 0


def _run_csv(args: argparse.Namespace) -> int:
    from sync.dedup import dedup_csv

    try:
        with open(args.csv, newline="", encoding="utf-8-sig") as source:
            if args.output:
                with open(args.output, "w", newline="", encoding="utf-8") as target:
                    rows, auto, review = dedup_csv(source, target)
            else:
                rows, auto, review = dedup_csv(source, sys.stdout)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"dedup: {rows:,} rows; {auto:,} auto-link clusters, {review:,} clusters counting "
          "review", file=sys.stderr)
    return 0
