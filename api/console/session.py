"""The console's sign-in session: a cookie that carries the user's access token (the
JWT the JSON API issues, checked by sync.accounts.user_from_access_token, so a password
change or a disabled account ends it at once), the session's CSRF token and when it was
last used, signed with a key derived from the server's JWT secret.

The cookie is HttpOnly, SameSite=Lax, and Secure when the page was served over https.
A session unused for `console_idle_minutes` is over (checked on the server: the time
of last use is inside the signed cookie, renewed on every page); the access token is
renewed when half its lifetime has passed, so a session in use does not expire under
the user.

Every form post carries the session's CSRF token (a hidden field); the sign-in form,
before there is a session, uses a double-submit cookie instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from fastapi import Request, Response
from sqlmodel import Session

from core.config import get_settings
from core.errors import Forbidden, Unauthenticated
from sync import accounts
from sync.accounts import Principal

COOKIE = "posyandu_console"
LOGIN_CSRF_COOKIE = "posyandu_console_login"
CSRF_FIELD = "csrf_token"
PATH = "/admin"


def _now() -> int:
    return int(time.time())


@dataclass
class ConsoleSession:
    principal: Principal
    full_name: str | None
    csrf: str
    token: str
    issued: int


def _key(session: Session) -> bytes:
    return hashlib.sha256(b"posyandu-console\0" + accounts.jwt_secret(session).encode()).digest()


def _sign(key: bytes, payload: dict) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
    mac = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def _unsign(key: bytes, value: str) -> dict | None:
    body, _, mac = value.rpartition(".")
    if not body or not hmac.compare_digest(
            hmac.new(key, body.encode(), hashlib.sha256).hexdigest(), mac):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def _set(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path=PATH, httponly=True,
                        secure=is_https(request), samesite="lax")


def open_session(request: Request, session: Session, user) -> str:
    """After a good password: a new session (its cookie set by `finish`); returns its
    CSRF token."""
    now = _now()
    payload = {"tok": accounts.issue_access_token(session, user), "csrf": secrets.token_urlsafe(24),
               "seen": now, "iat": now}
    request.state.console_cookie = _sign(_key(session), payload)
    return payload["csrf"]


def current(request: Request, session: Session) -> ConsoleSession:
    """The signed-in user, or Unauthenticated (no cookie, bad cookie, idle, token ended)."""
    value = request.cookies.get(COOKIE)
    if not value:
        raise Unauthenticated("Sign in first.", code="auth.missing")
    key = _key(session)
    payload = _unsign(key, value)
    if payload is None or not isinstance(payload.get("tok"), str):
        raise Unauthenticated("The session cookie is not valid.", code="console.bad_session")
    now = _now()
    settings = get_settings()
    if now - int(payload.get("seen", 0)) > settings.console_idle_minutes * 60:
        raise Unauthenticated("The session ended after a time without activity.",
                              code="console.idle")
    user = accounts.user_from_access_token(session, payload["tok"])
    if now - int(payload.get("iat", 0)) > settings.access_token_minutes * 30:
        payload.update(tok=accounts.issue_access_token(session, user), iat=now)
    payload["seen"] = now
    request.state.console_cookie = _sign(key, payload)
    return ConsoleSession(accounts.principal_for(session, user), user.full_name,
                          payload["csrf"], payload["tok"], payload["iat"])


def finish(request: Request, response: Response) -> Response:
    """Set (renew) or clear the cookies this request decided on."""
    cookie = getattr(request.state, "console_cookie", None)
    if cookie == "":
        response.delete_cookie(COOKIE, path=PATH, httponly=True, secure=is_https(request),
                               samesite="lax")
    elif cookie:
        _set(request, response, COOKIE, cookie, max_age=get_settings().console_idle_minutes * 60)
    login_csrf = getattr(request.state, "login_csrf", None)
    if login_csrf:
        _set(request, response, LOGIN_CSRF_COOKIE, login_csrf, max_age=3600)
    return response


def close(request: Request) -> None:
    request.state.console_cookie = ""


def login_csrf(request: Request) -> str:
    """The sign-in form's CSRF token (double submit: the same value in a cookie)."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    request.state.login_csrf = token
    return token


def check_csrf(expected: str | None, sent: str | None) -> None:
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise Forbidden("The form's security token is missing or does not match this session.",
                        code="console.csrf")
