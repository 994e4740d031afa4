"""Faults and recovery: `backup` and `restore` (core.backup)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backup", help="write a consistent backup while the service runs "
                       "(SQLite: online backup API; PostgreSQL: pg_dump custom format)")
    p.add_argument("out", type=Path, metavar="FILE", help="where to write it (replaced only "
                   "once the new backup is complete)")
    p.add_argument("--database-url", help="default: POSYANDU_DATABASE_URL")
    p.add_argument("--pg-dump", metavar="PATH", help="the pg_dump to use (default: the one of "
                   "the server's major version, from PATH or /usr/lib/postgresql/*/bin)")
    p.set_defaults(func=run_backup)

    p = sub.add_parser("restore", help="restore a backup into a fresh database")
    p.add_argument("backup", type=Path, metavar="FILE")
    p.add_argument("--database-url", help="default: POSYANDU_DATABASE_URL")
    p.add_argument("--force", action="store_true", help="replace a database that is not empty "
                   "(stop the service first)")
    p.add_argument("--pg-restore", metavar="PATH", help="the pg_restore to use")
    p.set_defaults(func=run_restore)


def _url(args: argparse.Namespace) -> str:
    from core.config import get_settings

    return args.database_url or get_settings().database_url


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    from core.db import normalise_url

    return make_url(normalise_url(url)).render_as_string(hide_password=True)


def run_backup(args: argparse.Namespace) -> int:
    from core.backup import BackupError, backup

    url = _url(args)
    try:
        done = backup(url, args.out, pg_dump=args.pg_dump)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    held = "" if done.submissions is None else f", {done.submissions} submissions"
    print(f"backup of {_shown(url)} written to {done.path} ({done.bytes} bytes{held}, "
          f"migration {done.revision}) in {done.seconds:.1f} s with {done.tool}")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    from core.backup import BackupError, restore
    from core.migrate import head_revision

    url = _url(args)
    try:
        done = restore(url, args.backup, force=args.force, pg_restore=args.pg_restore)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"restored {args.backup} into {_shown(url)} ({done.submissions} submissions, "
          f"migration {done.revision}) in {done.seconds:.1f} s with {done.tool}")
    if done.revision != head_revision():
        print(f"note: the backup is at migration {done.revision}, this version at "
              f"{head_revision()}: run `posyandu-sync migrate` before serving")
    return 0
