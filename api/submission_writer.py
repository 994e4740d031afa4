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


class SubmissionWriter:
    def __init__(self, engine: Engine, max_batch: int = 16) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    async def store(self, work: Work, device_token: str | None = None) -> IntakeResult:
        """Run `work` in the writer's next transaction; returns once it is committed.

        `device_token`: the token `work` authenticates with; a group's tokens are
        looked up together (sync.accounts.preload_app_tokens)."""
        loop = asyncio.get_running_loop()
        job = _Job(work, loop.create_future(), loop, device_token)
        self._ensure_started()
        self._jobs.put(job)
        return await job.future

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="submission-writer",
                                                    daemon=True)
                    self._thread.start()

    def close(self, timeout: float = 30) -> None:
        """Finish the submissions already queued, then stop the thread."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            jobs = [first]
            stop = False
            while len(jobs) < self.max_batch:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                jobs.append(job)
            self._write(jobs)
            if stop:
                return

    def _write(self, jobs: list[_Job]) -> None:
        outcomes = self._write_together(jobs) if len(jobs) > 1 else None
        if outcomes is None:
            outcomes = [self._write_alone(job) for job in jobs]
        for job, (result, error) in zip(jobs, outcomes):
            job.loop.call_soon_threadsafe(_settle, job.future, result, error)

    def _commit(self, run: Callable[[Session], T]) -> T:
        """`run` in one transaction, committed (closing the session rolls back otherwise)."""
        with Session(self.engine, expire_on_commit=False) as session:
            result = run(session)
            session.commit()
            return result

    def _write_together(self, jobs: list[_Job]) -> list | None:
        """All jobs in one transaction, or None if any of them failed (rolled back)."""
        tokens = [job.device_token for job in jobs if job.device_token is not None]

        def run(session: Session) -> list[IntakeResult]:
            if len(tokens) > 1:
                preload_app_tokens(session, tokens)
            with deferred_inserts(session):
                return [job.work(session, True) for job in jobs]

        try:
            results = self._commit(run)
        except Exception:  # noqa: BLE001 - each job is redone alone and gets its own outcome
            log.debug("a group of %d submissions is redone one by one", len(jobs), exc_info=True)
            return None
        return [(result, None) for result in results]

    def _write_alone(self, job: _Job) -> tuple[IntakeResult | None, BaseException | None]:
        try:
            return self._commit(lambda session: job.work(session, False)), None
        except Exception as exc:  # noqa: BLE001 - handed to the request, which renders it
            return None, exc
