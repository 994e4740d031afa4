"""Who is signed in to the console, and the CSRF check of every form post."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.console import render
from api.console import session as cookies
from api.console.session import ConsoleSession
from api.deps import ReadSessionDep
from core.errors import Forbidden


def mark_console(request: Request) -> None:
    """Errors of these routes are rendered as pages (api.errors.render_error)."""
    request.scope["error_renderer"] = render.error_page


def current_session(request: Request, session: ReadSessionDep) -> ConsoleSession:
    console = cookies.current(request, session)
    request.state.console = console
    return console


ConsoleDep = Annotated[ConsoleSession, Depends(current_session)]


async def checked_post(request: Request, console: ConsoleDep) -> ConsoleSession:
    """A form post of a signed-in user: refused (403 console.csrf) unless it carries the
    session's CSRF token, before the handler does anything."""
    form = await request.form()
    cookies.check_csrf(console.csrf, form.get(cookies.CSRF_FIELD))
    request.state.form = form  # for handlers that read fields by computed names
    return console


PostDep = Annotated[ConsoleSession, Depends(checked_post)]


def need_role(console: ConsoleSession, *roles: str) -> None:
    """As api.deps.require_role: admin always passes."""
    role = console.principal.role
    if role != "admin" and role not in roles:
        raise Forbidden(f"This needs the role {' or '.join(roles)}; you are {role}.",
                        code="auth.role")


def pager(page: int, size: int, total: int) -> dict:
    pages = max(1, -(-total // size))
    return {"page": page, "pages": pages, "total": total,
            "prev": page - 1 if page > 1 else None, "next": page + 1 if page < pages else None}
