"""Administration commands: users, device tokens, regions, first-run bootstrap."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.roles import ROLES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("create-user", help="create a user account")
    p.add_argument("--username", required=True)
    secret = p.add_mutually_exclusive_group()
    secret.add_argument("--password", help="discouraged: argv is visible to other users (ps, "
                        "shell history); without it you are prompted")
    secret.add_argument("--password-stdin", action="store_true",
                        help="read the password from stdin (one line), for scripts")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--scope", action="append", default=[], metavar="CODE",
                   help="wilayah code (e.g. 33.75.01.1002) or posyandu:<id>; repeatable")
    p.add_argument("--agency", help="agency name (for role agency)")
    p.add_argument("--full-name")
    p.set_defaults(func=run_create_user)

    p = sub.add_parser("app-token", help="issue a device token; prints the ODK Collect server URL")
    p.add_argument("--username", required=True)
    p.add_argument("--label", default="", help="which phone, e.g. 'Samsung A05 Bu Sri'")
    p.add_argument("--base-url", help="public base URL (default: POSYANDU_BASE_URL or "
                   "http://127.0.0.1:8000)")
    p.set_defaults(func=run_app_token)

    p = sub.add_parser("wilayah", help="region list")
    wsub = p.add_subparsers(dest="wilayah_command", metavar="ACTION", required=True)
    imp = wsub.add_parser("import", help="load the national Kemendagri list shipped with the "
                          "package (no FILE), or import region CSVs (code,<parent>_code,name)")
    imp.add_argument("files", nargs="*", type=Path, metavar="FILE.csv",
                     help="provinces/regencies/districts/villages files, in any order; "
                     "none: the whole national list (38 provinsi, 83,762 kelurahan/desa)")
    imp.add_argument("--province", action="append", dest="provinces", metavar="CODE",
                     help="with no FILE: only this province, e.g. 33 (repeatable)")
    imp.set_defaults(func=run_wilayah_import)

    p = sub.add_parser("reprocess", help="retry stored submissions that failed to process "
                       "(idempotent: never makes a second record)")
    p.add_argument("--id", type=int, action="append", dest="ids", metavar="N",
                   help="only this submission (repeatable)")
    p.add_argument("--limit", type=int, help="at most this many")
    p.set_defaults(func=run_reprocess)

    p = sub.add_parser("kobo-hook", help="KoboToolbox REST Service hooks")
    ksub = p.add_subparsers(dest="kobo_command", metavar="ACTION", required=True)
    create = ksub.add_parser("create", help="create a hook; prints its URL and secret")
    create.add_argument("--name", required=True)
    create.add_argument("--form", required=True, dest="form_id",
                        help="anthropometry, pregnancy_screening or sanitation_check")
    create.add_argument("--username", required=True, help="the account the hook submits as")
    create.add_argument("--base-url", help="public base URL")
    create.set_defaults(func=run_kobo_hook_create)

    p = sub.add_parser("bootstrap", help="first-run set-up: publish the built-in forms and "
                       "create the first admin if there is none (prints its password once)")
    p.add_argument("--admin-username", default="admin")
    p.add_argument("--wilayah", choices=("pekalongan", "all"), default="pekalongan",
                   help="regions to make sure exist: Kota Pekalongan (default) or the whole "
                   "national list")
    p.set_defaults(func=run_bootstrap)


def _fail(exc: Exception) -> int:
    print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
    return 1


def _read_password(args: argparse.Namespace) -> str | None:
    """The new account's password from stdin, a prompt (twice) or argv (with a warning)."""
    import getpass

    if args.password_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    if args.password is not None:
        print("warning: a password given with --password is visible to other users (ps, shell "
              "history); prefer the prompt or --password-stdin", file=sys.stderr)
        return args.password
    try:
        first = getpass.getpass(f"password for {args.username}: ")
        again = getpass.getpass("again: ")
    except (EOFError, KeyboardInterrupt):  # no terminal and nothing piped in, or Ctrl-C
        print("\nerror: no password was typed; nothing created (from a script, pipe it in "
              "with --password-stdin)", file=sys.stderr)
        return None
    if again != first:
        print("error: the passwords do not match; nothing created", file=sys.stderr)
        return None
    return first


def run_create_user(args: argparse.Namespace) -> int:
    from core.db import session_scope
    from core.errors import AppError
    from sync import accounts

    password = _read_password(args)
    if password is None:
        return 1
    args.password = password
    try:
        with session_scope() as session:
            user = accounts.create_user(session, username=args.username, password=args.password,
                                        role=args.role, scopes=args.scope, agency=args.agency,
                                        full_name=args.full_name)
            print(f"created {user.role} {user.username!r} (id {user.id})")
    except AppError as exc:
        return _fail(exc)
    return 0


