"""The lookups every submission makes must use an index, never read a growing table.

SQLite has no statistics unless ANALYZE runs, so its planner can pick a poor index;
these plans are what the embedded default actually runs. PostgreSQL keeps a prepared
statement's generic plan; one made while a table was small (an OR of indexed
conditions, say) can be a sequential scan that is then kept as the table grows."""

from __future__ import annotations

import re

import pytest
from sqlmodel import SQLModel

from core.db import WRITER_SETTINGS
from sync import offline
from sync.queries import accounts, households, identity, persons, records, submissions

HOT_LOOKUPS = {
    "intake context": submissions._CONTEXT,
    "edit's original": submissions._SENDER,
    "device token": accounts._APP_TOKEN_BY_HASH,
    "place": submissions._PLACE,
    "growth history": records._HISTORY,
    "person candidates": persons._CANDIDATES_WITH_GROWTH,
    "person candidates without measurements": persons._CANDIDATES,
    "household by KK": households._BY_KK,
    # Identity resolution (sync.identity): blocking candidates, a pair proposed before,
    # the decisions of an edited submission.
    "identity blocking candidates": identity._BLOCKING,
    "identity blocking candidates, ids (a group's read ahead)": identity._BLOCKING_IDS,
    "duplicate pair of two records": identity._PAIR,
    "identity decisions of a submission": identity._DECISIONS_OF,
    # Also run by the submission writer, whose PostgreSQL connection always uses the
    # generic plan (core.db.writer_engine):
    "submission by instanceID": submissions._FIND,
    "attachments of a submission": submissions._ATTACHMENTS_OF,
    "households without KK": households._WITHOUT_KK,
    "person by id": persons.PERSONS._get,
    "person by id, locked": persons.PERSONS._lock,
    "household by id": households.HOUSEHOLDS._get,
    "a person's version": persons.PERSONS._version_data,
    "ongoing pregnancy": records._ONGOING_PREGNANCY,
    **{f"record of {form}": records._RECORD_FOR[form] for form in records._RECORD_FOR},
    # Offline sync (#15): every measurement looks for another of the same child that
    # day; an edit reads its original's subject; a push looks up its stored result.
    "same-day measurements": records._SAME_DAY,
    **{f"subject of {form}": records._SUBJECT_OF[form] for form in records._SUBJECT_OF},
    "a pushed mutation's stored result": offline._STORED_RESULT,
}
HOT_UPDATES = {
    "submission status": submissions._SET,
    **{f"{form} no longer current": records._NOT_CURRENT[form] for form in records._NOT_CURRENT},
    "update person": persons.PERSONS._update,
    "update household": households.HOUSEHOLDS._update,
}


def _sqlite_plan(engine, prepared) -> list[str]:
    compiled = prepared.statement.compile(dialect=engine.dialect)
    params = tuple(None for _ in compiled.positiontup or ())
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params).all()
    return [row[-1] for row in rows]


def _postgres_generic_plan(engine, prepared) -> list[str]:
    """The plan PostgreSQL keeps for a prepared statement (psycopg prepares the ones it
    runs often) once it settles on a generic plan, made here while the tables are empty,
    with the writer's settings (core.db.WRITER_SETTINGS: a generic plan always, no
    sequential scan where an index can answer). Without them a small table whose size
    the planner knows (wilayah's, once an index was built on it) is read end to end."""
    names: list[str] = []

    def numbered(match: re.Match) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    sql = re.sub(r"%\((\w+)\)s", numbered, str(prepared.statement.compile(dialect=engine.dialect)))
    with engine.connect() as conn:
        for setting in WRITER_SETTINGS:
            conn.exec_driver_sql("SET " + setting.removeprefix("-c "))
        try:
            conn.exec_driver_sql(f"PREPARE hot_lookup AS {sql}")
            arguments = f"({', '.join('NULL' for _ in names)})" if names else ""
            return [row[0] for row in conn.exec_driver_sql(f"EXPLAIN EXECUTE hot_lookup{arguments}")]
        finally:
            conn.exec_driver_sql("DEALLOCATE ALL")
            conn.exec_driver_sql("RESET ALL")


@pytest.mark.parametrize("name", HOT_LOOKUPS)
def test_hot_lookup_uses_an_index(engine, name):
    if engine.dialect.name == "sqlite":
        plan = _sqlite_plan(engine, HOT_LOOKUPS[name])
        # A table read end to end; "SCAN born_before" reads a subquery's own (limited) rows.
        assert not [step for step in plan if step.startswith("SCAN")
                    and step.split()[1] in SQLModel.metadata.tables], plan
    else:
        plan = _postgres_generic_plan(engine, HOT_LOOKUPS[name])
        assert not [step for step in plan if "Seq Scan" in step], plan
        # Nor an index read end to end: every index scan has a condition (a mother's
        # children by her NIK were once a merge join over all of ix_person_mother).
        unbounded = [step for i, step in enumerate(plan) if "Index Scan" in step
                     and not any("Index Cond" in later for later in plan[i + 1:i + 3])]
        assert not unbounded, plan


@pytest.mark.parametrize("name", HOT_UPDATES)
def test_hot_update_finds_its_rows_by_an_index(engine, name):
    if engine.dialect.name == "sqlite":
        # The first step finds the rows; SQLite lists its foreign-key checks after it
        # (run only if a key column changes, which these updates never do).
        plan = _sqlite_plan(engine, HOT_UPDATES[name])
        assert plan[0].startswith("SEARCH"), plan
    else:
        plan = _postgres_generic_plan(engine, HOT_UPDATES[name])
        assert not [step for step in plan if "Seq Scan" in step], plan


def test_edit_lookup_does_not_read_the_senders_history(engine):
    """Not the submitter index: that reads every form the kader ever sent."""
    if engine.dialect.name != "sqlite":
        pytest.skip("query plans are checked on SQLite")
    for statement in (submissions._CONTEXT,):
        plan = " ".join(_sqlite_plan(engine, statement))
        assert "ix_submission_edit" in plan, plan
        assert "ix_submission_submitter_id" not in plan, plan
