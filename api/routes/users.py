"""User accounts and per-device app tokens (admin only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import AdminDep, ReadSessionDep, SessionDep
from api.pagination import Page, PageDep, RecordId
from api.urls import collect_server_url
from models.auth import ROLES
from sync import accounts
from sync.collect_settings import collect_settings, encode_settings, loopback_warning, qr_png

router = APIRouter(prefix="/api/v1", tags=["users"])


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=256)
    role: str = Field(description=f"One of {', '.join(ROLES)}")
    scopes: list[str] = Field(default_factory=list,
                              description='Wilayah codes ("33.75.01.1002") and/or "posyandu:<id>"')
    agency: str | None = Field(default=None, max_length=120)
    full_name: str | None = Field(default=None, max_length=120)


class UserOut(BaseModel):
    id: int
    username: str
    role: str
    agency: str | None
    full_name: str | None
    is_active: bool
    scopes: list[str]
    nik_full: bool = Field(description="true: this agency account sees full NIKs and KK "
                           "numbers (other roles always do)")


class UserUpdate(BaseModel):
    is_active: bool | None = Field(default=None, description="false: the user's sessions and "
                                   "device tokens stop working at once")
    full_name: str | None = Field(default=None, max_length=120)
    nik_full: bool | None = Field(default=None, description="agency accounts: true grants "
                                  "full NIKs and KK numbers (otherwise masked, "
                                  "3375********0001)")


class UserUpdated(UserOut):
    revoked_tokens: list[int] = Field(description="ids of the device tokens revoked")


class PasswordReset(BaseModel):
    password: str = Field(min_length=8, max_length=256)


class AppTokenCreate(BaseModel):
    label: str = Field(default="", max_length=120)


class AppTokenCreated(BaseModel):
    id: int
    token: str
    server_url: str
    warning: str | None = Field(default=None, description="set when phones cannot reach "
                                "server_url (a loopback address)")


class AppTokenOut(BaseModel):
    id: int
    label: str
    kind: str = Field(description="qr (from collect-qr), api or cli")
    created_at: datetime
    revoked_at: datetime | None


def _user_out(session, user) -> UserOut:
    scope = accounts.scope_of(session, user)
    return UserOut(id=user.id, username=user.username, role=user.role, agency=user.agency,
                   full_name=user.full_name, is_active=user.is_active,
                   nik_full=user.nik_full or user.role != "agency",
                   scopes=["*"] if scope.everything else scope.as_strings())


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserCreate, session: SessionDep, admin: AdminDep) -> UserOut:
    user = accounts.create_user(session, username=body.username, password=body.password,
                                role=body.role, scopes=body.scopes, agency=body.agency,
                                full_name=body.full_name, actor_id=admin.user_id)
    return _user_out(session, user)


@router.get("/users", response_model=Page[UserOut])
def list_users(session: ReadSessionDep, admin: AdminDep, page: PageDep) -> Page[UserOut]:
    users, total = accounts.list_users(session, limit=page.limit, offset=page.offset)
    return Page(items=[_user_out(session, u) for u in users], total=total, limit=page.limit,
                offset=page.offset)


@router.patch("/users/{username}", response_model=UserUpdated)
def update_user(username: str, body: UserUpdate, session: SessionDep,
                admin: AdminDep) -> UserUpdated:
    """Rename a user, switch the account off (or on again), or grant (revoke) an agency
    account full NIKs (`nik_full`)."""
    user = accounts.get_user_by_username_or_raise(session, username)
    revoked = accounts.update_user(session, user=user, actor_id=admin.user_id,
                                   is_active=body.is_active, full_name=body.full_name,
                                   nik_full=body.nik_full)
    return UserUpdated(**_user_out(session, user).model_dump(), revoked_tokens=revoked)


@router.post("/users/{username}/password", status_code=204)
def reset_password(username: str, body: PasswordReset, session: SessionDep,
                   admin: AdminDep) -> Response:
    """Set a user's password; the sessions they have end (device tokens stay)."""
    user = accounts.get_user_by_username_or_raise(session, username)
    accounts.reset_password(session, user=user, password=body.password, actor_id=admin.user_id)
    return Response(status_code=204)


