"""Measurements, pregnancy screenings and sanitation checks reach apps through the same
change feed as the registry (GET /api/v1/sync/changes), and two different measurements
of one child on one day from two submissions are a conflict to review, counted by
neither, not two data points."""

from __future__ import annotations

from sqlmodel import Session, select

from models import Measurement, SyncConflict
from tests.integration.openrosa.field_records import GOOD_SANITATION, _child, _household, _woman
from tests.support import (
    KELURAHAN,
    OPENROSA,
    bearer,
    child_values,
    fill_submission,
    multipart_files,
)


def _send(client, phone, xml):
    r = client.post(f"{phone.prefix}/submission", headers=OPENROSA, files=multipart_files(xml))
    assert r.status_code == 201, r.text


def _feed(client, headers, since=None):
    r = client.get("/api/v1/sync/changes", headers=headers,
                   params={"limit": 5000, **({"since": since} if since else {})})
    assert r.status_code == 200, r.text
    return r.json()


def test_records_are_in_the_feed_and_an_edit_leaves_a_tombstone(client, phone, forms, db):
    h = bearer(client, phone.username, phone.password)
    values = child_values(posyandu_id=phone.posyandu_id, child_nik="", mother_nik="",
                          household_kk="")
    _send(client, phone, fill_submission(forms["anthropometry"], values, instance_id="uuid:m1"))
    _send(client, phone, _woman(forms, phone, KELURAHAN, woman_name="Rina Wati",
                                woman_birth_date="1995-07-15", screened_on="2026-11-02",
                                muac_cm="22.0", hb_g_dl="10.5"))
    _send(client, phone, _household(forms, KELURAHAN, head_name="Pak Budi",
                                    checked_on="2026-11-02", **GOOD_SANITATION))
    body = _feed(client, h)
    records = {c["entity"]: c for c in body["changes"]
               if c["entity"] in ("measurement", "pregnancy_screening", "sanitation_check")}
    assert set(records) == {"measurement", "pregnancy_screening", "sanitation_check"}
    m = records["measurement"]
    assert (m["op"], m["version"]) == ("upsert", 1)
    assert m["data"]["weight_kg"] == 9.1 and m["data"]["measured_on"] == "2026-11-02"
    assert m["data"]["stunted"] is not None and m["data"]["is_current"] is True
    assert records["pregnancy_screening"]["data"]["kek"] is True
    assert records["sanitation_check"]["data"]["jamban_sehat"] is True
    # An edit (deprecatedID) replaces the measurement: a tombstone for the old one, the new one.
    with Session(db) as s:
        old = s.exec(select(Measurement.submission_id)).one()
    edit = fill_submission(forms["anthropometry"], {**values, "weight_kg": "9.3"},
                           deprecated_id="uuid:m1")
    _send(client, phone, edit)
    delta = [c for c in _feed(client, h, body["next_cursor"])["changes"]
             if c["entity"] == "measurement"]
    assert [(c["id"], c["op"]) for c in delta] == [(str(old), "delete"), (delta[1]["id"], "upsert")]
    assert delta[1]["data"]["weight_kg"] == 9.3


