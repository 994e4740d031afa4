"""Entry point of the `posyandu-sync` console script.

Each subcommand lives in its own module under `cli/` and exposes
`register(subparsers)`, which adds its parser and sets `func=run`, where
`run(args) -> int` returns the process exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules that contribute subcommands, in the order `--help` lists them.
COMMAND_MODULES = (
    "cli.serve",
    "cli.admin",
    "cli.security",
    "cli.zscore",
    "cli.forms",
    "cli.simulate",
    "cli.dedup",
    "cli.caseloads",
    "cli.recovery",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="posyandu-sync",
        description="Sync backend for posyandu kader phones.",
    )
    from core.version import app_version

    parser.add_argument("--version", action="version", version=f"%(prog)s {app_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a command module not written yet
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
