"""Indonesian nutrition-status categories (Permenkes No. 2 Tahun 2020) on WHO z-scores.

DOMAIN.md §3, table "Indonesian categories". The categories are decided on the
z-score exactly as WHO anthro reports it (rounded to 2 decimals), with these
bands (exactly -3 is in the "-3 to < -2" band; exactly -2 and +1 are normal):

    BB/U   weight-for-age      < -3 | -3..< -2 | -2..+1 | > +1
    PB/U,  length/height-      < -3 | -3..< -2 | -2..+3 | > +3
    TB/U   for-age
    BB/PB, weight-for-length/  < -3 | -3..< -2 | -2..+1 | > +1..+2 | > +2..+3 | > +3
    BB/TB  height; IMT/U BMI-for-age (same bands)

A flagged z-score (WHO's biologically implausible values) gives no category:
it is a measurement to check, not a child to classify. A child with bilateral
oedema has no weight-based z-scores; WHO counts such a child as below -3 SD for
weight-for-age, weight-for-length/height and BMI-for-age, and so do we
(berat badan sangat kurang, gizi buruk).

Every category is a `str` enum, so its value is what gets stored; `LABELS`
gives the wording of the regulation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from indicators.anthro import (
    DAYS_PER_MONTH,
    LENGTH_HEIGHT_SWITCH_DAY,
    MAX_AGE_MONTHS,
    ZScoreArrays,
    ZScores,
)


class BbuCategory(StrEnum):
    """BB/U, weight-for-age."""

    SANGAT_KURANG = "sangat_kurang"
    KURANG = "kurang"
    NORMAL = "normal"
    RISIKO_LEBIH = "risiko_lebih"


class TbuCategory(StrEnum):
    """PB/U or TB/U, length/height-for-age."""

    SANGAT_PENDEK = "sangat_pendek"
    PENDEK = "pendek"
    NORMAL = "normal"
    TINGGI = "tinggi"


class GiziCategory(StrEnum):
    """BB/PB or BB/TB (weight-for-length/height), and IMT/U (BMI-for-age)."""

    GIZI_BURUK = "gizi_buruk"
    GIZI_KURANG = "gizi_kurang"
    GIZI_BAIK = "gizi_baik"
    BERISIKO_GIZI_LEBIH = "berisiko_gizi_lebih"
    GIZI_LEBIH = "gizi_lebih"
    OBESITAS = "obesitas"


class AgeGroup(StrEnum):
    """Age group for caseloads (DOMAIN.md §3).

    BADUTA is 0-23 months (age < 731 days); BALITA here is the rest of the
    under-fives, 24-59 months. "Balita" in the regulation's sense (0-59
    months) is therefore BADUTA + BALITA.
    """

    BADUTA = "baduta"
    BALITA = "balita"


LABELS: dict[str, str] = {
    BbuCategory.SANGAT_KURANG: "Berat badan sangat kurang (severely underweight)",
    BbuCategory.KURANG: "Berat badan kurang (underweight)",
    BbuCategory.NORMAL: "Berat badan normal",
    BbuCategory.RISIKO_LEBIH: "Risiko berat badan lebih",
    TbuCategory.SANGAT_PENDEK: "Sangat pendek (severely stunted)",
    TbuCategory.PENDEK: "Pendek (stunted)",
    TbuCategory.NORMAL: "Normal",
    TbuCategory.TINGGI: "Tinggi",
    GiziCategory.GIZI_BURUK: "Gizi buruk (severely wasted)",
    GiziCategory.GIZI_KURANG: "Gizi kurang (wasted)",
    GiziCategory.GIZI_BAIK: "Gizi baik (normal)",
    GiziCategory.BERISIKO_GIZI_LEBIH: "Berisiko gizi lebih (possible risk of overweight)",
    GiziCategory.GIZI_LEBIH: "Gizi lebih (overweight)",
    GiziCategory.OBESITAS: "Obesitas (obese)",
}
"""Permenkes 2/2020 wording for each stored category value (keys are the values,
so `LABELS["pendek"]` works too, since the enums are strings)."""


# A band is (upper limit, whether the limit itself is in the band, category);
# bands are listed from the lowest up and the first matching one wins.
Band = tuple[float, bool, StrEnum]

BBU_BANDS: Sequence[Band] = (
    (-3.0, False, BbuCategory.SANGAT_KURANG),
    (-2.0, False, BbuCategory.KURANG),
    (1.0, True, BbuCategory.NORMAL),
    (math.inf, True, BbuCategory.RISIKO_LEBIH),
)
TBU_BANDS: Sequence[Band] = (
    (-3.0, False, TbuCategory.SANGAT_PENDEK),
    (-2.0, False, TbuCategory.PENDEK),
    (3.0, True, TbuCategory.NORMAL),
    (math.inf, True, TbuCategory.TINGGI),
)
GIZI_BANDS: Sequence[Band] = (
    (-3.0, False, GiziCategory.GIZI_BURUK),
    (-2.0, False, GiziCategory.GIZI_KURANG),
    (1.0, True, GiziCategory.GIZI_BAIK),
    (2.0, True, GiziCategory.BERISIKO_GIZI_LEBIH),
    (3.0, True, GiziCategory.GIZI_LEBIH),
    (math.inf, True, GiziCategory.OBESITAS),
)


def categorise(z: float | None, flag: int | None, bands: Sequence[Band]) -> StrEnum | None:
    """The band of a WHO z-score; None when the z-score is missing or flagged."""
    if z is None or flag:
        return None
    for limit, inclusive, category in bands:
        if z < limit or (inclusive and z == limit):
            return category
    return None  # NaN


CATEGORY_BANDS: dict[str, tuple[str, str, Sequence[Band], bool]] = {
    "bbu_category": ("zwei", "fwei", BBU_BANDS, True),
    "tbu_category": ("zlen", "flen", TBU_BANDS, False),
    "bbtb_category": ("zwfl", "fwfl", GIZI_BANDS, True),
    "imtu_category": ("zbmi", "fbmi", GIZI_BANDS, True),
}
"""Each category: its z-score, its flag, its bands, and whether oedema puts the
child in the lowest band."""


DERIVED_BOOLEANS: dict[str, tuple[str, tuple[StrEnum, ...]]] = {
    "stunted": ("tbu_category", (TbuCategory.PENDEK, TbuCategory.SANGAT_PENDEK)),
    "severely_stunted": ("tbu_category", (TbuCategory.SANGAT_PENDEK,)),
    "wasted": ("bbtb_category", (GiziCategory.GIZI_KURANG, GiziCategory.GIZI_BURUK)),
    "severely_wasted": ("bbtb_category", (GiziCategory.GIZI_BURUK,)),
    "underweight": ("bbu_category", (BbuCategory.KURANG, BbuCategory.SANGAT_KURANG)),
    "overweight": ("bbtb_category", (GiziCategory.GIZI_LEBIH, GiziCategory.OBESITAS)),
}
"""Each derived boolean: the category it is read from and the categories that make it true."""


def _category(name: str, z: float | None, flag: int | None, oedema: bool) -> StrEnum | None:
    _, _, bands, oedema_is_lowest = CATEGORY_BANDS[name]
    if oedema and oedema_is_lowest:
        return bands[0][2]
    return categorise(z, flag, bands)


def bbu_category(
    zwei: float | None, fwei: int | None = 0, oedema: bool = False
) -> BbuCategory | None:
    """BB/U from weight-for-age; oedema counts as below -3 SD."""
    return _category("bbu_category", zwei, fwei, oedema)


def tbu_category(zlen: float | None, flen: int | None = 0) -> TbuCategory | None:
    """PB/U (under 24 months) or TB/U from length/height-for-age."""
    return _category("tbu_category", zlen, flen, oedema=False)


def bbtb_category(
    zwfl: float | None, fwfl: int | None = 0, oedema: bool = False
) -> GiziCategory | None:
    """BB/PB or BB/TB from weight-for-length/height; oedema counts as below -3 SD."""
    return _category("bbtb_category", zwfl, fwfl, oedema)


def imtu_category(
    zbmi: float | None, fbmi: int | None = 0, oedema: bool = False
) -> GiziCategory | None:
    """IMT/U from BMI-for-age; oedema counts as below -3 SD."""
    return _category("imtu_category", zbmi, fbmi, oedema)


def age_group(age_days: float | None) -> AgeGroup | None:
    """BADUTA under 731 days, BALITA from 731 days to under 60 months, else None."""
    if age_days is None or not (0 <= age_days and age_days / DAYS_PER_MONTH < MAX_AGE_MONTHS):
        return None  # unknown (also NaN), negative, or 60 months and over
    return AgeGroup.BADUTA if age_days < LENGTH_HEIGHT_SWITCH_DAY else AgeGroup.BALITA


@dataclass(frozen=True, slots=True)
class NutritionStatus:
    """Permenkes 2/2020 categories and the derived booleans for one measurement.

    stunted: TB/U < -2 (pendek or sangat pendek); severely_stunted: < -3;
    wasted: BB/TB < -2; severely_wasted: < -3 (gizi buruk); underweight: BB/U
    < -2; overweight: BB/TB > +2 (gizi lebih or obesitas). None = unknown
    (z-score missing or flagged).
    """

    bbu_category: BbuCategory | None
    tbu_category: TbuCategory | None
    bbtb_category: GiziCategory | None
    imtu_category: GiziCategory | None
    stunted: bool | None
    severely_stunted: bool | None
    wasted: bool | None
    severely_wasted: bool | None
    underweight: bool | None
    overweight: bool | None
    age_group: AgeGroup | None


def nutrition_status(z: ZScores, oedema: bool, age_days: float | None) -> NutritionStatus:
    """Categories and booleans for one child's `ZScores` (see module docstring)."""
    values: dict[str, object] = {
        name: _category(name, getattr(z, z_name), getattr(z, flag_name), oedema)
        for name, (z_name, flag_name, _, _) in CATEGORY_BANDS.items()
    }
    for name, (category_name, members) in DERIVED_BOOLEANS.items():
        category = values[category_name]
        values[name] = None if category is None else category in members
    return NutritionStatus(**values, age_group=age_group(age_days))


