"""Registry ids are time-ordered (UUIDv7), so today's persons and households share the
last pages of every index keyed by them (models.base.new_uuid)."""

import uuid

from models import Household, Person
from models.base import new_uuid


def test_new_ids_are_version_7_and_sort_in_creation_order():
    ids = [new_uuid() for _ in range(2_000)]  # many within one millisecond
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert len(set(ids)) == len(ids)
    # As text, the way the tables store and index them.
    assert ids == sorted(ids)


def test_a_person_and_a_household_get_one_by_default():
    person = Person(name="Siti", sex="female", kelurahan_code="33.75.01.1002")
    household = Household(kelurahan_code="33.75.01.1002")
    assert uuid.UUID(person.id).version == 7
    assert uuid.UUID(household.id).version == 7
    assert person.id < household.id
