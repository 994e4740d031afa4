"""Password hashing (argon2), JWT access tokens, opaque device tokens. No database."""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

JWT_ALGORITHM = "HS256"
_hasher = PasswordHasher()


class VerificationGate:
    """At most `limit` argon2 computations at once in this process; a caller that
    cannot start within `wait` seconds is refused (503 auth.busy, Retry-After) instead
    of queueing. argon2 takes tens of milliseconds of CPU and memory on purpose; without
    a bound, a burst of sign-ins (or an attacker's) fills every worker thread with it
    and the phones' submissions wait behind them. `peak` is the most seen at once."""

    def __init__(self, limit: int = 0, wait: float = 2.0) -> None:
        self.configure(limit, wait)

    def configure(self, limit: int = 0, wait: float = 2.0) -> None:
        self.limit = limit or os.cpu_count() or 2
        self.wait = wait
        self._slots = threading.BoundedSemaphore(self.limit)
        self._lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.refused = 0

    def run(self, work):
        from core.errors import Unavailable

        if not self._slots.acquire(timeout=self.wait):
            with self._lock:
                self.refused += 1
            raise Unavailable("The server is checking many passwords at once; try again in a "
                              "moment.", code="auth.busy", retry_after=1)
        try:
            with self._lock:
                self.running += 1
                self.peak = max(self.peak, self.running)
            return work()
        finally:
            with self._lock:
                self.running -= 1
            self._slots.release()


gate = VerificationGate()
_configured = False


def _gate() -> VerificationGate:
    global _configured
    if not _configured:
        from core.config import get_settings

        settings = get_settings()
        gate.configure(settings.password_verifications, settings.password_queue_seconds)
        _configured = True
    return gate


def hash_password(password: str) -> str:
    return _gate().run(lambda: _hasher.hash(password))


def verify_password(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return _gate().run(verify)


_DUMMY_HASH: str | None = None


def verify_nothing(password: str) -> None:
    """As long as a real verification, for a username that does not exist (the answer's
    time does not tell which usernames exist)."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash(new_secret(16))
    verify_password(_DUMMY_HASH, password)


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def sha256_hex(value: str | bytes) -> str:
    if isinstance(value, str):
        value = value.encode()
    return hashlib.sha256(value).hexdigest()


def encode_access_token(*, subject: str, secret: str, minutes: int, extra: dict | None = None) -> str:
    now = datetime.now(UTC)
    claims = {"sub": subject, "iat": now, "exp": now + timedelta(minutes=minutes), "typ": "access"}
    claims.update(extra or {})
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


def decode_access_token(token: str, secret: str) -> dict:
    """Return the claims, or raise jwt.InvalidTokenError (expired, bad signature, ...)."""
    claims = jwt.decode(token, secret, algorithms=[JWT_ALGORITHM], options={"require": ["exp", "sub"]})
    if claims.get("typ") != "access":
        raise jwt.InvalidTokenError("not an access token")
    return claims
