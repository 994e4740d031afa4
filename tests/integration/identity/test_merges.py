"""Auto-links are merges: recorded, undoable exactly; household merges move members and
sanitation checks; JSON push creates resolve identity as submissions do; merges mark
the persons and households they touch (sync.touched)."""

from __future__ import annotations

import uuid
from datetime import date

from sqlmodel import Session, select

from models import DuplicatePair, Household, Measurement, Person, RecordMerge
from sync import touched
from sync.apply import Provenance
from sync.identity import HouseholdClaim, PersonClaim, resolve_household, resolve_person
from sync.merge import merge, unmerge
from tests.support import (
    KELURAHAN,
    OPENROSA,
    add_posyandu,
    bearer,
    child_values,
    fill_submission,
    multipart_files,
)

PROVENANCE = Provenance(actor_id=None, submission_id=None, reason="test")


def _post(client, phone, forms, **values) -> None:
    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id,
                                                               **values))
    r = client.post(f"{phone.prefix}/submission", headers=OPENROSA, files=multipart_files(xml))
    assert r.status_code == 201, r.text


def _state(db) -> dict:
    with Session(db) as s:
        return {"persons": {p.id: {k: v for k, v in p.model_dump().items()
                                   if k not in ("version", "updated_at")}
                            for p in s.exec(select(Person))},
                "households": {h.id: {k: v for k, v in h.model_dump().items()
                                      if k not in ("version", "updated_at")}
                               for h in s.exec(select(Household))},
                "measurements": {m.id: m.person_id for m in s.exec(select(Measurement))}}


def test_an_auto_link_at_intake_is_a_merge_and_undoing_it_gives_the_child_back(
        client, db, forms, phone, make_user):
    _post(client, phone, forms, child_nik="", child_name="Muhammad Rizky", child_sex="male",
          measured_on="2026-10-02", weight_kg="8.8")
    _post(client, phone, forms, child_nik="", child_name="M. Rizki", child_sex="male",
          measured_on="2026-11-02", weight_kg="9.1")
    with Session(db) as s:
        done = s.exec(select(RecordMerge)).one()
        assert done.kind == "auto_link"
        children = {m.person_id for m in s.exec(select(Measurement))}
        assert children == {done.survivor_id}
        absorbed = s.get(Person, done.absorbed_id)
        assert absorbed.merged_into_id == done.survivor_id and absorbed.name == "M. Rizki"
        pair = s.exec(select(DuplicatePair)).one()
        assert (pair.status, pair.merge_id, pair.band) == ("merged", done.id, "auto_link")
    make_user("spv", "supervisor", ["33.75"])
    r = client.post(f"/api/v1/persons/{done.absorbed_id}/unmerge",
                    headers=bearer(client, "spv", "password-123"))
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "M. Rizki" and r.json()["merged_into_id"] is None
    with Session(db) as s:
        by_weight = {m.weight_kg: m.person_id for m in s.exec(select(Measurement))}
        assert by_weight == {8.8: done.survivor_id, 9.1: done.absorbed_id}
        # A wrong automatic link is a decision that they differ.
        assert s.exec(select(DuplicatePair)).one().status == "dismissed"


def test_a_household_merge_moves_members_and_checks_and_unmerges_exactly(session: Session):
    kept = resolve_household(session, HouseholdClaim(registry_id=None, kk="3375010101200003",
                                                     kelurahan_code=KELURAHAN,
                                                     head_name="Pak Budi"), PROVENANCE)
    copy = resolve_household(session, HouseholdClaim(registry_id=None, kk="3375010101200004",
                                                     kelurahan_code=KELURAHAN, head_name="Budi",
                                                     address="Jl. Melati 3"), PROVENANCE)
    member = resolve_person(session, PersonClaim(
        registry_id=None, nik=None, name="Rina", kelurahan_code=KELURAHAN, sex="female",
        household_id=copy["id"]), PROVENANCE)
    session.flush()
    before = {"member": dict(session.get(Person, member["id"]).model_dump()),
              "kept": dict(session.get(Household, kept["id"]).model_dump())}
    merge(session, entity="household", survivor_id=kept["id"], absorbed_id=copy["id"],
          provenance=PROVENANCE)
    session.flush()
    session.expire_all()
    assert session.get(Person, member["id"]).household_id == kept["id"]
    assert session.get(Household, kept["id"]).address == "Jl. Melati 3"  # a gap filled
    assert session.get(Household, copy["id"]).merged_into_id == kept["id"]
    assert {"households": {kept["id"], copy["id"]}, "persons": {member["id"]}} == {
        "households": touched.take(session)[1], "persons": {member["id"]}}
    unmerge(session, entity="household", absorbed_id=copy["id"], provenance=PROVENANCE)
    session.flush()
    session.expire_all()
    after_member = session.get(Person, member["id"]).model_dump()
    after_kept = session.get(Household, kept["id"]).model_dump()
    for key in ("version", "updated_at"):
        for row in (before["member"], before["kept"], after_member, after_kept):
            row.pop(key)
    assert after_member == before["member"] and after_kept == before["kept"]
    assert session.get(Household, copy["id"]).merged_into_id is None


