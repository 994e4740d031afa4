"""Fixtures for the attack tests: settings changed for one test, published forms."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from core.config import get_settings


@pytest.fixture
def configure(monkeypatch):
    """Set POSYANDU_* settings for one test: configure(login_max_failures=3)."""

    def apply(**values):
        for name, value in values.items():
            monkeypatch.setenv(f"POSYANDU_{name.upper()}", str(value))
        get_settings.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def forms(db) -> dict[str, bytes]:
    from sync.forms import current_forms, publish_builtin_forms

    with Session(db) as s:
        publish_builtin_forms(s)
        s.commit()
        return {f.form_id: f.xml for f in current_forms(s)}
