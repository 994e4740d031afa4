"""The WHO Child Growth Standards' SD curves, from the same LMS tables the z-scores use
(indicators.anthro.growth_standards). Pure: numbers in, numbers out.

The value at z SD of a table cell is M(1 + L·S·z)^(1/L) (Cole's LMS method, WHO 2006,
and anthro's SD3/SD2 in `compute_zscore_adjusted`); with L = 1 that is M(1 + S·z).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from indicators.anthro import (
    DAYS_PER_MONTH,
    SEX_FEMALE,
    SEX_MALE,
    LmsTable,
    growth_standards,
)

SD_LINES = (-3, -2, 0, 2, 3)
CHARTS = ("length_height_for_age", "weight_for_age", "weight_for_length", "weight_for_height")


def value_at(l: float, m: float, s: float, z: float) -> float:
    """The measurement that lies at `z` SD for the cell (l, m, s)."""
    if l == 0:
        return m * math.exp(s * z)
    return m * (1.0 + l * s * z) ** (1.0 / l)


@dataclass(frozen=True)
class Curves:
    """x values (age in months, or length/height in cm) and, per SD line, the y values."""

    chart: str
    sex: int
    x: list[float]
    lines: dict[int, list[float]]


def _table(chart: str) -> tuple[LmsTable, float]:
    """The table and the scale of its keys (days: 1; tenths of a cm: 10)."""
    standards = growth_standards()
    return {"length_height_for_age": (standards.length_for_age, 1),
            "weight_for_age": (standards.weight_for_age, 1),
            "weight_for_length": (standards.weight_for_length, 10),
            "weight_for_height": (standards.weight_for_height, 10)}[chart]


def key_range(chart: str) -> tuple[float, float]:
    """The x range the table covers (months for age charts, cm otherwise)."""
    table, scale = _table(chart)
    first, last = table.first_key, table.first_key + table.width - 1
    if scale == 1:
        return first / DAYS_PER_MONTH, last / DAYS_PER_MONTH
    return first / scale, last / scale


def curves(chart: str, sex: int, *, x_from: float, x_to: float, points: int = 61,
           sd_lines: Iterable[int] = SD_LINES) -> Curves:
    """The SD curves of `chart` for `sex` (anthro's 1 male, 2 female) from `x_from` to
    `x_to` (months for the age charts, cm for weight-for-length/height), at `points`
    evenly spaced table keys (each rounded to the table's nearest key)."""
    if sex not in (SEX_MALE, SEX_FEMALE):
        raise ValueError("sex must be 1 (male) or 2 (female)")
    table, scale = _table(chart)
    low, high = key_range(chart)
    x_from, x_to = max(x_from, low), min(x_to, high)
    xs: list[float] = []
    lines: dict[int, list[float]] = {z: [] for z in sd_lines}
    for i in range(points):
        x = x_from + (x_to - x_from) * i / max(points - 1, 1)
        key = round(x * DAYS_PER_MONTH) if scale == 1 else round(x * scale)
        cell = table.scalar_index(sex, key)
        if cell is None or math.isnan(table.m_list[cell]):
            continue
        xs.append(key / DAYS_PER_MONTH if scale == 1 else key / scale)
        for z in lines:
            lines[z].append(value_at(table.l_list[cell], table.m_list[cell], table.s_list[cell], z))
    return Curves(chart, sex, xs, lines)
