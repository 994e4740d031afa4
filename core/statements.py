"""Prebuilt SQLAlchemy Core statements, run straight on the DB-API cursor.

Every submission runs about ten small statements. Through `Session.execute` each one
pays some 50 µs of SQLAlchemy bookkeeping (execution context, parameter
construction, result metadata, events), several times what SQLite or PostgreSQL
spend on it. A `Prepared` statement is compiled once per dialect (and, for INSERT
and UPDATE, per set of columns given), keeping what SQLAlchemy would do per call:
the SQL text, the parameter order, the literal values (LIMIT 1), the types' bind and
result processors (dates on SQLite, JSON, time zones) and Python-side column
defaults. Running it is then a parameter list and `cursor.execute`.

Statements run in the session's transaction, on the connection SQLAlchemy checked
out for it (so SQLite's writer lock and PostgreSQL's transaction are the same), and
database errors are raised as SQLAlchemy's own exception classes. Used on the
submission write path; everything else uses the Session as usual.
"""

from __future__ import annotations

import sys
from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, event, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import TextualSelect
from sqlalchemy.sql.util import find_tables
from sqlmodel import Session

_UNKNOWN = object()  # result processors: known after the first run (they depend on the
# column types the driver reports, e.g. PostgreSQL's float8 vs numeric)


@dataclass
class _Compiled:
    sql: str
    order: tuple[str, ...] | None  # parameter names in order (positional DB-APIs)
    fixed: dict[str, Any]  # literal values compiled into parameters (LIMIT 1, OFFSET 0)
    defaults: tuple[tuple[str, Any], ...]  # Python-side defaults (INSERT) and onupdate
    # values (UPDATE) of the columns not given: (name, ColumnDefault)
    bind: dict[str, Any]  # name -> the type's bind processor
    row: type | None  # namedtuple class of the result columns; None: no rows
    types: tuple  # the result columns' SQLAlchemy types
    result: Any = _UNKNOWN  # per result column: the type's result processor; None: none
    dialect: Dialect | None = None


