"""The OpenRosa fixtures (published forms, a posyandu, kader phones) for identity tests."""

from tests.integration.openrosa.conftest import forms, make_phone, phone, posyandu_id  # noqa: F401
