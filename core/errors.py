"""One catalogue of problems. Each carries an HTTP status and a stable dotted code.

Domain code raises these; the HTTP layer renders them (JSON or OpenRosa XML) in one
place. Messages are written for the person who has to act on them.
"""

from __future__ import annotations


class AppError(Exception):
    status_code = 400
    code = "request.invalid"

    def __init__(self, message: str, *, code: str | None = None, detail: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.detail = detail or {}


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
