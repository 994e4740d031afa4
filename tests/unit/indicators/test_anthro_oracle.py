"""Acceptance: our z-scores reproduce WHO anthro R on every row of the oracle.

Identical z-scores at 2 decimals, identical flags, identical clenhei (WHO
writes it with 15 significant digits), for both the array path and the scalar
path used per submission.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from indicators.anthro import child_zscores, compute_zscores, parse_measure, parse_oedema

ORACLE_OUTPUTS = ("zlen", "flen", "zwei", "fwei", "zwfl", "fwfl", "zbmi", "fbmi", "zac", "fac")


def _number(text: str) -> float:
    return float(text) if text else math.nan


def _same(got: float | None, expected: float) -> bool:
    if got is None or (isinstance(got, float) and math.isnan(got)):
        return math.isnan(expected)
    return got == expected


def _clenhei_text(value: float | str | None) -> str:
    """clenhei as WHO's CSV writes it: 15 significant digits."""
    if isinstance(value, str):
        value = _number(value)
    return "" if value is None or math.isnan(value) else format(value, ".15g")


def _mismatches(rows, outputs) -> list[str]:
    """Human-readable differences, at most 20 (all would drown the report)."""
    found = []
    for i, (row, got) in enumerate(zip(rows, outputs)):
        for column in ORACLE_OUTPUTS:
            if not _same(got[column], _number(row[column])):
                found.append(f"line {i + 2} {column}: got {got[column]}, WHO {row[column]} ({row})")
        if _clenhei_text(got["clenhei"]) != _clenhei_text(row["clenhei"]):
            found.append(f"line {i + 2} clenhei: got {got['clenhei']}, WHO {row['clenhei']}")
    return found[:20]


@pytest.fixture(scope="module")
def array_result(oracle_rows):
    rows = oracle_rows
    return compute_zscores(
        np.array([int(r["sex"]) for r in rows]),
        np.array([_number(r["age_days"]) for r in rows]),
        np.array([_number(r["weight_kg"]) for r in rows]),
        np.array([_number(r["lenhei_cm"]) for r in rows]),
        np.array([parse_measure(r["measure"]) for r in rows]),
        np.array([parse_oedema(r["oedema"]) for r in rows]),
        np.array([_number(r["muac_cm"]) for r in rows]),
    )


def test_array_path_reproduces_every_oracle_row(oracle_rows, array_result):
    columns = {name: getattr(array_result, name).tolist() for name in (*ORACLE_OUTPUTS, "clenhei")}
    outputs = [dict(zip(columns, values)) for values in zip(*columns.values())]
    assert _mismatches(oracle_rows, outputs) == []


def test_scalar_path_reproduces_every_oracle_row(oracle_rows):
    outputs = []
    for r in oracle_rows:
        z = child_zscores(
            sex=int(r["sex"]),
            age_days=int(r["age_days"]) if r["age_days"] else None,
            weight_kg=float(r["weight_kg"]) if r["weight_kg"] else None,
            lenhei_cm=float(r["lenhei_cm"]) if r["lenhei_cm"] else None,
            measure=r["measure"] or None,
            oedema=r["oedema"],
            muac_cm=float(r["muac_cm"]) if r["muac_cm"] else None,
        )
        outputs.append({name: getattr(z, name) for name in (*ORACLE_OUTPUTS, "clenhei")})
    assert _mismatches(oracle_rows, outputs) == []


def test_oracle_covers_the_cases_that_break_other_ports(oracle_rows):
    """The acceptance test is only as good as its rows: they must include the
    WHO rules that published ports get wrong."""
    two_decimal_lengths = [r for r in oracle_rows if len(r["lenhei_cm"].partition(".")[2]) == 2]
    oedema = [r for r in oracle_rows if r["oedema"] == "y"]
    unknown_measure = [r for r in oracle_rows if not r["measure"]]
    around_switch = [r for r in oracle_rows if r["age_days"] in ("730", "731")]
    beyond_3sd = [r for r in oracle_rows if r["zwfl"] and abs(float(r["zwfl"])) > 3]
    assert len(two_decimal_lengths) > 1000
    assert len(oedema) > 100
    assert len(unknown_measure) > 1000
    assert around_switch
    assert len(beyond_3sd) > 100
