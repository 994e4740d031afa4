"""Logging a read of personal data from an HTTP endpoint, in one line:

    access.log_read(request, principal, resource="measurements",
                    persons=[r["person_id"] for r in rows])

It writes the access-log row (sync.access) in a short transaction of its own, before
the answer is sent: a read that cannot be logged is not served (the error reaches the
caller). The request's own transaction is read-only, which on SQLite must not write
(and a second writer in the same thread would wait for itself), hence the separate
one. Call it from a worker thread (a `def` endpoint), or through
`await log_read_async(...)` from an `async def` one.
"""

from __future__ import annotations

from fastapi import Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.login_guard import client_address
from sync import access
from sync.accounts import Principal

_SECRET_PARAMS = {"token", "access_token", "password", "secret"}


def origin_of(request: Request) -> access.Origin:
    return access.Origin(address=client_address(request),
                         user_agent=request.headers.get("user-agent"))


def log_read(request: Request, principal: Principal, *, resource: str, action: str = "list",
             persons=(), households=(), rows: int | None = None,
             subject: tuple[str, str] | None = None) -> None:
    query = {k: v for k, v in request.query_params.items() if k not in _SECRET_PARAMS}
    with Session(request.app.state.engine) as session:
        access.record_read(session, principal=principal, resource=resource, action=action,
                           origin=origin_of(request), persons=persons, households=households,
                           rows=rows, subject=subject, query=query)
        session.commit()


async def log_read_async(request: Request, principal: Principal, **what) -> None:
    await run_in_threadpool(lambda: log_read(request, principal, **what))