def test_two_different_measurements_of_a_child_on_one_day_are_a_conflict(client, phone, forms,
                                                                            db, make_user):
    _send(client, phone, _child(forms, phone, KELURAHAN, weight_kg="9.1"))
    _send(client, phone, _child(forms, phone, KELURAHAN, weight_kg="11.4"))
    with Session(db) as s:
        rows = s.exec(select(Measurement).order_by(Measurement.id)).all()
        assert len(rows) == 2 and rows[0].person_id == rows[1].person_id
        [conflict] = s.exec(select(SyncConflict)).all()
        assert conflict.entity == "measurement" and conflict.entity_id == rows[0].person_id
        assert [r.conflict_id for r in rows] == [conflict.id, conflict.id]
        assert all(r.is_current for r in rows)
        assert conflict.fields["measurement"]["current"]["weight_kg"] == 9.1
        assert conflict.fields["measurement"]["incoming"]["weight_kg"] == 11.4
    make_user("spv", "supervisor", [KELURAHAN])
    spv = bearer(client, "spv", "password-123")
    listed = client.get("/api/v1/conflicts", headers=spv, params={"entity": "measurement"}).json()
    assert [c["id"] for c in listed["items"]] == [conflict.id]
    detail = client.get(f"/api/v1/conflicts/{conflict.id}", headers=spv).json()
    assert detail["sources"]["incoming"]["submission_id"] == rows[1].submission_id
    typed = client.post(f"/api/v1/conflicts/{conflict.id}/resolve", headers=spv,
                        json={"values": {"weight_kg": 10}})
    assert typed.status_code == 400
    _, cursor = None, _feed(client, spv)["next_cursor"]
    done = client.post(f"/api/v1/conflicts/{conflict.id}/resolve", headers=spv,
                       json={"choose": "current"})
    assert done.status_code == 200, done.text
    with Session(db) as s:
        kept, dropped = s.exec(select(Measurement).order_by(Measurement.id)).all()
        assert (kept.is_current, kept.conflict_id) == (True, None)
        assert (dropped.is_current, dropped.conflict_id) == (False, None)
    delta = _feed(client, spv, cursor)["changes"]
    assert {(c["id"], c["op"]) for c in delta} == {(str(kept.submission_id), "upsert"),
                                                    (str(dropped.submission_id), "delete")}


def test_the_same_measurement_sent_again_in_another_submission_counts_once(client, phone, forms,
                                                                             db):
    _send(client, phone, _child(forms, phone, KELURAHAN))
    _send(client, phone, _child(forms, phone, KELURAHAN))
    with Session(db) as s:
        rows = s.exec(select(Measurement).order_by(Measurement.id)).all()
        assert [r.is_current for r in rows] == [True, False]
        assert "same_day_duplicate" in rows[1].plausibility_flags
        assert s.exec(select(SyncConflict)).all() == []


def test_an_edit_correcting_the_child_goes_through_the_versioned_write_and_can_conflict(
        client, phone, forms, db, make_user):
    """deprecatedID: the name the edit changed is applied on the version the original
    saw; a field the supervisor changed since becomes a conflict, not an overwrite."""
    from models import Person

    values = child_values(posyandu_id=phone.posyandu_id, child_nik="", mother_nik="",
                          household_kk="")
    _send(client, phone, fill_submission(forms["anthropometry"], values, instance_id="uuid:o1"))
    with Session(db) as s:
        child = s.exec(select(Measurement.person_id)).one()
    # An edit fixing the name: the same child (not a new one), renamed, version 2.
    _send(client, phone, fill_submission(forms["anthropometry"], {
        **values, "child_name": "Siti Aminah Putri"}, instance_id="uuid:o2",
        deprecated_id="uuid:o1"))
    with Session(db) as s:
        person = s.get(Person, child)
        assert (person.name, person.version) == ("Siti Aminah Putri", 2)
        assert len(s.exec(select(Person).where(Person.name_key.contains("siti"))).all()) == 1
        assert s.exec(select(SyncConflict)).all() == []
    # The supervisor corrects the birth date; then a second edit of the first edit, made
    # on the phone before it knew, changes the birth date too: a conflict.
    make_user("spv", "supervisor", [KELURAHAN])
    spv = bearer(client, "spv", "password-123")
    r = client.post("/api/v1/sync/push", headers=spv, json={"device_id": "web", "mutations": [
        {"mutation_id": "m-1", "entity": "person", "id": child, "op": "update",
         "base_version": 2, "changes": {"birth_date": "2024-03-05"}}]})
    assert r.json()["results"][0]["status"] == "applied"
    _send(client, phone, fill_submission(forms["anthropometry"], {
        **values, "child_name": "Siti Aminah Putri", "child_birth_date": "2024-02-04"},
        instance_id="uuid:o3", deprecated_id="uuid:o2"))
    with Session(db) as s:
        person = s.get(Person, child)
        assert person.birth_date.isoformat() == "2024-03-05"
        [conflict] = s.exec(select(SyncConflict)).all()
        assert conflict.entity == "person" and set(conflict.fields) == {"birth_date"}
        assert conflict.fields["birth_date"]["incoming"] == "2024-02-04"
