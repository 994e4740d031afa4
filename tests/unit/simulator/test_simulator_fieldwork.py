"""The plan: what each kader does, and every field problem injected as configured."""

from __future__ import annotations

from collections import defaultdict

import pytest

from simulator.fieldwork import (
    FORM_ANTHROPOMETRY,
    FieldPlan,
    assign_phones,
    plan_fieldwork,
)
from simulator.population import CityShape, generate_city
from simulator.rates import Rates

#: Everything goes wrong often, so every kind of problem shows up in a small city.
STORMY = Rates(
    offline_month=0.3, timeout_retry=0.15, edit_sent_form=0.08,
    second_kader_registration=0.05, misspelled_name=0.3, newborn_unnamed=0.9,
    missing_nik=0.25, mistyped_nik=0.1, mother_nik_for_child=0.08, height_decrease=0.08,
    swapped_digits=0.05, wrong_measure_method=0.1, household_move_monthly=0.03,
    conception_monthly=0.05,
)


@pytest.fixture(scope="module")
def plan() -> FieldPlan:
    city = generate_city(seed=21, months=5, rates=STORMY, shape=CityShape(scale=0.5))
    return plan_fieldwork(city, assign_phones(city))


def anthropometry(plan: FieldPlan):
    return [s for s in plan.submissions if s.form_id == FORM_ANTHROPOMETRY]


def with_error(plan: FieldPlan, error: str):
    found = [s for s in plan.submissions if error in s.errors]
    assert found, f"no submission with {error}"
    return found


def test_27_phones_cover_every_kelurahan_and_extra_phones_are_second_kader():
    city = generate_city(seed=1, months=1, shape=CityShape(scale=0.2))
    phones = assign_phones(city, 27)
    assert len({p.kelurahan_code for p in phones}) == 27
    more = assign_phones(city, len(city.posyandu) + 5)
    assert {p.posyandu_key for p in more} == set(city.posyandu)
    assert sum(p.kader_number == 2 for p in more) == 5


def test_children_are_weighed_monthly_at_their_posyandu_day(plan):
    city = plan.city
    by_child = defaultdict(list)
    for s in anthropometry(plan):
        by_child[s.true_id].append(s)
        assert s.values["measured_on"] == s.visit_on.isoformat()
        age = (s.visit_on - city.persons[s.true_id].birth_date).days
        assert 7 <= age < 1826
    visits = [len({s.month_index for s in subs if not s.is_edit}) for subs in by_child.values()]
    assert sum(visits) / len(visits) > 0.7 * city.months * 0.8


def test_offline_phones_send_their_forms_in_a_burst_at_the_next_sync(plan):
    for s in plan.submissions:
        offline = plan.offline[s.phone_id]
        if s.is_edit:
            continue
        expected = next((r for r in range(s.month_index, plan.city.months) if not offline[r]),
                        plan.city.months)
        assert s.send_round == expected
    assert any(s.send_round > s.month_index for s in plan.submissions)


def test_submissions_are_in_sending_order_with_every_edit_after_its_form(plan):
    assert plan.submissions == sorted(plan.submissions,
                                      key=lambda s: (s.send_round, s.phone_id, s.order))
    position = {s.instance_id: i for i, s in enumerate(plan.submissions)}
    edits = [s for s in plan.submissions if s.is_edit]
    assert edits
    assert all(position[s.deprecated_id] < position[s.instance_id] for s in edits)


def test_lost_responses_mean_the_same_submission_is_sent_again(plan):
    assert any(s.attempts > 1 for s in plan.submissions)
    assert len({s.instance_id for s in plan.submissions}) == len(plan.submissions)


def test_an_edit_replaces_a_sent_form_of_the_same_phone(plan):
    by_id = {s.instance_id: s for s in plan.submissions}
    edits = [s for s in plan.submissions if s.is_edit]
    assert edits
    for edit in edits:
        original = by_id[edit.deprecated_id]
        assert original.superseded_by == edit.instance_id
        assert (original.phone_id, original.true_id, original.form_id) == (
            edit.phone_id, edit.true_id, edit.form_id)
        assert edit.send_round >= original.send_round
        assert edit.values != original.values


