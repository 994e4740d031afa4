"""A kelurahan far denser than a village (issue #15's bench: 100,000 children in one):
the blocking query's birth-date window is the NEAREST_BORN persons born nearest the
claim on each side, so a claim's cost stops growing with the kelurahan, and a match
further off is still found by its name branch."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import insert
from sqlmodel import Session

from matching.names import phonetic_key
from models import Person
from models.base import new_uuid, utcnow
from sync.identity import PersonClaim, identify_person
from sync.names import name_key
from sync.queries import identity as queries
from sync.scope import Scope
from tests.support import KELURAHAN

BORN = date(2023, 5, 1)


def _person(name: str, born: date, sex: str = "male") -> dict:
    now = utcnow()
    return dict(id=new_uuid(), name=name, name_key=name_key(name),
                name_block=phonetic_key(name)[:8], sex=sex, birth_date=born,
                birth_date_estimated=False, kelurahan_code=KELURAHAN, version=1,
                created_at=now, updated_at=now)


def _crowd(session: Session, per_day: int = 20, days: int = 30) -> list[dict]:
    """`per_day` children born on each day within `days` of BORN, none of them the claim."""
    rows = [_person(f"Anak Nomor {day} {i}", BORN + timedelta(days=day))
            for day in range(-days, days + 1) for i in range(per_day)]
    session.execute(insert(Person.__table__), rows)
    return rows


def test_the_window_is_the_nearest_on_each_side_in_a_dense_kelurahan(session: Session):
    crowd = _crowd(session)
    far = _person("Muhammad Rizky", BORN + timedelta(days=40))
    session.execute(insert(Person.__table__), [far])
    found = queries.blocking_candidates(session, queries.Blocking(
        kelurahan_code=KELURAHAN, birth_date=BORN, block=phonetic_key("Muhamad Rizki")[:8]))
    ids = {row["id"] for row in found}
    in_crowd = [row for row in found if row["id"] != far["id"]]
    assert len(in_crowd) == 2 * queries.NEAREST_BORN < len(crowd)
    gaps = sorted(abs((row["birth_date"] - BORN).days) for row in in_crowd)
    nearest = sorted(abs((row["birth_date"] - BORN).days) for row in crowd)
    assert gaps[-1] <= nearest[2 * queries.NEAREST_BORN]  # the nearest, not any 200
    assert {row["id"] for row in crowd if row["birth_date"] == BORN} <= ids
    assert far["id"] in ids  # 40 days off, outside the nearest: found by its name


def test_a_spelling_variant_born_weeks_off_in_a_dense_kelurahan_is_still_proposed(
        session: Session):
    _crowd(session)
    far = _person("Muhammad Rizky", BORN + timedelta(days=20))
    session.execute(insert(Person.__table__), [far])
    found = identify_person(session, PersonClaim(
        registry_id=None, nik=None, name="Muhamad Rizki", kelurahan_code=KELURAHAN,
        sex="male", birth_date=BORN), Scope(everything=True))
    assert found.outcome == "review"
    assert found.proposals[0].row["id"] == far["id"]


def test_a_village_window_is_everyone_within_it(session: Session):
    few = [_person(f"Anak {i}", BORN + timedelta(days=d)) for i, d in enumerate((-45, -3, 0, 44))]
    outside = _person("Anak Jauh", BORN + timedelta(days=46))
    session.execute(insert(Person.__table__), [*few, outside])
    found = queries.blocking_candidates(session, queries.Blocking(
        kelurahan_code=KELURAHAN, birth_date=BORN))
    assert {row["id"] for row in found} == {row["id"] for row in few}
