"""Database engine and sessions (SQLite embedded default, PostgreSQL in production)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from core.config import get_settings

SQLITE_BUSY_TIMEOUT_MS = 30_000
# The submission writer's PostgreSQL settings (see writer_engine).
WRITER_SETTINGS = ("-c plan_cache_mode=force_generic_plan", "-c enable_seqscan=off",
                   "-c enable_mergejoin=off", "-c enable_hashjoin=off",
                   "-c max_parallel_workers_per_gather=0", "-c jit=off")
READ_ONLY_OPTION = "posyandu_read_only"


def read_only(engine: Engine) -> Engine:
    """The same engine (same pool) for transactions that only read: on SQLite they do
    not queue for the single writer."""
    return engine.execution_options(**{READ_ONLY_OPTION: True})


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def is_sqlite(url_or_engine) -> bool:
    name = url_or_engine.dialect.name if hasattr(url_or_engine, "dialect") else str(url_or_engine)
    return name.startswith("sqlite")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers run beside the single writer; foreign keys are off by default in
    # SQLite; the busy timeout makes concurrent writers wait instead of failing.
    # synchronous=FULL: a commit is on disk before we answer 201.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=FULL")
    # Page cache per connection (KiB): many pooled connections, so keep each one small.
    cursor.execute("PRAGMA cache_size=-1024")
    cursor.close()


class _WriterQueue:
    """SQLite has one writer at a time. Threads of this process queue on a lock for it
    (handed over at once) instead of polling in SQLite's busy handler (sleeps of up to
    100 ms, which make long tails under load). Other processes still meet the busy
    timeout."""

    KEY = "posyandu_writer_lock"

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def begin(self, conn) -> None:
        # pysqlite's own BEGIN handling is disabled (isolation_level=None) so that we
        # take the write lock at BEGIN: a deferred transaction that later writes fails
        # with "database is locked" instead of waiting for the busy timeout.
        # Read-only work (see `read_only`) reads a WAL snapshot and takes no lock.
        if conn.get_execution_options().get(READ_ONLY_OPTION):
            conn.exec_driver_sql("BEGIN")
            return
        # Bounded: a writer that cannot get the lock in time answers "busy" (503)
        # instead of holding its worker thread forever.
        if not self.lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            from core.errors import Unavailable

            raise Unavailable("The database is busy; please try again.", code="server.busy")
        conn.info[self.KEY] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self.release(conn.info)
            raise

    def release(self, info) -> None:
        if info.pop(self.KEY, False):
            self.lock.release()

    def install(self, engine: Engine) -> None:
        event.listen(engine, "begin", self.begin)
        event.listen(engine, "commit", lambda conn: self.release(conn.info))
        event.listen(engine, "rollback", lambda conn: self.release(conn.info))
        # A connection returned to the pool mid-transaction is rolled back by the pool.

        def on_reset(dbapi_connection, connection_record, reset_state):
            self.release(connection_record.info)

        def on_checkin(dbapi_connection, connection_record):
            self.release(connection_record.info)

        event.listen(engine.pool, "reset", on_reset)
        event.listen(engine.pool, "checkin", on_checkin)


def make_engine(url: str | None = None, *, pool_size: int | None = None,
                max_overflow: int | None = None, generic_plans: bool = False) -> Engine:
    """`generic_plans` (PostgreSQL, for the submission writer): prepared statements
    always run their generic plan instead of being planned again for each call's
    parameters, and that plan is an index scan whatever the statistics say
    (WRITER_SETTINGS; see writer_engine)."""
    settings = get_settings()
    url = normalise_url(url or settings.database_url)
    if is_sqlite(url):
        parsed = make_url(url)
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # Enough pooled connections for every worker thread: opening one (with its
        # pragmas) per request would cost more than the request.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=max(pool_size or settings.db_pool_size, 40), max_overflow=10,
        )
        event.listen(engine, "connect", _sqlite_pragmas)

        @event.listens_for(engine, "connect")
        def _no_pysqlite_transactions(dbapi_connection, _record):
            dbapi_connection.isolation_level = None

        _WriterQueue().install(engine)
        return engine
    size = pool_size or settings.db_pool_size
    connect_args = {}
    if generic_plans:  # added to the URL's own `options` (search_path, timeouts), if any
        given = make_url(url).query.get("options")
        given = " ".join(given) if isinstance(given, tuple) else given
        connect_args["options"] = " ".join(filter(None, [given, *WRITER_SETTINGS]))
    return create_engine(url, pool_size=size, max_overflow=size if max_overflow is None
                         else max_overflow, pool_pre_ping=True, connect_args=connect_args)


def writer_engine(engine: Engine) -> Engine:
    """The engine for one long-lived writer thread (sync.writer).

    PostgreSQL: a pool of its own on the same database (one connection; a second
    only while the first is being replaced). psycopg prepares a statement on a
    connection once it has run five times, and forgets all of them at every ROLLBACK
    (it sends DEALLOCATE ALL). In the shared pool, requests that end in a rollback
    kept handing the writer connections whose statements had to be parsed and planned
    again: a third of PostgreSQL's CPU on the intake benchmark. Its own connection
    rolls back only when a submission fails, so its statements stay prepared. They
    also always run their generic plan (`generic_plans`): the generic plans of every
    statement the writer runs are index scans (tests/integration/foundation/
    test_query_plans.py), and re-planning the identity candidates' UNION ALL for each
    call's parameters cost more than running it.

    And the planner is told not to choose a sequential scan (`enable_seqscan=off`,
    which only makes one cost more than any alternative: a statement with no index to
    use still runs). Every statement the writer runs is an indexed lookup, but a
    generic plan made from the statistics of a tiny table (an ANALYZE on the first
    day, autovacuum off) is a sequential scan, kept as the table grows to a province
    (tests/integration/openrosa/test_plans_under_stale_statistics.py).

    Nor a merge or hash join (`enable_mergejoin=off`, `enable_hashjoin=off`): the
    same statistics made the join to a candidate's mother or household a merge join
    over the whole primary key (and "a mother's children by her NIK" one over all of
    ix_person_mother, 0.3 s a claim at 1,000,000 persons); a submission's joins are a
    few rows each, for which a nested loop of index lookups is always the plan
    (tests/integration/foundation/test_each_of_plans.py).

    Nor JIT compilation (`jit=off`): stale statistics price the identity candidates'
    plan (a person's measurements estimated at 168,000 rows) far above `jit_above_cost`,
    and PostgreSQL compiled it anew on every call: 0.3-0.6 s of CPU a claim at
    1,000,000 persons, for a query that runs in under a millisecond.

    Nor a parallel plan (`max_parallel_workers_per_gather=0`): stale statistics also
    make PostgreSQL think a child has thousands of measurements (63 persons seen, 256
    measurements), and the identity candidates' generic plan became a Gather over
    two freshly started worker processes, still index scans but 20-35 ms a call
    instead of a fraction of one (bench/intake.py --statistics stale). A submission
    touches a handful of rows; starting workers never pays.

    SQLite: the engine itself, whose writer lock is per engine."""
    if is_sqlite(engine):
        return engine
    return make_engine(engine.url.render_as_string(hide_password=False), pool_size=1,
                       max_overflow=1, generic_plans=True)


@lru_cache
def get_engine() -> Engine:
    return make_engine()


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One transaction: commit on success, roll back on error. For CLI commands."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# SQLSTATE classes that mean "the database cannot serve now" rather than "this request
# is wrong": connection exceptions, insufficient resources, operator intervention
# (an administrator's or a restart's shutdown), and 55P03 (lock not available).
_OUTAGE_SQLSTATE_CLASSES = ("08", "53", "57")
_SQLITE_FULL = ("database or disk is full", "no space left")
_SQLITE_OUTAGE = ("disk i/o error", "unable to open database file", "database is locked",
                  "attempt to write a readonly database")


def outage(error: BaseException) -> str | None:
    """The problem code (core.problems) of a database error that is an outage (the
    server restarting, a lost connection, a full disk), or None for any other error.

    An outage is answered 503 with Retry-After: what was sent was not stored and the
    phone keeps it and sends it again; nothing about the request itself was wrong."""
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(error, PoolTimeout):  # every pooled connection is in use
        return "server.busy"
    if not isinstance(error, DBAPIError):
        return None
    orig = error.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate == "53100":  # PostgreSQL: disk_full
        return "server.storage_full"
    if sqlstate:
        return "server.database_unavailable" if sqlstate[:2] in _OUTAGE_SQLSTATE_CLASSES else None
    if error.connection_invalidated:
        return "server.database_unavailable"
    module = type(orig).__module__ if orig is not None else ""
    message = str(orig).lower()
    if module.startswith("sqlite3"):
        if any(text in message for text in _SQLITE_FULL):
            return "server.storage_full"
        return "server.database_unavailable" if any(t in message for t in _SQLITE_OUTAGE) else None
    if module.startswith("psycopg"):
        # psycopg's OperationalError without an SQLSTATE: the server did not answer
        # (refused, closed the connection, was restarted).
        from sqlalchemy.exc import InterfaceError, OperationalError

        return "server.database_unavailable" if isinstance(error, (OperationalError,
                                                                   InterfaceError)) else None
    return None
