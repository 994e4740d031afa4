"""core.statements.Prepared must give what Session.execute gives: the same values back
(types converted both ways), column defaults, and SQLAlchemy's exception classes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session

from core.statements import Branch, EachOf, Prepared, all_together, deferred_inserts, run_together
from models.base import TZ_DATETIME

_METADATA = MetaData()
PROBE = Table(
    "prepared_probe", _METADATA,
    Column("id", Integer, primary_key=True),
    Column("code", String(10), nullable=False, unique=True),
    Column("day", Date),
    Column("at", TZ_DATETIME),
    Column("flag", Boolean),
    Column("ratio", Float),
    Column("data", JSON),
    Column("kind", String(10), default="plain"),
    Column("stamp", String(30), default=lambda: "made-by-default"),
    Column("touched", String(30), onupdate="touched-by-update"),
)
INSERT = Prepared(insert(PROBE))
INSERT_RETURNING = Prepared(insert(PROBE).returning(PROBE.c.id))
BY_CODE = Prepared(select(PROBE).where(PROBE.c.code == bindparam("code")))
FIRST_TWO = Prepared(select(PROBE.c.code).order_by(PROBE.c.code).limit(2))
SET_FLAG = Prepared(update(PROBE).where(PROBE.c.code == bindparam("_code")))
BY_CODES = EachOf(Branch(lambda match: select(PROBE.c.code, PROBE.c.data).where(
    match(PROBE.c.code))), name="codes")
# The rows of the kinds of the rows these codes name, but those flagged; and the rows
# with these codes again.
BY_KIND_OF_CODES = EachOf(
    Branch(lambda match: select(PROBE.c.code, PROBE.c.flag).where(match(PROBE.c.kind)),
           via=(lambda match: select(PROBE.c.kind).where(match(PROBE.c.code)),),
           keep=lambda columns: [columns.flag.is_not(True)]),
    Branch(lambda match: select(PROBE.c.code, PROBE.c.flag).where(match(PROBE.c.code))),
    name="codes")
DELETE_CODE = Prepared(PROBE.delete().where(PROBE.c.code == bindparam("code")))
CLEAR_RATIO = Prepared(update(PROBE).where(PROBE.c.code == bindparam("_code")).values(ratio=None))


@pytest.fixture
def probe(db):
    _METADATA.create_all(db)
    try:
        with Session(db) as session:
            yield session
    finally:
        _METADATA.drop_all(db)


VALUES = dict(code="a", day=date(2024, 2, 29), at=datetime(2024, 3, 1, 7, 30, 15, 123456, tzinfo=UTC),
              flag=True, ratio=-2.25, data={"z": [1, 2], "nama": "Siti"})


def test_values_come_back_as_session_execute_gives_them(probe):
    INSERT.run(probe, VALUES)
    mine = BY_CODE.mapping(probe, {"code": "a"})
    theirs = dict(probe.execute(select(PROBE).where(PROBE.c.code == "a")).mappings().one())
    assert mine == theirs
    assert mine["day"] == date(2024, 2, 29) and mine["flag"] is True
    assert mine["at"] == VALUES["at"] and mine["data"] == VALUES["data"]


def test_time_zones_are_converted_to_utc_on_the_way_in(probe):
    wib = timezone(timedelta(hours=7))
    INSERT.run(probe, {**VALUES, "at": datetime(2024, 3, 1, 14, 30, 15, 123456, tzinfo=wib)})
    at = BY_CODE.first(probe, {"code": "a"}).at
    assert at == VALUES["at"] and at.utcoffset() == timedelta(0)


def test_python_side_column_defaults_are_applied(probe):
    INSERT.run(probe, {"code": "b"})
    row = BY_CODE.first(probe, {"code": "b"})
    assert (row.kind, row.stamp, row.day, row.data) == ("plain", "made-by-default", None, None)


def test_returning_literal_limits_scalars_and_updates(probe):
    ids = [INSERT_RETURNING.scalar(probe, {"code": code}) for code in ("c", "a", "b")]
    assert len(set(ids)) == 3 and all(isinstance(i, int) for i in ids)
    assert [row.code for row in FIRST_TWO.all(probe)] == ["a", "b"]  # LIMIT 2 compiled in
    assert SET_FLAG.run(probe, {"_code": "c", "flag": False}) == 1
    changed = BY_CODE.first(probe, {"code": "c"})
    assert changed.flag is False and changed.touched == "touched-by-update"  # onupdate
    assert BY_CODE.first(probe, {"code": "a"}).touched is None
    assert BY_CODE.first(probe, {"code": "nobody"}) is None
    assert BY_CODE.scalar(probe, {"code": "nobody"}) is None


def test_values_written_into_the_statement_are_kept_even_when_none(probe):
    INSERT.run(probe, VALUES)
    assert CLEAR_RATIO.run(probe, {"_code": "a"}) == 1
    assert BY_CODE.first(probe, {"code": "a"}).ratio is None


def test_a_missing_parameter_is_a_statement_error(probe):
    with pytest.raises(StatementError, match="code"):
        BY_CODE.first(probe, {})


def test_database_errors_are_sqlalchemy_errors_and_the_session_recovers(probe):
    INSERT.run(probe, {"code": "a"})
    with pytest.raises(IntegrityError):
        INSERT.run(probe, {"code": "a"})
    probe.rollback()
    INSERT.run(probe, {"code": "d"})
    probe.commit()
    assert BY_CODE.first(probe, {"code": "d"}) is not None


def test_statements_share_the_sessions_transaction(probe):
    INSERT.run(probe, {"code": "e"})
    assert probe.execute(select(PROBE.c.code)).scalars().all() == ["e"]  # visible inside
    probe.rollback()
    assert BY_CODE.first(probe, {"code": "e"}) is None  # and gone with it


# ---------------------------------------------------------------- run_many, deferred inserts

OTHER = Table("prepared_probe_other", _METADATA, Column("id", Integer, primary_key=True))
COUNT_OTHER = Prepared(select(OTHER.c.id))
CHILD = Table("prepared_probe_child", _METADATA, Column("id", Integer, primary_key=True),
              Column("probe_id", Integer, ForeignKey("prepared_probe.id"), nullable=False))
INSERT_CHILD = Prepared(insert(CHILD))


def _codes_on_the_connection(session: Session) -> list[str]:
    """What the database holds, read past the Session (which would write queued rows)."""
    rows = session.connection().exec_driver_sql("SELECT code FROM prepared_probe ORDER BY code")
    return [code for (code,) in rows]


def test_run_many_gives_what_run_gives(probe):
    INSERT.run_many(probe, [{**VALUES, "code": "m1"}, {**VALUES, "code": "m2"}])
    INSERT.run(probe, {**VALUES, "code": "r1"})
    many = [BY_CODE.mapping(probe, {"code": code}) for code in ("m1", "m2")]
    one = BY_CODE.mapping(probe, {"code": "r1"})
    for row in many:
        assert {k: v for k, v in row.items() if k not in ("id", "code")} == \
            {k: v for k, v in one.items() if k not in ("id", "code")}
    assert many[0]["stamp"] == "made-by-default" and many[0]["at"] == VALUES["at"]
    with pytest.raises(ValueError, match="same parameters"):
        INSERT.run_many(probe, [{"code": "x"}, {"code": "y", "flag": True}])


def test_deferred_rows_are_written_when_the_block_ends(probe):
    with deferred_inserts(probe):
        INSERT.defer(probe, {"code": "d1"})
        INSERT.defer(probe, {"code": "d2"})
        COUNT_OTHER.all(probe)  # another table: the queued rows wait
        assert _codes_on_the_connection(probe) == []
    assert _codes_on_the_connection(probe) == ["d1", "d2"]


def test_reading_a_table_writes_its_queued_rows_first(probe):
    with deferred_inserts(probe):
        INSERT.defer(probe, {"code": "d1"})
        assert BY_CODE.first(probe, {"code": "d1"}) is not None
        INSERT.defer(probe, {"code": "d2"})
        assert probe.execute(select(PROBE.c.code).order_by(PROBE.c.code)).scalars().all() == ["d1", "d2"]


def test_a_rollback_drops_queued_rows_and_defer_outside_a_block_runs_at_once(probe):
    with deferred_inserts(probe):
        INSERT.defer(probe, {"code": "gone"})
        probe.rollback()
    assert _codes_on_the_connection(probe) == []
    INSERT.defer(probe, {"code": "now"})
    assert _codes_on_the_connection(probe) == ["now"]


def test_a_failing_queued_row_fails_the_block(probe):
    INSERT.run(probe, {"code": "taken"})
    with pytest.raises(IntegrityError):
        with deferred_inserts(probe):
            INSERT.defer(probe, {"code": "taken"})


def test_a_commit_writes_queued_rows_and_a_savepoint_needs_none_queued(probe):
    with deferred_inserts(probe):
        INSERT.defer(probe, {"code": "c1"})
        with pytest.raises(RuntimeError, match="savepoint"):
            probe.begin_nested()
        probe.commit()
        assert _codes_on_the_connection(probe) == ["c1"]
        with probe.begin_nested():  # nothing queued: allowed
            INSERT.defer(probe, {"code": "c2"})
    assert _codes_on_the_connection(probe) == ["c1", "c2"]


def test_a_text_statement_counts_as_touching_every_table_unless_told(probe):
    from sqlalchemy import text

    anything = Prepared(text("SELECT 1"))
    elsewhere = Prepared(text("SELECT 1"), tables={"prepared_probe_other"})
    with deferred_inserts(probe):
        INSERT.defer(probe, {"code": "t1"})
        elsewhere.run(probe)
        assert _codes_on_the_connection(probe) == []
        anything.run(probe)
        assert _codes_on_the_connection(probe) == ["t1"]


def test_queued_writes_are_sent_in_the_order_they_were_made(probe):
    """Not grouped by statement: a row is never written before one made earlier."""
    with deferred_inserts(probe):
        INSERT.defer(probe, {"code": "q1"})
        INSERT.defer(probe, {"code": "q2", "flag": True})  # other columns: another statement
        INSERT.defer(probe, {"code": "q3"})
    rows = probe.execute(select(PROBE.c.code).order_by(PROBE.c.id)).scalars().all()
    assert rows == ["q1", "q2", "q3"]


def test_a_write_referring_to_a_queued_row_sends_it_first(probe):
    with deferred_inserts(probe):
        INSERT.defer(probe, {"id": 1, "code": "parent-1"})
        INSERT.defer(probe, {"id": 2, "code": "parent-2"})
        # Not deferred, and nothing is queued for its table: its foreign key to
        # prepared_probe still has the queued rows written first.
        INSERT_CHILD.run(probe, {"id": 11, "probe_id": 2})
        assert _codes_on_the_connection(probe) == ["parent-1", "parent-2"]
        INSERT_CHILD.defer(probe, {"id": 10, "probe_id": 1})
    children = probe.execute(select(CHILD.c.id, CHILD.c.probe_id).order_by(CHILD.c.id)).all()
    assert [tuple(c) for c in children] == [(10, 1), (11, 2)]


def test_a_failing_queued_write_fails_the_read_it_is_sent_with(probe):
    INSERT.run(probe, {"code": "taken"})
    with pytest.raises(IntegrityError):
        with deferred_inserts(probe):
            INSERT.defer(probe, {"code": "taken"})
            BY_CODE.first(probe, {"code": "taken"})


def test_a_queued_write_keeps_the_values_it_was_given(probe):
    with deferred_inserts(probe):
        row = {"code": "v1", "ratio": 1.5}
        INSERT.defer(probe, row)
        row.update(code="v2", ratio=2.5)  # a caller changing its dict afterwards
    assert BY_CODE.mapping(probe, {"code": "v1"})["ratio"] == 1.5
    assert BY_CODE.first(probe, {"code": "v2"}) is None


def _codes(rows) -> list[str]:
    return sorted(r.code for r in rows)


def test_each_of_looks_up_every_value_of_a_list_of_any_length(probe):
    for code, kind, flag in (("a", "k1", False), ("b", "k2", False), ("c", "k1", False),
                             ("d", "k3", False), ("e", "k1", True)):
        INSERT.run(probe, {"code": code, "kind": kind, "flag": flag, "data": {"c": code}})
    assert _codes(BY_CODES.all(probe, {"codes": ["d", "b", "x"]})) == ["b", "d"]
    assert _codes(BY_CODES.all(probe, {"codes": ["a"]})) == ["a"]
    assert BY_CODES.all(probe, {"codes": []}) == []
    assert [r.data for r in BY_CODES.all(probe, {"codes": ["c"]})] == [{"c": "c"}]
    assert _codes(BY_KIND_OF_CODES.all(probe, {"codes": ["a", "d"]})) == ["a", "a", "c", "d", "d"]


def test_all_together_gives_each_reads_rows_and_sees_queued_writes(probe):
    with deferred_inserts(probe):
        INSERT.defer(probe, {"code": "q", "data": {"n": 1}})
        first, second, third = all_together(probe, [
            (BY_CODES, {"codes": ["q"]}), (BY_CODE, {"code": "none"}), (FIRST_TWO, {})])
    assert [(r.code, r.data) for r in first] == [("q", {"n": 1})]
    assert second == [] and [r.code for r in third] == ["q"]


def test_run_together_writes_in_order_and_fails_as_a_whole(probe):
    run_together(probe, [(INSERT, [{"code": "r1"}, {"code": "r2"}]),
                         (DELETE_CODE, [{"code": "r1"}]), (INSERT, [])])
    assert _codes(BY_CODES.all(probe, {"codes": ["r1", "r2"]})) == ["r2"]
    with pytest.raises(IntegrityError):
        run_together(probe, [(DELETE_CODE, [{"code": "r2"}]), (INSERT, [{"code": "r2"}, {"code": "r2"}])])
    probe.rollback()
    assert BY_CODES.all(probe, {"codes": ["r1", "r2"]}) == []  # the first run was not committed either


def _batches_sent(monkeypatch) -> list[list[int]]:
    """The rows per batch of every round trip that sends queued writes."""
    import core.statements as statements

    sent, real = [], statements._send

    def spy(connection, before, last):
        compiled, method, arguments = last
        sent.append([len(rows) for _, rows in before]
                    + [len(arguments) if method == "executemany" else 1])
        return real(connection, before, last)
    monkeypatch.setattr(statements, "_send", spy)
    return sent


def test_rows_of_tables_nothing_refers_to_go_after_the_others_table_by_table(probe, monkeypatch):
    """A group's interleaved rows (parent, child, parent, child...) go as one batch per
    statement: the child table is one no table refers to, so its rows can wait for the
    parents; each table keeps its own order and every child still follows its parent."""
    sent = _batches_sent(monkeypatch)
    with deferred_inserts(probe):
        for i in (1, 2, 3):
            INSERT.defer(probe, {"id": i, "code": f"p{i}"})
            INSERT_CHILD.defer(probe, {"id": 10 + i, "probe_id": i})
    assert sent == [[3, 3]]
    children = probe.execute(select(CHILD.c.id, CHILD.c.probe_id).order_by(CHILD.c.id)).all()
    assert [tuple(c) for c in children] == [(11, 1), (12, 2), (13, 3)]


def test_queued_writes_keep_their_order_when_one_of_them_reads_another_table(probe, monkeypatch):
    """A queued statement that may read other tables (a text one) could see whether a
    child row was written yet: nothing is moved then."""
    from sqlalchemy import text

    copy = Prepared(text("INSERT INTO prepared_probe_child (id, probe_id) "
                         "SELECT 20, probe_id FROM prepared_probe_child WHERE id = 11"))
    sent = _batches_sent(monkeypatch)
    with deferred_inserts(probe):
        INSERT.defer(probe, {"id": 1, "code": "p1"})
        INSERT_CHILD.defer(probe, {"id": 11, "probe_id": 1})
        copy.defer(probe, {})
        INSERT.defer(probe, {"id": 2, "code": "p2"})
        INSERT_CHILD.defer(probe, {"id": 12, "probe_id": 2})
    assert sent == [[1, 1, 1, 1, 1]]
    children = probe.execute(select(CHILD.c.id, CHILD.c.probe_id).order_by(CHILD.c.id)).all()
    assert [tuple(c) for c in children] == [(11, 1), (12, 2), (20, 1)]


def test_a_percent_sign_and_a_parameter_used_twice_keep_their_meaning(probe):
    """A statement longer than psycopg keeps its conversion of runs with PostgreSQL's
    own placeholders ($1, $2...): a literal percent sign stays one, and a name used
    twice is given at each use."""
    from sqlalchemy import text

    for code in ("a%", "ab", "ac"):
        INSERT.run(probe, {"code": code})
    both = Prepared(text(f"/* {'long ' * 900} */ SELECT code FROM prepared_probe "
                         "WHERE (code = 'a%' OR code = :c) "
                         "AND (code = :c OR code <> :c) AND kind = :kind ORDER BY code"
                         ).columns(PROBE.c.code), tables={"prepared_probe"})
    assert _codes(both.all(probe, {"c": "ab", "kind": "plain"})) == ["a%", "ab"]
    if probe.connection().dialect.name == "postgresql":
        compiled = both._compiled_for(probe.connection().dialect, {"c": "ab", "kind": "plain"})
        assert compiled.native and "$4" in compiled.sql and "%(" not in compiled.sql
        assert compiled.order == ("c", "c", "c", "kind")
        assert not BY_CODE._compiled_for(probe.connection().dialect, {"code": "a"}).native
