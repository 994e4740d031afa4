"""Backups that restore: `posyandu-sync backup` and `posyandu-sync restore`.

SQLite: SQLite's online backup API, all pages in one step, i.e. inside one read
transaction. In WAL mode that transaction sees one committed state of the database
while the service goes on writing beside it, so the copy is consistent whatever the
phones are doing (a file copy of a live WAL database is not: the last commits are in
the -wal file, and a copy taken mid-checkpoint can be torn). The copy is checked
(`PRAGMA integrity_check`) before it is renamed into place.

PostgreSQL: `pg_dump --format=custom`, which reads everything in one repeatable-read
snapshot (consistent while serving) and is restored with `pg_restore`. pg_dump must
be of the server's major version or newer; the one used is chosen from PATH and
/usr/lib/postgresql/*/bin, and when none fits the error says what to install. The
password goes to pg_dump in its environment (PGPASSWORD), never on its command line.

A restore goes into a fresh database; one that has tables is refused unless `force`.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.db import is_sqlite, normalise_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that cannot be done, with what to do about it."""


@dataclass(frozen=True)
class Outcome:
    path: Path
    bytes: int
    seconds: float
    submissions: int | None
    revision: str | None
    tool: str  # "sqlite backup API" or the pg_dump / pg_restore used


def sqlite_path(url: str) -> Path:
    database = make_url(normalise_url(url)).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _sqlite_facts(conn: sqlite3.Connection) -> tuple[int | None, str | None]:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    submissions = (conn.execute("SELECT count(*) FROM submission").fetchone()[0]
                   if "submission" in tables else None)
    revision = (conn.execute("SELECT version_num FROM alembic_version").fetchone()
                if "alembic_version" in tables else None)
    return submissions, revision[0] if revision else None


def _check_integrity(conn: sqlite3.Connection, what: str) -> None:
    result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    if result != ["ok"]:
        raise BackupError(f"{what} failed SQLite's integrity check: {'; '.join(result[:5])}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sqlite_backup(url: str, out: Path) -> Outcome:
    source_path = sqlite_path(url)
    if not source_path.exists():
        raise BackupError(f"no SQLite database at {source_path}")
    started = time.perf_counter()
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(source_path, timeout=30)
    try:
        target = sqlite3.connect(partial)
        try:
            # pages=-1: every page in one step, inside one read transaction, so the copy
            # is one committed state; WAL lets the service keep writing meanwhile.
            source.backup(target, pages=-1)
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            _check_integrity(target, "the backup")
            submissions, revision = _sqlite_facts(target)
        finally:
            target.close()
    finally:
        source.close()
    _fsync(partial)
    partial.replace(out)
    return Outcome(out, out.stat().st_size, time.perf_counter() - started, submissions,
                   revision, "sqlite backup API")


def _sqlite_has_tables(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return False
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0] > 0
    finally:
        conn.close()


def _sqlite_restore(url: str, backup: Path, force: bool) -> Outcome:
    target_path = sqlite_path(url)
    if _sqlite_has_tables(target_path) and not force:
        raise BackupError(f"{target_path} is not empty: restore goes into a fresh database. Give "
                          "another POSYANDU_DATABASE_URL, or --force to replace this one (stop "
                          "the service first)")
    started = time.perf_counter()
    target_path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        _check_integrity(source, f"the backup {backup}")
        target = sqlite3.connect(target_path, timeout=30)
        try:
            source.backup(target, pages=-1)  # replaces every page, under SQLite's locks
            target.execute("PRAGMA journal_mode=WAL")  # as the service runs it
            _check_integrity(target, "the restored database")
            submissions, revision = _sqlite_facts(target)
        finally:
            target.close()
    finally:
        source.close()
    return Outcome(target_path, target_path.stat().st_size, time.perf_counter() - started,
                   submissions, revision, "sqlite backup API")


# ---------------------------------------------------------------- PostgreSQL

def libpq_environment(url: str) -> tuple[dict[str, str], str]:
    """The PG* environment variables for a database URL, and the database name."""
    parsed = make_url(normalise_url(url))
    env = {}
    for name, value in (("PGHOST", parsed.host), ("PGPORT", parsed.port),
                        ("PGUSER", parsed.username), ("PGPASSWORD", parsed.password)):
        if value is not None:
            env[name] = str(value)
    for key, name in (("host", "PGHOST"), ("port", "PGPORT"), ("sslmode", "PGSSLMODE"),
                      ("options", "PGOPTIONS")):
        value = parsed.query.get(key)
        if value:
            env[name] = value if isinstance(value, str) else value[0]
    return env, parsed.database or "postgres"


def _server_major(url: str) -> int:
    engine = create_engine(normalise_url(url), connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SHOW server_version_num")).scalar()) // 10000
    except Exception as exc:  # noqa: BLE001 - said to the operator
        said = str(exc).splitlines()[0]
        hint = (f" (create it first: createdb {make_url(normalise_url(url)).database})"
                if "does not exist" in said else "")
        raise BackupError(f"cannot connect to PostgreSQL: {said}{hint}") from exc
    finally:
        engine.dispose()


def _tool_major(path: str) -> int | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=20).stdout
    except OSError:
        return None
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else None


def find_pg_tool(tool: str, server_major: int, given: str | None = None) -> str:
    """The `pg_dump`/`pg_restore` to use for a server of `server_major`: the given one,
    else the one of the same major version, else the newest newer one."""
    if given:
        candidates = [given]
    else:
        candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"))
        on_path = shutil.which(tool)
        if on_path:
            candidates.append(on_path)
    found = {path: _tool_major(path) for path in candidates}
    fitting = sorted((major, path) for path, major in found.items()
                     if major is not None and major >= server_major)
    same = [path for major, path in fitting if major == server_major]
    if same:
        return same[0]
    if fitting:
        return fitting[-1][1]
    seen = ", ".join(f"{path} ({major or '?'})" for path, major in found.items()) or "none"
    raise BackupError(
        f"no usable {tool} for PostgreSQL {server_major}: {tool} must be of the server's major "
        f"version or newer (found: {seen}). Install it (Debian/Ubuntu: apt-get install "
        f"postgresql-client-{server_major}; for versions the distribution does not ship, from the "
        "PostgreSQL project's apt repository), or run it where the server runs (docker compose "
        f"exec db {tool} ...), or give its path with --{tool.replace('_', '-')}")


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{what} failed ({os.path.basename(command[0])} exit "
                          f"{result.returncode}): {result.stderr.strip()[-2000:]}")


def _pg_facts(url: str) -> tuple[int | None, str | None, int]:
    """(submissions, alembic revision, number of tables) of a PostgreSQL database."""
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            tables = set(conn.execute(text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                "current_schema()")).scalars())
            submissions = (conn.execute(text("SELECT count(*) FROM submission")).scalar()
                           if "submission" in tables else None)
            revision = (conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                        if "alembic_version" in tables else None)
            return submissions, revision, len(tables)
    finally:
        engine.dispose()


