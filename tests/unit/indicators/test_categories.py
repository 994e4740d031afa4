"""Permenkes 2/2020 categories on WHO z-scores (DOMAIN.md §3 table)."""

from __future__ import annotations

import numpy as np
import pytest

from indicators.anthro import MEASURE_HEIGHT, MEASURE_LENGTH, child_zscores, compute_zscores
from indicators.categories import (
    BBU_BANDS,
    GIZI_BANDS,
    LABELS,
    TBU_BANDS,
    AgeGroup,
    BbuCategory,
    GiziCategory,
    TbuCategory,
    age_group,
    band_codes,
    bbtb_category,
    bbu_category,
    categorise,
    imtu_category,
    nutrition_status,
    nutrition_status_arrays,
    tbu_category,
)

BOUNDARIES = (-3.01, -3.0, -2.01, -2.0, 1.0, 1.01, 2.0, 2.01, 3.0, 3.01)


@pytest.mark.parametrize(
    ("z", "expected"),
    list(
        zip(
            BOUNDARIES,
            [
                BbuCategory.SANGAT_KURANG,
                BbuCategory.KURANG,  # exactly -3 is in the -3 to < -2 band
                BbuCategory.KURANG,
                BbuCategory.NORMAL,  # exactly -2 is normal
                BbuCategory.NORMAL,  # exactly +1 is normal
                BbuCategory.RISIKO_LEBIH,
                BbuCategory.RISIKO_LEBIH,
                BbuCategory.RISIKO_LEBIH,
                BbuCategory.RISIKO_LEBIH,
                BbuCategory.RISIKO_LEBIH,
            ],
        )
    ),
)
def test_bbu_weight_for_age_bands_at_the_boundaries(z, expected):
    assert bbu_category(z) is expected


@pytest.mark.parametrize(
    ("z", "expected"),
    list(
        zip(
            BOUNDARIES,
            [
                TbuCategory.SANGAT_PENDEK,
                TbuCategory.PENDEK,
                TbuCategory.PENDEK,
                TbuCategory.NORMAL,
                TbuCategory.NORMAL,
                TbuCategory.NORMAL,
                TbuCategory.NORMAL,
                TbuCategory.NORMAL,
                TbuCategory.NORMAL,  # exactly +3 is still normal
                TbuCategory.TINGGI,
            ],
        )
    ),
)
def test_tbu_length_height_for_age_bands_at_the_boundaries(z, expected):
    assert tbu_category(z) is expected


GIZI_AT_BOUNDARIES = [
    GiziCategory.GIZI_BURUK,
    GiziCategory.GIZI_KURANG,
    GiziCategory.GIZI_KURANG,
    GiziCategory.GIZI_BAIK,
    GiziCategory.GIZI_BAIK,
    GiziCategory.BERISIKO_GIZI_LEBIH,
    GiziCategory.BERISIKO_GIZI_LEBIH,  # exactly +2
    GiziCategory.GIZI_LEBIH,
    GiziCategory.GIZI_LEBIH,  # exactly +3
    GiziCategory.OBESITAS,
]


@pytest.mark.parametrize(("z", "expected"), list(zip(BOUNDARIES, GIZI_AT_BOUNDARIES)))
def test_bbtb_and_imtu_bands_at_the_boundaries(z, expected):
    assert bbtb_category(z) is expected
    assert imtu_category(z) is expected


@pytest.mark.parametrize("bands", [BBU_BANDS, TBU_BANDS, GIZI_BANDS])
def test_array_bands_equal_scalar_bands(bands):
    z = np.array([*BOUNDARIES, -7.0, 0.0, 7.0, np.nan])
    codes = band_codes(z, np.zeros_like(z), bands, oedema=None)
    categories = [bands[c][2] if c >= 0 else None for c in codes]
    assert categories == [categorise(None if np.isnan(v) else v, 0, bands) for v in z]


def test_flagged_or_missing_zscore_has_no_category():
    assert tbu_category(-6.5, flen=1) is None
    assert bbu_category(None) is None


def test_oedema_counts_as_below_minus_3_for_weight_based_categories():
    z = child_zscores(2, 500, 7.0, 72.0, "L", oedema=True)
    status = nutrition_status(z, oedema=True, age_days=500)
    assert status.bbu_category is BbuCategory.SANGAT_KURANG
    assert status.bbtb_category is GiziCategory.GIZI_BURUK
    assert status.imtu_category is GiziCategory.GIZI_BURUK
    assert (status.wasted, status.severely_wasted, status.underweight) == (True, True, True)
    assert status.overweight is False
    assert status.tbu_category is not None  # length is not affected by oedema


def test_derived_booleans_follow_the_categories():
    z = child_zscores(1, 800, 8.0, 80.0, "L", muac_cm=12.0)  # zlen -3.05, zwfl -3.34, zwei -3.85
    status = nutrition_status(z, oedema=False, age_days=800)
    assert (status.stunted, status.severely_stunted) == (True, True)
    assert (status.wasted, status.severely_wasted, status.underweight) == (True, True, True)
    assert status.overweight is False
    assert status.age_group is AgeGroup.BALITA


def test_overweight_is_weight_for_length_above_plus_2():
    z = child_zscores(1, 300, 11.5, 70.0, "L")
    status = nutrition_status(z, oedema=False, age_days=300)
    assert z.zwfl > 2 and status.overweight is True
    assert status.bbtb_category in (GiziCategory.GIZI_LEBIH, GiziCategory.OBESITAS)


@pytest.mark.parametrize(
    ("age_days", "group"),
    [
        (0, AgeGroup.BADUTA),
        (730, AgeGroup.BADUTA),
        (731, AgeGroup.BALITA),
        (1826, AgeGroup.BALITA),
        (1827, None),
        (None, None),
    ],
)
def test_age_group_baduta_under_731_days_balita_under_60_months(age_days, group):
    assert age_group(age_days) is group


def test_array_status_equals_scalar_status():
    children = [  # sex, age, weight, length, measure, oedema, muac
        (1, 100, 5.0, 58.0, "L", False, 11.0),
        (2, 500, 7.0, 72.0, "L", True, 11.0),
        (1, 800, 8.0, 80.0, "L", False, 12.0),
        (2, 1500, 20.0, 100.0, "H", False, 16.0),
        (1, 1900, 20.0, 110.0, "H", False, np.nan),  # over five
        (1, 400, 30.0, 70.0, "L", False, np.nan),  # flagged weights
    ]
    sex, age, weight, lenhei, measure, oedema, muac = (np.array(c) for c in zip(*children))
    measure_codes = np.array([{"L": MEASURE_LENGTH, "H": MEASURE_HEIGHT}[m] for m in measure])
    z = compute_zscores(sex, age, weight, lenhei, measure_codes, oedema, muac)
    columns = nutrition_status_arrays(z, oedema, age.astype(float))
    for i, child in enumerate(children):
        status = nutrition_status(child_zscores(*child), child[5], child[1])
        for name in ("bbu_category", "tbu_category", "bbtb_category", "imtu_category", "age_group"):
            assert columns[name][i] == getattr(status, name), (i, name)
        for name in (
            "stunted",
            "severely_stunted",
            "wasted",
            "severely_wasted",
            "underweight",
            "overweight",
        ):
            expected = getattr(status, name)
            got = None if np.isnan(columns[name][i]) else bool(columns[name][i])
            assert got is expected, (i, name)


def test_every_category_has_its_regulation_label():
    for enum in (BbuCategory, TbuCategory, GiziCategory):
        for category in enum:
            assert LABELS[category]
    assert LABELS["pendek"] == "Pendek (stunted)"
