"""Faults, recovery and privacy: `backup` and `restore` (core.backup), data subject
requests (`person export|correct|erase|hold|release`, sync.subjects) and raw-submission
retention (`retention run`, sync.retention)."""

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

    p = sub.add_parser("person", help="data subject requests (UU PDP): export, correct, erase")
    psub = p.add_subparsers(dest="person_command", metavar="ACTION", required=True)
    e = psub.add_parser("export", help="everything held about a person, as JSON")
    e.add_argument("person_id", metavar="ID")
    e.add_argument("-o", "--out", type=Path, help="write to FILE (default: stdout)")
    e.add_argument("--attachments", action="store_true",
                   help="include the attachments' bytes (base64)")
    e.add_argument("--actor", metavar="USERNAME", required=True,
                   help="who gives the data out (recorded in the access log)")
    e.set_defaults(func=run_person_export)
    c = psub.add_parser("correct", help="correct registry fields (a new version, audited)")
    c.add_argument("person_id", metavar="ID")
    c.add_argument("--set", action="append", required=True, dest="changes",
                   metavar="FIELD=VALUE", help="e.g. name='Siti Aminah' (repeatable; empty clears)")
    c.add_argument("--reason", required=True)
    c.add_argument("--actor", metavar="USERNAME", required=True)
    c.set_defaults(func=run_person_correct)
    x = psub.add_parser("erase", help="anonymise a person not under a legal retention duty "
                        "(registry, its history, raw submissions, photos); irreversible")
    x.add_argument("person_id", metavar="ID")
    x.add_argument("--reason", required=True, help="e.g. the request's reference")
    x.add_argument("--actor", metavar="USERNAME", required=True)
    x.add_argument("--yes", action="store_true", help="do it (without: say what would happen)")
    x.set_defaults(func=run_person_erase)
    h = psub.add_parser("hold", help="record a legal retention duty (erase refuses while held)")
    h.add_argument("person_id", metavar="ID")
    h.add_argument("--reason", required=True)
    h.add_argument("--actor", metavar="USERNAME", required=True)
    h.set_defaults(func=run_person_hold)
    r = psub.add_parser("release", help="end the person's legal holds")
    r.add_argument("person_id", metavar="ID")
    r.add_argument("--actor", metavar="USERNAME", required=True)
    r.set_defaults(func=run_person_release)

    p = sub.add_parser("retention", help="raw submissions past their retention period")
    rsub = p.add_subparsers(dest="retention_command", metavar="ACTION", required=True)
    run = rsub.add_parser("run", help="anonymise or purge the raw XML and attachments of "
                          "processed submissions older than the period (records stay)")
    run.add_argument("--days", type=int, help="default: POSYANDU_RAW_RETENTION_DAYS")
    run.add_argument("--mode", choices=("anonymise", "purge"),
                     help="default: POSYANDU_RAW_RETENTION_MODE (anonymise)")
    run.add_argument("--limit", type=int, default=1000, help="most submissions per transaction")
    run.add_argument("--dry-run", action="store_true", help="only count them")
    run.add_argument("--every", type=float, metavar="HOURS",
                     help="keep running, once every HOURS (a schedule without cron)")
    run.set_defaults(func=run_retention)


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


def _fail(exc: Exception) -> int:
    print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
    return 1


def _actor_id(session, username: str | None) -> int | None:
    from sync.accounts import get_user_by_username_or_raise

    return None if username is None else get_user_by_username_or_raise(session, username).id


def run_person_export(args: argparse.Namespace) -> int:
    import json

    from core.db import session_scope
    from core.errors import AppError
    from sync.access import record_read
    from sync.accounts import get_user_by_username_or_raise, principal_for
    from sync.subjects import export_person

    try:
        with session_scope() as session:
            principal = principal_for(session, get_user_by_username_or_raise(session, args.actor))
            data = export_person(session, person_id=args.person_id, attachments=args.attachments)
            # Giving someone's data out is a read of personal data: in the access log, in
            # the same transaction (if it cannot be logged, nothing is given out).
            household = data["household"]
            record_read(session, principal=principal, resource="person_export", action="export",
                        subject=("person", args.person_id),
                        persons=[args.person_id, *data["merged_from"],
                                 *(c["id"] for c in data["children"])],
                        households=[household["id"]] if household else [],
                        query={"attachments": args.attachments})
    except AppError as exc:
        return _fail(exc)
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
        print(f"everything held about {args.person_id} written to {args.out} "
              f"({len(data['versions'])} versions, {len(data['measurements'])} measurements, "
              f"{len(data['pregnancy_screenings'])} screenings, "
              f"{len(data['submissions'])} submissions)", file=sys.stderr)
    else:
        print(text)
    return 0


