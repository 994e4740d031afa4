"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

ADMIN_PASSWORD = "admin-password-1"
KELURAHAN = "33.75.01.1002"  # Medono, Pekalongan Barat
OTHER_KELURAHAN = "33.75.04.1002"  # Banyurip, Pekalongan Selatan


def bearer(client, username: str, password: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