class Prepared:
    """A Core statement compiled once per dialect, executed on the DB-API cursor."""

    __slots__ = ("statement", "_compiled", "tables", "writes", "needs", "target", "_leaf")

    def __init__(self, statement: ClauseElement, tables: set[str] | None = None) -> None:
        """`tables`: the tables a text statement reads or writes (found by itself for
        Core statements); a text statement without it counts as touching every table."""
        self.statement = statement
        self._compiled: dict[tuple, _Compiled] = {}
        # The tables it reads or writes; None: not known, so every one.
        self.tables = frozenset(tables) if tables is not None else _tables_of(statement)
        # The tables it writes (an INSERT/UPDATE/DELETE: its own; else, to be safe,
        # all it touches), and those whose queued writes must be sent before it runs:
        # the ones it touches and, for a write, the ones its foreign keys refer to.
        target = getattr(statement, "table", None) if getattr(statement, "is_dml", False) else None
        self.target = target if isinstance(target, Table) else None
        self._leaf: bool | None = None
        if isinstance(target, Table):
            self.writes = frozenset({target.name})
            self.needs = self.tables | {key.column.table.name for key in target.foreign_keys}
        else:
            self.writes = self.needs = self.tables

    @property
    def leaf(self) -> bool:
        """A write that touches only its own table, to which no table refers by a
        foreign key (a version snapshot, the change log, a push's result): nothing
        else queued can depend on its rows (see _take_queued). Known once every table
        is defined, so worked out at the first use."""
        if self._leaf is None:
            target = self.target
            self._leaf = target is not None and self.tables == self.writes and not any(
                key.column.table is target for table in target.metadata.tables.values()
                for key in table.foreign_keys)
        return self._leaf

    def self_contained(self) -> bool:
        """A write that reads no other table (an INSERT of values, an UPDATE by key)."""
        return self.target is not None and self.tables == self.writes

    # ------------------------------------------------------------------ running

    def execute(self, session: Session, params: dict | None = None):
        """Run it; returns the open DB-API cursor and how to read its rows.

        Deferred writes it must see (see deferred_inserts) are sent first, in the same
        round trip on PostgreSQL."""
        connection = session.connection()
        compiled = self._compiled_for(connection.dialect, params or {})
        arguments = _arguments(compiled, params or {})
        before = _take_queued(session, self.needs)
        return _send(connection, before, (compiled, "execute", arguments)), compiled

    def run_many(self, session: Session, rows: list[dict]) -> None:
        """Run it once per row (DB-API executemany: psycopg sends them in one pipeline);
        every row must give the same parameter names."""
        if not rows:
            return
        if any(row.keys() != rows[0].keys() for row in rows):
            raise ValueError("run_many: every row must give the same parameters")
        connection = session.connection()
        compiled = self._compiled_for(connection.dialect, rows[0])
        arguments = [_arguments(compiled, row) for row in rows]
        before = _take_queued(session, self.needs)
        _send(connection, before, (compiled, "executemany", arguments)).close()

    def defer(self, session: Session, params: dict) -> None:
        """A write whose outcome nothing reads back (no RETURNING, row count unused):
        queued until the deferral scope the session is in ends (see deferred_inserts),
        or until a statement must see it; run now if the session is in none. The values
        (and Python-side defaults) are taken now: `params` may change afterwards."""
        pending = session.info.get(_DEFERRED)
        if pending is None:
            self.run(session, params)
        else:
            # In the transaction, so that a rollback drops the rows.
            compiled = self._compiled_for(session.connection().dialect, params)
            pending.append((self, compiled, _arguments(compiled, params)))

    def _compiled_for(self, dialect: Dialect, params: dict) -> _Compiled:
        # Keyed on the parameter names in the caller's order: each call site passes the
        # same names the same way, so a statement is compiled once per call site.
        return self._compiled.get((dialect.name, *params)) or self._compile(dialect, params)

    def run(self, session: Session, params: dict | None = None) -> int:
        """A statement without result rows; returns the row count."""
        cursor, _ = self.execute(session, params)
        count = cursor.rowcount
        cursor.close()
        return count

    def _fetch(self, session: Session, params: dict | None, how: str):
        """Run it and fetch (`fetchall` or `fetchone`); the cursor is closed either way."""
        cursor, compiled = self.execute(session, params)
        try:
            fetched = getattr(cursor, how)()
            _know_result(compiled, cursor)
        finally:
            cursor.close()
        return compiled, fetched

    def all(self, session: Session, params: dict | None = None) -> list:
        """Every result row, as named tuples."""
        compiled, rows = self._fetch(session, params, "fetchall")
        return [_row(compiled, raw) for raw in rows]

    def first(self, session: Session, params: dict | None = None):
        """The first result row (a named tuple), or None."""
        compiled, raw = self._fetch(session, params, "fetchone")
        return None if raw is None else _row(compiled, raw)

    def scalar(self, session: Session, params: dict | None = None):
        """The first column of the first row, or None."""
        row = self.first(session, params)
        return None if row is None else row[0]

    def mapping(self, session: Session, params: dict | None = None) -> dict | None:
        """The first row as a dict of its columns, or None."""
        row = self.first(session, params)
        return None if row is None else row._asdict()

    def mappings(self, session: Session, params: dict | None = None) -> list[dict]:
        return [row._asdict() for row in self.all(session, params)]

    # ------------------------------------------------------------------ compiling

    def _compile(self, dialect: Dialect, params: dict) -> _Compiled:
        statement = self.statement
        is_dml = getattr(statement, "is_dml", False)
        compiled = statement.compile(dialect=dialect, column_keys=list(params) if is_dml else None)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("Prepared statements cannot expand parameters at run time (IN lists)")
        # Values written into the statement (LIMIT 1, .values(col=None)), not the caller's.
        fixed = {name: value for name, value in compiled.construct_params(_check=False).items()
                 if name not in params and not compiled.binds[name].required}
        defaults = tuple(
            [(column.key, column.default) for column in compiled.insert_prefetch]
            + [(column.key, column.onupdate) for column in compiled.update_prefetch])
        columns = getattr(compiled, "_result_columns", None) or ()
        row = namedtuple("Row", [c[0] for c in columns], rename=True) if columns else None
        order = tuple(compiled.positiontup) if compiled.positional else None
        prepared = _Compiled(str(compiled), order, fixed, defaults,
                             dict(compiled._bind_processors), row, tuple(c[3] for c in columns),
                             dialect=dialect)
        self._compiled[(dialect.name, *params)] = prepared
        return prepared


