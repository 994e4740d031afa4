"""WHO anthro's documented rules (DOMAIN.md §3), one case at a time.

Expected values are worked out here from the WHO table rows (read straight from
the shipped text files) with the LMS formula, not taken from the code under test.
"""

from __future__ import annotations

import csv
import math
from dataclasses import fields
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from indicators.anthro import (
    MEASURE_HEIGHT,
    MEASURE_LENGTH,
    MEASURE_UNKNOWN,
    ZScores,
    _round_z_scalar,
    age_in_days,
    child_zscores,
    compute_zscores,
    days_from_months,
    round_z,
)

DATA = Path(__file__).resolve().parents[3] / "indicators" / "data"


def who_row(filename: str, sex: int, key: float) -> tuple[float, float, float]:
    """(L, M, S) of the WHO table row for sex and age (days) or length (cm)."""
    with (DATA / filename).open(newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if int(row["sex"]) == sex and math.isclose(float(list(row.values())[1]), key):
                return float(row["l"]), float(row["m"]), float(row["s"])
    raise LookupError(f"{filename}: no row for sex {sex}, {key}")


def lms_z(y: float, l: float, m: float, s: float) -> float:
    return ((y / m) ** l - 1) / (s * l)


def value_at(z: float, l: float, m: float, s: float) -> float:
    """The measurement at z-score z, WHO's SD(z) = M(1 + LSz)^(1/L)."""
    return m * (1 + l * s * z) ** (1 / l)


# --- length/height: the 731-day switch and the 0.7 cm conversion ------------------


def test_exactly_731_days_uses_height_table_and_lying_length_loses_0_7_cm():
    z = child_zscores(1, 731, 11.5, 85.0, "L")
    assert z.clenhei == pytest.approx(84.3)
    assert z.zwfl == round(lms_z(11.5, *who_row("wfhanthro.txt", 1, 84.3)), 2)
    assert z.zlen == round(lms_z(84.3, *who_row("lenanthro.txt", 1, 731)), 2)


def test_730_days_uses_length_table_and_standing_height_gains_0_7_cm():
    z = child_zscores(1, 730, 11.5, 85.0, "H")
    assert z.clenhei == pytest.approx(85.7)
    assert z.zwfl == round(lms_z(11.5, *who_row("wflanthro.txt", 1, 85.7)), 2)


def test_measure_that_fits_the_age_is_not_converted():
    assert child_zscores(2, 730, 10.0, 80.0, "L").clenhei == 80.0
    assert child_zscores(2, 731, 10.0, 80.0, "H").clenhei == 80.0


def test_missing_measure_means_no_conversion_on_either_side_of_the_switch():
    assert child_zscores(2, 400, 9.0, 75.0, None).clenhei == 75.0
    assert child_zscores(2, 900, 12.0, 90.0, None).clenhei == 90.0
    assert child_zscores(2, 900, 12.0, 90.0, None).cmeasure is None


def test_standing_height_under_9_months_is_treated_as_unknown_and_flagged():
    young = child_zscores(1, 273, 8.0, 68.0, "H")  # 273 / 30.4375 = 8.97 months
    assert young.clenhei == 68.0
    assert young.cmeasure is None
    assert young.c9mo_flag == 1
    nine_months = child_zscores(1, 274, 8.0, 68.0, "H")  # 9.002 months
    assert nine_months.clenhei == pytest.approx(68.7)
    assert nine_months.c9mo_flag == 0


def test_standing_under_9_months_array_path_flags_too():
    result = compute_zscores(
        np.array([1, 1]),
        np.array([273.0, 274.0]),
        np.array([8.0, 8.0]),
        np.array([68.0, 68.0]),
        np.array([MEASURE_HEIGHT, MEASURE_HEIGHT]),
        np.array([False, False]),
        np.array([np.nan, np.nan]),
    )
    assert result.c9mo_flag.tolist() == [1, 0]
    assert result.cmeasure.tolist() == [MEASURE_UNKNOWN, MEASURE_HEIGHT]
    assert result.clenhei.tolist() == pytest.approx([68.0, 68.7])


# --- weight-for-length/height: table choice, ranges, interpolation ----------------


@pytest.mark.parametrize(
    ("age_days", "measure", "lenhei", "valid"),
    [
        (100, "L", 45.0, True),
        (100, "L", 44.9, False),
        (700, "L", 110.0, True),
        (700, "L", 110.1, False),
        (800, "H", 65.0, True),
        (800, "H", 64.9, False),
        (1800, "H", 120.0, True),
        (1800, "H", 120.1, False),
    ],
)
def test_weight_for_lenhei_only_within_45_110_cm_length_and_65_120_cm_height(
    age_days, measure, lenhei, valid
):
    z = child_zscores(2, age_days, 10.0, lenhei, measure)
    assert (z.zwfl is not None) is valid


def test_length_at_the_upper_edge_with_two_decimals_is_interpolated():
    z = child_zscores(2, 700, 18.0, 109.95, "L")
    low, high = who_row("wflanthro.txt", 2, 109.9), who_row("wflanthro.txt", 2, 110.0)
    diff = (109.95 - 109.9) / 0.1
    l, m, s = (a + diff * (b - a) for a, b in zip(low, high))
    assert z.zwfl == round(lms_z(18.0, l, m, s), 2)


def test_length_with_two_decimals_interpolates_l_m_and_s_between_the_01_cm_rows():
    # Oracle row: boy, 94 days, 6.9 kg, 61.85 cm, measure unknown -> zwfl 0.74.
    z = child_zscores(1, 94, 6.9, 61.85, None)
    low, high = who_row("wflanthro.txt", 1, 61.8), who_row("wflanthro.txt", 1, 61.9)
    l, m, s = (a + 0.5 * (b - a) for a, b in zip(low, high))
    assert z.zwfl == round(lms_z(6.9, l, m, s), 2) == 0.74
    assert round(lms_z(6.9, *low), 2) != 0.74  # the lower row alone is wrong


@pytest.mark.parametrize(
    ("measure", "lenhei", "table"),
    [
        (None, 86.9, "wflanthro.txt"),
        (None, 87.0, "wfhanthro.txt"),
        ("L", 95.0, "wflanthro.txt"),
        ("H", 80.0, "wfhanthro.txt"),
    ],
)
def test_unknown_age_chooses_the_table_by_measure_else_by_87_cm(measure, lenhei, table):
    z = child_zscores(1, None, 12.0, lenhei, measure)
    assert z.zwfl == round(lms_z(12.0, *who_row(table, 1, lenhei)), 2)
    assert z.clenhei == lenhei
    assert (z.zlen, z.zwei, z.zbmi, z.zac) == (None, None, None, None)


# --- age limits ----------------------------------------------------------------


def test_exactly_60_months_has_no_zscores_but_1826_days_has():
    last_day = child_zscores(1, 1826, 18.0, 110.0, "H", muac_cm=16.0)  # 59.99 months
    assert None not in (last_day.zlen, last_day.zwei, last_day.zwfl, last_day.zbmi, last_day.zac)
    for age in (1826.25, 1827):  # exactly 60.0 months; 60.02 months
        z = child_zscores(1, age, 18.0, 110.0, "H", muac_cm=16.0)
        assert (z.zlen, z.zwei, z.zwfl, z.zbmi, z.zac) == (None, None, None, None, None)


def test_arm_circumference_for_age_starts_at_91_days():
    assert child_zscores(2, 90, 5.0, 58.0, "L", muac_cm=12.0).zac is None
    z = child_zscores(2, 91, 5.0, 58.0, "L", muac_cm=12.0)
    assert z.zac == round(lms_z(12.0, *who_row("acanthro.txt", 2, 91)), 2)


def test_age_from_dates_and_months_to_days_round_half_up():
    assert age_in_days(date(2022, 1, 31), date(2024, 2, 1)) == 731
    assert days_from_months(24) == 731  # 730.5 days
    assert days_from_months(60) == 1826  # 1826.25 days
    with pytest.raises(ValueError):
        age_in_days(date(2024, 2, 1), date(2024, 1, 31))


# --- oedema, BMI, restricted z, rounding and flags --------------------------------


def test_oedema_removes_weight_based_zscores_only():
    z = child_zscores(2, 500, 7.0, 72.0, "L", oedema="y", muac_cm=11.0)
    assert (z.zwei, z.zwfl, z.zbmi) == (None, None, None)
    assert (z.fwei, z.fwfl, z.fbmi) == (None, None, None)
    assert z.zlen is not None and z.zac is not None


def test_bmi_is_computed_from_the_converted_length():
    z = child_zscores(1, 800, 12.0, 85.0, "L")
    assert z.cbmi == pytest.approx(12.0 / 0.843**2)
    assert z.zbmi == round(lms_z(12.0 / 0.843**2, *who_row("bmianthro.txt", 1, 800)), 2)


def test_weight_based_zscores_beyond_3_sd_use_the_restricted_tail():
    l, m, s = who_row("weianthro.txt", 1, 600)
    heavy = value_at(3.0, l, m, s) + 1.5 * (value_at(3.0, l, m, s) - value_at(2.0, l, m, s))
    z = child_zscores(1, 600, heavy, None)
    assert z.zwei == 4.5  # 3 + (y - SD3) / (SD3 - SD2)
    assert round(lms_z(heavy, l, m, s), 2) != 4.5
    light = value_at(-3.0, l, m, s) - 0.5 * (value_at(-2.0, l, m, s) - value_at(-3.0, l, m, s))
    assert child_zscores(1, 600, light, None).zwei == -3.5


def test_length_for_age_is_not_restricted_beyond_3_sd():
    _, m, s = who_row("lenanthro.txt", 2, 1000)  # L is 1: a normal distribution
    z = child_zscores(2, 1000, None, m * (1 + 4.2 * s), "H")
    assert z.zlen == 4.2


def test_flags_are_decided_on_the_rounded_zscore():
    l, m, s = who_row("wflanthro.txt", 1, 70.0)
    sd3, sd2 = value_at(3.0, l, m, s), value_at(2.0, l, m, s)

    def weight_at(restricted_z: float) -> float:
        return sd3 + (restricted_z - 3.0) * (sd3 - sd2)

    at_limit = child_zscores(1, 300, weight_at(5.004), 70.0, "L")
    assert (at_limit.zwfl, at_limit.fwfl) == (5.0, 0)
    above = child_zscores(1, 300, weight_at(5.006), 70.0, "L")
    assert (above.zwfl, above.fwfl) == (5.01, 1)


@pytest.mark.parametrize(
    ("z", "rounded"),
    [(0.125, 0.12), (0.375, 0.38), (-0.125, -0.12), (2.675, 2.67), (1.005, 1.0), (-0.004, 0.0)],
)
def test_zscores_are_rounded_like_r_round(z, rounded):
    """R >= 4 rounds to the closer decimal neighbour of the double (2.675 is
    2.67499999...), and an exact tie (0.125) to even."""
    assert _round_z_scalar(z) == rounded
    assert round_z(np.array([z])).tolist() == [rounded]


def test_array_rounding_equals_r_rounding_around_every_tie():
    base = np.arange(-100_000, 100_000) / 1000.0 + 0.0005  # 3rd-decimal ties, and near ties
    values = np.concatenate([base, np.nextafter(base, np.inf), np.nextafter(base, -np.inf)])
    expected = [_round_z_scalar(v) for v in values.tolist()]
    assert round_z(values).tolist() == expected


def test_non_positive_measurements_count_as_missing():
    z = child_zscores(1, 300, 0.0, -70.0, "L", muac_cm=0.0)
    assert (z.zwei, z.zlen, z.zwfl, z.zbmi, z.zac, z.clenhei) == (None,) * 6


def test_values_anthro_rejects_raise():
    with pytest.raises(ValueError):
        child_zscores("x", 300, 8.0, 70.0, "L")
    with pytest.raises(ValueError):
        child_zscores(1, 300, 8.0, 70.0, "S")
    with pytest.raises(ValueError):
        child_zscores(1, 300, 8.0, 70.0, "L", oedema="maybe")
    with pytest.raises(ValueError):
        child_zscores(1, -1, 8.0, 70.0, "L")


def test_scalar_and_array_paths_agree_on_random_children():
    rng = np.random.default_rng(3)
    n = 5000
    sex = rng.integers(0, 3, n)
    age = rng.integers(0, 1900, n).astype(float)
    age[rng.random(n) < 0.1] = np.nan
    weight = np.round(rng.uniform(1.0, 30.0, n), 3)
    lenhei = rng.uniform(40.0, 125.0, n)
    lenhei = np.where(rng.random(n) < 0.5, np.round(lenhei, 1), np.round(lenhei, 2))
    measure = rng.choice([MEASURE_UNKNOWN, MEASURE_LENGTH, MEASURE_HEIGHT], n)
    oedema = rng.random(n) < 0.05
    muac = np.round(rng.uniform(8.0, 20.0, n), 1)
    arrays = compute_zscores(sex, age, weight, lenhei, measure, oedema, muac)
    names = {MEASURE_UNKNOWN: None, MEASURE_LENGTH: "L", MEASURE_HEIGHT: "H"}
    compared = [f.name for f in fields(ZScores) if f.name != "cmeasure"]  # codes vs names
    for i in range(n):
        one = child_zscores(
            int(sex[i]) or None,
            None if np.isnan(age[i]) else int(age[i]),
            float(weight[i]),
            float(lenhei[i]),
            names[int(measure[i])],
            bool(oedema[i]),
            float(muac[i]),
        )
        assert one.cmeasure == names[int(arrays.cmeasure[i])], i
        for name in compared:
            expected = getattr(arrays, name)[i]
            got = getattr(one, name)
            assert (got is None and np.isnan(expected)) or got == expected, (i, name, got, expected)
