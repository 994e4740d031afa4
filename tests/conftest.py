"""Shared fixtures: a migrated database per backend (SQLite always; PostgreSQL at
POSYANDU_TEST_POSTGRES_URL, or on this machine's default local server when that answers),
an app client, and users.

Each test run creates its own PostgreSQL database with a random name and drops it at
the end. Tests that use `engine` (directly or through `client`/`session`) run once per
backend. Rows are deleted after each test; the seeded regions stay.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel

import models  # noqa: F401
from core.db import make_engine, normalise_url
from core.migrate import upgrade
from tests.support import ADMIN_PASSWORD, bearer

PG_ENV = "POSYANDU_TEST_POSTGRES_URL"
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def _backends() -> list:
    params = [pytest.param("sqlite", id="sqlite")]
    params.append(pytest.param("postgres", id="postgres", marks=pytest.mark.postgres))
    return params


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    url = os.environ.get(PG_ENV)
    if url:
        return normalise_url(url)
    if _answers(normalise_url(LOCAL_POSTGRES)):
        return normalise_url(LOCAL_POSTGRES)
    if os.environ.get("POSYANDU_REQUIRE_POSTGRES"):
        pytest.fail(f"{PG_ENV} is not set and no PostgreSQL answers at {LOCAL_POSTGRES}, "
                    "but POSYANDU_REQUIRE_POSTGRES is")
    pytest.skip(f"no PostgreSQL ({PG_ENV} unset, none at {LOCAL_POSTGRES}): PostgreSQL tests skipped")


def _answers(server_url: str) -> bool:
    probe = create_engine(server_url, connect_args={"connect_timeout": 2})
    try:
        with probe.connect():
            return True
    except Exception:  # noqa: BLE001 - any failure means: no usable local server
        return False
    finally:
        probe.dispose()


def _create_pg_database(server_url: str) -> tuple[str, str]:
    name = f"posyandu_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(server_url: str, name: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url_factory(tmp_path_factory, request):
    """Makes fresh, empty databases of a backend; drops PostgreSQL ones at the end."""
    created: list[tuple[str, str]] = []

    def make(backend: str) -> str:
        if backend == "sqlite":
            path = tmp_path_factory.mktemp("db") / f"{uuid.uuid4().hex[:8]}.db"
            return f"sqlite:///{path}"
        server = request.getfixturevalue("postgres_server_url")
        name, url = _create_pg_database(server)
        created.append((server, name))
        return url

    yield make
    for server, name in created:
        _drop_pg_database(server, name)


@pytest.fixture(scope="session", params=_backends())
def database_url(request, database_url_factory) -> str:
    url = database_url_factory(request.param)
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url) -> Iterator[Engine]:
    eng = make_engine(database_url, pool_size=5)
    yield eng
    eng.dispose()


def _clear(engine: Engine) -> None:
    from sync import accounts

    keep = {"wilayah", "alembic_version"}
    accounts._secret_cache.clear()  # the server_setting row that held it goes
    with engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            if table.name not in keep:
                conn.execute(table.delete())
        conn.execute(text("DELETE FROM wilayah WHERE code NOT LIKE '33%'"))


@pytest.fixture
def db(engine) -> Iterator[Engine]:
    """The migrated engine, emptied after the test."""
    yield engine
    _clear(engine)


@pytest.fixture
def session(db) -> Iterator[Session]:
    with Session(db, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def app(db):
    from api.app import create_app

    return create_app(db)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def make_user(db):
    """Create a user directly (as the CLI does) and return it."""
    from sync import accounts

    def make(username: str, role: str, scopes=(), password: str = "password-123", agency=None):
        with Session(db, expire_on_commit=False) as s:
            user = accounts.create_user(s, username=username, password=password, role=role,
                                        scopes=list(scopes), agency=agency)
            s.commit()
            return user

    return make


@pytest.fixture
def admin_user(make_user):
    return make_user("admin", "admin", password=ADMIN_PASSWORD)


@pytest.fixture
def admin_headers(client, admin_user) -> dict[str, str]:
    return bearer(client, "admin", ADMIN_PASSWORD)
