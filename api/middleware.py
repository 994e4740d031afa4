"""Request context as plain ASGI middleware (cheaper than BaseHTTPMiddleware): a
request id per request (echoed as X-Request-ID, put on every log line), the Date
header (OpenRosa requires it; uvicorn's own is switched off so there is one), and one
access-log line (its path redacted by core.redact, as every log line is by the log
record factory in core.logging)."""

from __future__ import annotations

import logging
import time
import uuid
from email.utils import formatdate

from core.logging import reset_request_id, set_request_id
from core.redact import redact

log = logging.getLogger("posyandu.access")


def redact_path(path: str) -> str:
    """The path as it may be logged (core.redact: `/key/<token>` anywhere in it)."""
    return redact(path)


class RequestContextMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value.decode("latin-1")[:64]
                break
        request_id = request_id or uuid.uuid4().hex[:16]
        token = set_request_id(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", request_id.encode("latin-1")),
                                      (b"date", formatdate(usegmt=True).encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if log.isEnabledFor(logging.INFO):
                path = redact_path(scope["path"])
                log.info("%s %s %s", scope["method"], path, status,
                         extra={"method": scope["method"], "path": path, "status": status,
                                "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
            reset_request_id(token)
