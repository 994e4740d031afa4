"""The unit of work: the only place where intake transactions begin, commit and roll back.

Every channel that changes data hands it units: OpenRosa submissions, Kobo REST
service posts, `reprocess` (and the JSON sync push to come). A unit has two steps:

1. `unit.store(tx)`: check and store what was received (the raw submission, first);
   it returns either the final result (e.g. a retry of something already stored) or a
   `Staged` unit whose processing is still to come. An exception here (a 4xx) means
   nothing of the unit is kept.
2. `staged.process(tx)`: turn it into registry records, in the same transaction.

The policy, in one place:
- **Raw first.** If processing fails, the transaction is rolled back and the unit is
  stored again alone, marked failed with the reason (`staged.failed(tx, message)`):
  nothing received is lost and the registry is never half-written.
- **Group commit.** Units handed over together share one transaction. If
  anything in a group fails, the group is rolled back and each unit is redone alone,
  exactly as if it had arrived alone: one unit never changes another's outcome.
  Alone or together, registry writes whose outcome nothing reads are queued and sent
  with the next statement that must see them (core.statements.deferred_inserts).
- **Outages are not failures.** A lost connection, a restarting server or a full disk
  (core.db.outage) ends the unit with its exception and nothing kept, even during
  processing: the caller answers 503 and the phone sends it again.
- **Lost races are redone.** A write based on a version another worker replaced in
  the meantime (sync.apply.is_version_race), a deadlock or a serialization failure
  is redone from a fresh read, up to RETRIES times; it never ends as failed for that.

Domain code never commits or rolls back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from core.db import outage
from core.errors import AppError
from core.statements import deferred_inserts, flush_deferred
from sync import accounts
from sync.apply import is_version_race

log = logging.getLogger("posyandu.unit_of_work")

RETRIES = 8
# SQLSTATEs that mean "this transaction lost to a concurrent one; run it again".
_RETRY_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected


@dataclass
class Tx:
    """The transaction a unit runs in."""

    session: Session
    grouped: bool  # other units share this transaction
    app_tokens: dict[str, list] = field(default_factory=dict)  # looked up for the group

    def principal_from_app_token(self, token: str) -> accounts.Principal:
        """The phone behind a device token (the group's tokens were looked up together)."""
        return accounts.principal_from_app_token(self.session, token,
                                                 rows=self.app_tokens.get(token))


class Staged(Protocol):
    def process(self, tx: Tx) -> Any: ...

    def failed(self, tx: Tx, message: str) -> Any:
        """After the rollback of a failed `process`: keep what was received, as failed."""


class Unit(Protocol):
    device_token: str | None  # a device token to authenticate with, looked up per group

    def store(self, tx: Tx) -> Staged | Any: ...

    # Optional, on the unit's class: `prepare_group(tx, units)` is called once per group
    # with the group's units of that class, before the first of them runs, to read in
    # one statement what each would read alone (a push's rows to update, locked).


@dataclass
class Call:
    """A unit that is one function of the transaction, with no processing step."""

    run: Callable[[Tx], Any]
    device_token: str | None = None

    def store(self, tx: Tx) -> Any:
        return self.run(tx)


def as_unit(work: Unit | Callable[[Tx], Any]) -> Unit:
    return work if hasattr(work, "store") else Call(work)


def is_retryable(error: BaseException) -> bool:
    if is_version_race(error):
        return True
    return isinstance(error, DBAPIError) and getattr(error.orig, "sqlstate", None) in _RETRY_SQLSTATES


def failure_message(exc: Exception) -> str:
    """What administrators see for a unit whose processing failed."""
    if isinstance(exc, AppError):
        return exc.message
    log.error("processing failed", exc_info=exc)
    return f"{exc.__class__.__name__}: {exc}"


def _is_staged(value: Any) -> bool:
    return hasattr(value, "process") and hasattr(value, "failed")


def _prepare_group(tx: Tx, units: list[Unit]) -> None:
    """Each class's prepare_group with its units of the group (see Unit)."""
    kinds: dict[type, list[Unit]] = {}
    for unit in units:
        if hasattr(type(unit), "prepare_group"):
            kinds.setdefault(type(unit), []).append(unit)
    for kind, mine in kinds.items():
        kind.prepare_group(tx, mine)


class UnitOfWork:
    def __init__(self, engine: Engine, *, retries: int = RETRIES) -> None:
        self.engine = engine
        self.retries = retries
        self.redone = 0  # units redone after a lost race (for tests and benchmarks)

    def run(self, units: Sequence[Unit | Callable[[Tx], Any]]) -> list[tuple[Any, BaseException | None]]:
        """Run the units, together if there are several; each gets (result, None) or
        (None, its exception)."""
        units = [as_unit(unit) for unit in units]
        if len(units) > 1:
            outcomes = self._together(units)
            if outcomes is not None:
                return outcomes
        return [self._alone(unit) for unit in units]

    def run_one(self, unit: Unit | Callable[[Tx], Any]) -> Any:
        """Run one unit alone; returns its result or raises its exception."""
        result, error = self._alone(as_unit(unit))
        if error is not None:
            raise error
        return result

    def read(self, run: Callable[[Session], Any]) -> Any:
        """`run` in a transaction that only reads."""
        with Session(self.engine, expire_on_commit=False) as session:
            result = run(session)
            session.commit()  # ends it as a rollback would, keeping prepared statements
            return result

    def _together(self, units: list[Unit]) -> list | None:
        """All units in one transaction, or None if any of them failed (rolled back)."""
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                tokens = [unit.device_token for unit in units if unit.device_token]
                tx = Tx(session, grouped=True,
                        app_tokens=accounts.app_token_rows(session, tokens) if len(tokens) > 1 else {})
                with deferred_inserts(session):
                    _prepare_group(tx, units)
                    results = []
                    for unit in units:
                        stored = unit.store(tx)
                        results.append(stored.process(tx) if _is_staged(stored) else stored)
                session.commit()
        except Exception:  # noqa: BLE001 - each unit is redone alone and gets its own outcome
            log.debug("a group of %d units is redone one by one", len(units), exc_info=True)
            return None
        return [(result, None) for result in results]

    def _alone(self, unit: Unit) -> tuple[Any, BaseException | None]:
        for attempt in range(self.retries + 1):
            try:
                return self._attempt(unit), None
            except Exception as exc:  # noqa: BLE001 - handed to the caller, which renders it
                if attempt < self.retries and is_retryable(exc):
                    self.redone += 1
                    log.debug("a unit lost a race and is redone (attempt %d)", attempt + 1)
                    continue
                return None, exc
        raise AssertionError("unreachable")

    def _attempt(self, unit: Unit) -> Any:
        with Session(self.engine, expire_on_commit=False) as session:
            tx = Tx(session, grouped=False)
            with deferred_inserts(session):
                stored = unit.store(tx)
                if _is_staged(stored):
                    try:
                        result = stored.process(tx)
                        flush_deferred(session)  # a queued write's failure is processing's
                    except Exception as exc:  # noqa: BLE001 - kept as failed below, shown to admins
                        # An outage (lost connection, full disk) is not the submission's
                        # fault: nothing is kept, the phone gets 503 and sends it again.
                        if is_retryable(exc) or outage(exc) is not None:
                            raise
                        message = failure_message(exc)
                        session.rollback()
                        result = stored.failed(tx, message)
                else:
                    result = stored
            session.commit()
            return result