def _pg_backup(url: str, out: Path, pg_dump: str | None) -> Outcome:
    tool = find_pg_tool("pg_dump", _server_major(url), pg_dump)
    env, database = libpq_environment(url)
    started = time.perf_counter()
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    _run([tool, "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}",
          f"--dbname={database}"], env, "pg_dump")
    _fsync(partial)
    partial.replace(out)
    _, revision, _ = _pg_facts(url)
    # The dump's own count is not known without restoring it (the live count has moved on).
    return Outcome(out, out.stat().st_size, time.perf_counter() - started, None, revision, tool)


def _pg_restore(url: str, backup: Path, force: bool, pg_restore: str | None) -> Outcome:
    server = _server_major(url)
    _, _, tables = _pg_facts(url)
    if tables and not force:
        raise BackupError(f"the database {make_url(normalise_url(url)).database!r} is not empty "
                          f"({tables} tables): restore goes into a fresh database (createdb NAME, then give "
                          "its URL), or --force to replace this one (stop the service first)")
    tool = find_pg_tool("pg_restore", server, pg_restore)
    env, database = libpq_environment(url)
    started = time.perf_counter()
    command = [tool, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
               f"--dbname={database}"]
    if tables:
        command += ["--clean", "--if-exists"]
    _run([*command, str(backup)], env, "pg_restore")
    submissions, revision, _ = _pg_facts(url)
    return Outcome(backup, backup.stat().st_size, time.perf_counter() - started, submissions,
                   revision, tool)


# ---------------------------------------------------------------- entry points

def backup(url: str, out: Path, *, pg_dump: str | None = None) -> Outcome:
    """Write a consistent backup of the database at `url` to `out` (replaced only once
    the new backup is complete)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if is_sqlite(normalise_url(url)):
        return _sqlite_backup(url, out)
    return _pg_backup(url, out, pg_dump)


def backup_kind(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is neither a SQLite backup nor a pg_dump custom-format archive")


def restore(url: str, backup_file: Path, *, force: bool = False,
            pg_restore: str | None = None) -> Outcome:
    """Restore `backup_file` into the database at `url`, which must be empty unless
    `force`. A SQLite backup restores into SQLite, a pg_dump archive into PostgreSQL."""
    backup_file = Path(backup_file)
    if not backup_file.exists():
        raise BackupError(f"no backup at {backup_file}")
    kind = backup_kind(backup_file)
    target = "sqlite" if is_sqlite(normalise_url(url)) else "postgresql"
    if kind != target:
        raise BackupError(f"{backup_file} is a {kind} backup but the database is {target}; "
                          "restore into a database of the same kind")
    if kind == "sqlite":
        return _sqlite_restore(url, backup_file, force)
    return _pg_restore(url, backup_file, force, pg_restore)
