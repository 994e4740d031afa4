"""HEAD and POST /submission (at the root and under /key/{token}), served ahead of
FastAPI's router.

Every phone's every form passes here, and on this path FastAPI's layers (exception
middleware, the exit stack, included-router matching, dependency solving, the thread
pool for HEAD's sync dependency) cost about as much CPU as storing and processing
the submission. This plain ASGI middleware sits inside RequestContextMiddleware (so
request ids, the Date header and the access log are the same as everywhere) and
answers these two exchanges itself; every other request goes on to FastAPI.
Errors are rendered by api.errors exactly as for the other OpenRosa routes.
"""

from __future__ import annotations

import re
import time

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api import openrosa_wire as wire
from api.errors import app_error_response, as_request_error, unexpected_error_response
from api.openrosa_auth import authenticate, mark_openrosa, require_openrosa_version
from api.openrosa_body import read_submission_upload
from core.errors import AppError
from sync import intake
from sync.accounts import Principal
from sync.writer import last_write_timing

_SUBMISSION_PATH = re.compile(r"(?:/key/(?P<token>[^/]+))?/submission")


async def submit(request: Request) -> Response:
    """POST /submission: store and process one submission.

    The body is read (size-limited) before any transaction starts, so no transaction
    waits on a slow phone; then the worker's submission writer stores
    and processes it, possibly in one transaction with other phones' submissions
    (sync.writer, sync.unit_of_work), and answers once that transaction is committed."""
    started = time.perf_counter()
    await require_openrosa_version(request)
    upload = await read_submission_upload(request)
    received = time.perf_counter()
    # A device token is one indexed query, made in the writer's transaction. HTTP Basic
    # may need argon2 (tens of ms on a cache miss) and fails more often: checked here,
    # so it never holds up, or fails, a group of other phones' submissions.
    token = request.path_params.get("token")
    known = None if token is not None else await _authenticated(request)
    result = await request.app.state.submission_writer.store(intake.OpenRosaSubmission(
        upload.xml, upload.files, principal=known, device_token=token))
    headers = {"Server-Timing": server_timing(started, received), **_rebalancing(request)}
    if result.created:
        return wire.message(wire.RECEIVED_NOT_PROCESSED if result.status == "failed"
                            else wire.RECEIVED_HELD if result.status == "held"
                            else wire.RECEIVED, status_code=201, headers=headers)
    return wire.message(wire.ALREADY_RECEIVED, status_code=202, headers=headers)


def server_timing(started: float, received: float) -> str:
    """The Server-Timing header (W3C) of a stored submission: reading the body (and
    Basic auth), queueing for the worker's writer, the writer group's transaction (its
    size as desc), the event loop picking the answer up, the units the worker held
    when this one was queued (`held`, as desc), and the whole handler. What a
    client measures beyond `total` is the connection, uvicorn and the event loop
    before the handler ran (bench/intake.py reports this breakdown)."""
    timing = last_write_timing.get()
    parts = [f"read;dur={(received - started) * 1000:.1f}"]
    if timing is not None:
        parts += [f"queue;dur={timing.queue_ms:.1f}",
                  f'write;dur={timing.write_ms:.1f};desc="{timing.group}"',
                  f"wake;dur={timing.wake_ms:.1f}", f'held;desc="{timing.ahead}"']
    parts.append(f"total;dur={(time.perf_counter() - started) * 1000:.1f}")
    return ", ".join(parts)


async def preflight(request: Request) -> Response:
    """HEAD /submission: Collect asks first (and learns the size limit), then POSTs."""
    await require_openrosa_version(request)
    await _authenticated(request)
    return Response(status_code=204, headers={**wire.openrosa_headers(), **_rebalancing(request)})


def _rebalancing(request: Request) -> dict[str, str]:
    """`Connection: close` while this worker's writer is crowded and other workers
    share the socket (sync.writer.SubmissionWriter.crowded): the phone's next request
    opens a new connection, which a less busy worker may accept. Collect's HTTP client
    reconnects by itself; an answer given is never withheld."""
    return {"Connection": "close"} if request.app.state.submission_writer.crowded() else {}


async def _authenticated(request: Request) -> Principal:
    """The caller, checked in a read-only transaction on a worker thread."""
    def check() -> Principal:
        with Session(request.app.state.read_engine) as session:
            principal = authenticate(request, session)
            # It only read: COMMIT ends it as well as the ROLLBACK closing would send,
            # and psycopg keeps the connection's prepared statements (it drops them
            # all at a ROLLBACK).
            session.commit()
            return principal

    return await run_in_threadpool(check)


_HANDLERS = {"POST": submit, "HEAD": preflight}
_ALLOWED = {"Allow": ", ".join(sorted(_HANDLERS))}


def _route_path(scope: Scope) -> str:
    """The path as the router sees it: without the root path a proxy mounts us under
    (Starlette's rule: the root path must end at a path segment)."""
    path, root = scope["path"], scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root):len(root) + 1] in ("/", ""):
        return path[len(root):]
    return path


async def _not_allowed(request: Request) -> Response:
    return wire.message(wire.METHOD_NOT_USED.format(method=request.method), status_code=405,
                        headers=_ALLOWED, nature="error")


class OpenRosaSubmissionMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _SUBMISSION_PATH.fullmatch(_route_path(scope)) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        handler = _HANDLERS.get(scope["method"], _not_allowed)
        token = match["token"]
        scope["path_params"] = {} if token is None else {"token": token}
        request = Request(scope, receive)
        await mark_openrosa(request)
        try:
            response = await handler(request)
        except AppError as exc:
            response = app_error_response(request, exc)
        except Exception as exc:  # noqa: BLE001 - logged and answered 500, as FastAPI's handler does
            error = as_request_error(exc)
            response = (app_error_response(request, error) if error is not None
                        else unexpected_error_response(request))
        await response(scope, receive, send)