def run_app_token(args: argparse.Namespace) -> int:
    from core.config import get_settings
    from core.db import session_scope
    from core.errors import AppError
    from sync import accounts
    from sync.collect_settings import loopback_warning

    base = (args.base_url or get_settings().base_url or "http://127.0.0.1:8000").rstrip("/")
    try:
        with session_scope() as session:
            user = accounts.get_user_by_username_or_raise(session, args.username)
            _, token = accounts.create_app_token(session, user=user, label=args.label, kind="cli")
    except AppError as exc:
        return _fail(exc)
    warning = loopback_warning(base)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{base}/key/{token}")
    return 0


def run_wilayah_import(args: argparse.Namespace) -> int:
    from core.db import session_scope
    from core.errors import AppError
    from sync.wilayah import ATTRIBUTION, import_national, import_regions, read_region_csv

    if not args.files:
        try:
            with session_scope() as session:
                counts = import_national(session, provinces=args.provinces)
        except AppError as exc:
            return _fail(exc)
        print("wilayah: national list (Kepmendagri 300.2.2-2138/2025)")
        for line in counts.lines():
            print(f"  {line}")
        print(f"  {ATTRIBUTION}.")
        return 0
    if args.provinces:
        print("error: --province only applies to the national list (no FILE)", file=sys.stderr)
        return 1
    try:
        rows = []
        for path in args.files:
            if not path.is_file():
                print(f"error: no such file {path}", file=sys.stderr)
                return 1
            rows.extend(read_region_csv(path))
        with session_scope() as session:
            inserted, updated = import_regions(session, rows)
    except AppError as exc:
        return _fail(exc)
    print(f"wilayah: {inserted} added, {updated} renamed, {len(rows) - inserted - updated} unchanged")
    return 0


def run_bootstrap(args: argparse.Namespace) -> int:
    from core.db import session_scope
    from core.security import new_secret
    from sync import accounts
    from sync.forms import current_forms
    from sync.wilayah import import_national

    with session_scope() as session:
        if args.wilayah == "all":
            counts = import_national(session)
        else:
            counts = import_national(session, regencies=["33.75"])
        added = sum(counts.added.values())
        print(f"wilayah ({'national list' if args.wilayah == 'all' else 'Kota Pekalongan'}): "
              + (f"{added} regions added" if added else "already loaded"))
        published = _publish_forms(session)
        if published:
            print(f"forms published: {', '.join(published)}")
        else:
            current = ", ".join(f"{f.form_id} v{f.version}" for f in current_forms(session))
            print(f"forms already published: {current or 'none'}")
        from sync.caseloads import seed_targets

        if seed_targets(session):
            print("caseload targets seeded: Kota Pekalongan 14.88% (2023), 12.24% (2024); "
                  "national 14% (2024)")
        admins = accounts.count_admins(session)
        if admins == 0:
            password = new_secret(12)
            accounts.create_user(session, username=args.admin_username, password=password,
                                 role="admin")
            print(f"first admin created: username {args.admin_username!r}, password {password!r}")
            print("  (shown once; sign in and create the other accounts)")
        else:
            print(f"admin exists ({admins} admin account{'s' if admins > 1 else ''}): none "
                  "created; reset a password with the API or create-user")
    print("bootstrap: done")
    return 0


def _publish_forms(session) -> list[str]:
    from sync.forms import publish_builtin_forms

    return publish_builtin_forms(session)


def run_reprocess(args: argparse.Namespace) -> int:
    from sqlmodel import select

    from core.db import get_engine, session_scope
    from models import Submission
    from sync.process import reprocess

    if args.ids:
        with session_scope() as session:
            known = set(session.exec(select(Submission.id).where(Submission.id.in_(args.ids))).all())
        if missing := sorted(set(args.ids) - known):
            print(f"error: no submission {', '.join(map(str, missing))}", file=sys.stderr)
            return 1
    counts = reprocess(get_engine(), ids=args.ids, limit=args.limit)
    with session_scope() as session:
        failed = session.exec(select(Submission).where(Submission.status == "failed")
                              .order_by(Submission.id).limit(20)).all()
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing to do"
    print(f"reprocess: {summary}")
    for row in failed:
        print(f"  still failed: submission {row.id} ({row.form_id} {row.instance_id}): {row.error}")
    return 0


def run_kobo_hook_create(args: argparse.Namespace) -> int:
    from core.config import get_settings
    from core.db import session_scope
    from core.errors import AppError
    from sync.kobo import create_hook

    base = (args.base_url or get_settings().base_url or "http://127.0.0.1:8000").rstrip("/")
    try:
        with session_scope() as session:
            hook, secret = create_hook(session, name=args.name, form_id=args.form_id,
                                       username=args.username)
    except AppError as exc:
        return _fail(exc)
    print(f"url:    {base}/api/v1/intake/kobo/{hook.id}")
    print(f"secret: {secret}   (KoboToolbox REST Service: Basic auth, any username, this password)")
    return 0
