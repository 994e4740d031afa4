"""Passwords checked under the sign-in throttle (sync.throttle): the JSON token
endpoint and HTTP Basic on the OpenRosa routes.

A refused attempt must be counted although its request fails, so the count is
written in a short transaction of its own here, at the request boundary (the
request's own transaction, if any, is read-only or not begun yet: on SQLite a second
writer in the same thread would wait for itself).
"""

from __future__ import annotations

from fastapi import Request
from sqlmodel import Session

from core.errors import Unauthenticated
from models import User
from sync import accounts, throttle


def client_address(request: Request) -> str | None:
    """The caller's address as uvicorn gives it (behind a proxy: X-Forwarded-For, from
    the addresses uvicorn's --forwarded-allow-ips trusts)."""
    return request.client.host if request.client else None


def _write(request: Request, work) -> None:
    with Session(request.app.state.engine) as session:
        work(session)
        session.commit()


def verify_password(request: Request, session: Session, username: str, password: str,
                    *, basic: bool = False) -> User:
    """The account whose username and password these are, or the error to answer:
    429 while the account or the address is locked (before any argon2), 401 for a wrong
    pair (counted), 503 auth.busy when too many are being checked at once. `session`
    is the request's read-only transaction (or one not yet begun)."""
    if basic and (user := accounts.cached_basic(session, username, password)) is not None:
        return user
    address = client_address(request)
    counted = throttle.check_or_raise(session, username=username, address=address)
    try:
        user = accounts.authenticate_password(session, username, password)
    except Unauthenticated:
        _write(request, lambda s: throttle.record_failure(s, username=username, address=address))
        raise
    if counted:
        _write(request, lambda s: throttle.clear_account(s, username=username))
    if basic:
        accounts.remember_basic(user, username, password)
    return user
