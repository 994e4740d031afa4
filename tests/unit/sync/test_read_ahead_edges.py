"""The edges of a claim's birth-date window as read ahead (sync.identity_ahead): the
birth date of the NEAREST_BORN-th row on each side that came back full. An edge one
row too far would let the pool answer for rows it never read."""

from datetime import date, timedelta

import pytest

from sync import identity_ahead
from sync.queries import identity as queries
from sync.queries.persons import Lookup

KELURAHAN = "33.75.01.1002"
BORN = date(2024, 6, 30)


def _read(born=BORN):
    blocking = queries.Blocking(kelurahan_code=KELURAHAN, birth_date=born)
    return identity_ahead._Read(blocking, Lookup(), queries.blocking_params(blocking))


def _rows(days, kelurahan=KELURAHAN):
    return [{"kelurahan_code": kelurahan, "birth_date": BORN + timedelta(days=d)} for d in days]


@pytest.fixture(autouse=True)
def five_nearest(monkeypatch):
    monkeypatch.setattr(queries, "NEAREST_BORN", 5)


def test_each_full_side_has_the_birth_date_of_its_fifth_nearest_row():
    read = _read()
    # the earlier side counts the claim's own day; rows outside the window, in another
    # kelurahan or without a birth date count on neither side
    rows = _rows(range(0, -8, -1)) + _rows(range(1, 9)) + _rows([-46, 46, 2], "33.75.01.1003")
    rows += [{"kelurahan_code": KELURAHAN, "birth_date": None}] + _rows([-46, 46])
    identity_ahead._set_edges(read, rows)
    assert read.before.edge == BORN - timedelta(days=4)
    assert read.after.edge == BORN + timedelta(days=5)


def test_a_side_with_fewer_rows_than_the_nearest_has_no_edge():
    read = _read()
    identity_ahead._set_edges(read, _rows([0, -3, -9, -20, -45, 1, 2, 3, 44]))
    assert read.before.edge == BORN - timedelta(days=45)
    assert read.after.edge is None
    read = _read()
    identity_ahead._set_edges(read, _rows([0, -1, -2, -3, 2, 3, 4, 5, 6]))
    assert (read.before.edge, read.after.edge) == (None, BORN + timedelta(days=6))


def test_a_claim_without_a_birth_date_has_no_window():
    read = _read(born=None)
    identity_ahead._set_edges(read, _rows(range(-10, 10)))
    assert (read.before.edge, read.after.edge) == (None, None)
