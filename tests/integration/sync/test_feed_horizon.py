"""The feed's commit-safe horizon is this database's, not the PostgreSQL cluster's: a
transaction held open in another database on the same server (a report, a benchmark
building its template, another test run) no longer holds every reader at its start,
while one held open in this database still does (its rows may commit later)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session

from sync.apply import Provenance, create_person
from sync.changes import ChangeCursor, changes_since
from sync.scope import Scope
from tests.support import KELURAHAN

EVERYTHING = Scope(everything=True)
PROVENANCE = Provenance(actor_id=None, submission_id=None, reason="test")


def _person(db, name: str) -> str:
    with Session(db) as s:
        pid = create_person(s, data={"name": name, "kelurahan_code": KELURAHAN},
                            provenance=PROVENANCE)["id"]
        s.commit()
    return pid


def _seen(db) -> list[str]:
    with Session(db) as s:
        page = changes_since(s, ChangeCursor(), scope=EVERYTHING, limit=5000)
        s.commit()
    return [c["entity_id"] for c in page.changes]


@pytest.fixture
def postgres_db(db):
    if db.dialect.name != "postgresql":
        pytest.skip("the horizon is PostgreSQL's (SQLite has one writer at a time)")
    return db


def test_a_transaction_open_in_another_database_does_not_hold_the_feed(postgres_db,
                                                                      postgres_server_url):
    other = create_engine(postgres_server_url)  # the server's maintenance database
    with other.connect() as conn:
        conn.execute(text("SELECT pg_current_xact_id()"))  # holds an xid, stays open
        pid = _person(postgres_db, "Ani")
        assert _seen(postgres_db) == [pid]
        conn.rollback()
    other.dispose()


def test_a_transaction_open_in_this_database_still_holds_the_horizon(postgres_db):
    first = _person(postgres_db, "Budi")
    with postgres_db.connect() as conn:
        conn.execute(text("SELECT pg_current_xact_id()"))  # older than what follows
        later = _person(postgres_db, "Citra")
        # Citra's row commits after the open transaction began: a reader must not pass
        # the open transaction's place, so it sees Budi only, for now.
        assert _seen(postgres_db) == [first]
        conn.rollback()
    assert _seen(postgres_db) == [first, later]
