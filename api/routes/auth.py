"""`POST /api/v1/auth/token`: OAuth2 password flow."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field
from sqlmodel import Session

from api import login_guard
from api.deps import PrincipalDep, SessionDep
from api.errors import ErrorBody
from core.config import get_settings
from core.errors import InvalidInput, Unauthenticated
from sync import accounts

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=256)
    new_password: str = Field(min_length=8, max_length=256)


class MeOut(BaseModel):
    id: int
    username: str
    role: str
    agency: str | None
    scopes: list[str]


@router.post("/token", response_model=TokenOut,
             responses={429: {"model": ErrorBody, "description": "Too many failed sign-ins "
                              "for this account or address (auth.locked, auth.address_locked); "
                              "Retry-After says when to try again"}})
def login(request: Request, session: SessionDep,
          form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenOut:
    """Exchange a username and password for a bearer token. Failed attempts are counted
    per account and per address; too many lock sign-in for a while (429)."""
    with Session(request.app.state.read_engine, expire_on_commit=False) as checking:
        user = login_guard.verify_password(request, checking, form.username, form.password)
        checking.commit()
    return _token(session, user)


def _token(session, user) -> TokenOut:
    return TokenOut(access_token=accounts.issue_access_token(session, user),
                    expires_in=get_settings().access_token_minutes * 60)


@router.get("/me", response_model=MeOut)
def me(principal: PrincipalDep) -> MeOut:
    """Who the token belongs to, and what they may see."""
    return MeOut(id=principal.user_id, username=principal.username, role=principal.role,
                 agency=principal.agency, scopes=principal.scope.as_strings()
                 if not principal.scope.everything else ["*"])


@router.put("/me/password", response_model=TokenOut)
def change_password(body: PasswordChange, request: Request, session: SessionDep,
                    principal: PrincipalDep) -> TokenOut:
    """Change your own password. Your other sessions end; the answer is a new token.
    A wrong current password counts as a failed sign-in (and may lock the account)."""
    with Session(request.app.state.read_engine) as checking:
        try:
            login_guard.verify_password(request, checking, principal.username,
                                        body.current_password)
        except Unauthenticated as exc:
            raise InvalidInput("The current password is wrong.",
                               code="auth.bad_current_password") from exc
        checking.commit()
    user = accounts.get_user_by_id_or_raise(session, principal.user_id)
    accounts.change_own_password(session, user=user, current_password=body.current_password,
                                 new_password=body.new_password)
    return _token(session, user)
