"""sync.apply.apply: the one versioned write, and what it answers for each base version."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, func, select

from models import ChangeLog, Person, PersonVersion
from sync.apply import Provenance, Status, apply
from tests.support import KELURAHAN

PROVENANCE = Provenance(actor_id=None, submission_id=None, reason="test")
NIK = "3375014403240001"


def _child(session: Session, **fields) -> str:
    data = {"name": "Siti Aminah", "sex": "female", "birth_date": date(2024, 3, 4),
            "kelurahan_code": KELURAHAN, **fields}
    result = apply(session, "person", None, 0, data, PROVENANCE)
    assert result.status is Status.APPLIED and result.version == 1
    return result.id


def _versions(session: Session, person_id: str) -> list[dict]:
    rows = session.exec(select(PersonVersion).where(PersonVersion.person_id == person_id)
                        .order_by(PersonVersion.version)).all()
    return [row.data | {"version": row.version} for row in rows]


def _changes(session: Session, person_id: str) -> list[int]:
    return list(session.exec(select(ChangeLog.version).where(ChangeLog.entity_id == person_id)
                             .order_by(ChangeLog.seq)).all())


def test_the_current_base_version_is_applied_as_the_next_version(session: Session):
    person_id = _child(session)
    result = apply(session, "person", person_id, 1, {"nik": NIK}, PROVENANCE)
    session.commit()
    assert (result.status, result.version, result.applied, result.merged) == (
        Status.APPLIED, 2, ("nik",), False)
    assert [v["nik"] for v in _versions(session, person_id)] == [None, NIK]
    assert _changes(session, person_id) == [1, 2]
    assert session.get(Person, person_id).version == 2


def test_a_stale_base_version_with_overlapping_fields_is_a_conflict_and_writes_nothing_for_them(
        session: Session):
    person_id = _child(session)
    apply(session, "person", person_id, 1, {"name": "Siti Aminah Putri"}, PROVENANCE)
    # An edit made offline on version 1: the name overlaps the server's change, the
    # NIK does not.
    result = apply(session, "person", person_id, 1, {"name": "Siti Aminnah", "nik": NIK},
                   PROVENANCE)
    session.commit()
    assert result.status is Status.CONFLICT
    assert set(result.conflicts) == {"name"}
    conflict = result.conflicts["name"]
    assert (conflict.base, conflict.current, conflict.incoming) == (
        "Siti Aminah", "Siti Aminah Putri", "Siti Aminnah")
    assert result.applied == ("nik",) and result.version == 3
    person = session.get(Person, person_id)
    assert (person.name, person.nik, person.version) == ("Siti Aminah Putri", NIK, 3)
    assert [v["name"] for v in _versions(session, person_id)] == [
        "Siti Aminah", "Siti Aminah Putri", "Siti Aminah Putri"]


def test_a_conflict_on_every_field_writes_no_version_at_all(session: Session):
    person_id = _child(session)
    apply(session, "person", person_id, 1, {"sex": "male"}, PROVENANCE)
    result = apply(session, "person", person_id, 1, {"sex": "female"}, PROVENANCE)
    session.commit()
    assert result.status is Status.CONFLICT and result.applied == () and result.version == 2
    assert result.conflicts["sex"].current == "male" and result.conflicts["sex"].incoming == "female"
    assert session.get(Person, person_id).sex == "male"
    assert len(_versions(session, person_id)) == 2 and _changes(session, person_id) == [1, 2]


def test_a_stale_base_version_without_overlap_is_merged(session: Session):
    person_id = _child(session)
    apply(session, "person", person_id, 1, {"name": "Siti Aminah Putri"}, PROVENANCE)
    result = apply(session, "person", person_id, 1, {"nik": NIK}, PROVENANCE)
    session.commit()
    assert (result.status, result.merged, result.version) == (Status.APPLIED, True, 3)
    person = session.get(Person, person_id)
    assert (person.name, person.nik) == ("Siti Aminah Putri", NIK)


def test_the_same_edit_made_on_both_sides_is_no_conflict(session: Session):
    person_id = _child(session)
    apply(session, "person", person_id, 1, {"nik": NIK}, PROVENANCE)
    result = apply(session, "person", person_id, 1, {"nik": NIK}, PROVENANCE)
    assert (result.status, result.version) == (Status.UNCHANGED, 2)


def test_nothing_new_is_unchanged_and_writes_nothing(session: Session):
    person_id = _child(session)
    result = apply(session, "person", person_id, 1, {"name": "Siti Aminah", "sex": "female"},
                   PROVENANCE)
    session.commit()
    assert (result.status, result.version, result.applied) == (Status.UNCHANGED, 1, ())
    assert _changes(session, person_id) == [1]


def test_what_cannot_be_applied_is_rejected_with_a_reason_and_changes_nothing(session: Session):
    person_id = _child(session)
    other_id = _child(session, name="Budi")
    session.get(Person, other_id).merged_into_id = person_id
    session.commit()
    cases = {
        "unknown field": (person_id, 1, {"hair": "black"}, "unknown field"),
        "bad value": (person_id, 1, {"sex": "x"}, "sex must be"),
        "bad NIK": (person_id, 1, {"nik": "123"}, "16 digits"),
        "blank name": (person_id, 1, {"name": " "}, "needs a name"),
        "future base": (person_id, 5, {"nik": NIK}, "no version 5"),
        "no such person": ("no-such-id", 1, {"nik": NIK}, "no person"),
        "merged away": (other_id, 1, {"nik": NIK}, f"merged into {person_id}"),
    }
    for name, (entity_id, base, changes, reason) in cases.items():
        result = apply(session, "person", entity_id, base, changes, PROVENANCE)
        assert result.status is Status.REJECTED, name
        assert reason in result.reason, (name, result.reason)
    session.commit()
    assert session.exec(select(func.count()).select_from(PersonVersion)).one() == 2
    assert session.get(Person, person_id).version == 1


def test_a_create_with_a_clients_id_happens_once(session: Session):
    data = {"name": "Aisyah", "kelurahan_code": KELURAHAN}
    first = apply(session, "person", "c0ffee00-0000-4000-8000-000000000001", 0, data, PROVENANCE)
    again = apply(session, "person", "c0ffee00-0000-4000-8000-000000000001", 0, data, PROVENANCE)
    session.commit()
    assert first.status is Status.APPLIED and first.id == "c0ffee00-0000-4000-8000-000000000001"
    assert again.status is Status.REJECTED and "exists already" in again.reason


def test_households_are_versioned_the_same_way(session: Session):
    created = apply(session, "household", None, 0,
                    {"kk": "3375010101200003", "kelurahan_code": KELURAHAN}, PROVENANCE)
    apply(session, "household", created.id, 1, {"head_name": "Pak Budi"}, PROVENANCE)
    result = apply(session, "household", created.id, 1, {"head_name": "Bapak Budi", "rt": "003"},
                   PROVENANCE)
    assert result.status is Status.CONFLICT and set(result.conflicts) == {"head_name"}
    assert result.applied == ("rt",) and result.version == 3
