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
submission write path; everything else uses the Session as usual. On psycopg, a
statement longer than psycopg caches the placeholder conversion of runs with `$n`
placeholders on a RawCursor (see _native_placeholders).
"""

from __future__ import annotations

import json
import re
import sys
from collections import namedtuple
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    String,
    Table,
    TypeDecorator,
    bindparam,
    event,
    exc,
    func,
    select,
    true,
    union_all,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ClauseElement, ColumnElement
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import TextualSelect
from sqlalchemy.sql.util import find_tables
from sqlalchemy.sql.visitors import InternalTraversal
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
    result: Any = _UNKNOWN  # (column index, the type's result processor) of the result
    # columns that have one; None: none
    dialect: Dialect | None = None
    # psycopg: `sql` has PostgreSQL's own placeholders ($1, $2...) and runs on a
    # RawCursor, with the arguments in `order` (see _native_placeholders).
    native: bool = False


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
        _same_parameters(rows, "run_many")
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
        return compiled, _read(compiled, cursor, how)

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
        """Every result row as a dict of its columns (made from the raw row: hundreds of
        rows a call, as identity blocking reads, are not worth a named tuple each)."""
        compiled, rows = self._fetch(session, params, "fetchall")
        names = compiled.row._fields
        return [dict(zip(names, _values(compiled, raw))) for raw in rows]

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
        sql, native = str(compiled), False
        if order is None and dialect.driver == "psycopg" and (
                len(sql.encode()) > _PSYCOPG_CACHED_LENGTH
                or len(compiled.binds) > _PSYCOPG_CACHED_PARAMETERS):
            sql, order = _native_placeholders(sql)
            native = True
        prepared = _Compiled(sql, order, fixed, defaults,
                             dict(compiled._bind_processors), row, tuple(c[3] for c in columns),
                             dialect=dialect, native=native)
        self._compiled[(dialect.name, *params)] = prepared
        return prepared


_PYFORMAT = re.compile(r"%\(([^)]+)\)s|%%")
# psycopg keeps its conversion of a statement's `%(name)s` placeholders for statements
# of up to 4,096 bytes and 50 parameters (psycopg._queries.MAX_CACHED_STATEMENT_LENGTH
# and _PARAMS): longer ones are converted on every execute, so they are given in $n form.
_PSYCOPG_CACHED_LENGTH = 4096
_PSYCOPG_CACHED_PARAMETERS = 50


def _native_placeholders(sql: str) -> tuple[str, tuple[str, ...]]:
    """SQLAlchemy's psycopg text (`%(name)s` parameters, `%%` for a percent sign) with
    PostgreSQL's own placeholders, and the name given to each $n. A name used twice
    gets a $n per use, as psycopg does, so that each use keeps its own cast.

    psycopg turns `%(name)s` into $n on every execute, and caches that work only for
    statements of up to 4,096 bytes and 50 parameters: identity's blocking and
    rules reads and the caseload upserts are longer, and re-parsing them took about a
    tenth of a pushed create's time (stop 34, profiled). A RawCursor takes the $n text
    as it is. (All statements this way was tried in an earlier stop and measured no
    faster for intake: psycopg's cached conversion of the short ones is as cheap.)"""
    names: list[str] = []

    def placeholder(match: re.Match) -> str:
        if match.group(1) is None:
            return "%"
        names.append(match.group(1))
        return f"${len(names)}"

    return _PYFORMAT.sub(placeholder, sql), tuple(names)


def _cursor(raw, compiled: _Compiled):
    """A cursor for `compiled` on the DB-API connection (psycopg's RawCursor for $n text;
    `native` is only set on psycopg, so psycopg is loaded)."""
    return sys.modules["psycopg"].RawCursor(raw) if compiled.native else raw.cursor()


def _know_result(compiled: _Compiled, cursor) -> None:
    if compiled.result is _UNKNOWN and cursor.description is not None:
        processors = tuple(type_._cached_result_processor(compiled.dialect, column[1])
                           for type_, column in zip(compiled.types, cursor.description))
        compiled.result = tuple((i, process) for i, process in enumerate(processors)
                                if process is not None) or None


def _values(compiled: _Compiled, raw):
    """A raw result row with its columns' result processors applied (only the columns
    that have one: a candidate row of 11 columns has one, its timestamp)."""
    if compiled.result is None:
        return raw
    values = list(raw)
    for i, process in compiled.result:
        values[i] = process(values[i])
    return values


def _row(compiled: _Compiled, raw):
    return compiled.row._make(_values(compiled, raw))


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
        return [values[name] for name in compiled.order] if compiled.order is not None else values
    except Exception as error:  # a missing parameter, a value its type cannot take
        raise exc.StatementError(f"{error.__class__.__name__}: {error}", compiled.sql,
                                 params, error) from error


def _send(connection, before: list, last: tuple) -> Any:
    """Run the queued writes `before` ([(compiled, [arguments])], an executemany each),
    then `last` = (compiled, "execute" or "executemany", arguments); returns last's
    cursor. On PostgreSQL all of it is one psycopg pipeline: one round trip. Database
    errors are raised as SQLAlchemy's exception classes."""
    return _send_all(connection, before, [last], fetch=False)[0]


def _send_all(connection, before: list, calls: list[tuple], *, fetch: bool,
              read: Callable | None = None) -> list:
    """`_send` for several statements after the queued writes: each call's cursor (or,
    with `fetch`, its rows). One pipeline on PostgreSQL; elsewhere one after another,
    each fetched before the next runs."""
    dialect = connection.dialect
    raw = connection.connection.dbapi_connection
    read = read or _fetched
    cursors, out = [], []
    pipelined = _pipelines(raw) and (len(before) + len(calls) > 1)
    try:
        with raw.pipeline() if pipelined else nullcontext():
            for queued, rows in before:
                # One INSERT per row, pipelined. One INSERT of arrays (unnest ... WITH
                # ORDINALITY) per batch was tried and measured no faster: 12 or 60
                # rows a batch took as much client CPU and more time (stop 34).
                _cursor(raw, queued).executemany(queued.sql, rows)
            for compiled, method, arguments in calls:
                cursor = _cursor(raw, compiled)
                cursors.append(cursor)
                getattr(cursor, method)(compiled.sql, arguments)
                if fetch and not pipelined:
                    out.append(read(compiled, cursor))
        if fetch and pipelined:
            out = [read(compiled, cursor) for (compiled, _, _), cursor in zip(calls, cursors)]
    except dialect.loaded_dbapi.Error as error:
        for cursor in cursors:
            cursor.close()
        disconnected = dialect.is_disconnect(error, raw, cursors[-1] if cursors else None)
        if disconnected:
            connection.invalidate(error)  # the pool must not hand this one out again
        statements = [*(queued.sql for queued, _ in before), *(c[0].sql for c in calls)]
        shown = [*(rows for _, rows in before), *(c[2] for c in calls)]
        if len(statements) == 1:
            shown = shown[0]
        raise exc.DBAPIError.instance("; ".join(statements), shown, error,
                                      dialect.loaded_dbapi.Error,
                                      connection_invalidated=disconnected,
                                      dialect=dialect) from error
    return out if fetch else cursors


def _read(compiled: _Compiled, cursor, how: str = "fetchall"):
    """Fetch (`fetchall` or `fetchone`), learn the result columns' processors, and close
    the cursor either way."""
    try:
        fetched = getattr(cursor, how)()
        _know_result(compiled, cursor)
    finally:
        cursor.close()
    return fetched


def _fetched(compiled: _Compiled, cursor) -> list:
    return [_row(compiled, raw) for raw in _read(compiled, cursor)]


@dataclass(frozen=True)
class Fetched:
    """A statement's rows as the driver gave them (for reads of many rows that repeat:
    `values(row)` applies the result processors to the ones that are used)."""

    names: tuple[str, ...]
    rows: list
    compiled: _Compiled

    def values(self, raw) -> list | tuple:
        return _values(self.compiled, raw)


def _fetched_raw(compiled: _Compiled, cursor) -> Fetched:
    rows = _read(compiled, cursor)
    return Fetched(compiled.row._fields, rows, compiled)


def all_together(session: Session, calls: list[tuple[Prepared, dict]], *,
                 raw: bool = False) -> list:
    """Several reads in one round trip: each (statement, parameters)'s rows, as named
    tuples (`raw`: as a Fetched each). On PostgreSQL they go out in one pipeline, with
    the queued writes any of them must see ahead of them; elsewhere they run one after
    another."""
    if not calls:
        return []
    connection = session.connection()
    calls = [(s.for_dialect(connection.dialect) if isinstance(s, EachOf) else s, params)
             for s, params in calls]
    compiled = [(statement._compiled_for(connection.dialect, params), params)
                for statement, params in calls]
    needs = frozenset().union(*(s.needs for s, _ in calls)) if all(
        s.needs is not None for s, _ in calls) else None
    before = _take_queued(session, needs)
    return _send_all(connection, before, [(c, "execute", _arguments(c, params))
                                          for c, params in compiled], fetch=True,
                     read=_fetched_raw if raw else _fetched)


def run_together(session: Session, writes: list[tuple[Prepared, list[dict]]]) -> None:
    """Writes whose outcome nothing reads back, in order, in one round trip (one
    pipeline on PostgreSQL): each (statement, rows) runs once per row (every row of one
    statement with the same parameter names). Queued writes go first."""
    writes = [(statement, rows) for statement, rows in writes if rows]
    if not writes:
        return
    connection = session.connection()
    batches = []
    for statement, rows in writes:
        _same_parameters(rows, "run_together")
        compiled = statement._compiled_for(connection.dialect, rows[0])
        batches.append((compiled, [_arguments(compiled, row) for row in rows]))
    before = _take_queued(session, None) + batches[:-1]
    last_compiled, last_rows = batches[-1]
    _send(connection, before, (last_compiled, "executemany", last_rows)).close()


def _same_parameters(rows: list[dict], caller: str) -> None:
    """An executemany compiles the statement once: every row must name the same parameters."""
    if any(row.keys() != rows[0].keys() for row in rows):
        raise ValueError(f"{caller}: every row must give the same parameters")


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


# ---------------------------------------------------------------- lists of values

class _ValueList(TypeDecorator):
    """A list of strings given as one parameter: a PostgreSQL array, or (SQLite) a JSON
    array that json_each reads."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import ARRAY  # noqa: PLC0415 - that dialect's

            return dialect.type_descriptor(ARRAY(String))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value, dialect):
        values = [str(v) for v in value]
        return values if dialect.name == "postgresql" else json.dumps(values)


def _in_list(column, name: str) -> ColumnElement:
    """`column` is one of the strings in list parameter `name` (SQLite: a JSON array
    read by json_each; SQLite plans each statement afresh, and uses the column's index)."""
    values = func.json_each(bindparam(name, type_=_ValueList())).table_valued("value")
    return column.in_(select(values.c.value))


class _InSubquery(ColumnElement):
    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("subquery", InternalTraversal.dp_clauseelement)]

    def __init__(self, column, subquery):
        self.column = column
        self.subquery = subquery.scalar_subquery()


def in_subquery(column, subquery) -> ColumnElement:
    """`column IN (subquery)` whose only plan is an index lookup of `column` with the
    subquery's values: on PostgreSQL `column = ANY(ARRAY(subquery))`, the subquery run
    once first (an InitPlan) and its array the index condition. A plain IN is a
    semi-join the planner may turn around: with the statistics of tiny tables the
    generic plan of "a mother's children" merge-joined a full scan of ix_person_mother
    (issue #19: 0.3 s a call at 1,000,000 persons)."""
    return _InSubquery(column, subquery)


@compiles(_InSubquery)
def _in_subquery(element, compiler, **kw):
    return f"{compiler.process(element.column, **kw)} IN {compiler.process(element.subquery, **kw)}"


@compiles(_InSubquery, "postgresql")
def _any_of_array(element, compiler, **kw):
    return (f"{compiler.process(element.column, **kw)} = "
            f"ANY(ARRAY{compiler.process(element.subquery, **kw)})")


@dataclass(frozen=True)
class Branch:
    """One part of an `EachOf` read. `lookup(match)` is a select where `match(column)` is
    the one indexed condition ("column is the value looked up"); `via` are steps that
    first map each value to others (`step(match)`: a select of one column, e.g. a
    household's members); `keep(columns)` gives the conditions on the looked-up rows
    that no index should answer (a status): on PostgreSQL they are applied outside the
    lookup, where the planner cannot use them to pick another index."""

    lookup: Any
    via: tuple = ()
    keep: Any = None


class EachOf:
    """A read made of index lookups, one per value of a list parameter (and per value of
    each `via` step), whatever the planner's statistics say.

    On PostgreSQL every lookup is a LATERAL subquery with OFFSET 0 over the array's
    unnest: the planner can neither turn it into a join of its own choosing nor push
    other conditions into it, so its only plan is the column's index probed with one
    value, and that is the plan a generic plan keeps (issue #19: `column = ANY($1)`, or
    a status column beside it, planned from the statistics of tiny tables is a full
    scan of another index, kept as the tables grow). On SQLite, which plans every
    statement afresh and uses the column's index, `match` is an IN over json_each.
    The branches' rows are UNION ALL-ed. Runs through `all_together` (or `all`) as a
    Prepared would."""

    def __init__(self, *branches: Branch, name: str = "ids", via: tuple = ()) -> None:
        self._other = Prepared(_union([self._sqlite(b, name, via) for b in branches]))
        self._postgresql = Prepared(_union([self._lateral(b, name, via, i)
                                            for i, b in enumerate(branches)]))

    @staticmethod
    def _sqlite(branch: Branch, name: str, via: tuple):
        def match(column, steps=(*via, *branch.via)):
            if not steps:
                return _in_list(column, name)
            *before, last = steps
            return column.in_(last(lambda inner: match(inner, tuple(before))))

        statement = branch.lookup(match)
        return statement.where(*branch.keep(statement.selected_columns)) if branch.keep else statement

    @staticmethod
    def _lateral(branch: Branch, name: str, via: tuple, i: int):
        keys = func.unnest(bindparam(name, type_=_ValueList())).table_valued("id").render_derived(
            name=f"each_value_{i}")
        key, joins = keys.c.id, []
        for j, step in enumerate((*via, *branch.via)):
            mapped = step(lambda column, key=key: column == key).offset(0).lateral(f"each_{i}_via_{j}")
            joins.append(mapped)
            key = mapped.c[next(iter(mapped.c.keys()))]
        inner = branch.lookup(lambda column, key=key: column == key).offset(0).lateral(f"each_{i}")
        statement = select(*inner.c).select_from(keys)
        for mapped in (*joins, inner):
            statement = statement.join(mapped, true())
        return statement.where(*branch.keep(inner.c)) if branch.keep else statement

    def for_dialect(self, dialect: Dialect) -> Prepared:
        return self._postgresql if dialect.name == "postgresql" else self._other

    def all(self, session: Session, params: dict) -> list:
        return all_together(session, [(self, params)])[0]


def _union(selects: list):
    return selects[0] if len(selects) == 1 else union_all(*selects)


# ---------------------------------------------------------------- deferred inserts

_DEFERRED = "posyandu_deferred_writes"  # session.info key: [(Prepared, compiled, arguments)]


@contextmanager
def deferred_inserts(session: Session) -> Iterator[None]:
    """Within this block, Prepared.defer queues its writes; they are sent together,
    in the order they were made, when they must be (one round trip on PostgreSQL, not
    one per row).

    Reads stay exact: a statement touching a table that a queued write writes (or, for
    a write, referring to one by a foreign key) has every queued write sent first, in
    the same round trip; so do any Session.execute, an ORM flush, a commit and the
    end of the block. A rollback drops them with the rest of the transaction's work; a
    savepoint may only start with none queued (flush_deferred first). A queued write that fails
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


@event.listens_for(Session, "before_flush")
def _flush_before_orm_flush(session: Session, flush_context, instances) -> None:
    # An ORM object may refer to a queued row (a conflict to the submission it came
    # from): the rows go first.
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


# ------------------------------------------------------------------ reads held ahead


def forget_on_session_writes(key: str, tables: frozenset[str],
                             forget: Callable[[Session], None]) -> None:
    """For a reader that keeps what it read ahead in `session.info[key]` and follows the
    transaction's own writes made through its query module: `forget(session)` when the
    transaction ends, and when a Session statement or an ORM flush may write one of
    `tables` (those it cannot follow). A SELECT and a Core write of another named table
    keep it."""

    def before_session_statement(orm_execute_state) -> None:
        if orm_execute_state.is_select or key not in orm_execute_state.session.info:
            return
        table = getattr(getattr(orm_execute_state.statement, "table", None), "name", None)
        if not (orm_execute_state.is_insert or orm_execute_state.is_update
                or orm_execute_state.is_delete) or table is None or table in tables:
            forget(orm_execute_state.session)

    def after_flush(session: Session, flush_context) -> None:
        if key in session.info and any(
                getattr(getattr(type(obj), "__table__", None), "name", None) in tables
                for obj in (*session.new, *session.dirty, *session.deleted)):
            forget(session)

    def at_end(session: Session, *_) -> None:
        forget(session)

    event.listen(Session, "do_orm_execute", before_session_statement)
    event.listen(Session, "after_flush", after_flush)
    for name in ("after_commit", "after_soft_rollback"):
        event.listen(Session, name, at_end)
