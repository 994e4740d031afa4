"""Longitudinal plausibility flags on one child's series."""

from __future__ import annotations

import pytest

from indicators.plausibility import (
    LENGTH_DROP,
    WEIGHT_GAIN,
    WEIGHT_LOSS,
    GrowthPoint,
    SeriesThresholds,
    check_series,
)


def test_length_drop_of_more_than_1_cm_is_flagged_against_the_previous_measurement():
    series = [GrowthPoint(300, 8.0, 70.0), GrowthPoint(330, 8.2, 68.9)]
    (flag,) = check_series(series)
    assert (flag.index, flag.previous_index, flag.code) == (1, 0, LENGTH_DROP)
    assert flag.change == pytest.approx(-1.1)


def test_length_drop_of_exactly_1_cm_is_measurement_noise():
    assert check_series([GrowthPoint(300, 8.0, 70.0), GrowthPoint(330, 8.2, 69.0)]) == []


def test_drop_threshold_is_configurable():
    series = [GrowthPoint(300, None, 70.0), GrowthPoint(330, None, 69.5)]
    assert check_series(series, SeriesThresholds(max_length_drop_cm=0.4))[0].code == LENGTH_DROP


def test_switching_from_length_to_height_at_24_months_is_not_a_drop_on_clenhei():
    # 85.0 cm lying at 700 days; 85.2 cm standing at 760 days: clenhei 85.0 -> 85.2.
    assert check_series([GrowthPoint(700, 11.0, 85.0), GrowthPoint(760, 11.3, 85.2)]) == []


def test_implausible_weight_gain_is_flagged():
    series = [GrowthPoint(300, 8.0, 70.0), GrowthPoint(330, 11.0, 71.0)]
    (flag,) = check_series(series)
    assert flag.code == WEIGHT_GAIN and flag.change == pytest.approx(3.0)


def test_fast_but_plausible_infant_gain_is_not_flagged():
    assert check_series([GrowthPoint(10, 3.5, 51.0), GrowthPoint(40, 5.2, 55.0)]) == []


def test_implausible_weight_loss_is_flagged():
    (flag,) = check_series([GrowthPoint(500, 10.0, None), GrowthPoint(530, 8.0, None)])
    assert flag.code == WEIGHT_LOSS and flag.change == pytest.approx(-2.0)
    assert check_series([GrowthPoint(500, 10.0, None), GrowthPoint(530, 9.0, None)]) == []


def test_series_is_checked_in_age_order_and_flags_point_into_the_input():
    series = [GrowthPoint(390, 9.0, 69.0), GrowthPoint(330, 8.8, 72.0), GrowthPoint(300, 8.5, 71.0)]
    (flag,) = check_series(series)
    assert (flag.index, flag.previous_index, flag.code) == (0, 1, LENGTH_DROP)


def test_a_missing_value_is_skipped_not_compared():
    series = [
        GrowthPoint(300, 8.0, 70.0),
        GrowthPoint(330, None, None),
        GrowthPoint(360, 8.4, 68.5),
    ]
    (flag,) = check_series(series)
    assert (flag.index, flag.previous_index) == (2, 0)
