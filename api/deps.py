"""Request-scoped dependencies: the one transaction per request, and who is calling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from core.errors import Forbidden, Unauthenticated
from sync import accounts
from sync.accounts import Principal

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def _transaction(request: Request, *, read_only: bool = False) -> Iterator[Session]:
    """The request's one transaction: commit on success, roll back on error."""
    engine = request.app.state.read_engine if read_only else request.app.state.engine
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request. It commits when the handler returns, before the
    response is sent (scope="function"), so a 201 always means the data is on disk."""
    yield from _transaction(request)


def get_read_session(request: Request) -> Iterator[Session]:
    """A transaction for handlers that only read (phones' form and list downloads)."""
    yield from _transaction(request, read_only=True)


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]


def get_principal(session: ReadSessionDep,
                  token: Annotated[str | None, Depends(oauth2_scheme)]) -> Principal:
    """Who is calling (read-only: on SQLite it never waits for, or holds, the writer)."""
    if not token:
        raise Unauthenticated("Sign in first: send 'Authorization: Bearer <token>' from "
                              "POST /api/v1/auth/token.", code="auth.missing")
    user = accounts.user_from_access_token(session, token)
    return accounts.principal_for(session, user)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_role(*roles: str):
    """Dependency factory: the caller must have one of `roles` (admin always passes)."""

    def check(principal: PrincipalDep) -> Principal:
        if principal.role != "admin" and principal.role not in roles:
            raise Forbidden(
                f"This needs the role {' or '.join(roles)}; you are {principal.role}.",
                code="auth.role",
            )
        return principal

    return check


AdminDep = Annotated[Principal, Depends(require_role("admin"))]
SupervisorDep = Annotated[Principal, Depends(require_role("supervisor"))]