def test_identity_errors_are_what_the_kader_typed(plan):
    persons = plan.city.persons
    for s in with_error(plan, "misspelled_name"):
        if s.form_id == FORM_ANTHROPOMETRY:
            assert s.typed["child_name"] != persons[s.true_id].name
    for s in with_error(plan, "missing_nik"):
        if s.form_id == FORM_ANTHROPOMETRY:
            assert s.typed["child_nik"] == "" and persons[s.true_id].nik
    for s in with_error(plan, "mistyped_nik"):
        nik = s.typed.get("child_nik") or s.typed.get("woman_nik")
        assert len(nik) == 16 and nik != persons[s.true_id].nik
    for s in with_error(plan, "mother_nik_for_child"):
        mother = persons[persons[s.true_id].mother_id]
        assert s.typed["child_nik"] == mother.nik


def test_newborns_registered_as_by_ny_get_their_name_on_a_later_visit(plan):
    persons = plan.city.persons
    corrected = with_error(plan, "newborn_name_corrected")
    for s in corrected:
        assert s.corrections["child_name"] == persons[s.true_id].name
    for s in with_error(plan, "newborn_name"):
        assert s.typed["child_name"].startswith(("By", "Bayi"))
        mother = persons[persons[s.true_id].mother_id]
        assert s.typed["child_name"].endswith(mother.name)


def test_a_second_kader_registers_the_child_again_on_her_own_phone(plan):
    phones_of = defaultdict(set)
    for s in anthropometry(plan):
        phones_of[s.true_id].add(s.phone_id)
    again = with_error(plan, "second_kader_registration")
    assert all(s.expect_new for s in again)
    assert sum(len(phones_of[s.true_id]) >= 2 for s in again) > 0.8 * len(again)
    assert all(len([e for e in s.errors if e == "second_kader_registration"]) == 1
               for s in again)


def test_measurement_errors_change_the_recorded_values(plan):
    last_length: dict[str, float] = {}
    decreases = 0
    for s in sorted(anthropometry(plan), key=lambda s: (s.month_index, s.order)):
        if s.is_edit:
            continue
        length = float(s.values["length_height_cm"])
        if "height_decrease" in s.errors and "swapped_digits" not in s.errors:
            assert length < last_length[s.true_id]
            decreases += 1
        last_length[s.true_id] = length
    assert decreases
    for s in with_error(plan, "wrong_measure_method"):
        assert s.values["measure_method"] != s.truth["measure_method_used"]
    for s in with_error(plan, "swapped_digits"):
        if "height_decrease" in s.errors:
            continue
        swapped = [f for f in ("weight_kg", "length_height_cm")
                   if s.values[f] != s.truth[f"{f}_without_error"]]
        assert len(swapped) == 1
        field = swapped[0]
        assert sorted(s.values[field]) == sorted(s.truth[f"{field}_without_error"])


def test_families_that_move_are_registered_again_in_their_new_kelurahan(plan):
    city = plan.city
    moved = [h for h in city.households.values() if h.move]
    assert moved
    seen_after_move = 0
    for s in anthropometry(plan):
        household = city.households[city.persons[s.true_id].household_id]
        if household.move and s.month_index >= household.move.month_index and not s.is_edit:
            assert s.kelurahan_code == household.move.kelurahan_code
            seen_after_move += 1
    assert seen_after_move


def test_a_phone_expects_to_find_a_subject_in_its_list_once_it_has_synced_it(plan):
    first_send: dict[tuple[str, str], int] = {}
    for s in sorted(plan.submissions, key=lambda s: (s.month_index, s.order)):
        if s.is_edit:
            continue
        key = (s.phone_id, s.true_id)
        sent_before = key in first_send and first_send[key] < s.month_index
        assert s.expect_new == (not sent_before)
        first_send[key] = min(first_send.get(key, s.send_round), s.send_round)


def test_the_plan_is_deterministic():
    def make():
        city = generate_city(seed=3, months=2, shape=CityShape(scale=0.2))
        return plan_fieldwork(city, assign_phones(city))

    a, b = make(), make()
    assert [(s.instance_id, s.values, s.errors) for s in a.submissions] == \
        [(s.instance_id, s.values, s.errors) for s in b.submissions]
