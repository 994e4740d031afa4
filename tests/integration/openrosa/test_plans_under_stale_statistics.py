"""Intake must cost the same on the first day and in the fifth year: whatever state
PostgreSQL's statistics are in, no submission reads a registry table from end to end.

A young deployment (or one with autovacuum off) may have analysed its tables when
they held a handful of rows; the writer's generic plans made from those statistics
were sequential scans (issue 19). Here the tables are analysed when tiny, a few
hundred submissions are sent, and pg_stat_user_tables must show no sequential scan of
the intake tables; the same after an ANALYZE at a larger size."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.support import OPENROSA, child_values, fill_submission, multipart_files

TABLES = ("person", "household", "measurement", "submission", "change_log")


@pytest.fixture
def db(database_url_factory):
    """A PostgreSQL database of its own: the statistics this test leaves behind (an
    ANALYZE of tiny tables) would change the plans other tests check."""
    from core.db import make_engine
    from core.migrate import upgrade

    url = database_url_factory("postgres")
    upgrade(url)
    engine = make_engine(url, pool_size=5)
    yield engine
    engine.dispose()


def _seq_scans(db) -> dict[str, int]:
    with db.connect() as conn:
        conn.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
        rows = conn.execute(text(
            "SELECT relname, seq_scan FROM pg_stat_user_tables WHERE relname = ANY(:names)"),
            {"names": list(TABLES)}).all()
    return dict(rows)


def _settled_seq_scans(db) -> dict[str, int]:
    """The counts once every backend has reported: an idle backend's statistics reach
    the views only after some seconds, a backend that ends reports them at once. So
    the pooled connections (earlier tests' clean-up among them) are closed first."""
    db.dispose()
    time.sleep(0.5)
    return _seq_scans(db)


def _send(app, phone, forms, count: int, start: int) -> None:
    with TestClient(app, base_url="http://testserver") as client:
        for n in range(start, start + count):
            values = child_values(posyandu_id=phone.posyandu_id, child_name=f"Anak {n:04d}x",
                                  child_nik=f"3375014403{24 if n % 2 else 23}{n % 10000:04d}",
                                  mother_nik=f"33750155079{n % 100000:05d}",
                                  household_kk=f"33750101012{n % 100000:05d}")
            r = client.post(f"{phone.prefix}/submission", headers=OPENROSA,
                            files=multipart_files(fill_submission(forms["anthropometry"], values)))
            assert r.status_code == 201, r.text
    # Leaving the client closes the writer: its backend ends and reports its scans.


def _analyze(db) -> None:
    with db.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


@pytest.mark.postgres
def test_no_intake_table_is_scanned_after_analyze_when_tiny_or_large(app, db, phone, forms):
    _send(app, phone, forms, 5, 0)
    _analyze(db)  # the statistics of a young deployment
    before = _settled_seq_scans(db)
    _send(app, phone, forms, 200, 5)
    after = _settled_seq_scans(db)
    assert {t: after[t] - before[t] for t in TABLES} == {t: 0 for t in TABLES}

    _analyze(db)  # and once it has grown
    before = _settled_seq_scans(db)
    _send(app, phone, forms, 100, 205)
    after = _settled_seq_scans(db)
    assert {t: after[t] - before[t] for t in TABLES} == {t: 0 for t in TABLES}
