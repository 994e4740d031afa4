"""The lookups every submission makes must use an index, never read a growing table.

SQLite has no statistics unless ANALYZE runs, so its planner can pick a poor index;
these plans are what the embedded default actually runs."""

from __future__ import annotations

import pytest

from sync import accounts, identity, intake, process

HOT_LOOKUPS = {
    "before storing": intake._BEFORE_STORING,
    "edited by": process._EDITED_BY,
    "edit's original": process._SUBMISSION_AND_SENDER,
    "device token": accounts._APP_TOKEN_USER,
    "place": process._PLACE,
    "growth history": process._HISTORY,
    "person by NIK": identity._PERSONS_BY_NIK,
    "person by name and birth date": identity._PERSON_BY_NAME_BIRTH,
    "person by name, birth date and mother": identity._PERSON_BY_NAME_BIRTH_MOTHER,
    "household by KK": identity._HOUSEHOLD_BY_KK,
}


def _plan(engine, prepared) -> list[str]:
    compiled = prepared.statement.compile(dialect=engine.dialect)
    params = tuple(None for _ in compiled.positiontup or ())
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params).all()
    return [row[-1] for row in rows]


@pytest.mark.parametrize("name", HOT_LOOKUPS)
def test_hot_lookup_uses_an_index(engine, name):
    if engine.dialect.name != "sqlite":
        pytest.skip("query plans are checked on SQLite, whose planner has no statistics")
    plan = _plan(engine, HOT_LOOKUPS[name])
    assert not [step for step in plan if step.startswith("SCAN")], plan


def test_edit_lookup_does_not_read_the_senders_history(engine):
    """Not the submitter index: that reads every form the kader ever sent."""
    if engine.dialect.name != "sqlite":
        pytest.skip("query plans are checked on SQLite")
    for statement in (intake._BEFORE_STORING, process._EDITED_BY):
        plan = " ".join(_plan(engine, statement))
        assert "ix_submission_edit" in plan, plan
        assert "ix_submission_submitter_id" not in plan, plan
