"""Scope and odd-input edges found in review: each once let data through or crashed."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import Session, select

from models import Attachment, ChangeLog, Household, Measurement, Person, Submission
from tests.support import (
    OPENROSA,
    OTHER_KELURAHAN,
    add_posyandu,
    bearer,
    child_values,
    fill_submission,
    multipart_files,
)


def _post(client, phone, xml):
    return client.post(f"{phone.prefix}/submission", headers=OPENROSA, files=multipart_files(xml))


def _other_posyandu(db) -> int:
    return add_posyandu(db, OTHER_KELURAHAN, "Mawar 9")


def _count(db, model) -> int:
    with Session(db) as s:
        return len(s.exec(select(model)).all())


@pytest.mark.parametrize("value", ["²", "9" * 20, "7.0", "-1"])
def test_posyandu_id_that_is_not_an_id_is_400_and_stores_nothing(client, phone, forms, db, value):
    r = _post(client, phone, fill_submission(forms["anthropometry"], child_values(posyandu_id=value)))
    assert r.status_code == 400 and "posyandu" in r.text
    assert _count(db, Submission) == 0


def test_posyandu_kader_cannot_file_a_record_under_another_kelurahan(client, phone, forms, db):
    xml = fill_submission(forms["anthropometry"], child_values(
        posyandu_id=phone.posyandu_id, kelurahan_code=OTHER_KELURAHAN))
    assert _post(client, phone, xml).status_code == 403
    assert _count(db, Submission) == _count(db, Person) == 0


def test_posyandu_must_belong_to_the_kelurahan_given(client, make_phone, forms, db, posyandu_id):
    other = _other_posyandu(db)
    supervisor = make_phone("sup", scopes=["33.75"], role="supervisor")
    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=other))  # KELURAHAN
    assert _post(client, supervisor, xml).status_code == 201
    with Session(db) as s:
        sub = s.exec(select(Submission)).one()
        assert sub.status == "failed" and "not 33.75.01.1002" in sub.error
        assert s.exec(select(Person)).all() == []


def test_an_edit_cannot_supersede_another_accounts_submission(client, make_phone, forms, db,
                                                               posyandu_id):
    other = _other_posyandu(db)
    owner = make_phone("owner", scopes=[f"posyandu:{other}"])
    intruder = make_phone("intruder", scopes=[f"posyandu:{posyandu_id}"])
    original = fill_submission(forms["anthropometry"], child_values(
        posyandu_id=other, kelurahan_code=OTHER_KELURAHAN), instance_id="uuid:owner-1")
    assert _post(client, owner, original).status_code == 201
    edit = fill_submission(forms["anthropometry"], child_values(posyandu_id=posyandu_id),
                           instance_id="uuid:intruder-1", deprecated_id="uuid:owner-1")
    assert _post(client, intruder, edit).status_code == 201  # stored, for review
    with Session(db) as s:
        subs = {x.instance_id: x for x in s.exec(select(Submission)).all()}
        assert subs["uuid:owner-1"].status == "processed"
        assert subs["uuid:intruder-1"].status == "failed"
        assert "another account" in subs["uuid:intruder-1"].error
        assert s.exec(select(Measurement)).one().is_current


def test_a_child_id_from_outside_the_scope_does_not_move_that_child(client, make_phone, forms, db,
                                                                     posyandu_id):
    other = _other_posyandu(db)
    owner = make_phone("owner2", scopes=[f"posyandu:{other}"])
    intruder = make_phone("intruder2", scopes=[f"posyandu:{posyandu_id}"])
    xml = fill_submission(forms["anthropometry"], child_values(
        posyandu_id=other, kelurahan_code=OTHER_KELURAHAN))
    assert _post(client, owner, xml).status_code == 201
    with Session(db) as s:
        foreign_id = s.exec(select(Measurement)).one().person_id
    xml = fill_submission(forms["anthropometry"], child_values(
        posyandu_id=posyandu_id, child_id=foreign_id, child_nik="", mother_nik="",
        household_kk="", child_name="Budi"))
    assert _post(client, intruder, xml).status_code == 201
    with Session(db) as s:
        child = s.get(Person, foreign_id)
        assert (child.kelurahan_code, child.posyandu_id, child.version) == (OTHER_KELURAHAN, other, 1)
    listed = client.get(f"{intruder.prefix}/forms/anthropometry/media/children.csv",
                        headers=OPENROSA).text
    assert foreign_id not in listed


def test_overlong_deprecated_id_is_400(client, phone, forms, db):
    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id),
                          deprecated_id="uuid:" + "x" * 120)
    assert _post(client, phone, xml).status_code == 400
    assert _count(db, Submission) == 0


def test_a_weight_of_nan_fails_processing_and_leaves_the_registry_untouched(client, phone, forms, db):
    """The weight is read after the household, mother and child were resolved: all of
    that is undone, and the submission with its attachment is kept as failed."""
    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id,
                                                               weight_kg="nan"))
    r = client.post(f"{phone.prefix}/submission", headers=OPENROSA,
                    files=multipart_files(xml, {"kms.jpg": b"\xff\xd8card"}))
    assert r.status_code == 201
    with Session(db) as s:
        sub = s.exec(select(Submission)).one()
        assert sub.status == "failed" and "not a number" in sub.error and sub.attempts == 1
        assert [a.name for a in s.exec(select(Attachment))] == ["kms.jpg"]
    assert _count(db, Measurement) == _count(db, Person) == _count(db, Household) == 0
    assert _count(db, ChangeLog) == 0


def test_retry_after_the_form_closed_is_still_accepted_as_a_duplicate(client, phone, forms, db):
    from sync.forms import set_form_state

    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    assert _post(client, phone, xml).status_code == 201
    with Session(db) as s:
        set_form_state(s, form_id="anthropometry", state="closed")
        s.commit()
    assert _post(client, phone, xml).status_code == 202
    fresh = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    assert _post(client, phone, fresh).status_code == 409


def test_many_concurrent_api_reads_do_not_freeze_the_server(app, admin_user):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        headers = bearer(c, "admin", "admin-password-1")
    statuses: list[int] = []

    def read():
        with TestClient(app) as c:
            statuses.append(c.get("/api/v1/submissions", headers=headers).status_code)

    threads = [threading.Thread(target=read) for _ in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert statuses == [200] * 60


def test_phones_sending_at_once_each_get_their_own_outcome(client, phone, forms, db):
    """Submissions arriving together may share a transaction (group commit); a failing
    one (NaN weight) or a refused one (outside the scope) changes nothing for the others."""
    good = [child_values(posyandu_id=phone.posyandu_id, child_nik="", mother_nik="",
                         household_kk="", child_name=name)
            for name in ("Siti Aminah", "Dewi Lestari", "Ayu Wulandari", "Putri Handayani")]
    bad = child_values(posyandu_id=phone.posyandu_id, weight_kg="nan", child_name="Nur Aini")
    foreign = child_values(kelurahan_code=OTHER_KELURAHAN, posyandu_id="")
    bodies = [fill_submission(forms["anthropometry"], v) for v in [*good, bad, foreign]]
    statuses: dict[int, int] = {}
    start = threading.Barrier(len(bodies))

    def send(i):
        start.wait(10)
        statuses[i] = _post(client, phone, bodies[i]).status_code

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [statuses[i] for i in range(len(bodies))] == [201] * 5 + [403]
    with Session(db) as s:
        by_status = sorted(sub.status for sub in s.exec(select(Submission)))
        assert by_status == ["failed"] + ["processed"] * 4
        children = {p.name for p in s.exec(select(Person)) if p.mother_id}
        assert children == {"Siti Aminah", "Dewi Lestari", "Ayu Wulandari", "Putri Handayani"}
    assert _count(db, Measurement) == 4
