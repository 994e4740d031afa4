"""The OpenRosa fixtures (forms, a posyandu, a kader's phone) for these tests too."""

from tests.integration.openrosa.conftest import Phone, forms, make_phone, phone, posyandu_id  # noqa: F401
