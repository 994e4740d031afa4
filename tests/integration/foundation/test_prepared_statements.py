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

from core.statements import Prepared
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
