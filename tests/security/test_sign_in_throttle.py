"""Sign-in (the JSON token endpoint and HTTP Basic) is rate-limited per account and
per address, in the database (every worker counts the same failures), and argon2 runs
under a bound."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from core import security
from models import AuthThrottle
from models.base import utcnow
from sync import accounts, throttle
from tests.support import ADMIN_PASSWORD, OPENROSA

ID = {"Accept-Language": "id"}


def _login(client, username, password, **headers):
    return client.post("/api/v1/auth/token", data={"username": username, "password": password},
                       headers=headers)


@pytest.fixture
def kader(make_user):
    return make_user("sri", "kader", ["33.75.01.1002"], password="kader-pass-1")


def test_an_account_locks_after_repeated_failures_even_for_the_right_password(
        client, kader, configure):
    configure(login_max_failures=3, login_lockout_seconds=600)
    for _ in range(3):
        r = _login(client, "sri", "wrong-password")
        assert r.status_code == 401 and r.json()["error"] == "auth.bad_credentials"
    r = _login(client, "sri", "kader-pass-1")
    assert r.status_code == 429
    assert r.json()["error"] == "auth.locked"
    assert 590 <= int(r.headers["Retry-After"]) <= 601
    assert "10 minutes" in r.json()["detail"]
    r = _login(client, "sri", "kader-pass-1", **ID)
    assert r.json()["detail"].startswith("Terlalu banyak percobaan masuk")


def test_a_success_before_the_limit_clears_the_count(client, kader, configure, db):
    configure(login_max_failures=3)
    for _ in range(2):
        assert _login(client, "sri", "wrong-password").status_code == 401
    assert _login(client, "sri", "kader-pass-1").status_code == 200
    for _ in range(2):
        assert _login(client, "sri", "wrong-password").status_code == 401
    assert _login(client, "sri", "kader-pass-1").status_code == 200


def test_the_lock_ends_when_it_expires_or_an_admin_resets_the_password(
        client, kader, admin_user, configure, db):
    configure(login_max_failures=2)
    for _ in range(2):
        _login(client, "sri", "wrong-password")
    assert _login(client, "sri", "kader-pass-1").status_code == 429
    with Session(db) as s:  # time passes
        row = s.get(AuthThrottle, "account:sri")
        row.locked_until = utcnow() - timedelta(seconds=1)
        row.window_started_at = utcnow() - timedelta(hours=1)
        s.add(row)
        s.commit()
    assert _login(client, "sri", "kader-pass-1").status_code == 200
    for _ in range(2):
        _login(client, "sri", "wrong-password")
    assert _login(client, "sri", "kader-pass-1").status_code == 429
    admin = {"Authorization": "Bearer " + _login(client, "admin", ADMIN_PASSWORD
                                                 ).json()["access_token"]}
    r = client.post("/api/v1/users/sri/password", json={"password": "new-pass-123"},
                    headers=admin)
    assert r.status_code == 204
    assert _login(client, "sri", "new-pass-123").status_code == 200


def test_an_address_locks_after_failures_spread_over_accounts(app, kader, make_user, configure):
    configure(login_max_failures=50, login_max_failures_per_address=4)
    make_user("ani", "kader", ["33.75.01.1002"], password="kader-pass-2")
    with TestClient(app, client=("10.0.0.7", 1234)) as attacker, \
            TestClient(app, client=("10.0.0.8", 1234)) as elsewhere:
        for name in ("a", "b", "c", "d"):
            assert _login(attacker, name, "guess").status_code == 401
        r = _login(attacker, "ani", "kader-pass-2")
        assert r.status_code == 429 and r.json()["error"] == "auth.address_locked"
        assert int(r.headers["Retry-After"]) > 0
        assert _login(elsewhere, "ani", "kader-pass-2").status_code == 200


def test_basic_auth_locks_and_the_phone_reads_why_in_bahasa(client, kader, configure, db):
    configure(login_max_failures=3)
    with Session(db, expire_on_commit=False) as s:
        _, token = accounts.create_app_token(s, user=accounts.get_user_by_username(s, "sri"))
        s.commit()
    for _ in range(3):
        r = client.get("/formList", auth=("sri", "wrong-password"), headers=OPENROSA)
        assert r.status_code == 401
    for method, path in (("GET", "/formList"), ("HEAD", "/submission")):
        r = client.request(method, path, auth=("sri", "kader-pass-1"), headers=OPENROSA)
        assert r.status_code == 429, path
        assert r.headers["X-Posyandu-Error"] == "auth.locked"
        assert int(r.headers["Retry-After"]) > 0
    r = client.get("/formList", auth=("sri", "kader-pass-1"), headers=OPENROSA)
    assert "Terlalu banyak percobaan masuk" in r.text
    # the phone set up with a QR code (device token) is not locked out
    assert client.get(f"/key/{token}/formList", headers=OPENROSA).status_code == 200
    # and the JSON sign-in shares the same count
    assert _login(client, "sri", "kader-pass-1").status_code == 429


def test_every_worker_counts_the_same_failures(db, kader, configure):
    """Two apps on one database are two stateless workers: neither remembers anything
    the other saw, yet the lock follows the sum of their failures."""
    from api.app import create_app

    configure(login_max_failures=4)
    with TestClient(create_app(db)) as one, TestClient(create_app(db)) as two:
        for worker in (one, two, one, two):
            assert _login(worker, "sri", "wrong-password").status_code == 401
        assert _login(one, "sri", "kader-pass-1").status_code == 429
        assert _login(two, "sri", "kader-pass-1").status_code == 429


def test_failures_counted_at_once_are_all_counted(db, configure):
    configure(login_max_failures=1000, login_max_failures_per_address=1000)

    def fail(_):
        with Session(db) as s:
            throttle.record_failure(s, username="sri", address="10.1.1.1")
            s.commit()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(fail, range(40)))
    with Session(db) as s:
        rows = {r.key: r.failures for r in s.exec(select(AuthThrottle)).all()}
    assert rows == {"account:sri": 40, "address:10.1.1.1": 40}


def test_unknown_usernames_cost_a_verification_too(client, configure, monkeypatch):
    """Otherwise the answer's time tells which usernames exist."""
    calls = []
    real = security.verify_password
    monkeypatch.setattr(security, "verify_password",
                        lambda h, p: calls.append(p) or real(h, p))
    assert _login(client, "nobody-here", "some-password").status_code == 401
    assert calls == ["some-password"]


