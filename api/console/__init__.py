"""The web console for supervisors, admins and agency analysts: server-rendered pages
(Jinja2, no script needed) over the same sync/ functions and scopes as the JSON API,
every asset served by the service itself, under a 'self'-only Content-Security-Policy.
Bahasa Indonesia by default, English selectable. See docs/console.md."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from api.console import admin, auth, cases, duplicates, home, registry, review
from api.console.deps import mark_console

STATIC_URL = "/admin/static"


def install_console(app: FastAPI) -> None:
    app.mount(STATIC_URL, StaticFiles(directory=str(Path(__file__).parent / "static")),
              name="console-static")
    router = APIRouter(include_in_schema=False, dependencies=[Depends(mark_console)])
    for module in (auth, home, registry, review, duplicates, cases, admin):
        router.include_router(module.router)
    app.include_router(router)
