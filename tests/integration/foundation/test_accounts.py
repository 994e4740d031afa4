"""Account management: disabling users, passwords, sessions that end, posyandu state."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from models import AppToken, User
from tests.support import ADMIN_PASSWORD, KELURAHAN, OPENROSA, add_posyandu, bearer


@pytest.fixture
def kader(make_user, db):
    pid = add_posyandu(db, KELURAHAN, "Melati 1")
    make_user("kader-sri", "kader", scopes=[f"posyandu:{pid}"])
    return pid


def _token(client, admin_headers, username="kader-sri") -> str:
    r = client.post(f"/api/v1/users/{username}/app-tokens", json={"label": "hp"},
                    headers=admin_headers)
    assert r.status_code == 201, r.text
    return r.json()["token"]


def test_disabling_a_user_ends_their_sessions_and_device_tokens_at_once(
        client, admin_headers, kader):
    kader_headers = bearer(client, "kader-sri", "password-123")
    token = _token(client, admin_headers)
    assert client.get(f"/key/{token}/formList", headers=OPENROSA).status_code == 200

    r = client.patch("/api/v1/users/kader-sri", json={"is_active": False}, headers=admin_headers)
    assert r.status_code == 200, r.text
    assert r.json()["is_active"] is False
    assert len(r.json()["revoked_tokens"]) == 1

    r = client.get("/api/v1/auth/me", headers=kader_headers)
    assert r.status_code == 401
    assert r.json()["error"] in ("auth.revoked", "auth.inactive")
    assert client.get(f"/key/{token}/formList", headers=OPENROSA).status_code == 403
    r = client.post("/api/v1/auth/token", data={"username": "kader-sri",
                                                "password": "password-123"})
    assert r.status_code == 403
    assert r.json()["error"] == "user.inactive"
    # a wrong password does not learn that the account exists and is disabled
    r = client.post("/api/v1/auth/token", data={"username": "kader-sri", "password": "nope-nope"})
    assert r.json()["error"] == "auth.bad_credentials"


def test_an_enabled_again_user_signs_in_but_old_tokens_stay_revoked(client, admin_headers, kader):
    token = _token(client, admin_headers)
    client.patch("/api/v1/users/kader-sri", json={"is_active": False}, headers=admin_headers)
    r = client.patch("/api/v1/users/kader-sri", json={"is_active": True, "full_name": "Sri W."},
                     headers=admin_headers)
    assert r.status_code == 200
    assert r.json()["full_name"] == "Sri W." and r.json()["revoked_tokens"] == []
    bearer(client, "kader-sri", "password-123")
    assert client.get(f"/key/{token}/formList", headers=OPENROSA).status_code == 403


def test_an_admin_cannot_disable_themself_nor_the_last_admin(client, admin_headers, db):
    r = client.patch("/api/v1/users/admin", json={"is_active": False}, headers=admin_headers)
    assert r.status_code == 403
    assert r.json()["error"] == "user.self_deactivate"

    from core.errors import Conflict
    from sync import accounts

    with Session(db) as s:
        admin = accounts.get_user_by_username(s, "admin")
        with pytest.raises(Conflict) as exc:
            accounts.update_user(s, user=admin, actor_id=None, is_active=False)
        assert exc.value.code == "user.last_admin"
        s.rollback()
    assert client.get("/api/v1/auth/me", headers=admin_headers).status_code == 200


def test_a_second_admin_can_be_disabled(client, admin_headers, make_user):
    make_user("admin2", "admin")
    r = client.patch("/api/v1/users/admin2", json={"is_active": False}, headers=admin_headers)
    assert r.status_code == 200


def test_patch_of_an_unknown_user_is_404_and_a_kader_may_not_patch(client, admin_headers, kader):
    r = client.patch("/api/v1/users/nobody", json={"is_active": False}, headers=admin_headers)
    assert r.status_code == 404 and r.json()["error"] == "user.not_found"
    kader_headers = bearer(client, "kader-sri", "password-123")
    r = client.patch("/api/v1/users/admin", json={"is_active": False}, headers=kader_headers)
    assert r.status_code == 403


def test_admin_password_reset_ends_sessions_and_basic_auth_with_the_old_password(
        client, admin_headers, kader):
    kader_headers = bearer(client, "kader-sri", "password-123")
    basic = ("kader-sri", "password-123")
    assert client.get("/formList", headers=OPENROSA, auth=basic).status_code == 200
    r = client.post("/api/v1/users/kader-sri/password", json={"password": "new-password-9"},
                    headers=admin_headers)
    assert r.status_code == 204, r.text
    r = client.get("/api/v1/auth/me", headers=kader_headers)
    assert r.status_code == 401 and r.json()["error"] == "auth.revoked"
    # the Basic cache remembered the old pair; a password reset ends that too
    assert client.get("/formList", headers=OPENROSA, auth=basic).status_code == 401
    assert client.get("/formList", headers=OPENROSA,
                      auth=("kader-sri", "new-password-9")).status_code == 200
    bearer(client, "kader-sri", "new-password-9")


def test_own_password_change_needs_the_current_one_and_a_different_one(client, kader):
    headers = bearer(client, "kader-sri", "password-123")
    url = "/api/v1/auth/me/password"
    r = client.put(url, json={"current_password": "wrong-one", "new_password": "another-pw-1"},
                   headers=headers)
    assert r.status_code == 400 and r.json()["error"] == "auth.bad_current_password"
    r = client.put(url, json={"current_password": "password-123", "new_password": "password-123"},
                   headers=headers)
    assert r.status_code == 400 and r.json()["error"] == "user.same_password"
    r = client.put(url, json={"current_password": "password-123", "new_password": "short"},
                   headers=headers)
    assert r.status_code == 422
    bearer(client, "kader-sri", "password-123")  # nothing changed so far

    r = client.put(url, json={"current_password": "password-123", "new_password": "another-pw-1"},
                   headers=headers)
    assert r.status_code == 200, r.text
    new_headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=new_headers).status_code == 200
    assert client.get("/api/v1/auth/me", headers=headers).json()["error"] == "auth.revoked"
    bearer(client, "kader-sri", "another-pw-1")


def test_own_password_change_needs_a_sign_in(client):
    r = client.put("/api/v1/auth/me/password",
                   json={"current_password": "a" * 8, "new_password": "b" * 8})
    assert r.status_code == 401


def test_jwts_carry_the_credential_version(client, admin_user, db):
    import jwt

    r = client.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    claims = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
    with Session(db) as s:
        user = s.exec(select(User).where(User.username == "admin")).one()
    assert claims["cv"] == user.credential_version == 1


def test_posyandu_rename_and_deactivate(client, admin_headers, db, make_user):
    pid = add_posyandu(db, KELURAHAN, "Melati 1")
    add_posyandu(db, KELURAHAN, "Mawar")
    r = client.patch(f"/api/v1/posyandu/{pid}", json={"name": "Melati Satu"}, headers=admin_headers)
    assert r.status_code == 200 and r.json()["name"] == "Melati Satu"
    r = client.patch(f"/api/v1/posyandu/{pid}", json={"name": "Mawar"}, headers=admin_headers)
    assert r.status_code == 409 and r.json()["error"] == "posyandu.exists"
    r = client.patch(f"/api/v1/posyandu/{pid}", json={"name": "  "}, headers=admin_headers)
    assert r.status_code == 400 and r.json()["error"] == "posyandu.no_name"
    assert client.patch("/api/v1/posyandu/999999", json={"is_active": False},
                        headers=admin_headers).json()["error"] == "posyandu.not_found"
    r = client.patch(f"/api/v1/posyandu/{pid}", json={"is_active": False}, headers=admin_headers)
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert r.json()["name"] == "Melati Satu"

    r = client.post("/api/v1/users", json={"username": "kader-baru", "password": "password-123",
                                           "role": "kader", "scopes": [f"posyandu:{pid}"]},
                    headers=admin_headers)
    assert r.status_code == 409 and r.json()["error"] == "posyandu.inactive"


def test_a_supervisor_cannot_patch_a_posyandu_outside_their_scope(client, db, make_user):
    from tests.support import OTHER_KELURAHAN

    pid = add_posyandu(db, OTHER_KELURAHAN, "Jauh")
    make_user("spv", "supervisor", scopes=[KELURAHAN])
    headers = bearer(client, "spv", "password-123")
    r = client.patch(f"/api/v1/posyandu/{pid}", json={"is_active": False}, headers=headers)
    assert r.status_code == 404


def test_device_tokens_of_a_disabled_user_are_revoked_in_the_database(client, admin_headers,
                                                                      kader, db):
    _token(client, admin_headers)
    client.patch("/api/v1/users/kader-sri", json={"is_active": False}, headers=admin_headers)
    with Session(db) as s:
        assert all(t.revoked_at is not None for t in s.exec(select(AppToken)).all())


def test_no_device_token_is_issued_for_a_disabled_user(client, admin_headers, kader):
    client.patch("/api/v1/users/kader-sri", json={"is_active": False}, headers=admin_headers)
    r = client.post("/api/v1/users/kader-sri/app-tokens", json={}, headers=admin_headers)
    assert r.status_code == 403 and r.json()["error"] == "user.inactive"
