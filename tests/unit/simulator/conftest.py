"""Fixtures for the simulator tests."""

from __future__ import annotations

import pytest

from tests.unit.simulator.fake_server import FakeServer


@pytest.fixture
def fake_server() -> FakeServer:
    """A fake OpenRosa + admin server on an httpx.MockTransport (see fake_server.py)."""
    return FakeServer()
