"""Signing in to the console: the session cookie's attributes, CSRF on every form post,
the idle timeout, sign-out, changing one's own password, and the language."""

from __future__ import annotations

from sqlmodel import Session, select

from api.console import session as console_session
from api.console.render import CONTENT_SECURITY_POLICY
from models import AuditLog
from tests.integration.console.conftest import csrf_of, sign_in


def test_sign_in_sets_an_httponly_samesite_session_cookie_and_the_page_a_strict_csp(
        client, make_user):
    make_user("spv", "supervisor", ["33.75.01.1002"])
    page = client.get("/admin/login")
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    answer = client.post("/admin/login", data={"username": "spv", "password": "password-123",
                                               "csrf_token": csrf_of(page.text)},
                         follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/admin"
    cookie = next(c for c in answer.headers.get_list("set-cookie")
                  if c.startswith(console_session.COOKIE + "="))
    attributes = cookie.lower()
    assert "httponly" in attributes and "samesite=lax" in attributes and "path=/admin" in attributes
    assert "secure" not in attributes  # plain http: a Secure cookie would never come back
    home = client.get("/admin")
    assert home.status_code == 200 and "Beranda" in home.text
    assert "script" not in home.text.lower().replace("noscript", "")


def test_over_https_the_session_cookie_is_secure(app, make_user):
    from fastapi.testclient import TestClient

    make_user("spv", "supervisor", ["33.75.01.1002"])
    with TestClient(app, base_url="https://testserver") as client:
        page = client.get("/admin/login")
        answer = client.post("/admin/login", data={"username": "spv", "password": "password-123",
                                                   "csrf_token": csrf_of(page.text)},
                             follow_redirects=False)
        cookie = next(c for c in answer.headers.get_list("set-cookie")
                      if c.startswith(console_session.COOKIE + "="))
        assert "secure" in cookie.lower()


def test_a_page_without_a_session_goes_to_the_sign_in_page(client):
    answer = client.get("/admin/registry?q=siti", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/admin/login?reason=auth.missing&next=")


def test_wrong_password_is_refused_on_the_page(client, make_user):
    make_user("spv", "supervisor", ["33.75.01.1002"])
    page = client.get("/admin/login")
    answer = client.post("/admin/login", data={"username": "spv", "password": "wrong-one",
                                               "csrf_token": csrf_of(page.text)})
    assert answer.status_code == 401
    assert "Nama pengguna atau kata sandi salah" in answer.text


def test_sign_in_without_the_csrf_token_is_refused(client, make_user):
    make_user("spv", "supervisor", ["33.75.01.1002"])
    client.get("/admin/login")
    answer = client.post("/admin/login", data={"username": "spv", "password": "password-123"},
                         follow_redirects=False)
    assert answer.status_code == 403
    assert console_session.COOKIE not in answer.cookies


def test_a_form_post_without_the_csrf_token_is_refused_and_changes_nothing(client, make_user, db):
    make_user("spv", "supervisor", ["33.75.01.1002"])
    csrf = sign_in(client, "spv")
    for data in ({}, {"csrf_token": "forged"}):
        answer = client.post("/admin/password", data={
            **data, "current_password": "password-123", "new_password": "another-password",
            "repeat_password": "another-password"})
        assert answer.status_code == 403
        assert "Token keamanan formulir" in answer.text
    # The password did not change: the old one still signs in, and the CSRF token works.
    answer = client.post("/admin/password", data={
        "csrf_token": csrf, "current_password": "password-123",
        "new_password": "another-password", "repeat_password": "another-password"})
    assert answer.status_code == 200 and "Kata sandi sudah diganti" in answer.text


def test_changing_the_password_ends_other_sessions_and_keeps_this_one(client, console_client,
                                                                       make_user, db):
    make_user("spv", "supervisor", ["33.75.01.1002"])
    csrf = sign_in(client, "spv")
    sign_in(console_client, "spv")
    answer = client.post("/admin/password", data={
        "csrf_token": csrf, "current_password": "password-123",
        "new_password": "another-password", "repeat_password": "another-password"})
    assert answer.status_code == 200
    assert client.get("/admin", follow_redirects=False).status_code == 200
    other = console_client.get("/admin", follow_redirects=False)
    assert other.status_code == 303 and "reason=auth.revoked" in other.headers["location"]
    sign_in(console_client, "spv", "another-password")
    with Session(db) as s:
        actions = s.exec(select(AuditLog.action)).all()
    assert "user.password_change" in actions and "console.sign_in" in actions


def test_an_idle_session_ends(client, make_user, monkeypatch):
    import time

    make_user("spv", "supervisor", ["33.75.01.1002"])
    sign_in(client, "spv")
    now = time.time()
    # The server's clock moves on; the browser still sends the cookie (its own expiry is
    # the browser's business: the server must not depend on it).
    monkeypatch.setattr(console_session, "_now", lambda: int(now) + 29 * 60)
    assert client.get("/admin", follow_redirects=False).status_code == 200  # renews it
    monkeypatch.setattr(console_session, "_now", lambda: int(now) + 29 * 60 + 31 * 60)
    answer = client.get("/admin", follow_redirects=False)
    assert answer.status_code == 303 and "reason=console.idle" in answer.headers["location"]
    page = client.get(answer.headers["location"])
    assert "lama tidak dipakai" in page.text


def test_sign_out_ends_the_session(client, make_user):
    make_user("spv", "supervisor", ["33.75.01.1002"])
    csrf = sign_in(client, "spv")
    answer = client.post("/admin/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code == 303
    assert client.get("/admin", follow_redirects=False).status_code == 303


def test_english_is_chosen_and_remembered(client, make_user):
    make_user("spv", "supervisor", ["33.75.01.1002"])
    sign_in(client, "spv")
    client.get("/admin/lang/en?next=/admin")
    assert "Home" in client.get("/admin").text
    client.get("/admin/lang/id?next=https://evil.example/")  # never sent elsewhere
    assert "Beranda" in client.get("/admin").text
    assert client.get("/admin/lang/en?next=//evil.example", follow_redirects=False
                      ).headers["location"] == "/admin"