# ---------------------------------------------------------------- argon2 under load


@pytest.fixture
def gate():
    yield security.gate
    security.gate.configure(0, 2.0)


def test_a_saturated_verifier_refuses_with_503_and_retry_after(client, kader, gate):
    gate.configure(1, 0.05)
    started, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=gate.run,
                              args=(lambda: (started.set(), release.wait(10)),))
    holder.start()
    started.wait(5)
    try:
        r = _login(client, "sri", "kader-pass-1")
        assert r.status_code == 503 and r.json()["error"] == "auth.busy"
        assert r.headers["Retry-After"] == "1"
        r = client.get("/formList", auth=("sri", "other-pass-9"), headers=OPENROSA)
        assert r.status_code == 503 and r.headers["X-Posyandu-Error"] == "auth.busy"
    finally:
        release.set()
        holder.join()
    assert _login(client, "sri", "kader-pass-1").status_code == 200


def test_concurrent_sign_ins_never_run_more_verifications_than_the_bound(app, kader, gate):
    gate.configure(2, 30)
    with TestClient(app) as client, ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(lambda i: _login(client, "sri", "kader-pass-1" if i % 2
                                               else f"wrong-{i}").status_code, range(12)))
    assert gate.peak <= 2
    assert gate.peak == 2  # the bound was reached: the test exercised it
    assert sorted(set(codes)) == [200, 401]


def test_guessing_the_current_password_with_a_session_counts_too(client, kader, configure):
    configure(login_max_failures=3)
    session = {"Authorization": "Bearer " + _login(client, "sri", "kader-pass-1"
                                                   ).json()["access_token"]}
    for _ in range(3):
        r = client.put("/api/v1/auth/me/password", headers=session,
                       json={"current_password": "a-guess-123", "new_password": "new-pass-123"})
        assert r.status_code == 400 and r.json()["error"] == "auth.bad_current_password"
    r = client.put("/api/v1/auth/me/password", headers=session,
                   json={"current_password": "kader-pass-1", "new_password": "new-pass-123"})
    assert r.status_code == 429 and r.json()["error"] == "auth.locked"
