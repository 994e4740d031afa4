"""WHO-consistent child growth: a child keeps a personal z-score track and the WHO LMS
tables (shipped in `indicators/data/`) turn the track into centimetres and kilograms.

A child has a length/height-for-age track (HAZ) and a weight-for-length/height track
(WHZ), each a personal level plus a small monthly random walk kept inside a band, so a
stunted child stays stunted (HAZ < -2) and a non-stunted one stays above -2 for the
whole simulation: the configured prevalence is what the tracks show.

The inverse of the LMS transform gives the measurement for a z-score:
y = M (1 + L S z)^(1/L), with WHO's restricted form beyond +/-3 SD for the weight-based
indicators (the same rule `indicators.anthro` inverts).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from indicators.anthro import (
    LENGTH_HEIGHT_SWITCH_DAY,
    MUAC_MIN_AGE_DAYS,
    SEX_FEMALE,
    SEX_MALE,
    WFH_RANGE_CM,
    WFL_RANGE_CM,
    LmsTable,
    growth_standards,
)

#: The form's sex answers as `indicators.anthro` codes them.
SEX_CODE = {"male": SEX_MALE, "female": SEX_FEMALE}

#: HAZ/WHZ bands that keep a track on its side of the -2 SD cut-off.
STUNTED_BAND = (-4.2, -2.08)
NOT_STUNTED_BAND = (-1.92, 2.8)
WASTED_BAND = (-3.8, -2.08)
NOT_WASTED_BAND = (-1.92, 3.2)

#: Monthly random-walk step (SD) of the tracks.
HAZ_MONTHLY_DRIFT = 0.04
WHZ_MONTHLY_DRIFT = 0.12


@dataclass(frozen=True)
class GrowthTrack:
    """A child's personal z-score levels (what the generator draws once per child)."""

    haz: float  # length/height-for-age
    whz: float  # weight-for-length/height
    muac_offset: float  # MUAC-for-age z relative to what WHZ/HAZ predict
    stunted: bool
    wasted: bool


def draw_track(rng: random.Random, *, stunted: bool, wasted: bool) -> GrowthTrack:
    """Personal z-score levels for a child whose stunting/wasting status is given."""
    if stunted:
        haz = max(STUNTED_BAND[0], STUNTED_BAND[1] - abs(rng.gauss(0.0, 0.55)))
    else:
        haz = _truncated_gauss(rng, -0.6, 0.85, NOT_STUNTED_BAND)
    if wasted:
        whz = max(WASTED_BAND[0], WASTED_BAND[1] - abs(rng.gauss(0.0, 0.45)))
    else:
        whz = _truncated_gauss(rng, -0.1, 0.9, NOT_WASTED_BAND)
    return GrowthTrack(haz, whz, rng.gauss(0.0, 0.5), stunted, wasted)


def _truncated_gauss(rng: random.Random, mu: float, sigma: float, band: tuple[float, float]):
    while True:
        z = rng.gauss(mu, sigma)
        if band[0] <= z <= band[1]:
            return z


def monthly_z(
    rng: random.Random, track: GrowthTrack, months: int
) -> tuple[list[float], list[float]]:
    """HAZ and WHZ for each month of the simulation: the level plus a bounded drift."""
    haz_band = STUNTED_BAND if track.stunted else NOT_STUNTED_BAND
    whz_band = WASTED_BAND if track.wasted else NOT_WASTED_BAND
    haz, whz = [track.haz], [track.whz]
    for _ in range(months - 1):
        haz.append(_clip(haz[-1] + rng.gauss(0.0, HAZ_MONTHLY_DRIFT), haz_band))
        # Weight comes back towards the child's own level (illness, then catch-up).
        step = 0.25 * (track.whz - whz[-1]) + rng.gauss(0.0, WHZ_MONTHLY_DRIFT)
        whz.append(_clip(whz[-1] + step, whz_band))
    return haz, whz


def _clip(x: float, band: tuple[float, float]) -> float:
    return min(max(x, band[0]), band[1])


# --- LMS inverses -------------------------------------------------------------------


def lms_value(l: float, m: float, s: float, z: float) -> float:
    """The measurement at z-score `z` of an LMS distribution."""
    if l == 0:
        return m * math.exp(s * z)
    return m * (1.0 + l * s * z) ** (1.0 / l)


def lms_value_restricted(l: float, m: float, s: float, z: float) -> float:
    """Inverse of WHO's restricted z-score (linear in SD units beyond +/-3)."""
    if abs(z) <= 3.0:
        return lms_value(l, m, s, z)
    sign = 1.0 if z > 0 else -1.0
    sd3 = lms_value(l, m, s, 3.0 * sign)
    sd2 = lms_value(l, m, s, 2.0 * sign)
    return sd3 + (z - 3.0 * sign) * (sd3 - sd2) * sign


def _age_lms(table: LmsTable, sex: str, age_days: int) -> tuple[float, float, float]:
    i = table.scalar_index(SEX_CODE[sex], age_days)
    if i is None or math.isnan(table.m_list[i]):
        raise ValueError(f"no WHO reference for {sex} at {age_days} days")
    return table.l_list[i], table.m_list[i], table.s_list[i]


def length_height_cm(sex: str, age_days: int, haz: float) -> float:
    """True recumbent length (under 731 days) or standing height (from 731 days)."""
    return lms_value(*_age_lms(growth_standards().length_for_age, sex, age_days), haz)


def weight_kg(sex: str, age_days: int, lenhei_cm: float, whz: float, haz: float) -> float:
    """True weight for the child's length/height and WHZ track.

    Uses weight-for-length under 731 days and weight-for-height after (interpolating
    the 0.1 cm rows like WHO). Outside the tables' length ranges (very small newborns)
    falls back to weight-for-age at a z between the child's two tracks.
    """
    std = growth_standards()
    on_length = age_days < LENGTH_HEIGHT_SWITCH_DAY
    table, (low, high) = (
        (std.weight_for_length, WFL_RANGE_CM) if on_length else (std.weight_for_height, WFH_RANGE_CM)
    )
    if low <= lenhei_cm <= high - 0.1:
        tenths = math.trunc(lenhei_cm * 10.0)
        lower = table.scalar_index(SEX_CODE[sex], tenths)
        upper = table.scalar_index(SEX_CODE[sex], tenths + 1)
        if lower is not None and upper is not None:
            diff = lenhei_cm * 10.0 - tenths
            l, m, s = (
                col[lower] + diff * (col[upper] - col[lower])
                for col in (table.l_list, table.m_list, table.s_list)
            )
            return lms_value_restricted(l, m, s, whz)
    waz = 0.6 * haz + 0.5 * whz
    return lms_value_restricted(*_age_lms(std.weight_for_age, sex, age_days), waz)


def muac_cm(sex: str, age_days: int, whz: float, haz: float, offset: float) -> float | None:
    """True mid-upper arm circumference (from 91 days), following the WHZ track."""
    if age_days < MUAC_MIN_AGE_DAYS:
        return None
    zac = 0.75 * whz + 0.2 * haz + offset
    return lms_value_restricted(
        *_age_lms(growth_standards().arm_circumference_for_age, sex, age_days), zac
    )
