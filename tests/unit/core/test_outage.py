"""Which database errors are outages (503 with Retry-After, the phone sends again) and
which are not (a bug stays a 500; a bad value stays a 400)."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from core.db import outage


def _wrapped(orig, cls=OperationalError, invalidated=False):
    return cls("INSERT ...", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize("orig, expected", [
    (sqlite3.OperationalError("database or disk is full"), "server.storage_full"),
    (sqlite3.OperationalError("disk I/O error"), "server.database_unavailable"),
    (sqlite3.OperationalError("database is locked"), "server.database_unavailable"),
    (sqlite3.OperationalError("no such table: person"), None),
    (psycopg.errors.AdminShutdown(), "server.database_unavailable"),
    (psycopg.errors.CannotConnectNow(), "server.database_unavailable"),
    (psycopg.errors.DiskFull(), "server.storage_full"),
    (psycopg.errors.TooManyConnections(), "server.database_unavailable"),
    (psycopg.OperationalError("connection failed: Connection refused"),
     "server.database_unavailable"),
    (psycopg.errors.UndefinedTable(), None),
])
def test_database_errors_are_outages_only_when_the_database_cannot_serve(orig, expected):
    assert outage(_wrapped(orig)) == expected


def test_errors_about_the_request_or_the_code_are_not_outages():
    assert outage(_wrapped(psycopg.errors.UniqueViolation(), IntegrityError)) is None
    assert outage(_wrapped(psycopg.errors.NumericValueOutOfRange(), DataError)) is None
    assert outage(ValueError("a bug")) is None


def test_a_lost_connection_and_an_exhausted_pool_are_outages():
    assert outage(_wrapped(Exception("gone"), invalidated=True)) == "server.database_unavailable"
    assert outage(PoolTimeout("QueuePool limit reached")) == "server.busy"


def test_a_503_says_when_to_try_again_in_bahasa_for_phones():
    from starlette.requests import Request

    from api.errors import app_error_response, as_request_error

    scope = {"type": "http", "method": "POST", "path": "/submission", "headers": [],
             "openrosa": True, "query_string": b""}
    error = as_request_error(_wrapped(sqlite3.OperationalError("database or disk is full")))
    response = app_error_response(Request(scope), error)
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["x-posyandu-error"] == "server.storage_full"
    assert "Penyimpanan server penuh" in response.body.decode()
