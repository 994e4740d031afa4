"""Submissions processed together in one writer group (sync.unit_of_work) give
what they give one by one: registry writes are queued (core.statements.
deferred_inserts) and each read must still see every write made before it."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlmodel import Session

from sync import accounts, intake
from sync.apply import Provenance, create_person
from sync.unit_of_work import Call
from sync.writer import SubmissionWriter
from tests.support import child_values, fill_submission, run_as_one_group


def _principal(db, phone):
    with Session(db) as s:
        return accounts.principal_from_app_token(s, phone.token)


def _receive(principal, xml, seen: list | None = None):
    unit = intake.OpenRosaSubmission(xml, [], principal=principal)

    def store(tx):
        if seen is not None:
            seen.append(tx.grouped)
        return unit.store(tx)
    return Call(store)


def _one(db, sql):
    with Session(db) as s:
        return s.execute(text(sql)).scalar()


def _as_one_group(db, works):
    writer = SubmissionWriter(db, max_batch=16)
    try:
        return asyncio.run(run_as_one_group(writer, works))
    finally:
        writer.close()


def test_a_child_measured_twice_in_one_group_is_one_child_with_a_history(db, phone, forms):
    principal = _principal(db, phone)
    first = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    second = fill_submission(forms["anthropometry"], child_values(
        posyandu_id=phone.posyandu_id, measured_on="2026-11-20", weight_kg="4.0"))
    seen: list[bool] = []
    results = _as_one_group(db, [_receive(principal, first, seen),
                                 _receive(principal, second, seen)])
    assert seen == [True, True]  # together, not redone alone
    assert [r.status for r in results] == ["processed", "processed"]
    assert _one(db, "SELECT count(*) FROM person") == 2  # the child and the mother
    assert _one(db, "SELECT count(*) FROM household") == 1
    # The second measurement was checked against the first (queued, then sent
    # before the second's identity lookup): 9.1 -> 4.0 kg in 18 days is flagged.
    flags = _one(db, "SELECT plausibility_flags FROM measurement WHERE measured_on = '2026-11-20'")
    assert "weight_loss" in str(flags)


def test_an_edit_and_its_original_in_one_group(db, phone, forms):
    principal = _principal(db, phone)
    original = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id),
                               instance_id="uuid:orig-1")
    edit = fill_submission(forms["anthropometry"],
                           child_values(posyandu_id=phone.posyandu_id, weight_kg="9.3"),
                           instance_id="uuid:edit-1", deprecated_id="uuid:orig-1")
    results = _as_one_group(db, [_receive(principal, edit), _receive(principal, original)])
    assert [r.status for r in results] == ["processed", "superseded"]
    assert _one(db, "SELECT count(*) FROM measurement WHERE is_current") == 1
    assert _one(db, "SELECT weight_kg FROM measurement WHERE is_current") == 9.3


def test_a_queued_write_failing_in_another_submissions_statement_is_its_own(db, phone, forms):
    """A person in a kelurahan that does not exist fails its foreign key only when
    the next submission's statement sends it: the group is redone one by one, and the
    failure lands on the work that made it."""
    principal = _principal(db, phone)
    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    calls: list[bool] = []

    def bad(tx):
        session, shared = tx.session, tx.grouped
        calls.append(shared)
        create_person(session, data={"name": "Nobody", "kelurahan_code": "99.99.99.9999"},
                      provenance=Provenance(actor_id=None, submission_id=None, reason="test"))
        return "queued"

    bad_outcome, good = _as_one_group(db, [bad, _receive(principal, xml)])
    assert calls == [True, False]
    assert isinstance(bad_outcome, Exception)
    assert good.status == "processed" and good.created
    assert _one(db, "SELECT count(*) FROM measurement") == 1
    assert _one(db, "SELECT count(*) FROM person WHERE name = 'Nobody'") == 0


def test_reprocess_goes_through_the_unit_of_work_in_groups(db, make_phone, forms, monkeypatch):
    """`reprocess` hands the unit of work one unit per submission, several per
    transaction; one that still fails is marked failed alone and the others land."""
    from models import Wilayah
    from sync import process

    phone = make_phone("supervisor", scopes=["33.75"], role="supervisor")
    principal = _principal(db, phone)
    units = [intake.OpenRosaSubmission(fill_submission(forms["anthropometry"], child_values(
        posyandu_id="", kelurahan_code=code, child_name=name, child_nik="", mother_nik="",
        household_kk="")), [], principal=principal)
        for code, name in (("33.75.01.1097", "Ayu"), ("33.75.01.1097", "Bagus"),
                           ("33.75.01.1096", "Citra"), ("33.75.01.1097", "Dimas"))]
    assert {r.status for r in _as_one_group(db, units)} == {"failed"}
    with Session(db) as s:
        s.add(Wilayah(code="33.75.01.1097", name="Baru", level="kelurahan", parent_code="33.75.01"))
        s.commit()
    sessions, real = [], process.process_stored

    def recording(session, *args, **kwargs):
        sessions.append(session)
        return real(session, *args, **kwargs)

    monkeypatch.setattr(process, "process_stored", recording)
    assert process.reprocess(db, group=16) == {"processed": 3, "failed": 1}
    # Tried together (one session) up to the one that fails, then each alone.
    assert len(sessions) == 3 + 4 and len({id(s) for s in sessions[:3]}) == 1
    assert len({id(s) for s in sessions[3:]}) == 4
    assert _one(db, "SELECT count(*) FROM measurement") == 3
    assert _one(db, "SELECT attempts FROM submission WHERE status = 'failed'") == 2
    assert "33.75.01.1096" in _one(db, "SELECT error FROM submission WHERE status = 'failed'")


def test_each_unit_learns_its_queue_wait_and_its_groups_size_and_time(db):
    """sync.writer.last_write_timing: the held first unit makes the others wait in the
    queue, then they are written as one group of three."""
    from sync.writer import last_write_timing

    async def stored_with_timing(writer, work):
        result = await writer.store(work)
        return result, last_write_timing.get()

    async def run():
        writer = SubmissionWriter(db, max_batch=16)
        try:
            works = [lambda tx: "a", lambda tx: "b", lambda tx: "c"]
            import threading
            release = threading.Event()
            first = asyncio.ensure_future(writer.store(lambda tx: release.wait(10)))
            await asyncio.sleep(0.05)
            rest = [asyncio.ensure_future(stored_with_timing(writer, w)) for w in works]
            await asyncio.sleep(0.2)
            release.set()
            await first
            return await asyncio.gather(*rest)
        finally:
            writer.close()

    outcomes = asyncio.run(run())
    assert [result for result, _ in outcomes] == ["a", "b", "c"]
    # Each was queued behind the held unit and the ones queued before it.
    assert [timing.ahead for _, timing in outcomes] == [1, 2, 3]
    for _, timing in outcomes:
        assert timing.group == 3
        assert timing.queue_ms >= 150  # they waited behind the held unit
        assert 0 <= timing.write_ms < timing.queue_ms
        assert timing.wake_ms >= 0
