"""What every HTTP answer carries for safety, and the body limit of every JSON
endpoint: one plain ASGI middleware (inside the request context, so these answers
have a request id too; outside the phones' submission path, so theirs get the headers).

- `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`,
  `X-Frame-Options: DENY` and, unless the page set its own (the /docs pages, the
  console), a Content-Security-Policy that allows nothing (`STRICT_CSP`): JSON and XML
  answers load no script and are never framed.
- `Cache-Control: no-store` on every answer that does not set its own caching (the
  docs' static assets do): names, NIKs and health status must not stay in a browser's
  or a proxy's cache. The rule is "everything" rather than a list of personal-data
  endpoints so that a new endpoint is covered without anyone remembering it.
- `Strict-Transport-Security` on https requests: the scheme uvicorn saw (behind a
  proxy it trusts, from X-Forwarded-Proto: `--forwarded-allow-ips`), or the
  X-Forwarded-Proto header itself when POSYANDU_TRUST_FORWARDED_PROTO is set.
- Body limits: every request except the two intake channels (OpenRosa /submission and
  the Kobo hook, which have their own limit, POSYANDU_MAX_SUBMISSION_BYTES) is refused
  with 413 `request.json_too_large` above POSYANDU_MAX_JSON_BYTES (sync pushes:
  POSYANDU_MAX_PUSH_BYTES), from Content-Length before anything is read, or as soon as a
  streamed body passes it.

CORS is closed unless POSYANDU_CORS_ORIGINS lists origins (api.app adds Starlette's
CORSMiddleware for exactly those).
"""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.config import Settings
from core.errors import PayloadTooLarge

STRICT_CSP = ("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
              "form-action 'none'")
_OWN_LIMIT = re.compile(r"(?:/key/[^/]+)?/submission|/api/v1/intake/kobo/.*")
_PUSH = "/api/v1/sync/push"
_CACHEABLE_PREFIX = "/docs/assets/"


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.json_limit = settings.max_json_bytes
        self.push_limit = settings.max_push_bytes
        self.trust_proto = settings.trust_forwarded_proto
        self.hsts = (f"max-age={settings.hsts_seconds}; includeSubDomains".encode()
                     if settings.hsts_seconds else None)

    def _https(self, scope: Scope) -> bool:
        if scope.get("scheme") == "https":
            return True
        if self.trust_proto:
            for name, value in scope["headers"]:
                if name == b"x-forwarded-proto":
                    return value.split(b",")[0].strip().lower() == b"https"
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):] or "/"
        limit = None if _OWN_LIMIT.fullmatch(path) else (
            self.push_limit if path == _PUSH else self.json_limit)
        https = self._https(scope)
        cacheable = path.startswith(_CACHEABLE_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(b"x-content-type-options", b"nosniff"),
                         (b"referrer-policy", b"no-referrer"),
                         (b"x-frame-options", b"DENY")]
                extra = [(n, v) for n, v in extra if n not in present]
                if b"content-security-policy" not in present:
                    extra.append((b"content-security-policy", STRICT_CSP.encode()))
                if b"cache-control" not in present and not cacheable:
                    extra += [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
                if https and self.hsts:
                    extra.append((b"strict-transport-security", self.hsts))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        if limit is not None:
            declared = _content_length(scope)
            if declared is not None and declared > limit:
                from api.errors import app_error_response

                response = app_error_response(Request(scope), _too_large(limit))
                await response(scope, receive, send_with_headers)
                return
            receive = _limited(receive, limit)
        await self.app(scope, receive, send_with_headers)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The body is larger than this endpoint accepts ({limit} bytes); "
                           "send less at once.", code="request.json_too_large")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _limited(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def receive_limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                # FastAPI turns any other error raised while it reads a body into a
                # 400; an HTTPException passes through (api.errors maps 413 to the code)
                raise HTTPException(413, _too_large(limit).message)
        return message

    return receive_limited