@router.post("/users/{username}/app-tokens", response_model=AppTokenCreated, status_code=201)
def create_app_token(username: str, body: AppTokenCreate, request: Request, session: SessionDep,
                     admin: AdminDep) -> AppTokenCreated:
    """A device token for ODK Collect; the returned `server_url` goes into Collect."""
    user = accounts.get_user_by_username_or_raise(session, username)
    row, token = accounts.create_app_token(session, user=user, label=body.label,
                                           actor_id=admin.user_id)
    server_url = collect_server_url(request, token)
    return AppTokenCreated(id=row.id, token=token, server_url=server_url,
                           warning=loopback_warning(server_url))


@router.get("/users/{username}/app-tokens", response_model=list[AppTokenOut])
def list_app_tokens(username: str, session: ReadSessionDep, admin: AdminDep) -> list[AppTokenOut]:
    user = accounts.get_user_by_username_or_raise(session, username)
    return [AppTokenOut.model_validate(t, from_attributes=True)
            for t in accounts.list_app_tokens(session, user)]


@router.delete("/app-tokens/{token_id}", response_model=AppTokenOut)
def revoke_app_token(token_id: RecordId, session: SessionDep, admin: AdminDep) -> AppTokenOut:
    """Revoke a device token: the phone gets 403 from then on."""
    row = accounts.revoke_app_token(session, token_id=token_id, actor_id=admin.user_id)
    return AppTokenOut.model_validate(row, from_attributes=True)


class CollectQrRequest(BaseModel):
    label: str = Field(default="", max_length=120, description="which phone")
    project_name: str = Field(default="Posyandu", max_length=60)


WARNING_HEADER = "X-Posyandu-Warning"
REVOKED_HEADER = "X-Posyandu-Revoked-Tokens"


@router.post("/users/{username}/collect-qr",
             responses={200: {"content": {"image/png": {}, "application/json": {}},
                              "headers": {REVOKED_HEADER: {"description": "ids of the earlier QR "
                                                           "tokens revoked, comma-separated"},
                                          WARNING_HEADER: {"description": "set when phones "
                                                           "cannot reach the server URL"}}}})
def collect_qr(username: str, request: Request, session: SessionDep, admin: AdminDep,
               body: Annotated[CollectQrRequest | None, Body()] = None,
               format: Literal["png", "json"] = "png",
               keep_existing: Annotated[bool, Query(description="keep the user's earlier QR "
                                                    "tokens live")] = False) -> Response:
    """Set up a kader's phone: issues a new device token and returns the ODK Collect
    configuration QR code (PNG), or with `format=json` the settings and the QR payload.
    The body is optional. The user's earlier QR tokens are revoked unless
    `keep_existing=true` (tokens from /app-tokens or the CLI stay)."""
    body = body or CollectQrRequest()
    user = accounts.get_user_by_username_or_raise(session, username)
    _, token, revoked = accounts.issue_qr_token(session, user=user, label=body.label or "QR code",
                                                actor_id=admin.user_id,
                                                keep_existing=keep_existing)
    server_url = collect_server_url(request, token)
    settings = collect_settings(server_url=server_url, project_name=body.project_name,
                                kader_name=user.full_name or user.username)
    payload = encode_settings(settings)
    warning = loopback_warning(server_url)
    headers = {REVOKED_HEADER: ",".join(map(str, revoked))}
    if warning:
        headers[WARNING_HEADER] = quote(warning, safe=" /:=<>()[].,;'-")
    if format == "json":
        return JSONResponse({"settings": settings, "qr_payload": payload,
                             "revoked_tokens": revoked, "warning": warning}, headers=headers)
    headers["Content-Disposition"] = f'inline; filename="collect-{username}.png"'
    return Response(qr_png(payload), media_type="image/png", headers=headers)
