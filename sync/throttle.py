"""Failed sign-ins are counted per account and per client address, and either locks
for a while after too many (HTTP Basic on the OpenRosa routes and the JSON token
endpoint; device tokens and hook secrets are long random values, not guessable).

The counters are rows in the database (sync.queries.throttle), not memory: with
several stateless API workers (processes, machines) an attacker spreading guesses
over them still meets one count. A locked key refuses before any password is
checked, so a lockout also stops the guesses from costing argon2 time.

Trade-off, said plainly: locking an account lets someone who knows a username keep a
kader from signing in with a password. Phones set up by QR code use a device token
and are not affected; a Basic pair verified shortly before (the in-memory cache in
sync.accounts) keeps working; an admin's password reset clears the lock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from core.config import get_settings
from core.errors import TooManyRequests
from models.base import utcnow
from sync.queries import throttle as queries


@dataclass(frozen=True)
class Policy:
    max_failures: int
    max_failures_per_address: int
    window: timedelta
    lockout: timedelta

    @classmethod
    def from_settings(cls) -> Policy:
        s = get_settings()
        return cls(s.login_max_failures, s.login_max_failures_per_address,
                   timedelta(seconds=s.login_window_seconds),
                   timedelta(seconds=s.login_lockout_seconds))


def account_key(username: str) -> str:
    return f"account:{username.strip().lower()[:120]}"


def address_key(address: str | None) -> str:
    return f"address:{(address or 'unknown')[:64]}"


def check_or_raise(session: Session, *, username: str, address: str | None,
                   now: datetime | None = None) -> bool:
    """Refuse (429 auth.locked / auth.address_locked, with Retry-After) while either
    key is locked; True when the account has failures on record (a success clears them)."""
    now = now or utcnow()
    account, place = account_key(username), address_key(address)
    rows = queries.locked_rows(session, [account, place])
    for key, code, what in ((account, "auth.locked", "this account"),
                            (place, "auth.address_locked", "this address")):
        _, until = rows.get(key, (0, None))
        if until is not None and until > now:
            seconds = int((until - now).total_seconds()) + 1
            raise TooManyRequests(
                f"Too many failed sign-ins for {what}; try again in {_minutes(seconds)} "
                "(or ask an admin to reset the password).", code=code, retry_after=seconds)
    return account in rows


def record_failure(session: Session, *, username: str, address: str | None,
                   policy: Policy | None = None, now: datetime | None = None) -> None:
    policy = policy or Policy.from_settings()
    now = now or utcnow()
    for key, most in ((account_key(username), policy.max_failures),
                      (address_key(address), policy.max_failures_per_address)):
        queries.add_failure(session, key=key, now=now, window_floor=now - policy.window,
                            max_failures=most, lock_until=now + policy.lockout)
    if random.random() < 0.01:  # noqa: S311 - housekeeping, not security
        queries.prune(session, before=now - max(policy.window, policy.lockout))


def clear_account(session: Session, *, username: str) -> None:
    """A successful sign-in, or an admin's password reset: the account's count ends."""
    queries.clear(session, [account_key(username)])


def _minutes(seconds: int) -> str:
    return f"{seconds} seconds" if seconds < 120 else f"{(seconds + 59) // 60} minutes"
