"""`serve` and `migrate`."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="run the HTTP service (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only; "
                       "0.0.0.0 for phones on the LAN, with POSYANDU_BASE_URL set to the LAN "
                       "address)")
    serve.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    serve.add_argument("--workers", type=int, default=None,
                       help="worker processes (stateless; share the database); default "
                       "POSYANDU_WORKERS, else 1")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.set_defaults(func=run_serve)

    migrate = sub.add_parser("migrate", help="upgrade the database schema to the latest migration")
    migrate.set_defaults(func=run_migrate)


def cli_name() -> str:
    """How to call this CLI from a shell: `posyandu-sync` when on PATH, else its full path."""
    import shutil
    import sys
    from pathlib import Path

    if shutil.which("posyandu-sync"):
        return "posyandu-sync"
    beside = Path(sys.executable).parent / "posyandu-sync"
    return str(beside) if beside.exists() else "posyandu-sync"


def cli_hint() -> str | None:
    """Where the CLI lives when `posyandu-sync` is not on PATH (e.g. the venv is not active)."""
    import shutil
    import sys
    from pathlib import Path

    if shutil.which("posyandu-sync"):
        return None
    bindir = Path(sys.executable).parent
    return (f"`posyandu-sync` is not on PATH: it lives in {bindir}/posyandu-sync "
            f"(or activate the venv: source {bindir}/activate)")


_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_EVERY_INTERFACE = ("0.0.0.0", "::")


def banner(host: str, port: int, base_url: str | None, db: str) -> list[str]:
    """What `serve` prints first: where to reach the service (the public base URL the
    QR codes carry, when one is set) and what will keep a phone from reaching it."""
    from urllib.parse import urlsplit

    local = "127.0.0.1" if host in _EVERY_INTERFACE else host
    base = (base_url or f"http://{local}:{port}").rstrip("/")
    lines = [f"posyandu-sync serving on {base}  (listening on {host}:{port}; database: {db})",
             f"  API docs:        {base}/docs",
             f"  health:          {base}/healthz   readiness: {base}/readyz",
             f"  sign in:         POST {base}/api/v1/auth/token",
             f"  phone set-up:    {cli_name()} app-token --username <kader>  (URL for ODK Collect)"]
    public = urlsplit(base).hostname or ""
    if host in _LOOPBACK and public not in _LOOPBACK:
        lines.append(f"  warning: listening on {host} only, so phones cannot reach {base}: "
                     "serve with --host 0.0.0.0 (make run: HOST=0.0.0.0)")
    elif public in _LOOPBACK:
        lines.append("  note: QR codes and device URLs will point at this computer only "
                     f"({base}); for phones set POSYANDU_BASE_URL=http://<LAN address>:{port}"
                     + ("" if host in _EVERY_INTERFACE else " and serve with --host 0.0.0.0"))
    hint = cli_hint()
    if hint:
        lines.append(f"  note: {hint}")
    return lines


def run_serve(args: argparse.Namespace) -> int:
    import os

    import uvicorn

    from core.config import get_settings
    from core.db import get_engine, is_sqlite
    from core.logging import uvicorn_log_config
    from core.migrate import current_revision, head_revision

    workers = args.workers if args.workers is not None else get_settings().workers
    if workers < 1:
        print("--workers (or POSYANDU_WORKERS) must be at least 1.")
        return 2
    # Several workers are new processes: they read how many they are from the
    # environment (Settings.workers) and rebalance phones between them. One runs the app
    # in this process, so the cached settings are read again.
    os.environ["POSYANDU_WORKERS"] = str(workers)
    get_settings.cache_clear()
    settings = get_settings()
    engine = get_engine()
    if current_revision(engine) != head_revision():
        print("The database is not at the latest migration; run `posyandu-sync migrate` first.")
        return 1
    db = engine.url.render_as_string(hide_password=True)
    for line in banner(args.host, args.port, settings.base_url, db):
        print(line)
    if is_sqlite(engine) and workers > 1:
        print("  note: several workers on SQLite share one writer; use PostgreSQL to scale out.")
    uvicorn.run("api.main:app", host=args.host, port=args.port, workers=workers,
                access_log=args.access_log, log_level=settings.log_level.lower(),
                log_config=uvicorn_log_config(json_lines=settings.log_json,
                                              level=settings.log_level),
                proxy_headers=True, date_header=False)  # Date is set by api/middleware.py
    return 0


def run_migrate(args: argparse.Namespace) -> int:
    from core.config import get_settings
    from core.migrate import upgrade

    upgrade()
    print(f"database at the latest migration ({get_settings().database_url.split('@')[-1]})")
    return 0