def run_person_correct(args: argparse.Namespace) -> int:
    from core.db import session_scope
    from core.errors import AppError
    from sync.subjects import correct_person, parse_changes

    try:
        with session_scope() as session:
            outcome = correct_person(session, person_id=args.person_id,
                                     changes=parse_changes(args.changes),
                                     actor_id=_actor_id(session, args.actor), reason=args.reason)
    except AppError as exc:
        return _fail(exc)
    print(f"{args.person_id}: {outcome['status']}, version {outcome['version']} "
          f"({', '.join(outcome['fields']) or 'nothing changed'})")
    return 0


def run_person_erase(args: argparse.Namespace) -> int:
    from core.db import session_scope
    from core.errors import AppError
    from sync.subjects import erase_person

    if not args.yes:
        print(f"This replaces every personal field of {args.person_id} (name, NIK, link to the mother, "
              "the identifying answers and photos of the raw submissions that named them) and "
              "cannot be undone; its measurements and screenings stay, anonymous. Run again "
              "with --yes.", file=sys.stderr)
        return 2
    try:
        with session_scope() as session:
            summary = erase_person(session, person_id=args.person_id,
                                   actor_id=_actor_id(session, args.actor), reason=args.reason)
    except AppError as exc:
        return _fail(exc)
    print(f"{args.person_id} erased: registry version {summary['version']}, "
          f"{summary['versions']} versions anonymised, {summary['submissions_rewritten']} of "
          f"{summary['submissions']} submissions rewritten, {summary['attachments_emptied']} "
          "attachments emptied (audit: person.erase)")
    return 0


def run_person_hold(args: argparse.Namespace) -> int:
    from core.db import session_scope
    from core.errors import AppError
    from sync.subjects import hold_person

    try:
        with session_scope() as session:
            hold = hold_person(session, person_id=args.person_id, reason=args.reason,
                               actor_id=_actor_id(session, args.actor))
    except AppError as exc:
        return _fail(exc)
    print(f"legal hold {hold} on {args.person_id}: erasure refused until released")
    return 0


def run_person_release(args: argparse.Namespace) -> int:
    from core.db import session_scope
    from core.errors import AppError
    from sync.subjects import release_holds

    try:
        with session_scope() as session:
            released = release_holds(session, person_id=args.person_id,
                                     actor_id=_actor_id(session, args.actor))
    except AppError as exc:
        return _fail(exc)
    print(f"{released} legal hold(s) on {args.person_id} released")
    return 0


def run_retention(args: argparse.Namespace) -> int:
    import time

    from core.config import get_settings
    from core.db import session_scope
    from sync.retention import run_retention as retain

    settings = get_settings()
    days = args.days or settings.raw_retention_days
    if not days:
        print("error: no retention period: set POSYANDU_RAW_RETENTION_DAYS or give --days",
              file=sys.stderr)
        return 1
    mode = args.mode or settings.raw_retention_mode
    while True:
        total = 0
        while True:
            with session_scope() as session:
                done = retain(session, days=days, mode=mode, limit=args.limit,
                              dry_run=args.dry_run)
            total += done["submissions"]
            if args.dry_run or done["submissions"] < args.limit:
                break
        verb = "would be" if args.dry_run else ("anonymised" if mode == "anonymise" else "purged")
        print(f"{total} submissions received before {done['received_before']} {verb} "
              f"(raw retention {days} days)", flush=True)
        if not args.every:
            return 0
        time.sleep(args.every * 3600)
