"""Which registry person a submission's claim is (sync.identity.find_person): each rule,
its order, and the child-and-mother lookup made in one query."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import update
from sqlmodel import Session

from models import Person
from sync.apply import Provenance
from sync.identity import PersonClaim, find_person, person_candidates, resolve_person
from sync.scope import Scope
from tests.support import KELURAHAN, OTHER_KELURAHAN

PROVENANCE = Provenance(actor_id=None, submission_id=None, reason="test")
CHILD_NIK = "3375015507230001"  # born 15.07.2023, female
MOTHER_NIK = "3375014708950002"  # born 07.08.1995, female


def _claim(**overrides) -> PersonClaim:
    values = dict(registry_id=None, nik=None, name="Aisyah Putri", kelurahan_code=KELURAHAN,
                  sex="female", birth_date=date(2023, 7, 15))
    values.update(overrides)
    return PersonClaim(**values)


def _person(session: Session, **overrides) -> dict:
    person = resolve_person(session, _claim(**overrides), PROVENANCE)
    session.flush()
    return person


def _merge(session: Session, loser: dict, winner: dict) -> None:
    session.execute(update(Person).where(Person.id == loser["id"])
                    .values(merged_into_id=winner["id"]))


def _found(session: Session, claim: PersonClaim, scope: Scope = Scope(everything=True)):
    person = find_person(session, claim, scope)
    return person and person["id"]


def test_the_registry_id_wins_over_nik_and_name(session: Session):
    picked = _person(session, name="Nur", birth_date=date(2022, 1, 1))
    _person(session, nik=CHILD_NIK)
    claim = _claim(registry_id=picked["id"], nik=CHILD_NIK)
    assert _found(session, claim) == picked["id"]


def test_a_merged_registry_id_leads_to_the_person_it_was_merged_into(session: Session):
    kept = _person(session, name="Nur", birth_date=date(2022, 1, 1))
    duplicate = _person(session, name="Nurul", birth_date=date(2022, 1, 1))
    _merge(session, duplicate, kept)
    assert _found(session, _claim(registry_id=duplicate["id"], name="Nurul")) == kept["id"]


def test_a_registry_id_outside_the_scope_falls_back_to_the_nik(session: Session):
    elsewhere = _person(session, name="Nur", kelurahan_code=OTHER_KELURAHAN)
    by_nik = _person(session, nik=CHILD_NIK)
    scope = Scope(wilayah_codes=(KELURAHAN,))
    assert _found(session, _claim(registry_id=elsewhere["id"], nik=CHILD_NIK), scope) == by_nik["id"]
    assert _found(session, _claim(registry_id=elsewhere["id"], name="Nur",
                                  kelurahan_code=OTHER_KELURAHAN)) == elsewhere["id"]


def test_the_oldest_nik_holder_with_agreeing_birth_dates_is_chosen(session: Session):
    mother = _person(session, name="Rina", nik=CHILD_NIK, birth_date=date(1995, 8, 7))
    child = _person(session, name="Aisyah", birth_date=date(2023, 7, 15))
    later = mother["created_at"] + timedelta(seconds=1)  # registered after the mother
    session.execute(update(Person).where(Person.id == child["id"])
                    .values(nik=CHILD_NIK, created_at=later))
    assert mother["id"] != child["id"]
    assert _found(session, _claim(name="Siapa", nik=CHILD_NIK)) == child["id"]
    assert _found(session, _claim(name="Siapa", nik=CHILD_NIK, birth_date=None)) == mother["id"]


def test_a_merged_person_is_not_matched_by_nik_or_name(session: Session):
    kept = _person(session, name="Aisyah")
    duplicate = _person(session, name="Aisyah P", nik=CHILD_NIK)
    _merge(session, duplicate, kept)
    assert _found(session, _claim(name="Aisyah P", nik=CHILD_NIK)) is None


def test_name_and_birth_date_match_only_in_the_same_kelurahan(session: Session):
    here = _person(session)
    assert _found(session, _claim(name="AISYAH  putri")) == here["id"]
    assert _found(session, _claim(kelurahan_code=OTHER_KELURAHAN)) is None
    assert _found(session, _claim(birth_date=date(2023, 7, 16))) is None


def test_a_child_with_another_mother_is_a_different_child(session: Session):
    rina = _person(session, name="Rina", nik=MOTHER_NIK, birth_date=date(1995, 8, 7))
    sari = _person(session, name="Sari", birth_date=date(1990, 1, 1))
    rinas = _person(session, mother_id=rina["id"])
    assert _found(session, _claim(mother_id=rina["id"])) == rinas["id"]
    assert _found(session, _claim(mother_id=sari["id"])) is None
    assert _found(session, _claim()) == rinas["id"]  # no mother claimed: no conflict


def test_without_a_birth_date_the_name_matches_within_the_household(session: Session):
    from sync.identity import HouseholdClaim, resolve_household

    household = resolve_household(session, HouseholdClaim(registry_id=None, kk="3375010101200003",
                                                          kelurahan_code=KELURAHAN), PROVENANCE)
    member = _person(session, name="Rina", birth_date=None, household_id=household["id"])
    _person(session, name="Rina", birth_date=None)  # same name, no household
    claim = _claim(name="rina", birth_date=None, household_id=household["id"])
    assert _found(session, claim) == member["id"]
    assert _found(session, _claim(name="Rina", birth_date=None)) is None


def test_child_and_mother_are_found_from_one_fetch(session: Session):
    mother = _person(session, name="Rina", nik=MOTHER_NIK, birth_date=date(1995, 8, 7))
    child = _person(session, nik=CHILD_NIK, mother_id=mother["id"])
    sibling = _person(session, name="Budi", sex="male", birth_date=date(2021, 3, 2),
                      mother_id=mother["id"])
    child_claim = _claim(name="Aisyah P.", nik=CHILD_NIK)
    mother_claim = _claim(name="Rina", nik=MOTHER_NIK, birth_date=None)
    candidates = person_candidates(session, child_claim, mother_claim)
    assert sibling["id"] not in {row["id"] for row in candidates.persons}
    assert find_person(session, mother_claim, candidates=candidates)["id"] == mother["id"]
    assert find_person(session, child_claim, candidates=candidates)["id"] == child["id"]
