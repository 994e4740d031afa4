"""Longitudinal plausibility of one child's series of measurements.

A child does not shrink, and does not gain kilograms in days. Each measurement
is compared with the previous one (in age order) that has the same quantity:

* length/height drop: the WHO-converted length/height (`clenhei`, so that the
  switch from lying to standing at 24 months is not a 0.7 cm drop) is more than
  `max_length_drop_cm` (default 1.0 cm) below the previous one;
* weight gain: more than `max_weight_gain_kg_per_30_days` (default 2.0 kg)
  per 30 days elapsed, plus `weight_tolerance_kg` (default 0.5 kg) for scale
  and clothing error;
* weight loss: more than `max_weight_loss_fraction` (default 15 %) of the
  previous weight, and more than `weight_tolerance_kg`.

Flags are data to store and show to the kader or supervisor; measurements are
never corrected or dropped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LENGTH_DROP = "length_drop"
WEIGHT_GAIN = "weight_gain"
WEIGHT_LOSS = "weight_loss"


@dataclass(frozen=True, slots=True)
class SeriesThresholds:
    """Configurable limits of the series checks."""

    max_length_drop_cm: float = 1.0
    max_weight_gain_kg_per_30_days: float = 2.0
    max_weight_loss_fraction: float = 0.15
    weight_tolerance_kg: float = 0.5


@dataclass(frozen=True, slots=True)
class GrowthPoint:
    """One measurement of the series. `age_days` orders the series (any
    consistent day count works, e.g. `date.toordinal()`); `clenhei_cm` is the
    length/height after WHO's 0.7 cm conversion."""

    age_days: int
    weight_kg: float | None = None
    clenhei_cm: float | None = None


@dataclass(frozen=True, slots=True)
class SeriesFlag:
    """`index` (position in the input) is flagged against `previous_index`;
    `change` is current minus previous (cm or kg), `limit` the allowed change
    that it went beyond."""

    index: int
    previous_index: int
    code: str
    change: float
    limit: float


def _length_flag(
    i: int, prev: int, points: Sequence[GrowthPoint], t: SeriesThresholds
) -> SeriesFlag | None:
    change = points[i].clenhei_cm - points[prev].clenhei_cm
    if -change > t.max_length_drop_cm:
        return SeriesFlag(i, prev, LENGTH_DROP, change, -t.max_length_drop_cm)
    return None


def _weight_flag(
    i: int, prev: int, points: Sequence[GrowthPoint], t: SeriesThresholds
) -> SeriesFlag | None:
    previous_weight = points[prev].weight_kg
    change = points[i].weight_kg - previous_weight
    elapsed_days = points[i].age_days - points[prev].age_days
    max_gain = t.weight_tolerance_kg + t.max_weight_gain_kg_per_30_days * elapsed_days / 30.0
    if change > max_gain:
        return SeriesFlag(i, prev, WEIGHT_GAIN, change, max_gain)
    max_loss = max(t.weight_tolerance_kg, t.max_weight_loss_fraction * previous_weight)
    if -change > max_loss:
        return SeriesFlag(i, prev, WEIGHT_LOSS, change, -max_loss)
    return None


def check_series(
    points: Sequence[GrowthPoint], thresholds: SeriesThresholds = SeriesThresholds()
) -> list[SeriesFlag]:
    """Flags for a child's measurements (any order; ties keep input order),
    sorted by the position of the flagged measurement in age order. To check a
    new submission, pass the history plus the new point and keep the flags
    whose `index` is the new point's."""
    order = sorted(range(len(points)), key=lambda i: points[i].age_days)
    flags: list[SeriesFlag] = []
    previous_length = previous_weight = None
    for i in order:
        point = points[i]
        if point.clenhei_cm is not None:
            if previous_length is not None:
                flags.append(_length_flag(i, previous_length, points, thresholds))
            previous_length = i
        if point.weight_kg is not None:
            if previous_weight is not None:
                flags.append(_weight_flag(i, previous_weight, points, thresholds))
            previous_weight = i
    return [flag for flag in flags if flag is not None]
