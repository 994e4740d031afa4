"""Sign in, sign out, change your own password, choose the language."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request

from api.console import i18n, render
from api.console import session as cookies
from api.console.deps import ConsoleDep, PostDep
from api.deps import SessionDep
from core import problems
from core.errors import AppError
from sync import accounts

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only a console path (no other host, no scheme) is a place to go after sign-in."""
    if target and target.startswith("/admin") and "//" not in target and "\\" not in target:
        return target
    return "/admin"


@router.get("/admin/login")
def login_page(request: Request, next: str | None = None, reason: str | None = None):
    notice = None
    if reason == "signed_out":
        notice = "login.signed_out"
    error = None
    if reason and reason in problems.CATALOGUE and reason != "auth.missing":
        error = (problems.pesan(reason) if render.language(request) == "id"
                 else problems.CATALOGUE[reason].meaning)
    return render.page(request, "login.html", next=_safe_next(next), notice=notice, error=error,
                       login_csrf=cookies.login_csrf(request), username="")


@router.post("/admin/login")
def login(request: Request, session: SessionDep, username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=256)],
          csrf_token: Annotated[str, Form(max_length=100)] = "",
          next: Annotated[str, Form(max_length=500)] = "/admin"):
    cookies.check_csrf(request.cookies.get(cookies.LOGIN_CSRF_COOKIE), csrf_token)
    try:
        user = accounts.authenticate_password(session, username, password)
    except AppError as exc:
        lang = render.language(request)
        return render.page(request, "login.html", status_code=exc.status_code,
                           next=_safe_next(next), notice=None,
                           error=exc.pesan if lang == "id" else exc.message,
                           login_csrf=cookies.login_csrf(request), username=username)
    cookies.open_session(request, session, user)
    accounts.record_audit(session, actor_id=user.id, action="console.sign_in",
                          entity_type="user", entity_id=str(user.id), detail={})
    return render.redirect(request, _safe_next(next))


@router.post("/admin/logout")
def logout(request: Request, console: PostDep, session: SessionDep):
    accounts.record_audit(session, actor_id=console.principal.user_id, action="console.sign_out",
                          entity_type="user", entity_id=str(console.principal.user_id), detail={})
    cookies.close(request)
    return render.redirect(request, "/admin/login?reason=signed_out")


@router.get("/admin/password")
def password_page(request: Request, console: ConsoleDep):
    return render.page(request, "password.html", error=None, done=False)


@router.post("/admin/password")
def change_password(request: Request, console: PostDep, session: SessionDep,
                    current_password: Annotated[str, Form(max_length=256)],
                    new_password: Annotated[str, Form(max_length=256)],
                    repeat_password: Annotated[str, Form(max_length=256)]):
    lang = render.language(request)
    if new_password != repeat_password:
        return render.page(request, "password.html", status_code=400,
                           error=i18n.translate("password.mismatch", lang), done=False)
    user = accounts.get_user_by_id_or_raise(session, console.principal.user_id)
    try:
        accounts.change_own_password(session, user=user, current_password=current_password,
                                     new_password=new_password)
    except AppError as exc:
        return render.page(request, "password.html", status_code=exc.status_code,
                           error=exc.pesan if lang == "id" else exc.message, done=False)
    # This session goes on with a token of the new credential version; the others end.
    request.state.console.csrf = cookies.open_session(request, session, user)
    return render.page(request, "password.html", error=None, done=True)


@router.get("/admin/lang/{code}")
def choose_language(request: Request, code: str, next: str | None = None):
    response = render.redirect(request, _safe_next(next))
    if code in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, code, max_age=365 * 86400, path="/admin",
                            samesite="lax", secure=cookies.is_https(request), httponly=True)
    return response


def login_url(next_path: str) -> str:
    return "/admin/login?next=" + quote(next_path)
