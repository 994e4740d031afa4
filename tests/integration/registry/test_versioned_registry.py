"""Every change to a person or household is a new version with a change-log row."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from models import ChangeLog, PersonVersion
from sync.apply import Provenance
from sync.identity import PersonClaim, resolve_person
from tests.support import KELURAHAN

PROVENANCE = Provenance(actor_id=None, submission_id=None, reason="test")


def _claim(**overrides) -> PersonClaim:
    values = dict(registry_id=None, nik=None, name="By. Ny. Rina", kelurahan_code=KELURAHAN,
                  sex="female", birth_date=date(2026, 10, 1))
    values.update(overrides)
    return PersonClaim(**values)


def test_newborn_placeholder_name_is_corrected_as_a_new_version(session: Session):
    baby = resolve_person(session, _claim(), PROVENANCE)
    named = resolve_person(session, _claim(registry_id=baby["id"], name="Aisyah Putri"), PROVENANCE)
    session.commit()
    assert named["id"] == baby["id"] and named["version"] == 2
    versions = session.exec(select(PersonVersion).where(PersonVersion.person_id == baby["id"])
                            .order_by(PersonVersion.version)).all()
    assert [v.data["name"] for v in versions] == ["By. Ny. Rina", "Aisyah Putri"]
    changes = session.exec(select(ChangeLog).where(ChangeLog.entity_id == baby["id"])
                           .order_by(ChangeLog.seq)).all()
    assert [c.version for c in changes] == [1, 2]


def test_same_claim_again_changes_nothing(session: Session):
    first = resolve_person(session, _claim(name="Siti Aminah"), PROVENANCE)
    again = resolve_person(session, _claim(name="SITI  AMINAH"), PROVENANCE)
    session.commit()
    assert again["id"] == first["id"] and again["version"] == 1
    assert len(session.exec(select(ChangeLog)).all()) == 1


def test_nik_match_needs_agreeing_birth_dates(session: Session):
    mother = resolve_person(session, _claim(name="Rina", nik="3375015507950002",
                                            birth_date=date(1995, 7, 15)), PROVENANCE)
    child = resolve_person(session, _claim(name="Aisyah", nik="3375015507950002"), PROVENANCE)
    session.commit()
    assert child["id"] != mother["id"]
