"""Group commit: submissions that wait together share a transaction, and one failing
submission in a group never changes another's outcome."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import text
from sqlmodel import Session

from api.submission_writer import SubmissionWriter
from core.errors import Forbidden


def _note(session: Session, label: str) -> None:
    session.execute(text("INSERT INTO server_setting (key, value) VALUES (:k, :v)"),
                    {"k": label, "v": "x"})


def _notes(db) -> set[str]:
    with Session(db) as s:
        return {k for (k,) in s.execute(text("SELECT key FROM server_setting WHERE key LIKE 'w-%'"))}


async def _run_group(writer: SubmissionWriter, works: list) -> list:
    """The first work holds the writer until all others are queued, so they form one group."""
    release = threading.Event()

    def hold(session, shared):
        release.wait(10)
        return "held"

    first = asyncio.ensure_future(writer.store(hold))
    await asyncio.sleep(0.05)
    rest = [asyncio.ensure_future(writer.store(w)) for w in works]
    await asyncio.sleep(0.05)
    release.set()
    await first
    return await asyncio.gather(*rest, return_exceptions=True)


def test_a_failing_submission_is_redone_alone_and_the_others_are_kept(db):
    calls: list[tuple[str, bool]] = []

    def good(label):
        def work(session, shared):
            calls.append((label, shared))
            _note(session, label)
            return label
        return work

    def refused(session, shared):
        calls.append(("w-bad", shared))
        _note(session, "w-bad")  # written, then refused: must not be kept
        raise Forbidden("not yours", code="test.forbidden")

    writer = SubmissionWriter(db, max_batch=16)
    try:
        results = asyncio.run(_run_group(writer, [good("w-1"), refused, good("w-2")]))
    finally:
        writer.close()
    assert results[0] == "w-1" and results[2] == "w-2"
    assert isinstance(results[1], Forbidden)
    assert _notes(db) == {"w-1", "w-2"}
    # Tried together first, then each alone after the group was rolled back.
    assert calls[:2] == [("w-1", True), ("w-bad", True)]
    assert sorted(c for c in calls[2:]) == [("w-1", False), ("w-2", False), ("w-bad", False)]


def test_submissions_waiting_together_share_one_transaction(db):
    seen: list[bool] = []

    def work(label):
        def run(session, shared):
            seen.append(shared)
            _note(session, label)
            return label
        return run

    writer = SubmissionWriter(db, max_batch=16)
    try:
        results = asyncio.run(_run_group(writer, [work(f"w-{i}") for i in range(5)]))
    finally:
        writer.close()
    assert results == [f"w-{i}" for i in range(5)]
    assert seen == [True] * 5
    assert _notes(db) == {f"w-{i}" for i in range(5)}


@pytest.mark.parametrize("max_batch", [1, 2])
def test_groups_are_no_larger_than_the_limit(db, max_batch):
    seen: list[bool] = []

    def run(session, shared):
        seen.append(shared)
        return None

    writer = SubmissionWriter(db, max_batch=max_batch)
    try:
        asyncio.run(_run_group(writer, [run] * 4))
    finally:
        writer.close()
    assert seen == [max_batch > 1] * 4
