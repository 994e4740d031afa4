"""Pregnancy and reproductive-age screening: KEK, anaemia, maternal risk markers.

DOMAIN.md §4. Cut-offs are configurable (`MaternalThresholds`, a frozen
dataclass) because programmes differ (e.g. BKKBN Elsimil for calon pengantin);
the defaults are the ones DOMAIN.md gives:

* KEK (kekurangan energi kronis): LiLA (MUAC) < 23.5 cm, pregnant women and
  women of reproductive age (remaja putri, calon pengantin).
* Anaemia, WHO 2011 haemoglobin cut-offs (g/dL):
  pregnant < 11.0 (mild 10.0-10.9, moderate 7.0-9.9, severe < 7.0);
  non-pregnant women >= 15 years < 12.0 (mild 11.0-11.9, moderate 8.0-10.9,
  severe < 8.0); girls 12-14 years < 11.5 (mild 11.0-11.4, moderate 8.0-10.9,
  severe < 8.0).
* Risk markers: maternal age < 20 or > 35 years, height < 145 cm, (pre-pregnancy)
  BMI < 18.5, birth spacing < 2 years.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AnaemiaSeverity(StrEnum):
    NONE = "none"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


@dataclass(frozen=True, slots=True)
class AnaemiaCutoffs:
    """Haemoglobin (g/dL) from which each severity band starts (WHO 2011)."""

    normal_from: float
    mild_from: float
    moderate_from: float

    def severity(self, hb_g_dl: float) -> AnaemiaSeverity:
        if hb_g_dl >= self.normal_from:
            return AnaemiaSeverity.NONE
        if hb_g_dl >= self.mild_from:
            return AnaemiaSeverity.MILD
        if hb_g_dl >= self.moderate_from:
            return AnaemiaSeverity.MODERATE
        return AnaemiaSeverity.SEVERE


@dataclass(frozen=True, slots=True)
class MaternalThresholds:
    """Configurable screening cut-offs; defaults from DOMAIN.md §4."""

    kek_lila_cm: float = 23.5
    anaemia_pregnant: AnaemiaCutoffs = AnaemiaCutoffs(11.0, 10.0, 7.0)
    anaemia_women: AnaemiaCutoffs = AnaemiaCutoffs(12.0, 11.0, 8.0)
    anaemia_girls_12_14: AnaemiaCutoffs = AnaemiaCutoffs(11.5, 11.0, 8.0)
    adult_from_age_years: float = 15.0
    too_young_below_years: float = 20.0
    too_old_above_years: float = 35.0
    short_stature_below_cm: float = 145.0
    low_bmi_below: float = 18.5
    short_birth_spacing_below_months: float = 24.0


DEFAULT_THRESHOLDS = MaternalThresholds()


def is_kek(lila_cm: float, thresholds: MaternalThresholds = DEFAULT_THRESHOLDS) -> bool:
    """KEK: LiLA (mid-upper arm circumference) below 23.5 cm."""
    return lila_cm < thresholds.kek_lila_cm


def anaemia_severity(
    hb_g_dl: float,
    pregnant: bool,
    age_years: float | None = None,
    thresholds: MaternalThresholds = DEFAULT_THRESHOLDS,
) -> AnaemiaSeverity:
    """WHO 2011 anaemia severity: pregnant cut-offs when pregnant; otherwise the
    girls' cut-offs under 15 years (when the age is known) and the women's from 15."""
    if pregnant:
        cutoffs = thresholds.anaemia_pregnant
    elif age_years is not None and age_years < thresholds.adult_from_age_years:
        cutoffs = thresholds.anaemia_girls_12_14
    else:
        cutoffs = thresholds.anaemia_women
    return cutoffs.severity(hb_g_dl)


def bmi(weight_kg: float, height_cm: float) -> float:
    """Body-mass index, kg/m²."""
    metres = height_cm / 100.0
    return weight_kg / (metres * metres)


@dataclass(frozen=True, slots=True)
class MaternalScreening:
    """Screening result for one woman; None where the input was not recorded.

    `weight_kg`/`bmi` are pre-pregnancy (or first-trimester) values for a
    pregnant woman. `risk_markers` lists the names of the true markers among
    kek, anaemic, too_young, too_old, short_stature, low_bmi,
    short_birth_spacing.
    """

    kek: bool | None
    anaemia: AnaemiaSeverity | None
    anaemic: bool | None
    too_young: bool | None
    too_old: bool | None
    short_stature: bool | None
    bmi: float | None
    low_bmi: bool | None
    short_birth_spacing: bool | None
    risk_markers: tuple[str, ...]


_MARKERS = (
    "kek",
    "anaemic",
    "too_young",
    "too_old",
    "short_stature",
    "low_bmi",
    "short_birth_spacing",
)


def screen_woman(
    *,
    pregnant: bool,
    age_years: float | None = None,
    height_cm: float | None = None,
    weight_kg: float | None = None,
    lila_cm: float | None = None,
    hb_g_dl: float | None = None,
    birth_spacing_months: float | None = None,
    thresholds: MaternalThresholds = DEFAULT_THRESHOLDS,
) -> MaternalScreening:
    """KEK, anaemia and risk markers for a pregnant woman or a woman of
    reproductive age (remaja putri, calon pengantin). `birth_spacing_months`:
    time since the previous birth."""
    t = thresholds
    severity = None if hb_g_dl is None else anaemia_severity(hb_g_dl, pregnant, age_years, t)
    body_mass = None if weight_kg is None or not height_cm else bmi(weight_kg, height_cm)
    values = {
        "kek": None if lila_cm is None else is_kek(lila_cm, t),
        "anaemia": severity,
        "anaemic": None if severity is None else severity is not AnaemiaSeverity.NONE,
        "too_young": None if age_years is None else age_years < t.too_young_below_years,
        "too_old": None if age_years is None else age_years > t.too_old_above_years,
        "short_stature": None if height_cm is None else height_cm < t.short_stature_below_cm,
        "bmi": body_mass,
        "low_bmi": None if body_mass is None else body_mass < t.low_bmi_below,
        "short_birth_spacing": (
            None
            if birth_spacing_months is None
            else birth_spacing_months < t.short_birth_spacing_below_months
        ),
    }
    markers = tuple(name for name in _MARKERS if values[name])
    return MaternalScreening(**values, risk_markers=markers)
