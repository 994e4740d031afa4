"""The duplicate review queue over HTTP: scoped listing and filters, both records side
by side, dismiss (remembered), merge and unmerge (state identical after the round
trip), merged ids resolving, and who may do what."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from models import AuditLog, ChangeLog, DuplicatePair, Household, Measurement, Person
from tests.support import (
    KELURAHAN,
    OPENROSA,
    bearer,
    child_values,
    fill_submission,
    multipart_files,
)

DUPLICATES = "/api/v1/duplicates"
LONE = {"mother_name": "", "mother_nik": "", "household_kk": "", "child_nik": ""}


def _post(client, phone, **values) -> None:
    xml = fill_submission(phone.forms["anthropometry"], child_values(
        posyandu_id=phone.posyandu_id, **{**LONE, **values}))
    r = client.post(f"{phone.prefix}/submission", headers=OPENROSA, files=multipart_files(xml))
    assert r.status_code == 201, r.text


@pytest.fixture
def kader(phone, forms):
    phone.forms = forms
    return phone


@pytest.fixture
def supervisor(client, make_user):
    make_user("sup-kota", "supervisor", scopes=["33.75"])
    return bearer(client, "sup-kota", "password-123")


@pytest.fixture
def pair(client, db, kader) -> dict:
    """A child registered twice: 'Aisyah Putri', then 'Aisyah' (the review band)."""
    _post(client, kader, child_name="Aisyah Putri", measured_on="2026-10-02", weight_kg="8.8")
    _post(client, kader, child_name="Aisyah", measured_on="2026-11-02", weight_kg="9.1")
    with Session(db) as s:
        row = s.exec(select(DuplicatePair)).one()
        names = {p.id: p.name for p in s.exec(select(Person)).all()}
    return {"id": row.id, "a_id": row.a_id, "b_id": row.b_id, "names": names}


def _registry(db) -> dict:
    """Everything an unmerge must give back (versions and timestamps aside)."""
    with Session(db) as s:
        persons = {p.id: {k: v for k, v in p.model_dump().items()
                          if k not in ("version", "updated_at")}
                   for p in s.exec(select(Person)).all()}
        households = {h.id: {k: v for k, v in h.model_dump().items()
                             if k not in ("version", "updated_at")}
                      for h in s.exec(select(Household)).all()}
        measurements = {m.id: m.person_id for m in s.exec(select(Measurement)).all()}
    return {"persons": persons, "households": households, "measurements": measurements}


def test_the_queue_lists_the_pair_with_its_evidence_and_filters(client, supervisor, pair):
    r = client.get(DUPLICATES, headers=supervisor)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 1 and body["limit"] == 100 and body["offset"] == 0
    item = body["items"][0]
    assert (item["id"], item["entity"], item["status"], item["band"]) == (
        pair["id"], "person", "open", "review")
    assert item["evidence"]["fields"]["birth_date"]["level"] == "exact"
    assert {item["a_name"], item["b_name"]} == {"Aisyah Putri", "Aisyah"}
    for query, total in (({"status": "open"}, 1), ({"status": "dismissed"}, 0),
                         ({"min_score": 99}, 0), ({"min_score": 1}, 1),
                         ({"entity": "household"}, 0), ({"entity": "person"}, 1),
                         ({"kelurahan_code": KELURAHAN}, 1),
                         ({"kelurahan_code": "33.75.04.1002"}, 0)):
        assert client.get(DUPLICATES, params=query, headers=supervisor).json()["total"] == total
    assert client.get(DUPLICATES, params={"status": "maybe"}, headers=supervisor).status_code == 422


def test_side_by_side_shows_both_records_with_their_measurements(client, supervisor, pair):
    r = client.get(f"{DUPLICATES}/{pair['id']}", headers=supervisor)
    assert r.status_code == 200, r.text
    body = r.json()
    weights = {body[side]["name"]: [m["weight_kg"] for m in body[side]["measurements"]]
               for side in ("a", "b")}
    assert weights == {"Aisyah Putri": [8.8], "Aisyah": [9.1]}
    assert body["a"]["measurements"][0]["zwei"] is not None


def test_scope_is_enforced_on_every_review_endpoint(client, make_user, kader, pair):
    make_user("sup-selatan", "supervisor", scopes=["33.75.04"])
    other = bearer(client, "sup-selatan", "password-123")
    assert client.get(DUPLICATES, headers=other).json()["total"] == 0
    assert client.get(f"{DUPLICATES}/{pair['id']}", headers=other).status_code == 404
    for action in ("dismiss", "merge"):
        r = client.post(f"{DUPLICATES}/{pair['id']}/{action}", headers=other,
                        json={"survivor_id": pair["a_id"]})
        assert r.status_code == 404 and r.json()["error"] == "duplicate.not_found"
    assert client.get(f"/api/v1/persons/{pair['a_id']}", headers=other).status_code == 404
    # A kader reads her scope's queue but cannot decide.
    mine = bearer(client, kader.username, kader.password)
    assert client.get(DUPLICATES, headers=mine).json()["total"] == 1
    r = client.post(f"{DUPLICATES}/{pair['id']}/merge", headers=mine,
                    json={"survivor_id": pair["a_id"]})
    assert r.status_code == 403 and r.json()["error"] == "auth.role"
    assert client.post(f"{DUPLICATES}/{pair['id']}/dismiss", headers=mine).status_code == 403


def test_a_pair_with_one_record_outside_the_scope_is_not_listed(client, db, make_user, pair):
    with Session(db) as s:  # the family moved: one record is now in another kecamatan
        person = s.get(Person, pair["b_id"])
        person.kelurahan_code, person.posyandu_id = "33.75.04.1002", None
        s.add(person)
        s.commit()
    make_user("sup-barat", "supervisor", scopes=["33.75.01"])
    barat = bearer(client, "sup-barat", "password-123")
    assert client.get(DUPLICATES, headers=barat).json()["total"] == 0
    make_user("sup-kota2", "supervisor", scopes=["33.75"])
    kota = bearer(client, "sup-kota2", "password-123")
    assert client.get(DUPLICATES, headers=kota).json()["total"] == 1


def test_merge_then_unmerge_gives_back_the_registry_exactly(client, db, supervisor, pair):
    before = _registry(db)
    survivor, absorbed = pair["a_id"], pair["b_id"]
    r = client.post(f"{DUPLICATES}/{pair['id']}/merge", headers=supervisor,
                    json={"survivor_id": survivor, "values": {}})
    assert r.status_code == 200, r.text
    assert r.json()["pair"]["status"] == "merged" and r.json()["survivor"]["id"] == survivor
    merged = _registry(db)
    assert set(merged["measurements"].values()) == {survivor}
    assert merged["persons"][absorbed]["merged_into_id"] == survivor
    with Session(db) as s:
        ops = [(c.entity_id, c.op) for c in s.exec(select(ChangeLog).order_by(ChangeLog.seq))]
        assert (absorbed, "merge") in ops and ops[-1] == (survivor, "upsert")
        assert s.exec(select(AuditLog).where(AuditLog.action == "person.merge")).one()
    # The old id answers with the survivor and says it was merged.
    r = client.get(f"/api/v1/persons/{absorbed}", headers=supervisor)
    assert r.status_code == 200 and r.json()["id"] == survivor
    assert r.json()["merged_from"] == absorbed and len(r.json()["measurements"]) == 2
    assert client.get(DUPLICATES, params={"status": "merged"}, headers=supervisor).json()["total"] == 1
    r = client.post(f"/api/v1/persons/{absorbed}/unmerge", headers=supervisor)
    assert r.status_code == 200, r.text
    assert _registry(db) == before
    r = client.post(f"/api/v1/persons/{absorbed}/unmerge", headers=supervisor)
    assert r.status_code == 404 and r.json()["error"] == "merge.not_merged"
    with Session(db) as s:
        assert s.get(DuplicatePair, pair["id"]).status == "open"
        assert s.exec(select(AuditLog).where(AuditLog.action == "person.unmerge")).one()


def test_a_merged_id_sent_later_resolves_to_the_survivor(client, db, supervisor, kader, pair):
    survivor, absorbed = pair["a_id"], pair["b_id"]
    client.post(f"{DUPLICATES}/{pair['id']}/merge", headers=supervisor,
                json={"survivor_id": survivor})
    _post(client, kader, is_new_child="no", child_id=absorbed, child_name="Aisyah",
          measured_on="2026-11-20", weight_kg="9.3")
    with Session(db) as s:
        late = s.exec(select(Measurement).where(Measurement.measured_on == date(2026, 11, 20))).one()
        assert late.person_id == survivor


def test_merge_values_choose_fields_and_bad_survivors_are_refused(client, db, supervisor, pair):
    r = client.post(f"{DUPLICATES}/{pair['id']}/merge", headers=supervisor,
                    json={"survivor_id": "someone-else"})
    assert r.status_code == 400 and r.json()["error"] == "duplicate.bad_survivor"
    r = client.post(f"{DUPLICATES}/{pair['id']}/merge", headers=supervisor,
                    json={"survivor_id": pair["a_id"], "values": {"shoe_size": 3}})
    assert r.status_code == 400 and r.json()["error"] == "merge.bad_values"
    r = client.post(f"{DUPLICATES}/{pair['id']}/merge", headers=supervisor,
                    json={"survivor_id": pair["a_id"], "values": {"name": "Aisyah Putri Ayu"}})
    assert r.status_code == 200 and r.json()["survivor"]["name"] == "Aisyah Putri Ayu"
    r = client.post(f"{DUPLICATES}/{pair['id']}/merge", headers=supervisor,
                    json={"survivor_id": pair["a_id"]})
    assert r.status_code == 409 and r.json()["error"] == "duplicate.decided"


def test_a_dismissed_pair_is_never_proposed_again(client, db, supervisor, kader, pair):
    r = client.post(f"{DUPLICATES}/{pair['id']}/dismiss", headers=supervisor)
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    assert client.post(f"{DUPLICATES}/{pair['id']}/dismiss", headers=supervisor).status_code == 409
    # The same child typed the same way again (online): her record, no new pair.
    _post(client, kader, child_name="Aisyah", measured_on="2026-11-25", weight_kg="9.2")
    with Session(db) as s:
        pairs = s.exec(select(DuplicatePair)).all()
        assert [(p.id, p.status) for p in pairs] == [(pair["id"], "dismissed")]
    # Nor in batch.
    from sync.dedup import scan_registry

    summary = scan_registry(db)
    assert summary.opened == 0
    with Session(db) as s:
        assert [(p.id, p.status) for p in s.exec(select(DuplicatePair))] == [
            (pair["id"], "dismissed")]


def test_persons_and_households_are_searchable_in_scope(client, db, supervisor, pair):
    r = client.get("/api/v1/persons", params={"name": "aisyah"}, headers=supervisor)
    assert r.status_code == 200 and r.json()["total"] == 2
    r = client.get("/api/v1/persons", params={"name": "PUTRI"}, headers=supervisor)
    assert [p["name"] for p in r.json()["items"]] == ["Aisyah Putri"]
    r = client.get("/api/v1/persons", params={"kelurahan_code": "33.75.04.1002"},
                   headers=supervisor)
    assert r.json()["total"] == 0
    r = client.get(f"/api/v1/persons/{pair['a_id']}", headers=supervisor)
    assert r.json()["merged_from"] is None and r.json()["measurements"][0]["zlen"] is not None
    assert client.get("/api/v1/persons/nobody", headers=supervisor).status_code == 404
    assert client.get("/api/v1/households", headers=supervisor).json()["total"] == 0
