"""Pages: Jinja2 templates, the console's headers (a 'self'-only Content-Security-
Policy: no inline script, no inline style, nothing from another host), and errors as
pages (401: back to the sign-in page)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.console import i18n, session
from core import problems

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY,
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
           "X-Frame-Options": "DENY", "Cache-Control": "no-store"}

_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True)


def language(request: Request) -> str:
    return i18n.language_of(request.cookies.get(i18n.COOKIE))


def page(request: Request, template: str, status_code: int = 200, **context) -> Response:
    lang = language(request)
    console = getattr(request.state, "console", None)

    def t(key: str) -> str:
        return i18n.translate(key, lang)

    html = _env.get_template(template).render(
        t=t, lang=lang, me=console, request=request, path=request.url.path,
        csrf=console.csrf if console else "", **context)
    return session.finish(request, HTMLResponse(html, status_code=status_code, headers=HEADERS))


def redirect(request: Request, url: str) -> Response:
    return session.finish(request, RedirectResponse(url, status_code=303, headers=HEADERS))


def error_page(request: Request, status_code: int, code: str, message: str) -> Response:
    """An error raised while serving a console page, as a page."""
    if status_code == 401:
        request.state.console_cookie = ""  # whatever the cookie held is over
        target = "/admin/login?reason=" + quote(code)
        if request.method == "GET":
            target += "&next=" + quote(request.url.path + (f"?{request.url.query}"
                                                           if request.url.query else ""))
        return redirect(request, target)
    lang = language(request)
    text = problems.pesan(code) if lang == "id" else (message or problems.CATALOGUE.get(code, ("", "", ""))[1])
    return page(request, "error.html", status_code=status_code, code=code,
                message=text or message)
