"""The SD curves drawn on the console's growth charts, from the WHO tables: checked
against the values WHO publishes in its SD tables (WHO Child Growth Standards 2006,
e.g. weight-for-age boys, length/height-for-age girls), and consistent with the
z-scores (a value on the z curve has that z-score)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indicators.anthro import SEX_FEMALE, SEX_MALE, child_zscores
from indicators.growth_curves import SD_LINES, curves, key_range, value_at


def _at(chart, sex, x):
    c = curves(chart, sex, x_from=x, x_to=x, points=1)
    return {z: round(line[0], 1) for z, line in c.lines.items()}


def test_the_curves_at_birth_and_at_five_years_are_whos_published_sd_values():
    # WHO wfa_boys_0_5 SD table, month 0: -3 2.1, -2 2.5, 0 3.3, +2 4.4, +3 5.0.
    assert _at("weight_for_age", SEX_MALE, 0) == {-3: 2.1, -2: 2.5, 0: 3.3, 2: 4.4, 3: 5.0}
    # WHO lhfa_girls_0_5 SD table, month 0: -3 43.6, -2 45.4, 0 49.1, +2 52.9, +3 54.7.
    assert _at("length_height_for_age", SEX_FEMALE, 0) == {-3: 43.6, -2: 45.4, 0: 49.1,
                                                           2: 52.9, 3: 54.7}
    # WHO wfl_boys 45-110: at 45.0 cm, -3 1.9, -2 2.0, 0 2.4, +2 3.0, +3 3.3.
    assert _at("weight_for_length", SEX_MALE, 45.0) == {-3: 1.9, -2: 2.0, 0: 2.4, 2: 3.0, 3: 3.3}


def test_curves_are_ordered_by_sd_and_stay_inside_the_table():
    c = curves("weight_for_height", SEX_FEMALE, x_from=0, x_to=500, points=40)
    assert c.x[0] == key_range("weight_for_height")[0] and c.x[-1] == 120.0
    for i in range(len(c.x)):
        column = [c.lines[z][i] for z in SD_LINES]
        assert column == sorted(column)


def test_sex_must_be_known():
    with pytest.raises(ValueError):
        curves("weight_for_age", 0, x_from=0, x_to=12)


@given(days=st.integers(min_value=0, max_value=1826), z=st.sampled_from([-2.0, 0.0, 2.0]),
       sex=st.sampled_from([SEX_MALE, SEX_FEMALE]))
def test_a_weight_on_the_z_curve_has_that_z_score(days, z, sex):
    from indicators.anthro import growth_standards

    table = growth_standards().weight_for_age
    cell = table.scalar_index(sex, days)
    weight = value_at(table.l_list[cell], table.m_list[cell], table.s_list[cell], z)
    scores = child_zscores(sex=sex, age_days=days, weight_kg=round(weight, 3))
    assert scores.zwei == pytest.approx(z, abs=0.02)
