"""Group commit for OpenRosa submissions: one thread per API worker stores and
processes the submissions waiting for it, several per transaction.

Every transaction costs a connection check-out, BEGIN and COMMIT (a WAL flush) on top
of its statements; when phones send at the same time, their submissions share one.
The answer to each phone is still sent only after the commit that holds its
submission. If anything goes wrong for one submission of a group (a 4xx, a processing
failure, a database error), the whole group is rolled back and each submission is
redone in its own transaction, exactly as if it had arrived alone: one phone's bad
submission never changes another's outcome.

On SQLite, where writers queue for one lock anyway, this also means one fsync per
group instead of one per submission.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.db import writer_engine
from core.errors import Unavailable
from core.statements import deferred_inserts
from sync.accounts import preload_app_tokens
from sync.intake import IntakeResult

log = logging.getLogger("posyandu.writer")

# work(session, shared) stores one submission; shared=True when other submissions'
# work is in the same transaction.
Work = Callable[[Session, bool], IntakeResult]
T = TypeVar("T")


@dataclass
class _Job:
    work: Work
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop
    device_token: str | None = None


def _settle(future: asyncio.Future, result, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _answer(job: _Job, result, error: BaseException | None) -> None:
    """Hand the outcome to the request's event loop (gone if the request gave up)."""
    try:
        job.loop.call_soon_threadsafe(_settle, job.future, result, error)
    except RuntimeError:  # that event loop is closed: nobody waits for this answer
        log.debug("a submission's outcome had nobody to go to", exc_info=True)


def _stopped() -> Unavailable:
    return Unavailable("The server could not store this submission; please send it again.",
                       code="server.writer_stopped")


class SubmissionWriter:
    def __init__(self, engine: Engine, max_batch: int = 16) -> None:
        """`engine`: the application's. Each writer thread commits through a connection
        of its own to the same database (core.db.writer_engine)."""
        self.source = engine
        self.max_batch = max_batch
        self._current: _Thread | None = None
        self._lock = threading.Lock()

    async def store(self, work: Work, device_token: str | None = None) -> IntakeResult:
        """Run `work` in the writer's next transaction; returns once it is committed.

        `device_token`: the token `work` authenticates with; a group's tokens are
        looked up together (sync.accounts.preload_app_tokens)."""
        loop = asyncio.get_running_loop()
        job = _Job(work, loop.create_future(), loop, device_token)
        with self._lock:  # never into the queue of a thread that has stopped
            self._running().jobs.put(job)
        return await job.future

    def start(self) -> None:
        """Start the thread and open its connection now rather than at the first
        submission."""
        with self._lock:
            engine = self._running().engine
        with engine.connect():
            pass

    def _running(self) -> _Thread:
        """The thread taking jobs, started if none is (the caller holds the lock)."""
        if self._current is None:
            self._current = _Thread(self, writer_engine(self.source))
        return self._current

    def close(self, timeout: float = 30) -> None:
        """Finish the submissions already queued, then stop the thread. A later store()
        starts a new one (an app may be started and stopped more than once)."""
        with self._lock:
            current, self._current = self._current, None
        if current is not None:
            current.stop(timeout)

    def _write(self, engine: Engine, jobs: list[_Job]) -> None:
        outcomes = self._write_together(engine, jobs) if len(jobs) > 1 else None
        if outcomes is None:
            outcomes = [self._write_alone(engine, job) for job in jobs]
        for job, (result, error) in zip(jobs, outcomes):
            _answer(job, result, error)

    @staticmethod
    def _commit(engine: Engine, run: Callable[[Session], T]) -> T:
        """`run` in one transaction, committed (closing the session rolls back otherwise)."""
        with Session(engine, expire_on_commit=False) as session:
            result = run(session)
            session.commit()
            return result

    def _write_together(self, engine: Engine, jobs: list[_Job]) -> list | None:
        """All jobs in one transaction, or None if any of them failed (rolled back)."""
        tokens = [job.device_token for job in jobs if job.device_token is not None]

        def run(session: Session) -> list[IntakeResult]:
            if len(tokens) > 1:
                preload_app_tokens(session, tokens)
            with deferred_inserts(session):
                return [job.work(session, True) for job in jobs]

        try:
            results = self._commit(engine, run)
        except Exception:  # noqa: BLE001 - each job is redone alone and gets its own outcome
            log.debug("a group of %d submissions is redone one by one", len(jobs), exc_info=True)
            return None
        return [(result, None) for result in results]

    def _write_alone(self, engine: Engine, job: _Job) -> tuple[IntakeResult | None, BaseException | None]:
        try:
            return self._commit(engine, lambda session: job.work(session, False)), None
        except Exception as exc:  # noqa: BLE001 - handed to the request, which renders it
            return None, exc


class _Thread:
    """One writer thread: its queue, its engine, and the loop that groups jobs."""

    def __init__(self, writer: SubmissionWriter, engine: Engine) -> None:
        self.writer = writer
        self.engine = engine
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.in_flight: list[_Job] = []
        self.thread = threading.Thread(target=self._run, name="submission-writer", daemon=True)
        self.thread.start()

    def stop(self, timeout: float) -> None:
        self.jobs.put(None)
        self.thread.join(timeout)
        if self.engine is not self.writer.source and not self.thread.is_alive():
            self.engine.dispose()

    def _run(self) -> None:
        try:
            self._serve()
        except BaseException:  # not an Exception (those are each job's outcome)
            log.exception("the submission writer thread stopped")
            # The next store() starts a new thread; what this one holds is answered.
            with self.writer._lock:
                if self.writer._current is self:
                    self.writer._current = None
            left = self.in_flight
            while True:
                try:
                    left.append(self.jobs.get_nowait())
                except queue.Empty:
                    break
            for job in left:
                if job is not None:
                    _answer(job, None, _stopped())

    def _serve(self) -> None:
        while True:
            first = self.jobs.get()
            if first is None:
                return
            jobs = [first]
            stop = False
            while len(jobs) < self.writer.max_batch:
                try:
                    job = self.jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                jobs.append(job)
            self.in_flight = jobs
            self.writer._write(self.engine, jobs)
            self.in_flight = []
            if stop:
                return
