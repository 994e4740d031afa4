"""`posyandu-sync zscore IN.csv [-o OUT.csv]`: WHO z-scores for a CSV of children.

See `indicators.batch` for the columns. Exit status: 0 when every row was
parsed, 1 when some rows could not be (they are listed on stderr with their
line number and keep their place in the output with the reason in `error`),
2 when the file cannot be processed at all.
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "zscore",
        help="WHO z-scores and Permenkes categories for a CSV of children",
        description=(
            "Reads a CSV with columns sex, age_days (or birth_date and measured_on), "
            "weight_kg, lenhei_cm, measure (L/H), oedema (y/n), muac_cm and writes the "
            "same rows with WHO anthro's clenhei, zlen, flen, zwei, fwei, zwfl, fwfl, "
            "zbmi, fbmi, zac, fac and the Permenkes 2/2020 categories."
        ),
    )
    parser.add_argument("input", metavar="IN.csv", help="input CSV ('-' for stdin)")
    parser.add_argument("-o", "--output", metavar="OUT.csv", help="output CSV (default: stdout)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from indicators.batch import BatchInputError, zscore_csv

    progress = sys.stderr if sys.stderr.isatty() else None
    try:
        with _open(args.input, "r") as source, _open(args.output, "w") as target:
            report = zscore_csv(source, target, progress)
    except (OSError, UnicodeDecodeError, BatchInputError) as exc:
        print(f"zscore: {exc}", file=sys.stderr)
        return 2
    for error in report.errors:
        print(f"line {error.line}: {error.reason}", file=sys.stderr)
    if report.errors:
        print(
            f"zscore: {len(report.errors)} of {report.rows} rows could not be parsed",
            file=sys.stderr,
        )
        return 1
    return 0


def _open(path: str | None, mode: str):
    """A file, or stdin/stdout for '-' / no path (not closed on exit)."""
    if path is None or path == "-":
        stream = sys.stdin if mode == "r" else sys.stdout
        return _Unclosed(stream)
    if mode == "r":
        return open(path, encoding="utf-8-sig", newline="")
    return open(path, "w", encoding="utf-8", newline="")


class _Unclosed:
    """Context manager handing out a standard stream without closing it."""

    def __init__(self, stream):
        self.stream = stream

    def __enter__(self):
        return self.stream

    def __exit__(self, *exc_info) -> None:
        self.stream.flush()
