"""The generated city: prevalence, NIKs, twins and siblings, WHO-consistent growth."""

from __future__ import annotations

import random
from collections import Counter
from itertools import pairwise

import pytest

from indicators.anthro import child_zscores
from simulator import growth, names
from simulator.nik import mistype_nik
from simulator.population import City, CityShape, generate_city
from simulator.rates import Rates
from simulator.regions import CITY_CODE, kelurahan_list, origin_nik_prefixes
from sync.names import nik_agrees


@pytest.fixture(scope="module")
def city() -> City:
    return generate_city(seed=11, months=6)


def test_the_city_has_its_27_kelurahan_in_4_kecamatan_with_several_posyandu_each(city):
    assert len(city.kelurahan) == 27
    assert {k.kecamatan_code for k in city.kelurahan} == {f"{CITY_CODE}.0{i}" for i in range(1, 5)}
    per_kelurahan = Counter(p.kelurahan.code for p in city.posyandu.values())
    assert set(per_kelurahan) == {k.code for k in kelurahan_list()}
    assert min(per_kelurahan.values()) >= 3
    assert 3000 <= len(city.children()) <= 9000


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stunting_prevalence_is_the_configured_rate(seed):
    city = generate_city(seed=seed, months=1)
    children = city.children()
    share = sum(c.track.stunted for c in children) / len(children)
    assert share == pytest.approx(0.15, abs=0.01)
    by_kelurahan: dict[str, list[bool]] = {}
    for c in children:
        by_kelurahan.setdefault(city.households[c.household_id].kelurahan_code, []).append(
            c.track.stunted)
    for code, flags in by_kelurahan.items():
        assert sum(flags) / len(flags) == pytest.approx(0.15, abs=0.05), code
    # The tracks really are on their side of -2 SD.
    assert all(c.track.haz < -2 for c in children if c.track.stunted)
    assert all(c.track.haz > -2 for c in children if not c.track.stunted)


def test_stunting_prevalence_can_be_set_per_kelurahan():
    high = "33.75.03.1009"  # Bandengan
    rates = Rates(stunting_prevalence=0.1, stunting_by_kelurahan={high: 0.35})
    city = generate_city(seed=5, months=1, rates=rates)
    shares: dict[str, list[bool]] = {}
    for c in city.children():
        shares.setdefault(city.households[c.household_id].kelurahan_code, []).append(
            c.track.stunted)
    assert sum(shares[high]) / len(shares[high]) == pytest.approx(0.35, abs=0.03)
    others = [s for code, flags in shares.items() if code != high for s in flags]
    assert sum(others) / len(others) == pytest.approx(0.10, abs=0.01)


def test_every_nik_matches_region_birth_date_and_sex(city):
    city_prefixes = {k.nik_prefix for k in kelurahan_list()}
    niks = [p.nik for p in city.persons.values() if p.nik]
    assert len(niks) == len(set(niks)), "NIKs are unique"
    for person in city.persons.values():
        if not person.nik:
            continue
        assert nik_agrees(person.nik, birth_date=person.birth_date, sex=person.sex), person
        household = city.households[person.household_id]
        birth = person.birth_date
        prefix = person.nik[:6]
        if person.role == "child":  # registered where the family lived at birth
            month = (birth.year - city.start.year) * 12 + birth.month - city.start.month
            at_birth = household.kelurahan_at(max(month, 0))
            assert prefix == city.kelurahan_by_code(at_birth).nik_prefix
        else:
            assert prefix in city_prefixes | set(origin_nik_prefixes())


def test_a_realistic_share_of_children_has_no_nik_and_infants_get_theirs_later(city):
    children = city.children()
    without = sum(1 for c in children if c.nik is None) / len(children)
    assert 0.02 < without < 0.15
    late = [c for c in children if c.nik and c.nik_issued_on > c.birth_date]
    assert late and all(c.nik_on(c.birth_date) is None for c in late)


