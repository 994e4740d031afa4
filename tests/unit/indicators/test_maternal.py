"""KEK, anaemia and maternal risk markers (DOMAIN.md §4)."""

from __future__ import annotations

import pytest

from indicators.maternal import (
    AnaemiaSeverity,
    MaternalThresholds,
    anaemia_severity,
    is_kek,
    screen_woman,
)


def test_kek_is_lila_below_23_5_cm():
    assert is_kek(23.4) is True
    assert is_kek(23.5) is False


def test_kek_threshold_is_configurable():
    assert is_kek(23.2, MaternalThresholds(kek_lila_cm=23.0)) is False


@pytest.mark.parametrize(
    ("hb", "severity"),
    [
        (11.0, AnaemiaSeverity.NONE),
        (10.9, AnaemiaSeverity.MILD),
        (10.0, AnaemiaSeverity.MILD),
        (9.9, AnaemiaSeverity.MODERATE),
        (7.0, AnaemiaSeverity.MODERATE),
        (6.9, AnaemiaSeverity.SEVERE),
    ],
)
def test_anaemia_in_pregnancy_uses_the_11_g_dl_cut_off(hb, severity):
    assert anaemia_severity(hb, pregnant=True) is severity


@pytest.mark.parametrize(
    ("hb", "severity"),
    [
        (12.0, AnaemiaSeverity.NONE),
        (11.9, AnaemiaSeverity.MILD),
        (11.0, AnaemiaSeverity.MILD),
        (10.9, AnaemiaSeverity.MODERATE),
        (8.0, AnaemiaSeverity.MODERATE),
        (7.9, AnaemiaSeverity.SEVERE),
    ],
)
def test_anaemia_outside_pregnancy_uses_the_12_g_dl_cut_off(hb, severity):
    assert anaemia_severity(hb, pregnant=False, age_years=25) is severity


def test_girls_under_15_use_the_11_5_g_dl_cut_off():
    assert anaemia_severity(11.5, pregnant=False, age_years=14) is AnaemiaSeverity.NONE
    assert anaemia_severity(11.4, pregnant=False, age_years=14) is AnaemiaSeverity.MILD
    assert anaemia_severity(11.5, pregnant=False, age_years=15) is AnaemiaSeverity.MILD


def test_screening_reports_every_risk_marker():
    result = screen_woman(
        pregnant=True,
        age_years=19,
        height_cm=144.9,
        weight_kg=38.0,
        lila_cm=23.0,
        hb_g_dl=9.5,
        birth_spacing_months=18,
    )
    assert result.kek and result.anaemic and result.too_young and result.short_stature
    assert result.anaemia is AnaemiaSeverity.MODERATE
    assert result.bmi == pytest.approx(38.0 / 1.449**2)
    assert result.low_bmi is True
    assert result.too_old is False
    assert result.risk_markers == (
        "kek",
        "anaemic",
        "too_young",
        "short_stature",
        "low_bmi",
        "short_birth_spacing",
    )


@pytest.mark.parametrize(
    ("age", "too_young", "too_old"),
    [(19.9, True, False), (20, False, False), (35, False, False), (35.1, False, True)],
)
def test_maternal_age_risk_is_under_20_or_over_35(age, too_young, too_old):
    result = screen_woman(pregnant=True, age_years=age)
    assert (result.too_young, result.too_old) == (too_young, too_old)


def test_height_145_cm_and_bmi_18_5_are_not_risks():
    result = screen_woman(pregnant=False, height_cm=145.0, weight_kg=18.5 * 1.45**2 + 0.01)
    assert (result.short_stature, result.low_bmi) == (False, False)


def test_unrecorded_measurements_are_unknown_not_false():
    result = screen_woman(pregnant=False)
    assert (result.kek, result.anaemia, result.too_young, result.bmi) == (None, None, None, None)
    assert result.risk_markers == ()


def test_elsimil_thresholds_can_be_set():
    elsimil = MaternalThresholds(kek_lila_cm=23.5, too_old_above_years=34)
    assert screen_woman(pregnant=False, age_years=34.5, thresholds=elsimil).too_old is True
