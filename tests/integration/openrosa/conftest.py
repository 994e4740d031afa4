"""Fixtures for the OpenRosa tests: published forms, a posyandu, a kader with a phone."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import Session

from sync import accounts
from sync.forms import current_forms, publish_builtin_forms
from tests.support import KELURAHAN, add_posyandu


@dataclass
class Phone:
    username: str
    password: str
    posyandu_id: int
    token: str

    @property
    def prefix(self) -> str:
        return f"/key/{self.token}"


@pytest.fixture
def forms(db) -> dict[str, bytes]:
    with Session(db) as s:
        publish_builtin_forms(s)
        s.commit()
        return {f.form_id: f.xml for f in current_forms(s)}


@pytest.fixture
def posyandu_id(db) -> int:
    return add_posyandu(db, KELURAHAN, "Melati 1")


@pytest.fixture
def make_phone(db, posyandu_id):
    def make(username: str = "kader-sri", scopes=None, role: str = "kader") -> Phone:
        with Session(db) as s:
            user = accounts.create_user(s, username=username, password="password-123", role=role,
                                        agency="Dinas Kesehatan" if role == "agency" else None,
                                        scopes=scopes or [f"posyandu:{posyandu_id}"])
            _, token = accounts.create_app_token(s, user=user, label="test phone")
            s.commit()
        return Phone(username, "password-123", posyandu_id, token)

    return make


@pytest.fixture
def phone(make_phone, forms) -> Phone:
    return make_phone()