def test_family_cards_are_16_digits_unique_and_from_the_kecamatan(city):
    kks = [h.kk for h in city.households.values()]
    assert len(kks) == len(set(kks))
    for h in city.households.values():
        assert len(h.kk) == 16 and h.kk.isdigit()
        assert h.kk[:6] == city.kelurahan_by_code(h.kelurahan_code).nik_prefix


def test_twins_and_siblings_are_present(city):
    children = city.children()
    twins = [c for c in children if c.twin_of]
    assert len(twins) >= 10
    for twin in twins:
        first = city.persons[twin.twin_of]
        assert (first.birth_date, first.mother_id, first.household_id) == (
            twin.birth_date, twin.mother_id, twin.household_id)
    siblings = [h for h in city.households.values()
                if len({city.persons[c].birth_date for c in h.child_ids}) >= 2]
    assert len(siblings) > len(city.households) * 0.15
    for h in siblings[:50]:
        births = sorted({city.persons[c].birth_date for c in h.child_ids})
        assert all((b - a).days >= 270 for a, b in pairwise(births))


def test_pregnancies_end_in_births_of_children_in_the_household(city):
    born = [p for p in city.pregnancies if p.child_ids]
    assert len(born) > 50
    for pregnancy in born:
        for child_id in pregnancy.child_ids:
            child = city.persons[child_id]
            assert child.birth_date == pregnancy.birth_on
            assert child.mother_id == pregnancy.woman_id
            assert child_id in city.households[pregnancy.household_id].child_ids
        weeks = (pregnancy.birth_on - pregnancy.conceived_on).days / 7
        assert 34 <= weeks <= 42.2


def test_the_same_seed_gives_the_same_city_and_another_seed_another():
    small = CityShape(scale=0.3)
    a, b, c = (generate_city(seed=s, months=2, shape=small) for s in (4, 4, 5))
    assert [(p.id, p.name, p.nik, p.birth_date) for p in a.persons.values()] == \
        [(p.id, p.name, p.nik, p.birth_date) for p in b.persons.values()]
    assert [p.name for p in a.persons.values()][:50] != [p.name for p in c.persons.values()][:50]


def test_a_shorter_run_is_the_beginning_of_a_longer_one():
    small = CityShape(scale=0.3)
    short = generate_city(seed=8, months=2, shape=small)
    long = generate_city(seed=8, months=4, shape=small)
    end = short.month_start(2)
    long_people = {p.id: (p.name, p.nik, p.birth_date) for p in long.persons.values()
                   if p.birth_date < end}
    assert {p.id: (p.name, p.nik, p.birth_date) for p in short.persons.values()} == long_people


def test_growth_tracks_turn_into_sizes_with_those_who_z_scores():
    rng = random.Random(3)
    for _ in range(300):
        sex = rng.choice(("male", "female"))
        age = rng.randint(0, 1825)
        haz, whz = rng.uniform(-3.8, 2.5), rng.uniform(-3.5, 3.0)
        lenhei = growth.length_height_cm(sex, age, haz)
        weight = growth.weight_kg(sex, age, lenhei, whz, haz)
        z = child_zscores(sex[0], age, weight, lenhei, "L" if age < 731 else "H")
        assert z.zlen == pytest.approx(haz, abs=0.006)
        in_table = (45 <= lenhei <= 109.9) if age < 731 else (65 <= lenhei <= 119.9)
        if in_table:
            assert z.zwfl == pytest.approx(whz, abs=0.006)


def test_misspelled_names_differ_and_newborns_get_placeholder_names():
    rng = random.Random(1)
    for _ in range(500):
        name = names.child_name(rng, rng.choice(("male", "female")))
        assert names.misspell(rng, name) != name
    assert names.newborn_placeholder(rng, "Siti Aminah").endswith("Siti Aminah")
    assert names.newborn_placeholder(rng, "Siti Aminah").startswith(("By", "Bayi"))


def test_a_mistyped_nik_is_still_16_digits_and_differs_in_one_place():
    rng = random.Random(2)
    nik = "3375014403240001"
    for _ in range(200):
        typed = mistype_nik(rng, nik)
        assert len(typed) == 16 and typed.isdigit() and typed != nik
        assert sum(a != b for a, b in zip(typed, nik)) <= 2

