"""Identity across scopes: a match outside the submitter's scope never changes the
out-of-scope record and never shows her anything of it. Her record is created in her
scope and the pair goes to review as a cross-scope candidate. One test per way this
once leaked (issue #14): a child's NIK, a mother's NIK, a No. KK, a woman's NIK."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from models import DuplicatePair, Household, Measurement, Person, Submission
from tests.integration.openrosa.field_records import GOOD_SANITATION
from tests.support import (
    KELURAHAN,
    OPENROSA,
    OTHER_KELURAHAN,
    bearer,
    child_values,
    fill_submission,
    multipart_files,
)

CHILD_NIK = "3375014403240001"  # a girl born 04.03.2024 (child_values' birth date)
MOTHER_NIK = "3375015507950002"  # a woman born 15.07.1995
WOMAN_NIK = "3375014708950002"  # a woman born 07.08.1995
KK = "3375040101200009"


def _post(client, phone, xml) -> None:
    r = client.post(f"{phone.prefix}/submission", headers=OPENROSA, files=multipart_files(xml))
    assert r.status_code == 201, r.text
    with Session(client.app.state.engine) as s:
        failed = s.exec(select(Submission).where(Submission.status == "failed")).all()
        assert not failed, [f.error for f in failed]


@pytest.fixture
def elsewhere(make_phone, forms):
    """A supervisor's phone in the other kelurahan (another kecamatan)."""
    return make_phone("sup-banyurip", scopes=[OTHER_KELURAHAN], role="supervisor")


def _child_xml(forms, **values) -> bytes:
    return fill_submission(forms["anthropometry"], child_values(**values))


def _rows(db, model, **where):
    with Session(db) as s:
        statement = select(model)
        for name, value in where.items():
            statement = statement.where(getattr(model, name) == value)
        return s.exec(statement).all()


def _cross_scope_pair(db, entity: str, one: str, other: str) -> DuplicatePair:
    pairs = [p for p in _rows(db, DuplicatePair, entity=entity) if {p.a_id, p.b_id} == {one, other}]
    assert len(pairs) == 1, pairs
    assert pairs[0].cross_scope and pairs[0].status == "open"
    return pairs[0]


def test_another_kelurahans_child_nik_neither_attaches_nor_shows_that_child(
        client, db, forms, phone, elsewhere):
    _post(client, elsewhere, _child_xml(
        forms, kelurahan_code=OTHER_KELURAHAN, child_nik=CHILD_NIK, child_name="Putri Lestari",
        mother_name="Dewi", mother_nik="", household_kk="", weight_kg="12.5",
        measured_on="2026-10-02"))
    theirs = _rows(db, Person, nik=CHILD_NIK)[0]
    _post(client, phone, _child_xml(forms, posyandu_id=phone.posyandu_id, child_nik=CHILD_NIK,
                                    mother_nik="", household_kk=""))
    children = _rows(db, Person, nik=CHILD_NIK)
    mine = next(p for p in children if p.id != theirs.id)
    assert (mine.kelurahan_code, mine.posyandu_id) == (KELURAHAN, phone.posyandu_id)
    again = next(p for p in children if p.id == theirs.id)
    assert again.model_dump() == theirs.model_dump()  # not one field of it changed
    assert [m.person_id for m in _rows(db, Measurement, kelurahan_code=OTHER_KELURAHAN)] == [theirs.id]
    # What she sees: her own child, without the other child's growth history or id.
    r = client.get("/api/v1/measurements", headers=bearer(client, phone.username, phone.password))
    assert r.status_code == 200
    items = r.json()["items"]
    assert [(m["person_id"], m["child_name"], m["plausibility_flags"]) for m in items] == [
        (mine.id, "Siti Aminah", "")]
    assert theirs.id not in r.text and "Putri" not in r.text
    _cross_scope_pair(db, "person", mine.id, theirs.id)


