"""Fixtures for the attack tests: settings changed for one test; the OpenRosa fixtures
(published forms, a posyandu, kader phones) and the field records of two posyandu."""

from __future__ import annotations

import pytest

from core.config import get_settings
from tests.integration.openrosa.conftest import (  # noqa: F401 - fixtures, used by name
    forms,
    make_phone,
    phone,
    posyandu_id,
)
from tests.integration.openrosa.field_records import FieldData, send_field_records


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
def field(client, db, forms, phone, make_phone, admin_headers) -> FieldData:  # noqa: F811
    """Measurements, screenings and sanitation checks in posyandu A (kader_a) and B."""
    return send_field_records(client, db, forms, phone, make_phone, admin_headers)
