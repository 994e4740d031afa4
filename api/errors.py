"""Error rendering in one place: JSON for the API, OpenRosaResponse XML for OpenRosa."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import openrosa_wire as wire
from core import problems
from core.db import outage
from core.errors import AppError, InvalidInput, Unavailable

log = logging.getLogger("posyandu.api")


class ErrorBody(BaseModel):
    """Every JSON error answer."""

    error: str = Field(description="A stable dotted code, e.g. auth.missing, user.exists")
    detail: str = Field(description="What went wrong, for the person who has to act on it")


class ValidationErrorBody(ErrorBody):
    problems: list[str] = Field(description="One line per invalid field: where, and why")


_MEANINGS = {400: "Invalid input", 401: "Not signed in (or wrong credentials)",
             403: "Signed in, but not allowed (role or scope)", 404: "No such resource",
             409: "Conflicts with the current state", 413: "The body is too large",
             429: "Too many failed sign-ins: locked for a while (Retry-After)"}
# For OpenAPI: what the JSON API and the OpenRosa endpoints answer when they refuse.
JSON_ERRORS: dict = {
    **{status: {"model": ErrorBody, "description": meaning} for status, meaning in _MEANINGS.items()},
    422: {"model": ValidationErrorBody, "description": "A parameter or field is invalid"}}
OPENROSA_ERRORS: dict = {
    status: {"description": f"{meaning} (an OpenRosaResponse XML message)",
             "content": {"text/xml": {}}}
    for status, meaning in {**_MEANINGS, 422: "A parameter is invalid"}.items()}

ERROR_HEADER = "X-Posyandu-Error"  # an OpenRosa error's code (core.problems)
# Every 503 says when to try again (RFC 9110 Retry-After, seconds). ODK Collect keeps an
# unsent form and sends it again itself; other clients read the header.
RETRY_AFTER_SECONDS = {"server.busy": 5, "server.writer_stopped": 5,
                       "server.database_unavailable": 15, "server.storage_full": 300}


def is_openrosa_request(request: Request) -> bool:
    return bool(request.scope.get("openrosa"))


def prefers_indonesian(request: Request) -> bool:
    """Whether Accept-Language puts Indonesian (id, in) before English."""
    best, best_q = None, -1.0
    for position, part in enumerate(request.headers.get("accept-language", "").split(",")):
        tag, _, params = part.strip().partition(";")
        language = tag.strip().lower().split("-")[0]
        try:
            q = float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        if language in ("id", "in", "en") and q - position * 1e-6 > best_q:
            best, best_q = language, q - position * 1e-6
    return best in ("id", "in")


def render_error(request: Request, status_code: int, code: str, message: str,
                 headers: dict | None = None, detail: dict | None = None) -> Response:
    """Phones get the catalogue's Bahasa Indonesia message (core.problems) as OpenRosa
    XML; the JSON API gets {"error": code, "detail": message}, the detail in English
    unless the caller prefers Indonesian. A page of the console (api/console) renders
    its errors as pages: it puts its renderer in the request scope."""
    renderer = request.scope.get("error_renderer")
    if renderer is not None:
        return renderer(request, status_code, code, message)
    pesan = problems.pesan(code) or message
    if is_openrosa_request(request):
        # The code rides along for integrators and logs; the kader reads the message.
        return wire.message(pesan, status_code=status_code, nature="error",
                            headers={**(headers or {}), ERROR_HEADER: code})
    body = {"error": code, "detail": pesan if prefers_indonesian(request) else message}
    if detail:
        body.update(detail)
    return JSONResponse(body, status_code=status_code, headers=headers)


def app_error_response(request: Request, exc: AppError) -> Response:
    headers = None
    if exc.status_code == 401:
        headers = dict(request.scope.get("auth_challenge") or {"WWW-Authenticate": "Bearer"})
    if exc.retry_after is not None:
        headers = {**(headers or {}), "Retry-After": str(exc.retry_after)}
    elif exc.status_code == 503:
        headers = {**(headers or {}), "Retry-After": str(RETRY_AFTER_SECONDS.get(exc.code, 15))}
    return render_error(request, exc.status_code, exc.code, exc.message, headers, exc.detail)


def as_request_error(exc: Exception) -> AppError | None:
    """A database error as the answer it deserves, or None (a bug: 500).

    A refusal caused by the request's own values (PostgreSQL: a NUL character, an
    integer out of range) is the 400 it is. An outage (the database restarting, a lost
    connection, a full disk: core.db.outage) is a 503 with Retry-After; nothing was
    stored and the phone sends it again."""
    if isinstance(exc, DataError):
        return InvalidInput("A value in this request cannot be stored: a number out of range "
                            "or a NUL character.", code="request.bad_value")
    code = outage(exc)
    if code is not None:
        log.warning("database outage (%s): %s", code, str(exc).splitlines()[0][:300])
        return Unavailable(problems.CATALOGUE[code].meaning, code=code)
    return None


def unexpected_error_response(request: Request) -> Response:
    log.exception("unhandled error")
    return render_error(request, 500, "server.error",
                        "Something went wrong on the server; it has been logged.")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError):
        return app_error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        message = "Invalid request: " + "; ".join(problems)
        return render_error(request, 422, "request.invalid", message,
                            detail={"problems": problems})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = {404: "resource.not_found", 405: "request.method_not_allowed",
                413: "request.json_too_large"}.get(
            exc.status_code, "request.error")
        return render_error(request, exc.status_code, code, str(exc.detail),
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(DataError)
    async def _bad_value(request: Request, exc: DataError):
        return app_error_response(request, as_request_error(exc))

    # Handled here rather than by the catch-all below, which Starlette runs outermost
    # and which logs a traceback for every request while the database is down.
    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: SQLAlchemyError):
        error = as_request_error(exc)
        if error is not None:
            return app_error_response(request, error)
        return unexpected_error_response(request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        error = as_request_error(exc)
        if error is not None:
            return app_error_response(request, error)
        return unexpected_error_response(request)
