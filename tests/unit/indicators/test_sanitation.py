"""STBM pillars, jamban sehat, sanitasi layak and Keluarga Risiko Stunting
(DOMAIN.md §5-6)."""

from __future__ import annotations

import pytest

from indicators.sanitation import (
    BIRTH_SPACING_TOO_CLOSE,
    DRINKING_WATER_NOT_IMPROVED,
    LATRINE_NOT_IMPROVED,
    MOTHER_TOO_OLD,
    MOTHER_TOO_YOUNG,
    SANITATION_CHOICES,
    TOO_MANY_CHILDREN,
    FamilyFacts,
    KrsThresholds,
    SanitationAnswers,
    assess_krs,
    assess_sanitation,
)

GOOD = {
    "latrine_access": "own",
    "latrine_type": "gooseneck",
    "waste_disposal": "septic_tank",
    "handwashing_soap": "yes",
    "drinking_water_source": "piped",
    "water_treated": "boiled",
    "waste_bin": "yes",
    "wastewater_drain": "closed_drain",
}


def answers(**changes) -> SanitationAnswers:
    return SanitationAnswers(**(GOOD | changes))


def test_choice_lists_are_the_form_contract():
    assert set(SANITATION_CHOICES) == set(GOOD)
    assert SANITATION_CHOICES["latrine_type"] == ["gooseneck", "plengsengan", "cemplung", "none"]
    assert SANITATION_CHOICES["handwashing_soap"] == ["yes", "no"]
    for name, value in GOOD.items():
        assert value in SANITATION_CHOICES[name]


def test_unknown_choice_is_rejected():
    with pytest.raises(ValueError, match="latrine_type"):
        answers(latrine_type="flush")


def test_from_form_ignores_other_fields_and_empty_answers():
    a = SanitationAnswers.from_form({"latrine_access": "own", "water_treated": " ", "gps": "1 2"})
    assert a.latrine_access == "own" and a.water_treated is None


def test_household_meeting_everything_meets_all_five_pillars():
    result = assess_sanitation(answers())
    assert result.pillars_met == 5
    assert result.jamban_sehat and result.sanitasi_layak and result.improved_drinking_water


@pytest.mark.parametrize(
    ("change", "pillar"),
    [
        ({"latrine_access": "none", "latrine_type": "none"}, "stop_babs"),
        ({"waste_disposal": "river_or_open"}, "stop_babs"),
        ({"handwashing_soap": "no"}, "ctps"),
        ({"water_treated": "none"}, "pamm_rt"),
        ({"waste_bin": "no"}, "ps_rt"),
        ({"wastewater_drain": "open_drain"}, "plc_rt"),
    ],
)
def test_each_pillar_fails_on_its_own_answer(change, pillar):
    result = assess_sanitation(answers(**change))
    assert getattr(result, pillar) is False
    assert result.pillars_met == 4


def test_a_cemplung_pit_stops_open_defecation_but_is_not_a_healthy_latrine():
    result = assess_sanitation(answers(latrine_type="cemplung", waste_disposal="unlined_pit"))
    assert result.stop_babs is True
    assert result.jamban_sehat is False and result.sanitasi_layak is False


def test_bottled_water_needs_no_home_treatment():
    assert assess_sanitation(
        answers(drinking_water_source="bottled_refill", water_treated="none")
    ).pamm_rt


def test_lined_pit_is_a_healthy_latrine_only_in_rural_areas():
    a = answers(waste_disposal="lined_pit")
    assert assess_sanitation(a, rural=True).jamban_sehat is True
    assert assess_sanitation(a, rural=False).jamban_sehat is False
    assert assess_sanitation(a, rural=True).sanitasi_layak is False


def test_shared_latrine_and_communal_mck_are_sanitasi_layak():
    assert assess_sanitation(answers(latrine_access="shared")).sanitasi_layak
    assert assess_sanitation(answers(latrine_access="communal")).sanitasi_layak


@pytest.mark.parametrize(
    ("source", "improved"),
    [
        ("piped", True),
        ("bottled_refill", True),
        ("borehole", True),
        ("protected_well", True),
        ("protected_spring", True),
        ("unprotected_well", False),
        ("unprotected_spring", False),
        ("surface_water", False),
        ("rain", False),
    ],
)
def test_improved_drinking_water_sources(source, improved):
    assert (
        assess_sanitation(answers(drinking_water_source=source)).improved_drinking_water is improved
    )


def test_missing_answers_leave_the_result_unknown_unless_another_answer_decides():
    partial = SanitationAnswers(latrine_access="own", latrine_type="gooseneck")
    result = assess_sanitation(partial)
    assert result.stop_babs is None and result.ctps is None and result.pillars_met == 0
    assert assess_sanitation(SanitationAnswers(latrine_access="none")).stop_babs is False


def test_target_family_with_unimproved_water_and_no_septic_tank_is_at_risk():
    family = FamilyFacts(
        has_baduta=True,
        sanitation=answers(drinking_water_source="surface_water", waste_disposal="unlined_pit"),
        mother_age_years=27,
        birth_spacing_years=3,
        number_of_children=2,
    )
    result = assess_krs(family)
    assert result.target_family and result.at_risk
    assert result.reasons == (DRINKING_WATER_NOT_IMPROVED, LATRINE_NOT_IMPROVED)
    assert result.unknown == ()


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        ({"mother_age_years": 19}, MOTHER_TOO_YOUNG),
        ({"mother_age_years": 35}, MOTHER_TOO_OLD),
        ({"birth_spacing_years": 1.5}, BIRTH_SPACING_TOO_CLOSE),
        ({"number_of_children": 4}, TOO_MANY_CHILDREN),
    ],
)
def test_each_of_the_4_terlalu_makes_a_target_family_at_risk(facts, reason):
    base = {
        "has_pregnancy": True,
        "sanitation": answers(),
        "mother_age_years": 27,
        "birth_spacing_years": 3,
        "number_of_children": 2,
    }
    result = assess_krs(FamilyFacts(**(base | facts)))
    assert result.at_risk and result.reasons == (reason,)


def test_three_children_two_years_apart_mother_20_is_not_at_risk():
    family = FamilyFacts(
        has_balita=True,
        sanitation=answers(),
        mother_age_years=20,
        birth_spacing_years=2,
        number_of_children=3,
    )
    assert assess_krs(family).at_risk is False


def test_family_without_woman_pregnancy_or_under_five_is_not_a_target():
    result = assess_krs(FamilyFacts(sanitation=answers(latrine_access="none", latrine_type="none")))
    assert result.target_family is False and result.at_risk is False
    assert result.reasons == (LATRINE_NOT_IMPROVED,)


def test_unknown_facts_are_listed():
    result = assess_krs(FamilyFacts(has_woman_of_reproductive_age=True))
    assert result.at_risk is False
    assert set(result.unknown) == {
        DRINKING_WATER_NOT_IMPROVED,
        LATRINE_NOT_IMPROVED,
        MOTHER_TOO_YOUNG,
        MOTHER_TOO_OLD,
        BIRTH_SPACING_TOO_CLOSE,
        TOO_MANY_CHILDREN,
    }


def test_krs_thresholds_are_configurable():
    family = FamilyFacts(has_baduta=True, sanitation=answers(), mother_age_years=36)
    assert assess_krs(family, KrsThresholds(mother_too_old_from_years=40)).at_risk is False