# --- Arrays (batch path) ------------------------------------------------------


def band_codes(
    z: np.ndarray, flag: np.ndarray, bands: Sequence[Band], oedema: np.ndarray | None
) -> np.ndarray:
    """Vectorised `categorise`: index of the band for each z-score, -1 where the
    z-score is NaN or flagged; 0 (lowest band) where `oedema` is given and true."""
    codes = np.full(z.shape, -1, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        undecided = ~np.isnan(z) & (flag != 1)
        for code, (limit, inclusive, _) in enumerate(bands):
            hit = undecided & ((z <= limit) if inclusive else (z < limit))
            codes[hit] = code
            undecided &= ~hit
    if oedema is not None:
        codes[oedema] = 0
    return codes


def nutrition_status_arrays(
    z: ZScoreArrays, oedema: np.ndarray, age_days: np.ndarray
) -> dict[str, np.ndarray]:
    """`nutrition_status` for arrays: categories as object arrays of values (None
    where unknown), booleans as float arrays of 1.0/0.0 (NaN where unknown),
    `age_group` as an object array."""
    columns: dict[str, np.ndarray] = {}
    codes: dict[str, np.ndarray] = {}
    for name, (z_name, flag_name, bands, oedema_applies) in CATEGORY_BANDS.items():
        codes[name] = band_codes(
            getattr(z, z_name), getattr(z, flag_name), bands, oedema if oedema_applies else None
        )
        values = np.array([category.value for _, _, category in bands] + [None], dtype=object)
        columns[name] = values[codes[name]]  # code -1 picks the trailing None
    for name, (category_name, members) in DERIVED_BOOLEANS.items():
        bands = CATEGORY_BANDS[category_name][2]
        member_codes = [i for i, (_, _, category) in enumerate(bands) if category in members]
        category_codes = codes[category_name]
        columns[name] = np.where(
            category_codes >= 0, np.isin(category_codes, member_codes).astype(float), np.nan
        )
    columns["age_group"] = age_group_array(age_days)
    return columns


def age_group_array(age_days: np.ndarray) -> np.ndarray:
    """Vectorised `age_group` (object array of values or None)."""
    with np.errstate(invalid="ignore"):
        under_five = (age_days >= 0) & (age_days / DAYS_PER_MONTH < MAX_AGE_MONTHS)
        baduta = under_five & (age_days < LENGTH_HEIGHT_SWITCH_DAY)
    groups = np.full(age_days.shape, None, dtype=object)
    groups[under_five] = AgeGroup.BALITA.value
    groups[baduta] = AgeGroup.BADUTA.value
    return groups
