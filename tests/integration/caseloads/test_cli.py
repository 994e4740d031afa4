"""`posyandu-sync caseloads verify` and `caseloads rebuild` on a real database."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from cli.main import main
from core.config import get_settings
from core.db import get_engine
from models import CASELOAD_AGGREGATE
from sync.queries import caseloads as caseloads_q
from tests.integration.caseloads.intake import make_field


@pytest.fixture
def cli_db(db, database_url, monkeypatch):
    monkeypatch.setenv("POSYANDU_DATABASE_URL", database_url)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield db
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_verify_reports_a_tampered_aggregate_and_rebuild_repairs_it(cli_db, capsys):
    field = make_field(cli_db)
    field.child(0, "2026-11-03", weight=8.0, height=70.0)
    assert main(["caseloads", "verify"]) == 0
    assert "no difference" in capsys.readouterr().out
    with Session(cli_db) as s:
        s.execute(CASELOAD_AGGREGATE.update().values(c59_stunted=5))
        s.commit()
    assert main(["caseloads", "verify"]) == 1
    err = capsys.readouterr().err
    assert "c59_stunted" in err and "DIFFERENCES" in err
    assert main(["caseloads", "rebuild"]) == 0
    out, err = capsys.readouterr()
    assert "aggregate rows written" in out
    # The last progress line, at the end whatever the interval: every subject done.
    with Session(cli_db) as s:
        households, unhoused = caseloads_q.subject_ids(s)
    total = len(households) + len(unhoused)
    assert total > 0
    assert f"caseloads rebuild: {total:,} of {total:,} households and persons in none (100 %)" in err
    assert main(["caseloads", "verify"]) == 0