def _know_result(compiled: _Compiled, cursor) -> None:
    if compiled.result is _UNKNOWN and cursor.description is not None:
        processors = tuple(type_._cached_result_processor(compiled.dialect, column[1])
                           for type_, column in zip(compiled.types, cursor.description))
        compiled.result = processors if any(processors) else None


def _row(compiled: _Compiled, raw):
    if compiled.result is None:
        return compiled.row._make(raw)
    return compiled.row._make(value if process is None else process(value)
                              for process, value in zip(compiled.result, raw))


def _arguments(compiled: _Compiled, params: dict):
    """The DB-API parameters for one call: literals, defaults, bind processors applied."""
    try:
        values = dict(compiled.fixed)
        values.update(params)
        for name, default in compiled.defaults:
            if name not in params:
                values[name] = default.arg(None) if default.is_callable else default.arg
        for name, process in compiled.bind.items():
            if name in values:
                values[name] = process(values[name])
        return [values[name] for name in compiled.order] if compiled.order else values
    except Exception as error:  # a missing parameter, a value its type cannot take
        raise exc.StatementError(f"{error.__class__.__name__}: {error}", compiled.sql,
                                 params, error) from error


def _send(connection, before: list, last: tuple) -> Any:
    """Run the queued writes `before` ([(compiled, [arguments])], an executemany each),
    then `last` = (compiled, "execute" or "executemany", arguments); returns last's
    cursor. On PostgreSQL all of it is one psycopg pipeline: one round trip. Database
    errors are raised as SQLAlchemy's exception classes."""
    dialect = connection.dialect
    raw = connection.connection.dbapi_connection
    compiled, method, arguments = last
    cursor = raw.cursor()
    try:
        with raw.pipeline() if before and _pipelines(raw) else nullcontext():
            for queued, rows in before:
                raw.cursor().executemany(queued.sql, rows)
            getattr(cursor, method)(compiled.sql, arguments)
    except dialect.loaded_dbapi.Error as error:
        cursor.close()
        disconnected = dialect.is_disconnect(error, raw, cursor)
        if disconnected:
            connection.invalidate(error)  # the pool must not hand this one out again
        statement, shown = compiled.sql, arguments
        if before:  # the failing statement may be any of them
            statement = "; ".join([*(queued.sql for queued, _ in before), statement])
            shown = [*(rows for _, rows in before), arguments]
        raise exc.DBAPIError.instance(statement, shown, error, dialect.loaded_dbapi.Error,
                                      connection_invalidated=disconnected,
                                      dialect=dialect) from error
    return cursor


_PIPELINES: dict[type, bool] = {}


def _pipelines(raw) -> bool:
    """Whether this DB-API connection can pipeline (psycopg 3 built on libpq >= 14)."""
    kind = type(raw)
    if kind not in _PIPELINES:
        pipeline = getattr(raw, "pipeline", None)
        supported = getattr(sys.modules.get("psycopg"), "Pipeline", None)
        _PIPELINES[kind] = bool(pipeline and supported and supported.is_supported())
    return _PIPELINES[kind]


def _tables_of(statement: ClauseElement) -> frozenset[str] | None:
    """Names of the tables a statement reads or writes (aliases resolved); None when
    that cannot be known (a text statement)."""
    if isinstance(statement, (TextClause, TextualSelect)):
        return None
    names = set()
    for table in find_tables(statement, include_crud=True, include_aliases=True,
                             include_joins=True):
        table = getattr(table, "element", table)  # an alias: its table
        if isinstance(table, Table):
            names.add(table.name)
    return frozenset(names)


