"""The change feed (sync.changes): pages in order, scope in the query, and no change
ever lost to a cursor, even when transactions commit in another order than they
wrote."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, text
from sqlmodel import Session

from core.errors import InvalidInput
from models import ChangeLog
from sync.apply import Provenance, create_household, create_person
from sync.changes import ChangeCursor, changes_since
from sync.scope import Scope
from tests.support import KELURAHAN, OTHER_KELURAHAN, add_posyandu

EVERYTHING = Scope(everything=True)
PROVENANCE = Provenance(actor_id=None, submission_id=None, reason="test")


def _people(db, names, kelurahan=KELURAHAN, posyandu_id=None) -> list[str]:
    with Session(db) as s:
        ids = [create_person(s, data={"name": name, "kelurahan_code": kelurahan,
                                      "posyandu_id": posyandu_id},
                             provenance=PROVENANCE)["id"] for name in names]
        s.commit()
    return ids


def _read_all(session, scope=EVERYTHING, after=ChangeCursor(), limit=2) -> list[str]:
    seen = []
    while True:
        page = changes_since(session, after, scope=scope, limit=limit)
        seen += [change["entity_id"] for change in page.changes]
        assert page.cursor >= after
        after = page.cursor
        if not page.more:
            return seen


def test_pages_follow_each_other_in_write_order(db):
    ids = _people(db, ["Ani", "Budi", "Citra", "Dewi", "Eko"])
    with Session(db) as s:
        assert _read_all(s) == ids
        first = changes_since(s, ChangeCursor(), scope=EVERYTHING, limit=2)
        assert [c["entity_id"] for c in first.changes] == ids[:2] and first.more
        # The cursor's text form goes to the client and comes back.
        again = changes_since(s, ChangeCursor.parse(str(first.cursor)), scope=EVERYTHING, limit=10)
        assert [c["entity_id"] for c in again.changes] == ids[2:] and not again.more
        # Nothing new: the same cursor back, and no more.
        idle = changes_since(s, again.cursor, scope=EVERYTHING)
        assert idle.changes == [] and idle.cursor == again.cursor and not idle.more


def test_scope_is_in_the_query(db):
    mine = add_posyandu(db, KELURAHAN, "Melati 1")
    other = add_posyandu(db, KELURAHAN, "Mawar 2")
    in_posyandu = _people(db, ["Fitri"], posyandu_id=mine)
    _people(db, ["Gita"], posyandu_id=other)
    _people(db, ["Hadi"], kelurahan=OTHER_KELURAHAN)
    with Session(db) as s:
        household = create_household(s, data={"head_name": "Pak Iwan", "kelurahan_code": KELURAHAN},
                                     provenance=PROVENANCE)["id"]
        s.commit()
        kader = Scope(posyandu_ids=(mine,), posyandu_kelurahan_codes=(KELURAHAN,))
        assert _read_all(s, kader) == [*in_posyandu, household]
        elsewhere = Scope(wilayah_codes=(OTHER_KELURAHAN,))
        assert len(_read_all(s, elsewhere)) == 1
        assert _read_all(s, Scope()) == []


@pytest.mark.parametrize("bad", ["12", "a.b", "1.2.3", "-1.5", "1" * 30 + ".1"])
def test_a_cursor_the_server_did_not_give_is_refused(bad):
    with pytest.raises(InvalidInput) as refused:
        ChangeCursor.parse(bad)
    assert refused.value.code == "sync.bad_cursor"


def test_a_page_size_out_of_range_is_refused(db):
    with Session(db) as s, pytest.raises(InvalidInput):
        changes_since(s, ChangeCursor(), scope=EVERYTHING, limit=0)


def _change(conn, entity_id: str) -> None:
    conn.execute(insert(ChangeLog.__table__).values(
        entity_type="person", entity_id=entity_id, version=1, op="upsert",
        kelurahan_code=KELURAHAN))


def test_a_change_committed_after_a_later_one_is_not_skipped(db):
    """PostgreSQL: A writes first and commits last. Paging by seq would pass A's row
    (lower seq) while A is still open, then never return to it."""
    if db.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: seq is commit order")
    with db.connect() as a, db.connect() as b:
        a.begin()
        _change(a, "from-a")
        b.begin()
        _change(b, "from-b")
        b.commit()
        seqs = dict(b.execute(text("SELECT entity_id, seq FROM change_log")).all())
        assert seqs == {"from-b": seqs["from-b"]} and seqs["from-b"] > 0  # A's is not visible
        with Session(db) as reader:
            page = changes_since(reader, ChangeCursor(), scope=EVERYTHING)
            # B's row is committed, but A (an older transaction) may still add rows
            # before it: it is held back, and the cursor does not move.
            assert page.changes == [] and page.cursor == ChangeCursor()
        a.commit()
    with Session(db) as reader:
        rows = changes_since(reader, page.cursor, scope=EVERYTHING).changes
        assert [r["entity_id"] for r in rows] == ["from-a", "from-b"]
        assert rows[0]["seq"] < rows[1]["seq"] and rows[0]["txid"] < rows[1]["txid"]


def test_registry_writes_carry_their_transactions_id(db):
    _people(db, ["Joko", "Kartini"])
    with Session(db) as s:
        txids = {c["txid"] for c in changes_since(s, ChangeCursor(), scope=EVERYTHING).changes}
    if db.dialect.name == "postgresql":
        assert len(txids) == 1 and txids.pop() > 0  # one transaction wrote both
    else:
        assert txids == {0}

