"""Users and phones (admins): create and deactivate users with their scopes, issue and
revoke device tokens, show a kader's ODK Collect QR code to scan or print. Over
sync.accounts and sync.collect_settings, as /api/v1/users."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Form, Request

from api.console import render
from api.console.deps import ConsoleDep, PostDep, need_role, pager
from api.deps import ReadSessionDep, SessionDep
from api.pagination import RecordId
from api.urls import collect_server_url
from core.errors import AppError
from indicators.caseload import PROGRAMS
from models.auth import ROLES
from sync import accounts, interventions
from sync.collect_settings import collect_settings, encode_settings, loopback_warning, qr_png

router = APIRouter()
PAGE = 100


def _scopes_of(session, users) -> dict[int, list[str]]:
    out = {}
    for user in users:
        scope = accounts.scope_of(session, user)
        out[user.id] = ["*"] if scope.everything else scope.as_strings()
    return out


def _users_page(request, session, *, page: int = 1, error: str | None = None,
                status_code: int = 200, form: dict | None = None):
    users, total = accounts.list_users(session, limit=PAGE, offset=(page - 1) * PAGE)
    return render.page(request, "users.html", status_code=status_code, users=users,
                       scopes=_scopes_of(session, users), roles=ROLES, error=error,
                       form=form or {}, pages=pager(page, PAGE, total))


def _message(request, exc: AppError) -> str:
    return exc.pesan if render.language(request) == "id" else exc.message


@router.get("/admin/users")
def users(request: Request, console: ConsoleDep, session: ReadSessionDep, page: int = 1):
    need_role(console, "admin")
    return _users_page(request, session, page=max(1, page))


@router.post("/admin/users")
def create_user(request: Request, console: PostDep, session: SessionDep,
                username: Annotated[str, Form(max_length=64)],
                password: Annotated[str, Form(max_length=256)],
                role: Annotated[str, Form(max_length=16)],
                scopes: Annotated[str, Form(max_length=2000)] = "",
                agency: Annotated[str, Form(max_length=120)] = "",
                full_name: Annotated[str, Form(max_length=120)] = ""):
    need_role(console, "admin")
    try:
        accounts.create_user(session, username=username, password=password, role=role,
                             scopes=[s.strip() for s in scopes.split(",") if s.strip()],
                             agency=agency.strip() or None, full_name=full_name.strip() or None,
                             actor_id=console.principal.user_id)
    except AppError as exc:
        session.rollback()
        return _users_page(request, session, error=_message(request, exc),
                           status_code=exc.status_code,
                           form={"username": username, "role": role, "scopes": scopes,
                                 "agency": agency, "full_name": full_name})
    return render.redirect(request, f"/admin/users/{username.strip()}")


def _user_page(request, session, username: str, *, qr: dict | None = None,
               error: str | None = None, status_code: int = 200):
    user = accounts.get_user_by_username_or_raise(session, username)
    scope = accounts.scope_of(session, user)
    granted = (interventions.programs_of(session, accounts.principal_for(session, user))
               if user.role == "agency" else None)
    return render.page(request, "user.html", status_code=status_code, u=user,
                       scopes=["*"] if scope.everything else scope.as_strings(),
                       tokens=accounts.list_app_tokens(session, user), qr=qr, error=error,
                       programs=PROGRAMS, granted=granted)


@router.get("/admin/users/{username}")
def user(request: Request, username: str, console: ConsoleDep, session: ReadSessionDep):
    need_role(console, "admin")
    return _user_page(request, session, username)


@router.post("/admin/users/{username}/active")
def set_active(request: Request, username: str, console: PostDep, session: SessionDep,
               active: Annotated[str, Form(pattern="^[01]$")]):
    need_role(console, "admin")
    user = accounts.get_user_by_username_or_raise(session, username)
    try:
        accounts.update_user(session, user=user, actor_id=console.principal.user_id,
                             is_active=active == "1")
    except AppError as exc:
        session.rollback()
        return _user_page(request, session, username, error=_message(request, exc),
                          status_code=exc.status_code)
    return render.redirect(request, f"/admin/users/{username}")


@router.post("/admin/users/{username}/collect-qr")
def collect_qr(request: Request, username: str, console: PostDep, session: SessionDep,
               label: Annotated[str, Form(max_length=120)] = ""):
    """As POST /api/v1/users/{username}/collect-qr: a new QR token (the user's earlier QR
    tokens revoked), shown as a QR code on the page (a data: image, so nothing of it is
    stored or cached anywhere but on this page)."""
    need_role(console, "admin")
    user = accounts.get_user_by_username_or_raise(session, username)
    try:
        _, token, revoked = accounts.issue_qr_token(session, user=user, label=label or "QR code",
                                                    actor_id=console.principal.user_id)
    except AppError as exc:
        session.rollback()
        return _user_page(request, session, username, error=_message(request, exc),
                          status_code=exc.status_code)
    server_url = collect_server_url(request, token)
    settings = collect_settings(server_url=server_url, project_name="Posyandu",
                                kader_name=user.full_name or user.username)
    png = qr_png(encode_settings(settings))
    qr = {"image": "data:image/png;base64," + base64.b64encode(png).decode(),
          "server_url": server_url, "warning": loopback_warning(server_url), "revoked": revoked}
    return _user_page(request, session, username, qr=qr)


@router.post("/admin/users/{username}/programs")
def grant_programs(request: Request, username: str, console: PostDep, session: SessionDep):
    """The programmes whose case lists an agency account may read and act on (as PUT
    /api/v1/users/{username}/programs; audited)."""
    need_role(console, "admin")
    user = accounts.get_user_by_username_or_raise(session, username)
    try:
        interventions.grant_programs(session, user=user,
                                     programs=[str(p) for p in request.state.form.getlist("program")],
                                     actor_id=console.principal.user_id)
    except AppError as exc:
        session.rollback()
        return _user_page(request, session, username, error=_message(request, exc),
                          status_code=exc.status_code)
    return render.redirect(request, f"/admin/users/{username}")


@router.post("/admin/app-tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: RecordId, console: PostDep, session: SessionDep):
    need_role(console, "admin")
    row = accounts.revoke_app_token(session, token_id=token_id,
                                    actor_id=console.principal.user_id)
    owner = accounts.get_user_by_id_or_raise(session, row.user_id)
    return render.redirect(request, f"/admin/users/{owner.username}")
