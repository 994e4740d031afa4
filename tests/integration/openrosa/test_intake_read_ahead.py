"""A writer group's OpenRosa submissions read their intake contexts ahead, in one round
trip, and store themselves under reserved ids (sync.intake_ahead): each must still get
exactly what it gets alone, whatever the group's earlier units stored or changed."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlmodel import Session

from core.statements import Prepared
from sync import accounts, intake
from sync.queries import submissions
from sync.unit_of_work import Call, UnitOfWork
from tests.support import child_values, entity_submission, fill_submission


def _principal(db, phone):
    with Session(db) as s:
        return accounts.principal_from_app_token(s, phone.token)


def _copy(forms, phone, prefix: str, birth: str) -> dict[str, bytes]:
    """The same story in each copy: its own child (no NIK, KK or mother's NIK, so the
    copies never link), its own instance ids."""
    def body(name, *, deprecated=None, weight="9.1"):
        values = child_values(posyandu_id=phone.posyandu_id, child_name=f"Ayu {prefix}",
                              child_birth_date=birth, child_nik="", mother_nik="",
                              household_kk="", mother_name=f"Rina {prefix}", weight_kg=weight)
        return fill_submission(forms["anthropometry"], values, instance_id=f"uuid:{prefix}-{name}",
                               deprecated_id=deprecated and f"uuid:{prefix}-{deprecated}")

    return {"P": body("P"), "E1": body("E1", deprecated="O1", weight="9.3"), "O1": body("O1"),
            "O2": body("O2"), "E4": body("E4", deprecated="P", weight="9.4"), "X": body("X")}


# In this order, after P was stored alone: an edit before its original (the original
# is superseded on arrival), a retry within the group, an edit of a submission stored
# before the group and then a retry of that submission (its stored row changed).
_GROUP = ["E1", "O1", "O2", "O2", "E4", "P", "X"]
_EXPECTED = [("processed", True), ("superseded", True), ("processed", True),
             ("processed", False), ("processed", True), ("superseded", False),
             ("processed", True)]


def _statuses(db, prefix: str) -> dict[str, str]:
    with Session(db) as s:
        rows = s.execute(text("SELECT instance_id, status FROM submission WHERE instance_id "
                              "LIKE :p"), {"p": f"uuid:{prefix}-%"}).all()
    return {instance.split("-", 1)[1]: status for instance, status in rows}


def _current_weight(db, prefix: str):
    with Session(db) as s:
        return s.execute(text(
            "SELECT m.weight_kg FROM measurement m JOIN person p ON p.id = m.person_id "
            "WHERE m.is_current AND p.name = :n ORDER BY m.weight_kg"),
            {"n": f"Ayu {prefix}"}).scalars().all()


def test_a_group_read_ahead_gets_what_each_submission_gets_alone(db, phone, forms, monkeypatch):
    principal = _principal(db, phone)
    uow = UnitOfWork(db)
    alone_bodies, group_bodies = _copy(forms, phone, "a", "2024-03-04"), _copy(forms, phone, "b",
                                                                              "2023-05-10")
    for bodies in (alone_bodies, group_bodies):
        uow.run_one(intake.OpenRosaSubmission(bodies["P"], [], principal=principal))

    alone = [uow.run_one(intake.OpenRosaSubmission(alone_bodies[name], [], principal=principal))
             for name in _GROUP]

    live, real = [], submissions.intake_context
    monkeypatch.setattr(submissions, "intake_context",
                        lambda session, **kw: live.append(kw["instance_id"]) or real(session, **kw))
    sessions = []

    def note(tx):  # first in the group: it holds nothing, it sees the group's session
        sessions.append(tx.session)
        return None
    outcomes = uow.run([Call(note), *(intake.OpenRosaSubmission(group_bodies[name], [],
                                                                principal=principal)
                                      for name in _GROUP)])
    grouped = [result for result, error in outcomes[1:]]
    assert all(error is None for _, error in outcomes)
    assert len(sessions) == 1  # together, not redone alone

    assert [(r.status, r.created) for r in alone] == _EXPECTED
    assert [(r.status, r.created) for r in grouped] == _EXPECTED
    assert _statuses(db, "a") == _statuses(db, "b") == {
        "P": "superseded", "E1": "processed", "O1": "superseded", "O2": "processed",
        "E4": "processed", "X": "processed"}
    assert _current_weight(db, "a") == _current_weight(db, "b") == [9.1, 9.1, 9.3, 9.4]
    # Read again at their turn: exactly those whose context the group changed (the
    # original after its edit, the retry, the retried submission after its edit).
    assert live == ["uuid:b-O1", "uuid:b-O2", "uuid:b-P"]


def test_a_submission_stored_by_a_racing_post_after_the_read_is_answered_as_a_duplicate(
        db, phone, forms):
    """Another worker stores the same instanceID between the group's read and its
    turn: the queued INSERT fails the group, whose units are redone alone; nothing is
    stored twice and the phone is told it was received."""
    if db.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time and reserves no ids: nothing races the read")
    principal = _principal(db, phone)
    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id),
                          instance_id="uuid:raced")
    other = fill_submission(forms["anthropometry"], child_values(
        posyandu_id=phone.posyandu_id, child_name="Bagus", child_nik="", measured_on="2026-11-03"),
        instance_id="uuid:other")
    racer_runs = []

    def racer(tx):  # another worker's transaction, committed while this group runs
        if not racer_runs:
            UnitOfWork(db).run_one(intake.OpenRosaSubmission(xml, [], principal=principal))
        racer_runs.append(tx.grouped)
        return "raced"

    outcomes = UnitOfWork(db).run([Call(racer),
                                   intake.OpenRosaSubmission(xml, [], principal=principal),
                                   intake.OpenRosaSubmission(other, [], principal=principal)])
    assert racer_runs == [True, False]  # the group failed and was redone alone
    (_, no_error), (raced, error), (kept, other_error) = outcomes
    assert no_error is error is other_error is None
    assert (raced.status, raced.created) == ("processed", False)
    assert (kept.status, kept.created) == ("processed", True)
    with Session(db) as s:
        assert s.execute(text("SELECT count(*) FROM submission WHERE instance_id = 'uuid:raced'")
                         ).scalar() == 1
        assert s.execute(text("SELECT count(*) FROM measurement")).scalar() == 2


def test_a_submission_that_does_not_parse_is_not_read_ahead_and_fails_alone(db, phone, forms):
    principal = _principal(db, phone)
    good = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    outcomes = UnitOfWork(db).run([intake.OpenRosaSubmission(b"<not xml", [], principal=principal),
                                   intake.OpenRosaSubmission(good, [], principal=principal)])
    (_, bad), (result, error) = outcomes
    assert bad is not None and getattr(bad, "code", "").startswith("submission.")
    assert error is None and (result.status, result.created) == ("processed", True)


def test_a_retry_of_a_held_submission_released_earlier_in_the_group_reads_its_row_again(
        db, phone, forms):
    """An offline branch's update, held until its predecessor arrives, is released by an
    earlier unit of the group: a retry of it later in the group must be answered with
    its row as it is now (processed), not as read ahead (held)."""
    principal = _principal(db, phone)
    uow, form = UnitOfWork(db), forms["anthropometry"]
    child, branch = str(uuid.uuid4()), str(uuid.uuid4())
    values = dict(posyandu_id=phone.posyandu_id, is_new_child="no", child_pick=child,
                  child_id=child)
    create = entity_submission(form, child_values(posyandu_id=phone.posyandu_id), entity_id=child,
                               create=True)
    update = entity_submission(form, child_values(**values, measured_on="2026-11-03"),
                               entity_id=child, create=False, base=1, branch=branch)
    held = uow.run_one(intake.OpenRosaSubmission(update, [], principal=principal))
    assert held.status == "held"
    outcomes = uow.run([intake.OpenRosaSubmission(create, [], principal=principal),
                        intake.OpenRosaSubmission(update, [], principal=principal)])
    assert [(r.status, r.created) for r, _ in outcomes] == [("processed", True),
                                                           ("processed", False)]


def test_two_new_children_of_one_new_family_card_in_a_group_share_one_household(
        db, phone, forms, monkeypatch):
    """Both No. KK lookups were read ahead, before either household existed: the second
    must see the household the first created (and a third card, untouched, is answered
    from what was read)."""
    from sync.queries import households

    principal = _principal(db, phone)
    kk, other_kk = "3375010101200077", "3375010101200088"
    bodies = [fill_submission(forms["anthropometry"], child_values(
        posyandu_id=phone.posyandu_id, child_name=name, child_nik="", child_birth_date=born,
        household_kk=card)) for name, born, card in (("Ayu", "2024-03-04", kk),
                                                     ("Bagus", "2025-01-09", kk),
                                                     ("Citra", "2023-07-21", other_kk))]
    live = []

    class Counted(Prepared):  # the same statement, its reads at a unit's turn counted
        __slots__ = ()

        def mappings(self, session, params=None):
            live.append(params["kk"])
            return super().mappings(session, params)

    monkeypatch.setattr(households, "_BY_KK", Counted(households._BY_KK.statement))
    outcomes = UnitOfWork(db).run([intake.OpenRosaSubmission(b, [], principal=principal)
                                   for b in bodies])
    assert [error for _, error in outcomes] == [None] * 3
    with Session(db) as s:
        homes = s.execute(text("SELECT p.name, h.kk FROM person p JOIN household h ON "
                               "h.id = p.household_id WHERE p.name IN ('Ayu', 'Bagus', 'Citra') "
                               "ORDER BY p.name")).all()
        assert s.execute(text("SELECT count(*) FROM household WHERE kk = :kk"), {"kk": kk}
                         ).scalar() == 1
    assert homes == [("Ayu", kk), ("Bagus", kk), ("Citra", other_kk)]
    assert live == [kk]  # only the card the group had written to since is read again
