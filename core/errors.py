"""Errors the domain raises. Each carries a stable dotted code from the catalogue
(core.problems), which gives its HTTP status and the Bahasa Indonesia message phones
show; the raise site adds the particulars (`message`, English).

Domain code raises these; the HTTP layer renders them (JSON or OpenRosa XML) in one
place. Messages are written for the person who has to act on them.
"""

from __future__ import annotations

from core.problems import CATALOGUE


class AppError(Exception):
    status_code = 400
    code = "request.invalid"

    retry_after: int | None = None  # seconds; rendered as Retry-After

    def __init__(self, message: str, *, code: str | None = None, detail: dict | None = None,
                 retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            if code not in CATALOGUE:
                raise ValueError(f"error code {code!r} is not in core.problems.CATALOGUE")
            self.code = code
        self.status_code = CATALOGUE[self.code].status
        self.detail = detail or {}
        if retry_after is not None:
            self.retry_after = max(1, int(retry_after))

    @property
    def pesan(self) -> str:
        """What a phone shows (Bahasa Indonesia)."""
        return CATALOGUE[self.code].pesan


class InvalidInput(AppError):
    status_code = 400
    code = "request.invalid"


class Unauthenticated(AppError):
    status_code = 401
    code = "auth.unauthenticated"


class Forbidden(AppError):
    status_code = 403
    code = "auth.forbidden"


class NotFound(AppError):
    status_code = 404
    code = "resource.not_found"


class Conflict(AppError):
    status_code = 409
    code = "resource.conflict"


class Unavailable(AppError):
    status_code = 503
    code = "server.busy"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "request.too_large"


class TooManyRequests(AppError):
    status_code = 429
    code = "auth.locked"