def test_merge_marks_every_person_it_touches(session: Session):
    claim = dict(registry_id=None, nik=None, kelurahan_code=KELURAHAN, sex="female",
                 birth_date=date(1990, 1, 1))
    mother = resolve_person(session, PersonClaim(name="Rina Wati", **claim), PROVENANCE)
    copy = resolve_person(session, PersonClaim(name="Rina", **{**claim, "birth_date": None}),
                          PROVENANCE)
    child = resolve_person(session, PersonClaim(
        registry_id=None, nik=None, name="Bagus", kelurahan_code=KELURAHAN, sex="male",
        birth_date=date(2023, 1, 1), mother_id=copy["id"]), PROVENANCE)
    touched.take(session)
    merge(session, entity="person", survivor_id=mother["id"], absorbed_id=copy["id"],
          provenance=PROVENANCE)
    assert touched.take(session)[0] == {mother["id"], copy["id"], child["id"]}
    session.flush()
    session.expire_all()
    assert session.get(Person, child["id"]).mother_id == mother["id"]


def test_a_pushed_create_of_a_registered_child_follows_to_that_child(client, db, make_user):
    posyandu = add_posyandu(db, KELURAHAN, "Melati 1")
    make_user("sri", "kader", [f"posyandu:{posyandu}"])
    headers = bearer(client, "sri", "password-123")

    def push(pid, name):
        body = {"device_id": "hp-1", "mutations": [{
            "mutation_id": str(uuid.uuid4()), "entity": "person", "id": pid, "op": "create",
            "base_version": 0, "changes": {"name": name, "sex": "female",
                                           "birth_date": "2024-05-01",
                                           "kelurahan_code": KELURAHAN,
                                           "nik": "3375014105240001"}}]}
        r = client.post("/api/v1/sync/push", headers=headers, json=body)
        assert r.status_code == 200, r.text
        return r.json()["results"][0]

    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    assert push(first, "Ani")["id"] == first
    result = push(second, "Ani Lestari")  # the same NIK: the registered child
    assert result["status"] == "applied" and result["id"] == first
    assert result["redirected_from"] == second
    with Session(db) as s:
        assert s.get(Person, second).merged_into_id == first
        assert s.exec(select(RecordMerge)).one().kind == "auto_link"


def test_the_batch_scan_opens_what_the_online_path_missed_and_merges_only_when_asked(db):
    from sync.apply import create_person
    from sync.dedup import scan_registry
    from tests.support import OTHER_KELURAHAN

    with Session(db) as s:  # one family registered in two kecamatan (it moved)
        ids = []
        for kelurahan in (KELURAHAN, OTHER_KELURAHAN):
            mother = create_person(s, data={"name": "Siti Aminah", "sex": "female",
                                            "nik": "3375014708950002",
                                            "kelurahan_code": kelurahan}, provenance=PROVENANCE)
            ids.append(create_person(s, data={
                "name": "Muhammad Rizky", "sex": "male", "birth_date": date(2023, 5, 1),
                "mother_id": mother["id"], "kelurahan_code": kelurahan},
                provenance=PROVENANCE)["id"])
        s.commit()
    first = scan_registry(db)
    assert first.opened >= 1 and first.merged == 0
    with Session(db) as s:
        assert s.exec(select(RecordMerge)).all() == []
        child_pair = [p for p in s.exec(select(DuplicatePair)) if {p.a_id, p.b_id} == set(ids)]
        assert child_pair[0].source == "batch" and child_pair[0].status == "open"
        s.delete(child_pair[0])
        s.commit()
    merged = scan_registry(db, auto_merge=True)
    assert merged.merged >= 1
    with Session(db) as s:
        done = [m for m in s.exec(select(RecordMerge)) if {m.survivor_id, m.absorbed_id} == set(ids)]
        assert done and done[0].kind == "auto_link"
    assert scan_registry(db).opened == 0  # nothing found twice