# ---------------------------------------------------------------- deferred inserts

_DEFERRED = "posyandu_deferred_writes"  # session.info key: [(Prepared, compiled, arguments)]


@contextmanager
def deferred_inserts(session: Session) -> Iterator[None]:
    """Within this block, Prepared.defer queues its writes; they are sent together,
    in the order they were made, when they must be (one round trip on PostgreSQL, not
    one per row).

    Reads stay exact: a statement touching a table that a queued write writes (or, for
    a write, referring to one by a foreign key) has every queued write sent first, in
    the same round trip; so do any Session.execute, a commit and the end of the
    block. A rollback drops them with the rest of the transaction's work; a savepoint
    may only start with none queued (flush_deferred first). A queued write that fails
    fails the statement it was sent with.
    """
    if _DEFERRED in session.info:
        raise RuntimeError("deferred_inserts blocks do not nest")
    session.info[_DEFERRED] = []
    try:
        yield
        flush_deferred(session)
    finally:
        session.info.pop(_DEFERRED, None)


def _take_queued(session: Session, tables: frozenset[str] | None) -> list:
    """Every queued write, as [(compiled, [arguments])] batches of consecutive rows of
    one statement, if any of them writes one of `tables` (None: any table); else none.
    All of them, in order, so that a row is never written before one it refers to."""
    pending = session.info.get(_DEFERRED)
    if not pending or (tables is not None and not any(
            queued.writes is None or queued.writes & tables for queued, _, _ in pending)):
        return []
    # Writes to tables nothing refers to go after the others, table by table, each
    # table's rows in their order, when none of the queued writes reads a table (so
    # none can see whether another ran yet): the interleaved rows of a group (row,
    # snapshot, change-log row, result, the next row...) then sit together by statement
    # and go as a few executemany batches, not one per row. Foreign keys still hold (a
    # leaf's rows refer only to rows written before), and the change log's rows keep
    # their order.
    if all(queued.self_contained() for queued, _, _ in pending):
        leaves = [item for item in pending if item[0].leaf]
        if leaves:
            first: dict[str, int] = {}
            for item in leaves:
                first.setdefault(item[0].target.name, len(first))
            pending[:] = ([item for item in pending if not item[0].leaf]
                          + sorted(leaves, key=lambda item: first[item[0].target.name]))
    batches: list[tuple[_Compiled, list]] = []
    for _, compiled, arguments in pending:
        if not batches or batches[-1][0] is not compiled:
            batches.append((compiled, []))
        batches[-1][1].append(arguments)
    pending.clear()
    return batches


def flush_deferred(session: Session) -> None:
    """Send every queued write now."""
    if not session.info.get(_DEFERRED):
        return
    batches = _take_queued(session, None)
    if batches:
        connection = session.connection()
        last_sql, last_rows = batches.pop()
        _send(connection, batches, (last_sql, "executemany", last_rows)).close()


@event.listens_for(Session, "do_orm_execute")
def _flush_before_session_execute(orm_execute_state) -> None:
    flush_deferred(orm_execute_state.session)


@event.listens_for(Session, "before_commit")
def _flush_before_commit(session: Session) -> None:
    flush_deferred(session)


@event.listens_for(Session, "after_transaction_create")
def _no_savepoint_over_queued_rows(session: Session, transaction) -> None:
    # Rolling a savepoint back drops every queued row, so none may be queued from
    # before it (rows queued inside it go or stay with it).
    if transaction.nested and session.info.get(_DEFERRED):
        raise RuntimeError("flush_deferred() before starting a savepoint in a deferred_inserts block")


@event.listens_for(Session, "after_soft_rollback")
def _drop_on_rollback(session: Session, previous_transaction) -> None:
    if session.info.get(_DEFERRED):
        session.info[_DEFERRED] = []
