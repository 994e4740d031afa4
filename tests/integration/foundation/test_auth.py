"""Tokens, roles and scopes over HTTP."""

from __future__ import annotations

import jwt
import pytest

from tests.support import ADMIN_PASSWORD, KELURAHAN, OTHER_KELURAHAN, bearer


def test_health_checks_need_no_auth(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ready"


def test_readyz_is_503_when_migrations_are_not_at_head(tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from core.db import make_engine

    eng = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with TestClient(create_app(eng)) as c:
        r = c.get("/readyz")
    eng.dispose()
    assert r.status_code == 503
    assert "posyandu-sync migrate" in r.json()["detail"]


def test_password_login_returns_a_bearer_token_with_expiry(client, admin_user):
    r = client.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] > claims["iat"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == "admin"


def test_wrong_password_is_401_with_a_clear_message(client, admin_user):
    r = client.post("/api/v1/auth/token", data={"username": "admin", "password": "nope-nope"})
    assert r.status_code == 401
    assert r.json() == {"error": "auth.bad_credentials", "detail": "Wrong username or password."}


@pytest.mark.parametrize("path", ["/api/v1/users", "/api/v1/posyandu", "/api/v1/wilayah"])
def test_every_api_endpoint_needs_a_token(client, path):
    r = client.get(path)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"


def test_tampered_token_is_401(client, admin_headers):
    token = admin_headers["Authorization"].split()[1]
    r = client.get("/api/v1/users", headers={"Authorization": f"Bearer {token[:-2]}xx"})
    assert r.status_code == 401


def test_kader_cannot_manage_users(client, make_user, admin_user):
    make_user("kader1", "kader", scopes=[KELURAHAN])
    headers = bearer(client, "kader1", "password-123")
    r = client.post("/api/v1/users", headers=headers,
                    json={"username": "x", "password": "password-x", "role": "admin"})
    assert r.status_code == 403
    assert r.json()["error"] == "auth.role"


def test_admin_creates_users_and_rejects_duplicates_and_bad_scopes(client, admin_headers):
    body = {"username": "sri", "password": "password-sri", "role": "kader", "scopes": [KELURAHAN]}
    r = client.post("/api/v1/users", headers=admin_headers, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["scopes"] == [KELURAHAN]
    assert client.post("/api/v1/users", headers=admin_headers, json=body).status_code == 409
    bad = dict(body, username="sri2", scopes=["99.99"])
    r = client.post("/api/v1/users", headers=admin_headers, json=bad)
    assert r.status_code == 400 and "Unknown wilayah" in r.json()["detail"]
    noscope = dict(body, username="sri3", scopes=[])
    assert client.post("/api/v1/users", headers=admin_headers, json=noscope).status_code == 400


def test_posyandu_listing_is_filtered_by_scope_in_the_query(client, admin_headers, make_user):
    for kel, name in [(KELURAHAN, "Melati 1"), (KELURAHAN, "Melati 2"), (OTHER_KELURAHAN, "Mawar")]:
        r = client.post("/api/v1/posyandu", headers=admin_headers,
                        json={"kelurahan_code": kel, "name": name})
        assert r.status_code == 201, r.text
    make_user("sup", "supervisor", scopes=["33.75.01"])  # kecamatan Pekalongan Barat
    headers = bearer(client, "sup", "password-123")
    r = client.get("/api/v1/posyandu", headers=headers)
    assert r.status_code == 200
    assert sorted(p["name"] for p in r.json()["items"]) == ["Melati 1", "Melati 2"]
    assert r.json()["total"] == 2
    # and a supervisor cannot create one outside the scope
    r = client.post("/api/v1/posyandu", headers=headers,
                    json={"kelurahan_code": OTHER_KELURAHAN, "name": "Anggrek"})
    assert r.status_code == 403


def test_posyandu_pagination(client, admin_headers):
    for i in range(5):
        client.post("/api/v1/posyandu", headers=admin_headers,
                    json={"kelurahan_code": KELURAHAN, "name": f"P{i}"})
    r = client.get("/api/v1/posyandu?limit=2&offset=2", headers=admin_headers).json()
    assert [p["name"] for p in r["items"]] == ["P2", "P3"]
    assert r["total"] == 5


def test_invalid_body_is_422_with_the_field_named(client, admin_headers):
    r = client.post("/api/v1/posyandu", headers=admin_headers,
                    json={"kelurahan_code": "33.75", "name": "X"})
    assert r.status_code == 422
    assert "kelurahan_code" in r.json()["detail"]


def test_app_token_issue_and_revoke(client, admin_headers, make_user):
    make_user("kader2", "kader", scopes=[KELURAHAN])
    r = client.post("/api/v1/users/kader2/app-tokens", headers=admin_headers, json={"label": "HP 1"})
    assert r.status_code == 201
    body = r.json()
    assert body["server_url"] == f"http://testserver/key/{body['token']}"
    listed = client.get("/api/v1/users/kader2/app-tokens", headers=admin_headers).json()
    assert listed[0]["revoked_at"] is None
    r = client.delete(f"/api/v1/app-tokens/{body['id']}", headers=admin_headers)
    assert r.status_code == 200 and r.json()["revoked_at"] is not None


def test_timestamps_read_back_as_the_same_utc_instant(client, admin_headers):
    created = client.post("/api/v1/posyandu", headers=admin_headers,
                          json={"kelurahan_code": KELURAHAN, "name": "Dahlia"}).json()
    listed = client.get("/api/v1/posyandu", headers=admin_headers).json()["items"][0]
    assert listed["created_at"] == created["created_at"]
    assert listed["created_at"].endswith(("Z", "+00:00"))


def test_every_response_has_one_date_header_and_a_request_id(client):
    r = client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert r.headers.get_list("date") and len(r.headers.get_list("date")) == 1
    assert r.headers["X-Request-ID"] == "abc123"


@pytest.mark.parametrize("path", ["/api/v1/submissions/3000000000",
                                  "/api/v1/submissions/99999999999999999999999",
                                  "/api/v1/submissions?offset=99999999999999999999"])
def test_ids_and_offsets_beyond_an_integer_column_are_422(client, admin_headers, path):
    assert client.get(path, headers=admin_headers).status_code == 422


@pytest.mark.parametrize("change, status", [
    ({"username": "e\nf"}, 400), ({"username": "ĀĀ"}, 400), ({"username": "a:b"}, 400),
    ({"username": "c/d"}, 400), ({"full_name": "x" * 121}, 422), ({"agency": "x" * 121}, 422),
    ({"scopes": ["posyandu:99999999999999999999999"]}, 400),
])
def test_user_fields_that_would_break_urls_headers_or_columns_are_refused(
        client, admin_headers, change, status):
    body = {"username": "sri", "password": "password-sri", "role": "kader",
            "scopes": [KELURAHAN], **change}
    r = client.post("/api/v1/users", headers=admin_headers, json=body)
    assert r.status_code == status, r.text
    assert client.get("/api/v1/users", headers=admin_headers).json()["total"] == 1  # the admin


def test_a_nul_character_in_a_login_is_a_4xx_not_a_server_error(client, admin_user):
    r = client.post("/api/v1/auth/token", data={"username": "admin\x00", "password": "x" * 8})
    assert r.status_code in (400, 401), r.text


@pytest.mark.parametrize("path", ["/api/v1/submissions?status=bogus", "/api/v1/wilayah?level=bogus"])
def test_an_unknown_filter_value_is_422_not_an_empty_page(client, admin_headers, path):
    r = client.get(path, headers=admin_headers)
    assert r.status_code == 422 and "Input should be" in r.json()["detail"]


def test_a_scope_given_twice_is_kept_once(client, admin_headers):
    body = {"username": "sri", "password": "password-sri", "role": "kader",
            "scopes": [KELURAHAN, KELURAHAN, " " + KELURAHAN]}
    r = client.post("/api/v1/users", headers=admin_headers, json=body)
    assert r.status_code == 201 and r.json()["scopes"] == [KELURAHAN]
