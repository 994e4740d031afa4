"""VersionedTable.lock_ahead: a group's rows read and locked in one statement are the
rows get_for_update would read, and never a row this transaction has written since."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlmodel import Session

from sync.apply import Provenance, apply, create_person
from sync.queries.persons import PERSONS
from tests.support import KELURAHAN

SYSTEM = Provenance(actor_id=None, submission_id=None, reason="test")


@pytest.fixture
def people(db):
    with Session(db) as s:
        ids = [create_person(s, data={"name": name, "sex": "female", "birth_date": date(2024, 1, 2),
                                      "kelurahan_code": KELURAHAN}, provenance=SYSTEM)["id"]
               for name in ("Ani Lock", "Budi Lock", "Citra Lock")]
        s.commit()
    return ids


@pytest.fixture
def reads(monkeypatch):
    """How many times get_for_update went to the database."""
    counted = []
    real = PERSONS._lock

    class Counting:
        def mapping(self, session, params):
            counted.append(params["id"])
            return real.mapping(session, params)
    monkeypatch.setattr(PERSONS, "_lock", Counting())
    return counted


def test_a_row_read_ahead_is_the_row_read_alone_once(db, people, reads):
    with Session(db) as s:
        alone = {pid: PERSONS.get(s, pid) for pid in people}
        s.commit()
    with Session(db) as s:
        PERSONS.lock_ahead(s, [*people, "no-such-person"])
        assert [PERSONS.get_for_update(s, pid) for pid in people] == [alone[p] for p in people]
        assert reads == []
        assert PERSONS.get_for_update(s, people[0]) == alone[people[0]]  # asked again: read
        assert PERSONS.get_for_update(s, "no-such-person") is None
        assert reads == [people[0], "no-such-person"]
        s.commit()


def test_a_row_written_since_is_read_again(db, people, reads):
    with Session(db) as s:
        PERSONS.lock_ahead(s, people)
        row = PERSONS.get_for_update(s, people[1])
        PERSONS.lock_ahead(s, people)  # read ahead again, then written by another path
        apply(s, "person", people[1], row["version"], {"name": "Budi Baru"}, SYSTEM, current=row)
        assert PERSONS.get_for_update(s, people[1])["name"] == "Budi Baru"
        assert reads == [people[1]]
        s.commit()


def test_any_session_statement_or_the_end_of_the_transaction_forgets_them(db, people, reads):
    with Session(db) as s:
        PERSONS.lock_ahead(s, people)
        s.execute(text("UPDATE person SET name = 'Ani Diam' WHERE id = :id"), {"id": people[0]})
        assert PERSONS.get_for_update(s, people[0])["name"] == "Ani Diam"
        PERSONS.lock_ahead(s, people)
        s.commit()
        assert PERSONS.get_for_update(s, people[1])["name"] == "Budi Lock"
        PERSONS.lock_ahead(s, people)
        s.rollback()
        PERSONS.get_for_update(s, people[2])
        assert reads == people
        s.commit()