def test_another_kelurahans_mother_nik_does_not_name_the_new_childs_mother(
        client, db, forms, phone, elsewhere):
    _post(client, elsewhere, _child_xml(
        forms, kelurahan_code=OTHER_KELURAHAN, child_nik="", mother_name="Sri Rahayu",
        mother_nik=MOTHER_NIK, household_kk="", child_name="Bagus"))
    theirs = _rows(db, Person, nik=MOTHER_NIK)[0]
    _post(client, phone, _child_xml(forms, posyandu_id=phone.posyandu_id, child_nik="",
                                    mother_name="", mother_nik=MOTHER_NIK, household_kk=""))
    child = _rows(db, Person, name="Siti Aminah")[0]
    mother = _rows(db, Person, id=child.mother_id)[0]
    assert mother.id != theirs.id and mother.name != "Sri Rahayu"
    assert (mother.kelurahan_code, mother.posyandu_id) == (KELURAHAN, phone.posyandu_id)
    assert _rows(db, Person, id=theirs.id)[0].model_dump() == theirs.model_dump()
    assert len(_rows(db, Person, name="Sri Rahayu")) == 1
    # Her pick list (the phone's mother list) has no Sri Rahayu.
    r = client.get(f"{phone.prefix}/formList", headers=OPENROSA)
    assert "Sri Rahayu" not in r.text
    _cross_scope_pair(db, "person", mother.id, theirs.id)


def test_another_kelurahans_kk_does_not_rewrite_that_household(client, db, forms, phone,
                                                               elsewhere):
    _post(client, elsewhere, fill_submission(forms["sanitation_check"], {
        "is_new_household": "yes", "kelurahan_code": OTHER_KELURAHAN, "household_kk": KK,
        "head_name": "Pak Budi", "checked_on": "2026-10-01", **GOOD_SANITATION}))
    theirs = _rows(db, Household, kk=KK)[0]
    _post(client, phone, fill_submission(forms["sanitation_check"], {
        "is_new_household": "yes", "kelurahan_code": KELURAHAN, "household_kk": KK,
        "head_name": "Ahmad Rewrite", "address": "Jl. Baru 1", "checked_on": "2026-10-02",
        **GOOD_SANITATION}))
    households = _rows(db, Household, kk=KK)
    assert _rows(db, Household, id=theirs.id)[0].model_dump() == theirs.model_dump()
    mine = next(h for h in households if h.id != theirs.id)
    assert (mine.kelurahan_code, mine.head_name, mine.address) == (KELURAHAN, "Ahmad Rewrite",
                                                                   "Jl. Baru 1")
    _cross_scope_pair(db, "household", mine.id, theirs.id)
    # Her second visit finds her own household, not theirs, and opens nothing new.
    _post(client, phone, fill_submission(forms["sanitation_check"], {
        "is_new_household": "yes", "kelurahan_code": KELURAHAN, "household_kk": KK,
        "checked_on": "2026-11-02", **GOOD_SANITATION}))
    assert len(_rows(db, Household, kk=KK)) == 2 and len(_rows(db, DuplicatePair)) == 1


def test_another_kelurahans_woman_nik_does_not_move_her_into_this_posyandu(
        client, db, forms, phone, elsewhere):
    screening = {"pregnant": "yes", "gestational_age_weeks": "20", "height_cm": "155",
                 "weight_kg": "52", "woman_nik": WOMAN_NIK, "woman_birth_date": "1995-08-07",
                 "screened_on": "2026-10-01", "muac_cm": "24", "hb_g_dl": "11.5"}
    _post(client, elsewhere, fill_submission(forms["pregnancy_screening"], {
        "is_new_woman": "yes", "kelurahan_code": OTHER_KELURAHAN, "woman_name": "Ratna Sari",
        **screening}))
    theirs = _rows(db, Person, nik=WOMAN_NIK)[0]
    assert theirs.posyandu_id is None
    _post(client, phone, fill_submission(forms["pregnancy_screening"], {
        "is_new_woman": "yes", "kelurahan_code": KELURAHAN, "posyandu_id": phone.posyandu_id,
        "woman_name": "Ratna", **screening}))
    assert _rows(db, Person, id=theirs.id)[0].model_dump() == theirs.model_dump()
    mine = next(p for p in _rows(db, Person, nik=WOMAN_NIK) if p.id != theirs.id)
    assert (mine.kelurahan_code, mine.posyandu_id, mine.name) == (KELURAHAN, phone.posyandu_id,
                                                                  "Ratna")
    _cross_scope_pair(db, "person", mine.id, theirs.id)
