"""Fixtures for the console's HTTP tests: the OpenRosa fixtures (forms, a posyandu, a
kader's phone) and a way to sign in as a browser does."""

from __future__ import annotations

import re

import pytest

from tests.integration.openrosa.conftest import forms, make_phone, phone, posyandu_id  # noqa: F401

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client, username: str, password: str = "password-123") -> str:
    """Sign in through the form; returns the session's CSRF token."""
    page = client.get("/admin/login")
    assert page.status_code == 200
    answer = client.post("/admin/login", data={"username": username, "password": password,
                                               "csrf_token": csrf_of(page.text)},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    home = client.get("/admin")
    assert home.status_code == 200, home.text
    return csrf_of(home.text)


@pytest.fixture
def console_client(app):
    """A second client (its own cookie jar) on the same app."""
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def extra_wilayah(engine):
    """Codes of wilayah a test adds (the seeded regions outlive each test, so these are
    removed after the test's rows are: list this fixture before `client`/`db`)."""
    from sqlalchemy import delete

    from models import Wilayah

    codes: list[str] = []
    yield codes
    if codes:
        with engine.begin() as conn:
            conn.execute(delete(Wilayah).where(Wilayah.code.in_(codes)))
