"""Two API workers (two writers, each on its own connection) changing the same person at
the same moment: both submissions are processed, the versions are consecutive, and
the one that lost the race was redone from a fresh read, never stored as failed."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

import pytest
from sqlmodel import Session, select

from models import Person, PersonVersion, Submission
from sync import accounts, intake
from sync.writer import SubmissionWriter
from tests.support import child_values, fill_submission

NAMES = ("Ayu", "Bagus", "Citra", "Dimas", "Eka", "Fajar", "Gilang", "Hana", "Indah", "Joko",
         "Kartika", "Lestari")
ROUNDS = len(NAMES)


@dataclass
class _MeetAfterProcessing:
    """A unit that, the first time it is processed, waits until the other one has been
    processed too: both have read the same version of the child and queued their
    writes before either is sent, so one of them must lose."""

    unit: intake.OpenRosaSubmission
    barrier: threading.Barrier
    device_token: str | None = None
    met: bool = False

    def store(self, tx):
        staged = self.unit.store(tx)
        outer = self

        class Meeting:
            def process(self, tx):
                result = staged.process(tx)
                if not outer.met:
                    outer.met = True
                    outer.barrier.wait(10)
                return result

            def failed(self, tx, message):
                return staged.failed(tx, message)

        return Meeting()


def test_two_workers_changing_the_same_child_at_once_both_land_as_consecutive_versions(
        db, phone, forms):
    if db.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: its writers never race")
    with Session(db) as s:
        principal = accounts.principal_from_app_token(s, phone.token)
    form = forms["anthropometry"]
    writers = [SubmissionWriter(db, max_batch=1), SubmissionWriter(db, max_batch=1)]

    async def both(units):
        return await asyncio.gather(*(writer.store(unit) for writer, unit in zip(writers, units)))

    try:
        for n in range(ROUNDS):
            nik = f"33750144032400{n + 1:02d}"
            name = f"{NAMES[n]} Putri"
            # A child registered with neither NIK nor mother.
            first = fill_submission(form, child_values(
                posyandu_id=phone.posyandu_id, child_name=name, child_nik="", mother_name="",
                mother_nik="", household_kk=""))
            registered = asyncio.run(writers[0].store(intake.OpenRosaSubmission(
                first, [], principal=principal)))
            assert registered.status == "processed"
            with Session(db) as s:
                child_id = s.exec(select(Person.id).where(Person.name == name)).one()
            # Two kaders pick her from the list at the same moment: one adds her NIK,
            # the other her mother.
            adds_nik = fill_submission(form, child_values(
                posyandu_id=phone.posyandu_id, is_new_child="no", child_id=child_id,
                child_name=name, child_nik=nik, mother_name="", mother_nik="",
                household_kk="", measured_on="2026-11-10"))
            adds_mother = fill_submission(form, child_values(
                posyandu_id=phone.posyandu_id, is_new_child="no", child_id=child_id,
                child_name=name, child_nik="", mother_name=f"Ibu {NAMES[n]}",
                mother_nik=f"33750155079500{n + 1:02d}", household_kk="",
                measured_on="2026-11-11"))
            barrier = threading.Barrier(2)
            results = asyncio.run(both([
                _MeetAfterProcessing(intake.OpenRosaSubmission(adds_nik, [], principal=principal),
                                     barrier),
                _MeetAfterProcessing(intake.OpenRosaSubmission(adds_mother, [],
                                                               principal=principal), barrier)]))
            assert [r.status for r in results] == ["processed", "processed"], n
            with Session(db) as s:
                child = s.get(Person, child_id)
                versions = s.exec(select(PersonVersion.version).where(
                    PersonVersion.person_id == child_id).order_by(PersonVersion.version)).all()
                assert versions == [1, 2, 3], n
                assert child.version == 3 and child.nik == nik and child.mother_id is not None
        with Session(db) as s:
            statuses = set(s.exec(select(Submission.status)).all())
        assert statuses == {"processed"}
        # Every round had exactly one loser, redone after the winner committed.
        assert sum(writer.unit_of_work.redone for writer in writers) == ROUNDS
    finally:
        for writer in writers:
            writer.close()
