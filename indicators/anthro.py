"""WHO Child Growth Standards (2006) z-scores, reproducing WHO's `anthro` R package 1.1.

DOMAIN.md §3 describes the behaviour; the R functions named in the docstrings
below (`anthro_zscores`, `adjust_lenhei`, `compute_zscore_adjusted`, ...) are the
ones in WorldHealthOrganization/anthro that this module mirrors operation for
operation, so that floating-point results (and therefore the 2-decimal z-scores
and their flags) are the same as WHO's.

Two entry points compute the same thing:

* `compute_zscores` works on numpy arrays (survey exports, the batch CLI);
* `child_zscores` works on one child with plain floats (one submission on the
  server), cheap enough to call per request.

Indicators, with the WHO output names: length/height-for-age (`zlen`/`flen`),
weight-for-age (`zwei`/`fwei`), weight-for-length/height (`zwfl`/`fwfl`),
BMI-for-age (`zbmi`/`fbmi`), arm-circumference-for-age (`zac`/`fac`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import NamedTuple

import numpy as np

# --- Constants of the WHO method (DOMAIN.md §3) -------------------------------

DAYS_PER_MONTH = 30.4375
"""Age in months = age in days / 30.4375 (anthro's ANTHRO_DAYS_OF_MONTH)."""

MAX_AGE_MONTHS = 60.0
"""Z-scores only for age in months < 60 (unrounded months)."""

MAX_AGE_DAYS = 1856
"""Upper end of anthro's `allowed_age_range`; the tables themselves stop at 1826."""

LENGTH_HEIGHT_SWITCH_DAY = 731
"""From this age (in days) the height tables apply and lying length gets -0.7 cm."""

LENGTH_HEIGHT_OFFSET_CM = 0.7
"""Standing height is 0.7 cm shorter than recumbent length."""

STANDING_MIN_AGE_MONTHS = 9.0
"""Standing height under 9 months is implausible: measure treated as unknown."""

UNKNOWN_AGE_LENGTH_TABLE_BELOW_CM = 87.0
"""Age and measure unknown: weight-for-length below 87 cm, weight-for-height from 87 cm."""

WFL_RANGE_CM = (45.0, 110.0)
WFH_RANGE_CM = (65.0, 120.0)

MUAC_MIN_AGE_DAYS = 91
"""Arm-circumference-for-age starts at 3 months (91 days)."""

FLAG_LIMITS = {
    "len": (-6.0, 6.0),
    "wei": (-6.0, 5.0),
    "wfl": (-5.0, 5.0),
    "bmi": (-5.0, 5.0),
    "ac": (-5.0, 5.0),
}
"""A rounded z-score outside (low, high) is flagged (strictly below / above)."""

# Sex and measure codes used by the array API.
SEX_UNKNOWN, SEX_MALE, SEX_FEMALE = 0, 1, 2
MEASURE_UNKNOWN, MEASURE_LENGTH, MEASURE_HEIGHT = 0, 1, 2

_MEASURE_NAMES = {MEASURE_UNKNOWN: None, MEASURE_LENGTH: "L", MEASURE_HEIGHT: "H"}


# --- Input parsing (the values anthro accepts) --------------------------------


_MISSING_TEXT = ("", "na", "nan")  # R's NA, as it arrives from CSV files and pandas

_SEX_TEXT = {"1": SEX_MALE, "m": SEX_MALE, "2": SEX_FEMALE, "f": SEX_FEMALE}
_SEX_TEXT |= {"1.0": SEX_MALE, "2.0": SEX_FEMALE} | dict.fromkeys(_MISSING_TEXT, SEX_UNKNOWN)
_MEASURE_TEXT = {"l": MEASURE_LENGTH, "h": MEASURE_HEIGHT}
_MEASURE_TEXT |= dict.fromkeys(_MISSING_TEXT, MEASURE_UNKNOWN)
_OEDEMA_TEXT = {"y": True, "1": True, "true": True, "n": False, "2": False, "false": False}
_OEDEMA_TEXT |= dict.fromkeys(_MISSING_TEXT, False)


def _lookup(table: dict, value: object, missing, message: str):
    if value is None:
        return missing
    found = table.get(str(value).strip().lower())
    if found is None:
        raise ValueError(f"{message}, got {value!r}")
    return found


def parse_sex(value: object) -> int:
    """1/"m"/"M" -> 1 (male), 2/"f"/"F" -> 2 (female), None/""/NaN -> 0 (unknown).

    Anything else raises ValueError (anthro rejects it too).
    """
    return _lookup(_SEX_TEXT, value, SEX_UNKNOWN, "sex must be 1/2 or m/f")


def parse_measure(value: object) -> int:
    """ "L"/"l" -> recumbent length, "H"/"h" -> standing height, None/"" -> unknown."""
    return _lookup(_MEASURE_TEXT, value, MEASURE_UNKNOWN, "measure must be L or H (or empty)")


def parse_oedema(value: object) -> bool:
    """True for "y"/"Y"/"1"/True; False for "n"/"N"/"2"/False/None/"" (anthro's rule:
    missing oedema counts as no oedema)."""
    return _lookup(_OEDEMA_TEXT, value, False, "oedema must be y/n")


def age_in_days(birth_date: date, measured_on: date) -> int:
    """Age in days = measurement date - birth date (DOMAIN.md §3)."""
    days = (measured_on - birth_date).days
    if days < 0:
        raise ValueError(f"measured on {measured_on} before birth on {birth_date}")
    return days


def days_from_months(months: float) -> int:
    """Months to days as anthro does: round half up of months * 30.4375."""
    return _round_half_up_scalar(months * DAYS_PER_MONTH)


def _round_half_up_scalar(x: float) -> int:
    """anthro's `round_up` for one value (see `round_half_up`)."""
    floor = math.floor(x)
    return floor + (x - floor >= 0.5)


# --- WHO LMS tables ------------------------------------------------------------

AGE_KEYS = (0, 1827)
"""(first key, width) of the age tables: days 0-1826 (acanthro starts at 91;
its earlier days are NaN cells)."""
WFL_KEYS = (450, 651)
"""Weight-for-length: 45.0-110.0 cm, keys in tenths of a cm."""
WFH_KEYS = (650, 551)
"""Weight-for-height: 65.0-120.0 cm, keys in tenths of a cm."""


class LmsTable(NamedTuple):
    """One WHO table as flat arrays, one row of `width + 2` cells per sex.

    The cell of (sex, key) is `sex * (width + 2) + (key - first_key) + 1`, where
    `key` is the age in days, or the length/height in tenths of a cm. Row 0
    (sex unknown), the guard cell at each end of a row and keys absent from
    WHO's file hold NaN, so looking up a missing combination yields NaN, just
    as anthro's left join yields NA, without any masking. The same numbers are
    kept as Python lists for the scalar path. `l_is_one` marks a table whose L
    is 1 throughout (length/height-for-age), where (y/M)^L is y/M exactly.
    """

    first_key: int
    width: int
    l: np.ndarray
    m: np.ndarray
    s: np.ndarray
    l_list: list[float]
    m_list: list[float]
    s_list: list[float]
    l_is_one: bool

    def index(self, sex: np.ndarray, key: np.ndarray) -> np.ndarray:
        """Cell of each (sex, key): `sex` holds 0, 1 or 2, `key` whole numbers as
        floats. A NaN key or one outside the table lands on a guard cell."""
        offset = np.fmin(np.fmax(key - self.first_key, -1.0), float(self.width))  # NaN: -1
        return (sex * (self.width + 2) + offset + 1.0).astype(np.intp)

    def scalar_index(self, sex: int, key: int) -> int | None:
        offset = key - self.first_key
        if sex == SEX_UNKNOWN or not 0 <= offset < self.width:
            return None
        return sex * (self.width + 2) + offset + 1


def _read_table(filename: str, key_scale: int, keys: tuple[int, int]) -> LmsTable:
    """Parse a WHO `*anthro.txt` file (tab separated: sex, key, l, m, s[, loh])."""
    first_key, width = keys
    text = resources.files("indicators").joinpath("data").joinpath(filename).read_text()
    columns = {name: np.full(3 * (width + 2), np.nan) for name in "lms"}
    for line in text.splitlines()[1:]:
        sex, key, l, m, s = line.split("\t")[:5]
        offset = round(float(key) * key_scale) - first_key
        if not 0 <= offset < width:
            raise ValueError(f"{filename}: key {key} outside the expected range")
        i = int(sex) * (width + 2) + offset + 1
        columns["l"][i], columns["m"][i], columns["s"][i] = float(l), float(m), float(s)
    l_values = columns["l"][~np.isnan(columns["l"])]
    return LmsTable(
        first_key,
        width,
        columns["l"],
        columns["m"],
        columns["s"],
        columns["l"].tolist(),
        columns["m"].tolist(),
        columns["s"].tolist(),
        l_is_one=bool(np.all(l_values == 1.0)),
    )


class GrowthStandards(NamedTuple):
    length_for_age: LmsTable
    weight_for_age: LmsTable
    bmi_for_age: LmsTable
    arm_circumference_for_age: LmsTable
    weight_for_length: LmsTable
    weight_for_height: LmsTable
    weight_for_lenhei_lms: tuple[np.ndarray, np.ndarray, np.ndarray]
    """L, M and S of both weight-for-length/height tables in one array each, for
    the array path: the height cells follow the length cells, so a height cell
    is `weight_for_height.index(...) + HEIGHT_CELLS_START`."""


HEIGHT_CELLS_START = 3 * (WFL_KEYS[1] + 2)


@cache
def growth_standards() -> GrowthStandards:
    """The WHO tables shipped in `indicators/data/`, loaded once per process."""
    wfl = _read_table("wflanthro.txt", 10, WFL_KEYS)
    wfh = _read_table("wfhanthro.txt", 10, WFH_KEYS)
    return GrowthStandards(
        _read_table("lenanthro.txt", 1, AGE_KEYS),
        _read_table("weianthro.txt", 1, AGE_KEYS),
        _read_table("bmianthro.txt", 1, AGE_KEYS),
        _read_table("acanthro.txt", 1, AGE_KEYS),
        wfl,
        wfh,
        (
            np.concatenate([wfl.l, wfh.l]),
            np.concatenate([wfl.m, wfh.m]),
            np.concatenate([wfl.s, wfh.s]),
        ),
    )


# --- Vectorised core -----------------------------------------------------------


class ZScoreArrays(NamedTuple):
    """Columnar result of `compute_zscores`, WHO column names.

    z-scores are float arrays rounded to 2 decimals with NaN where WHO gives NA;
    flags are float arrays of 0.0/1.0 with NaN where the z-score is NA.
    `cmeasure` holds the measure codes after the under-9-months rule and
    `c9mo_flag` marks the children whose standing height was discarded.
    """

    clenhei: np.ndarray
    cmeasure: np.ndarray
    c9mo_flag: np.ndarray
    cbmi: np.ndarray
    zlen: np.ndarray
    flen: np.ndarray
    zwei: np.ndarray
    fwei: np.ndarray
    zwfl: np.ndarray
    fwfl: np.ndarray
    zbmi: np.ndarray
    fbmi: np.ndarray
    zac: np.ndarray
    fac: np.ndarray


def round_half_up(x: np.ndarray) -> np.ndarray:
    """anthro's `round_up`: floor, plus one when the fraction is >= .5."""
    floor = np.floor(x)
    return floor + (x - floor >= 0.5)


def _r_round_hundredths(x: np.ndarray) -> np.ndarray:
    """R >= 4.0 `round(x, 2)` for x >= 0, as a count of hundredths: the closer
    of floor(100x)/100 and ceil(100x)/100 to x, compared in doubles; on an
    exact tie the even one."""
    x100 = x * 100.0
    down, up = np.floor(x100), np.ceil(x100)
    distance_up, distance_down = up / 100.0 - x, x - down / 100.0
    closer_up = (distance_up < distance_down) | (
        (distance_up == distance_down) & (np.fmod(down, 2.0) == 1.0)
    )
    return np.where(closer_up, up, down)


def round_z(z: np.ndarray) -> np.ndarray:
    """R's `round(z, 2)` (R >= 4.0, as anthro rounds): see `_r_round_hundredths`,
    applied to |z| with the sign restored, so values and the flags computed
    from them match R bit for bit. Away from a .5 tie in the third decimal
    this is plain nearest rounding, so only the rare near-ties take R's exact
    path. (-0.0 becomes 0.0.)"""
    x100 = np.abs(z) * 100.0
    hundredths = np.rint(x100)
    near_tie = np.flatnonzero(np.abs(x100 - hundredths) > 0.5 - 1e-6)
    if near_tie.size:
        hundredths[near_tie] = _r_round_hundredths(np.abs(z[near_tie]))
    return np.copysign(hundredths / 100.0, z) + 0.0


def lms_zscore(
    y: np.ndarray, l: np.ndarray, m: np.ndarray, s: np.ndarray, l_is_one: bool = False
) -> np.ndarray:
    """z = ((y/M)^L - 1) / (S*L)  (anthro `compute_zscore`); with L = 1 this is
    exactly (y/M - 1)/S."""
    if l_is_one:
        return (y / m - 1.0) / s
    return ((y / m) ** l - 1.0) / (s * l)


def lms_zscore_restricted(y: np.ndarray, l: np.ndarray, m: np.ndarray, s: np.ndarray) -> np.ndarray:
    """LMS z-score with WHO's restricted tails beyond ±3 SD (anthro
    `compute_zscore_adjusted`): SD(k) = M(1+LSk)^(1/L);
    z > 3: 3 + (y - SD3)/(SD3 - SD2); z < -3: -3 + (y - SD-3)/(SD-2 - SD-3).
    Only the few rows beyond ±3 pay for the extra powers."""
    z = lms_zscore(y, l, m, s)
    tail = np.flatnonzero(np.abs(z) > 3.0)
    if tail.size:
        yt, lt, mt, st = y[tail], l[tail], m[tail], s[tail]
        sign = np.where(z[tail] > 0, 1.0, -1.0)
        sd3 = mt * (1.0 + lt * st * (3.0 * sign)) ** (1.0 / lt)
        sd2 = mt * (1.0 + lt * st * (2.0 * sign)) ** (1.0 / lt)
        # anthro: SD23pos = SD3 - SD2 above, SD23neg = SD-2 - SD-3 below.
        z[tail] = 3.0 * sign + (yt - sd3) / ((sd3 - sd2) * sign)
    return z


def _flags(z: np.ndarray, indicator: str) -> np.ndarray:
    low, high = FLAG_LIMITS[indicator]
    flag = ((z < low) | (z > high)).astype(float)
    flag[np.isnan(z)] = np.nan
    return flag


def _age_based_zscore(
    table: LmsTable, y: np.ndarray, index: np.ndarray, valid: np.ndarray, restricted: bool
) -> np.ndarray:
    """anthro `anthro_zscore_adjusted`: join on (age in days, sex) — `index`
    from `LmsTable.index` — z, round, then NA outside the `valid` rows.
    A measurement <= 0 gives NA (the caller has made those NaN)."""
    l, m, s = (np.take(column, index) for column in (table.l, table.m, table.s))
    if restricted:
        z = lms_zscore_restricted(y, l, m, s)
    else:
        z = lms_zscore(y, l, m, s, table.l_is_one)
    z = round_z(z)
    z[~valid] = np.nan
    return z


def _weight_for_lenhei(
    weight: np.ndarray,
    clenhei: np.ndarray,
    cmeasure: np.ndarray,
    sex: np.ndarray,
    age: np.ndarray,
    age_months: np.ndarray,
    oedema: np.ndarray,
) -> np.ndarray:
    """anthro `anthro_zscore_weight_for_lenhei`.

    Table: weight-for-length when age < 731 days, or age unknown and measure L,
    or both unknown and clenhei < 87 cm; weight-for-height otherwise. L, M and S
    are interpolated linearly between the two 0.1 cm rows around clenhei
    (lower row = trunc(clenhei*10)/10, weight = (clenhei - lower)/0.1, used only
    when > 0). Valid only for 45-110 cm (length) or 65-120 cm (height), without
    oedema, age <= 1856 days and months < 60 (an unknown age passes these two).
    """
    std = growth_standards()
    age_known = ~np.isnan(age)
    unknown_both = ~age_known & (cmeasure == MEASURE_UNKNOWN)
    on_length = (
        (age < LENGTH_HEIGHT_SWITCH_DAY)
        | (~age_known & (cmeasure == MEASURE_LENGTH))
        | (unknown_both & (clenhei < UNKNOWN_AGE_LENGTH_TABLE_BELOW_CM))
    )
    on_height = (
        (age >= LENGTH_HEIGHT_SWITCH_DAY)
        | (~age_known & (cmeasure == MEASURE_HEIGHT))
        | (unknown_both & (clenhei >= UNKNOWN_AGE_LENGTH_TABLE_BELOW_CM))
    )
    scaled = clenhei * 10.0
    lower_tenths = np.trunc(scaled)
    diff = (clenhei - lower_tenths / 10.0) / 0.1
    # anthro interpolates only when diff > 0; pointing the upper row at the
    # lower one otherwise makes `lower + diff * (upper - lower)` equal `lower`.
    upper_tenths = np.where(diff > 0, np.trunc(scaled + 1.0), lower_tenths)

    def cells(tenths: np.ndarray) -> np.ndarray:
        """Cells of `weight_for_lenhei_lms`; cell 0 (NaN) when neither table applies."""
        length_cells = std.weight_for_length.index(sex, tenths) * on_length
        height_cells = (std.weight_for_height.index(sex, tenths) + HEIGHT_CELLS_START) * on_height
        return length_cells + height_cells

    lower, upper = cells(lower_tenths), cells(upper_tenths)
    l, m, s = (
        np.take(column, lower) + diff * (np.take(column, upper) - np.take(column, lower))
        for column in std.weight_for_lenhei_lms
    )
    z = round_z(lms_zscore_restricted(weight, l, m, s))

    length_range = (clenhei >= WFL_RANGE_CM[0]) & (clenhei <= WFL_RANGE_CM[1])
    height_range = (clenhei >= WFH_RANGE_CM[0]) & (clenhei <= WFH_RANGE_CM[1])
    valid = (
        ((on_length & length_range) | (on_height & height_range))
        & ~oedema
        & ~(age > MAX_AGE_DAYS)  # an unknown age passes
        & ~(age_months >= MAX_AGE_MONTHS)
    )
    z[~valid] = np.nan
    return z


BLOCK_ROWS = 32_768
"""Rows per block of the array path: the temporaries of a block stay in the CPU
cache and are recycled by the allocator, roughly twice as fast as whole-column
operations on a million rows."""


def compute_zscores(
    sex: np.ndarray,
    age_days: np.ndarray,
    weight_kg: np.ndarray,
    lenhei_cm: np.ndarray,
    measure: np.ndarray,
    oedema: np.ndarray,
    muac_cm: np.ndarray,
) -> ZScoreArrays:
    """WHO z-scores for many children at once (anthro `anthro_zscores`).

    Arguments are equal-length arrays: `sex` codes 1/2 (0 = unknown), `age_days`
    (NaN = unknown; negative ages are treated as unknown), weight in kg,
    length/height in cm, `measure` codes MEASURE_LENGTH/MEASURE_HEIGHT/
    MEASURE_UNKNOWN, `oedema` booleans, MUAC in cm; NaN for missing numbers.
    Measurements <= 0 (also a clenhei <= 0) count as missing. (anthro gives NA
    for them too, except in meaningless cases such as a flagged zwfl for weight
    0 or a zbmi for a length under 0.7 cm; here those are NA as well.)

    Steps as in anthro: age in days rounded half up, age in months unrounded;
    standing height under 9 months -> measure unknown (c9mo_flag); clenhei =
    length/height converted by ±0.7 cm at the 731-day switch (no conversion when
    measure or age is unknown); BMI from clenhei; oedema removes the weight-based
    z-scores; z rounded to 2 decimals; flags on the rounded z.
    """
    columns = [
        np.asarray(sex),
        np.asarray(age_days, dtype=float),
        np.asarray(weight_kg, dtype=float),
        np.asarray(lenhei_cm, dtype=float),
        np.asarray(measure),
        np.asarray(oedema),
        np.asarray(muac_cm, dtype=float),
    ]
    n = columns[0].shape[0]
    if n <= BLOCK_ROWS:
        return _compute_block(*columns)
    blocks = [
        _compute_block(*(column[start : start + BLOCK_ROWS] for column in columns))
        for start in range(0, n, BLOCK_ROWS)
    ]
    return ZScoreArrays(*(np.concatenate(parts) for parts in zip(*blocks)))


def _compute_block(
    sex: np.ndarray,
    age_days: np.ndarray,
    weight_kg: np.ndarray,
    lenhei_cm: np.ndarray,
    measure: np.ndarray,
    oedema: np.ndarray,
    muac_cm: np.ndarray,
) -> ZScoreArrays:
    """`compute_zscores` for one block of rows."""
    sex = np.asarray(sex, dtype=np.int64)
    sex = np.where((sex == SEX_MALE) | (sex == SEX_FEMALE), sex, SEX_UNKNOWN)
    age_days = np.array(age_days, dtype=float)  # a copy: negative ages become NaN
    age_days[age_days < 0] = np.nan
    weight = _positive_or_nan(weight_kg)
    lenhei = _positive_or_nan(lenhei_cm)
    muac = _positive_or_nan(muac_cm)
    measure = np.asarray(measure, dtype=np.int8)
    oedema = np.asarray(oedema, dtype=bool)

    with np.errstate(all="ignore"):
        age_months = age_days / DAYS_PER_MONTH
        age = round_half_up(age_days)

        standing_too_young = (measure == MEASURE_HEIGHT) & (age_months < STANDING_MIN_AGE_MONTHS)
        cmeasure = measure.copy()
        cmeasure[standing_too_young] = MEASURE_UNKNOWN
        clenhei = adjust_lenhei(age, cmeasure, lenhei)
        clenhei[~(clenhei > 0)] = np.nan  # a length under 0.7 cm, less 0.7 cm
        metres = clenhei / 100.0
        cbmi = weight / (metres * metres)  # R computes x^2 as x*x

        std = growth_standards()
        age_index = std.length_for_age.index(sex, age)
        in_age_range = (age <= MAX_AGE_DAYS) & (age_months < MAX_AGE_MONTHS)  # NaN: False
        weight_valid = in_age_range & ~oedema
        muac_valid = in_age_range & (age >= MUAC_MIN_AGE_DAYS)
        zlen = _age_based_zscore(std.length_for_age, clenhei, age_index, in_age_range, False)
        zwei = _age_based_zscore(std.weight_for_age, weight, age_index, weight_valid, True)
        zbmi = _age_based_zscore(std.bmi_for_age, cbmi, age_index, weight_valid, True)
        zac = _age_based_zscore(std.arm_circumference_for_age, muac, age_index, muac_valid, True)
        zwfl = _weight_for_lenhei(weight, clenhei, cmeasure, sex, age, age_months, oedema)

    return ZScoreArrays(
        clenhei=clenhei,
        cmeasure=cmeasure,
        c9mo_flag=standing_too_young.astype(np.int8),
        cbmi=cbmi,
        zlen=zlen,
        flen=_flags(zlen, "len"),
        zwei=zwei,
        fwei=_flags(zwei, "wei"),
        zwfl=zwfl,
        fwfl=_flags(zwfl, "wfl"),
        zbmi=zbmi,
        fbmi=_flags(zbmi, "bmi"),
        zac=zac,
        fac=_flags(zac, "ac"),
    )


def _positive_or_nan(values: np.ndarray) -> np.ndarray:
    values = np.array(values, dtype=float)  # a copy
    values[~(values > 0)] = np.nan
    return values


def adjust_lenhei(age: np.ndarray, cmeasure: np.ndarray, lenhei: np.ndarray) -> np.ndarray:
    """anthro `adjust_lenhei`: under 731 days standing height + 0.7 cm; from 731
    days recumbent length - 0.7 cm; unknown age or measure: unchanged."""
    clenhei = lenhei.copy()
    to_length = (age < LENGTH_HEIGHT_SWITCH_DAY) & (cmeasure == MEASURE_HEIGHT)
    to_height = (age >= LENGTH_HEIGHT_SWITCH_DAY) & (cmeasure == MEASURE_LENGTH)
    clenhei[to_length] += LENGTH_HEIGHT_OFFSET_CM
    clenhei[to_height] -= LENGTH_HEIGHT_OFFSET_CM
    return clenhei


# --- Scalar path (one child, plain floats) -------------------------------------


@dataclass(frozen=True, slots=True)
class ZScores:
    """WHO z-scores for one measurement, WHO `anthro_zscores` column names.

    `None` where WHO gives NA. Flags are 0/1 (None when the z-score is None).
    `clenhei` is the length/height after the 0.7 cm conversion (None when no
    length/height was given); `cmeasure` the measure actually used ("L", "H" or
    None); `c9mo_flag` is 1 when a standing height under 9 months was discarded.
    """

    clenhei: float | None
    cmeasure: str | None
    c9mo_flag: int
    cbmi: float | None
    zlen: float | None
    flen: int | None
    zwei: float | None
    fwei: int | None
    zwfl: float | None
    fwfl: int | None
    zbmi: float | None
    fbmi: int | None
    zac: float | None
    fac: int | None


def _round_z_scalar(z: float) -> float:
    """Scalar twin of `round_z` (R's round(z, 2))."""
    x = abs(z)
    x100 = x * 100.0
    i100 = math.floor(x100)
    down = i100 / 100.0
    up = math.ceil(x100) / 100.0
    du, dd = up - x, x - down
    rounded = up if (du < dd or (du == dd and i100 % 2 == 1)) else down
    return math.copysign(rounded, z) + 0.0


def _lms_z_scalar(y: float, l: float, m: float, s: float, restricted: bool) -> float:
    """Scalar twin of `lms_zscore` / `lms_zscore_restricted`, rounded (y > 0)."""
    z = ((y / m) ** l - 1.0) / (s * l)
    if restricted and abs(z) > 3.0:
        sign = 1.0 if z > 0 else -1.0
        sd3 = m * (1.0 + l * s * (3.0 * sign)) ** (1.0 / l)
        sd2 = m * (1.0 + l * s * (2.0 * sign)) ** (1.0 / l)
        z = 3.0 * sign + (y - sd3) / ((sd3 - sd2) * sign)
    return _round_z_scalar(z)


def _flag_scalar(z: float | None, indicator: str) -> int | None:
    if z is None:
        return None
    low, high = FLAG_LIMITS[indicator]
    return int(z < low or z > high)


def _age_based_scalar(
    table: LmsTable, y: float | None, sex: int, age: int, restricted: bool
) -> float | None:
    if y is None or y <= 0:
        return None
    i = table.scalar_index(sex, age)
    if i is None:
        return None
    l, m, s = table.l_list[i], table.m_list[i], table.s_list[i]
    if math.isnan(m):
        return None
    return _lms_z_scalar(y, l, m, s, restricted)


def _weight_for_lenhei_scalar(
    weight: float | None,
    clenhei: float | None,
    cmeasure: int,
    sex: int,
    age: int | None,
) -> float | None:
    """Scalar twin of `_weight_for_lenhei` (validity of age/oedema checked by caller)."""
    if weight is None or clenhei is None:
        return None
    if age is not None:
        on_length = age < LENGTH_HEIGHT_SWITCH_DAY
    elif cmeasure != MEASURE_UNKNOWN:
        on_length = cmeasure == MEASURE_LENGTH
    else:
        on_length = clenhei < UNKNOWN_AGE_LENGTH_TABLE_BELOW_CM
    std = growth_standards()
    table, (low, high) = (
        (std.weight_for_length, WFL_RANGE_CM)
        if on_length
        else (std.weight_for_height, WFH_RANGE_CM)
    )
    if not low <= clenhei <= high:
        return None
    scaled = clenhei * 10.0
    lower = table.scalar_index(sex, math.trunc(scaled))
    if lower is None:
        return None
    diff = (clenhei - math.trunc(scaled) / 10.0) / 0.1
    l, m, s = table.l_list[lower], table.m_list[lower], table.s_list[lower]
    if diff > 0:
        upper = table.scalar_index(sex, math.trunc(scaled + 1.0))
        if upper is None:
            return None
        l = l + diff * (table.l_list[upper] - l)
        m = m + diff * (table.m_list[upper] - m)
        s = s + diff * (table.s_list[upper] - s)
    return _lms_z_scalar(weight, l, m, s, restricted=True)


def _positive(value: float | None) -> float | None:
    """The measurement as a float, or None when missing, NaN or <= 0."""
    return float(value) if value is not None and value > 0 else None


def _adjust_lenhei_scalar(age: int | None, cmeasure: int, lenhei: float | None) -> float | None:
    """Scalar twin of `adjust_lenhei` (a result <= 0 counts as missing)."""
    if lenhei is None or age is None:
        return lenhei
    if age < LENGTH_HEIGHT_SWITCH_DAY and cmeasure == MEASURE_HEIGHT:
        return lenhei + LENGTH_HEIGHT_OFFSET_CM
    if age >= LENGTH_HEIGHT_SWITCH_DAY and cmeasure == MEASURE_LENGTH:
        return _positive(lenhei - LENGTH_HEIGHT_OFFSET_CM)
    return lenhei


def child_zscores(
    sex: int | str | None,
    age_days: int | None,
    weight_kg: float | None = None,
    lenhei_cm: float | None = None,
    measure: str | None = None,
    oedema: bool | str | None = False,
    muac_cm: float | None = None,
) -> ZScores:
    """WHO z-scores for one child; same results as `compute_zscores`.

    `sex` 1/2 or "m"/"f"; `age_days` from `age_in_days(birth, measured)` (None =
    unknown; only weight-for-length/height can then be computed); `measure`
    "L" (lying) / "H" (standing) / None; `oedema` True or "y"/"n".
    Raises ValueError for values anthro would reject and for a negative age.
    """
    csex = parse_sex(sex)
    cmeasure = parse_measure(measure)
    has_oedema = parse_oedema(oedema)
    weight, lenhei, muac = _positive(weight_kg), _positive(lenhei_cm), _positive(muac_cm)
    if age_days is not None and math.isnan(age_days):  # unknown, as in the array path
        age_days = None
    if age_days is not None and age_days < 0:
        raise ValueError(f"age_days must be >= 0, got {age_days}")

    age = None if age_days is None else _round_half_up_scalar(age_days)
    age_months = None if age_days is None else age_days / DAYS_PER_MONTH
    c9mo_flag = int(
        cmeasure == MEASURE_HEIGHT
        and age_months is not None
        and age_months < STANDING_MIN_AGE_MONTHS
    )
    if c9mo_flag:
        cmeasure = MEASURE_UNKNOWN

    clenhei = _adjust_lenhei_scalar(age, cmeasure, lenhei)
    cbmi = None
    if weight is not None and clenhei is not None:
        metres = clenhei / 100.0
        cbmi = weight / (metres * metres)  # R computes x^2 as x*x

    zlen = zwei = zbmi = zac = zwfl = None
    in_age_range = age is not None and age <= MAX_AGE_DAYS and age_months < MAX_AGE_MONTHS
    if in_age_range:
        std = growth_standards()
        zlen = _age_based_scalar(std.length_for_age, clenhei, csex, age, restricted=False)
        if not has_oedema:
            zwei = _age_based_scalar(std.weight_for_age, weight, csex, age, restricted=True)
            zbmi = _age_based_scalar(std.bmi_for_age, cbmi, csex, age, restricted=True)
        if age >= MUAC_MIN_AGE_DAYS:
            zac = _age_based_scalar(std.arm_circumference_for_age, muac, csex, age, restricted=True)
    if not has_oedema and (age is None or in_age_range):
        zwfl = _weight_for_lenhei_scalar(weight, clenhei, cmeasure, csex, age)

    return ZScores(
        clenhei=clenhei,
        cmeasure=_MEASURE_NAMES[cmeasure],
        c9mo_flag=c9mo_flag,
        cbmi=cbmi,
        zlen=zlen,
        flen=_flag_scalar(zlen, "len"),
        zwei=zwei,
        fwei=_flag_scalar(zwei, "wei"),
        zwfl=zwfl,
        fwfl=_flag_scalar(zwfl, "wfl"),
        zbmi=zbmi,
        fbmi=_flag_scalar(zbmi, "bmi"),
        zac=zac,
        fac=_flag_scalar(zac, "ac"),
    )
