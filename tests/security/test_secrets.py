"""Secrets: device tokens and hook secrets are kept only as hashes, no answer returns a
secret after it was created, and the JWT secret is rotated by a command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, SQLModel

from models import ServerSetting
from sync import accounts
from tests.support import ADMIN_PASSWORD, bearer


def _all_stored_text(db) -> str:
    """Every value of every table, as text (what a stolen database dump holds)."""
    parts = []
    with db.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if table.name == "wilayah":
                continue
            for row in conn.execute(table.select()):
                parts.extend(str(v) for v in row)
    return "\n".join(parts)


def test_device_tokens_and_hook_secrets_are_stored_only_as_hashes(client, admin_headers,
                                                                  make_user, forms, db):
    make_user("sri", "kader", ["33.75.01.1002"])
    token = client.post("/api/v1/users/sri/app-tokens", json={"label": "hp"},
                        headers=admin_headers).json()["token"]
    qr = client.post("/api/v1/users/sri/collect-qr?format=json&keep_existing=true",
                     headers=admin_headers).json()
    hook = client.post("/api/v1/kobo-hooks", json={"name": "Kobo", "form_id": "anthropometry",
                                                   "username": "sri"},
                       headers=admin_headers).json()
    qr_token = qr["settings"]["general"]["server_url"].rsplit("/key/", 1)[1]
    stored = _all_stored_text(db)
    for secret in (token, qr_token, hook["secret"]):
        assert len(secret) >= 32
        assert secret not in stored
    assert "password-123" not in stored  # passwords: argon2 only


def test_no_answer_returns_a_secret_after_it_was_created(client, admin_headers, make_user,
                                                         forms, db):
    make_user("sri", "kader", ["33.75.01.1002"])
    token = client.post("/api/v1/users/sri/app-tokens", json={}, headers=admin_headers
                        ).json()["token"]
    hook = client.post("/api/v1/kobo-hooks", json={"name": "K", "form_id": "anthropometry",
                                                   "username": "sri"},
                       headers=admin_headers).json()
    with Session(db) as s:
        jwt_secret = accounts.jwt_secret(s)
    answers = [client.get(path, headers=admin_headers) for path in (
        "/api/v1/users/sri/app-tokens", "/api/v1/kobo-hooks", "/api/v1/users",
        "/api/v1/auth/me", "/openapi.json", "/readyz", "/healthz", "/api/v1/devices")]
    for r in answers:
        assert r.status_code == 200, r.url
        for secret in (token, hook["secret"], jwt_secret):
            assert secret not in r.text, r.url


def test_rotating_the_jwt_secret_ends_every_session_but_not_device_tokens(
        client, admin_user, make_user, db, database_url, monkeypatch):
    make_user("sri", "kader", ["33.75.01.1002"])
    with Session(db, expire_on_commit=False) as s:
        _, device = accounts.create_app_token(s, user=accounts.get_user_by_username(s, "sri"))
        s.commit()
    old = bearer(client, "admin", ADMIN_PASSWORD)
    assert client.get("/api/v1/auth/me", headers=old).status_code == 200
    env = {**os.environ, "POSYANDU_DATABASE_URL": database_url,
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("POSYANDU_SECRET_KEY", None)
    done = subprocess.run([sys.executable, "-m", "cli.main", "rotate-jwt-secret"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "rotated" in done.stdout
    # this worker re-reads the secret within SECRET_TTL (30 s); here at once
    monkeypatch.setattr(accounts, "SECRET_TTL", 0.0)
    r = client.get("/api/v1/auth/me", headers=old)
    assert r.status_code == 401 and r.json()["error"] == "auth.bad_token"
    new = bearer(client, "admin", ADMIN_PASSWORD)
    assert client.get("/api/v1/auth/me", headers=new).status_code == 200
    assert client.get(f"/key/{device}/formList").status_code == 200
    with Session(db) as s:
        actions = [a for (a,) in s.execute(text("SELECT action FROM audit_log"))]
    assert "jwt_secret.rotate" in actions


def test_a_token_signed_after_a_rotation_is_accepted_by_a_worker_that_cached_the_old_one(
        client, db, admin_user):
    """Another worker rotated the secret and signed with the new one; this worker still
    holds the old one in its cache: the signature mismatch makes it re-read at once."""
    from core import security
    from core.config import get_settings

    bearer(client, "admin", ADMIN_PASSWORD)  # this worker has read (cached) the secret
    with Session(db) as s:
        accounts.rotate_jwt_secret(s)
        s.commit()
        new_secret = s.get(ServerSetting, accounts.JWT_SECRET_KEY).value
    stale = {url: ("the-old-secret", at) for url, (_, at) in accounts._secret_cache.items()}
    accounts._secret_cache.update(stale)
    token = security.encode_access_token(subject=str(admin_user.id), secret=new_secret,
                                         minutes=get_settings().access_token_minutes,
                                         extra={"cv": admin_user.credential_version})
    r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    # and a token signed with anything else is still refused
    forged = security.encode_access_token(subject=str(admin_user.id), secret="a-guessed-secret-" * 3,
                                          minutes=5, extra={"cv": 1})
    r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401


def test_rotation_is_refused_when_the_secret_is_configured(db, configure):
    configure(secret_key="a-configured-secret-of-some-length")
    with Session(db) as s, pytest.raises(Exception) as caught:
        accounts.rotate_jwt_secret(s)
    assert getattr(caught.value, "code", None) == "auth.secret_configured"
