"""Everything the server stores on one child measurement, in one call.

`assess_child` = WHO z-scores (`indicators.anthro.child_zscores`) + Permenkes
2/2020 categories (`indicators.categories.nutrition_status`), flattened into one
record whose field names are the column names to store, so caseloads never
recompute them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from indicators.anthro import child_zscores, parse_oedema
from indicators.categories import AgeGroup, BbuCategory, GiziCategory, TbuCategory, nutrition_status


def _fields_of(record: object) -> dict[str, object]:
    """A dataclass instance as field name -> value (not recursive, unlike `asdict`)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


@dataclass(frozen=True, slots=True)
class ChildAssessment:
    """WHO z-scores and flags (WHO names, see `ZScores`), then the Permenkes
    categories and booleans (see `NutritionStatus`). None = unknown / NA.

    The fields are those of `ZScores` and `NutritionStatus`, spelled out for the
    type checker; `assess_child` fills them by name, so a field added to one of
    those records and not here fails on the first call."""

    age_days: int | None
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

    def as_dict(self) -> dict[str, object]:
        """Field name -> value (category enums are `str`), ready to store."""
        return _fields_of(self)


def assess_child(
    sex: int | str | None,
    age_days: int | None,
    weight_kg: float | None = None,
    lenhei_cm: float | None = None,
    measure: str | None = None,
    oedema: bool | str | None = False,
    muac_cm: float | None = None,
) -> ChildAssessment:
    """WHO z-scores and Indonesian categories for one measurement.

    Arguments as for `child_zscores` (use `indicators.anthro.age_in_days` to get
    `age_days` from the birth and measurement dates). Raises ValueError for
    inputs WHO anthro would reject.
    """
    if age_days is not None and math.isnan(age_days):
        age_days = None
    z = child_zscores(sex, age_days, weight_kg, lenhei_cm, measure, oedema, muac_cm)
    status = nutrition_status(z, parse_oedema(oedema), age_days)
    return ChildAssessment(age_days=age_days, **_fields_of(z), **_fields_of(status))
