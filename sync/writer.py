"""The writer thread: one per API worker, it hands the units waiting for it to the unit
of work together (sync.unit_of_work: group commit, redo alone, retries), on a
connection of its own, and answers each request once the transaction holding its unit
is committed.

Every transaction costs a connection check-out, BEGIN and COMMIT (a WAL flush) on top
of its statements; when phones send at the same time, their submissions share one. On
SQLite, where writers queue for one lock anyway, this also means one fsync per group
instead of one per submission. Any channel's units can be handed to it (OpenRosa,
Kobo, reprocess).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from core.db import writer_engine
from core.errors import Unavailable
from sync.unit_of_work import Tx, Unit, UnitOfWork, as_unit

log = logging.getLogger("posyandu.writer")


@dataclass(frozen=True)
class WriteTiming:
    """Where a stored unit's time went, in milliseconds: waiting in the writer's queue
    (behind the group being written), its group's transaction (its size: `group`),
    and the wait for the request's event loop to pick the answer up; `ahead`: the
    units the worker held when this one was queued (SubmissionWriter.waiting: queued,
    being written, or committed and not yet answered)."""

    queue_ms: float
    write_ms: float
    wake_ms: float
    group: int
    ahead: int = 0


#: The timing of the last unit this task stored (set by SubmissionWriter.store).
last_write_timing: ContextVar[WriteTiming | None] = ContextVar("last_write_timing",
                                                               default=None)


@dataclass
class _Job:
    units: list[Unit]
    many: bool  # store_all's: answered with every unit's (result, error)
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop
    queued: float = field(default_factory=time.perf_counter)
    started: float = 0.0
    committed: float = 0.0
    group: int = 0


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
        log.debug("a unit's outcome had nobody to go to", exc_info=True)


def _stopped() -> Unavailable:
    return Unavailable("The server could not store this submission; please send it again.",
                       code="server.writer_stopped")


class SubmissionWriter:
    def __init__(self, engine: Engine, max_batch: int = 16, *, rebalance: bool = False) -> None:
        """`engine`: the application's. Each writer thread commits through a connection
        of its own to the same database (core.db.writer_engine). `rebalance`: other
        worker processes share the listening socket (see `crowded`)."""
        self.source = engine
        self.max_batch = max_batch
        self.rebalance = rebalance
        # Units whose requests await them: queued, being written, or committed and not
        # yet picked up by their request (a request cancelled meanwhile stops counting).
        self.waiting = 0
        self._current: _Thread | None = None
        self._lock = threading.Lock()

    def crowded(self) -> bool:
        """True when this worker holds more than two groups of units (`waiting`: a
        request would wait for about the group being written and a full one after it)
        and other workers share the listening socket: its answers then ask the phone to
        reconnect (`Connection: close`, api.openrosa_submission), and the next
        connection may go to a less busy worker.

        Without it, phones pile up on one worker. The kernel hands a new connection to
        whichever worker accepts first, whatever each holds, and a phone stays for its
        whole burst on the worker it reached, longest on the slowest: nothing pulls the
        shares back to even. Measured at 50 phones on 2 workers (bench/intake.py, with
        a worker's id added to Server-Timing for the run): the submissions one worker
        had in hand when another arrived reached 29-46 at the 90th percentile and all
        50 at the worst, and the p99 followed. Shedding above two groups, 31-33 and 43;
        p99 208-228 -> 169-188 ms in four interleaved pairs (README, intake figures).
        A push's units count one each, as in a group."""
        return self.rebalance and self.waiting > self.max_batch * 2

    async def store(self, unit: Unit | Callable[[Tx], Any]) -> Any:
        """Run `unit` in the writer's next transaction; returns once it is committed."""
        return await self._queue([as_unit(unit)], many=False)

    async def store_all(self, units: list[Unit], *, group: int) -> list[tuple[Any, BaseException | None]]:
        """Run `units` in order, at most `group` of them to a transaction (a push's
        mutations: one commit and one caseload refresh per group, not per 16). Jobs
        waiting are grouped up to max_batch units as always; a job of more is a group
        of its own; if anything in a group fails, its units are redone alone. Returns
        each unit's (result, None) or (None, exception) once the last is committed."""
        jobs = [self._queue(list(units[start:start + group]), many=True)
                for start in range(0, len(units), group)]
        outcomes = []
        for done in await asyncio.gather(*jobs):
            outcomes += done
        return outcomes

    async def _queue(self, units: list[Unit], *, many: bool) -> Any:
        loop = asyncio.get_running_loop()
        job = _Job(units, many, loop.create_future(), loop)
        with self._lock:  # never into the queue of a thread that has stopped
            self._running().jobs.put(job)
            ahead = self.waiting
            self.waiting += len(units)
        try:
            return await job.future
        finally:
            with self._lock:
                self.waiting -= len(units)
            if job.committed:
                last_write_timing.set(WriteTiming(
                    (job.started - job.queued) * 1000, (job.committed - job.started) * 1000,
                    (time.perf_counter() - job.committed) * 1000, job.group, ahead))

    @property
    def unit_of_work(self) -> UnitOfWork:
        with self._lock:
            return self._running().unit_of_work

    def start(self) -> None:
        """Start the thread and open its connection now rather than at the first
        submission."""
        with self._lock:
            engine = self._running().unit_of_work.engine
        with engine.connect():
            pass

    def _running(self) -> _Thread:
        """The thread taking jobs, started if none is (the caller holds the lock)."""
        if self._current is None:
            self._current = _Thread(self, UnitOfWork(writer_engine(self.source)))
        return self._current

    def close(self, timeout: float = 30) -> None:
        """Finish the units already queued, then stop the thread. A later store()
        starts a new one (an app may be started and stopped more than once)."""
        with self._lock:
            current, self._current = self._current, None
        if current is not None:
            current.stop(timeout)


class _Thread:
    """One writer thread: its queue, its engine, and the loop that groups jobs."""

    def __init__(self, writer: SubmissionWriter, unit_of_work: UnitOfWork) -> None:
        self.writer = writer
        self.unit_of_work = unit_of_work
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.in_flight: list[_Job] = []
        self.held: _Job | None = None  # taken from the queue, for the next group
        self.thread = threading.Thread(target=self._run, name="submission-writer", daemon=True)
        self.thread.start()

    def stop(self, timeout: float) -> None:
        self.jobs.put(None)
        self.thread.join(timeout)
        engine = self.unit_of_work.engine
        if engine is not self.writer.source and not self.thread.is_alive():
            engine.dispose()

    def _run(self) -> None:
        try:
            self._serve()
        except BaseException:  # not an Exception (those are each job's outcome)
            log.exception("the submission writer thread stopped")
            # The next store() starts a new thread; what this one holds is answered.
            with self.writer._lock:
                if self.writer._current is self:
                    self.writer._current = None
            left = self.in_flight + ([self.held] if self.held is not None else [])
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
            first, self.held = self.held or self.jobs.get(), None
            if first is None:
                return
            # Units of the jobs waiting, up to max_batch of them (a job of more, from
            # store_all, is a group of its own).
            jobs, size = [first], len(first.units)
            stop = False
            while size < self.writer.max_batch:
                try:
                    job = self.jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                if size + len(job.units) > self.writer.max_batch:
                    self.held = job
                    break
                jobs.append(job)
                size += len(job.units)
            self.in_flight = jobs
            started = time.perf_counter()
            outcomes = self.unit_of_work.run([unit for job in jobs for unit in job.units])
            committed = time.perf_counter()
            at = 0
            for job in jobs:
                job.started, job.committed, job.group = started, committed, size
                mine, at = outcomes[at:at + len(job.units)], at + len(job.units)
                if job.many:
                    _answer(job, mine, None)
                else:
                    _answer(job, *mine[0])
            self.in_flight = []
            if stop:
                return
