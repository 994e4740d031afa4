"""Fixtures of the indicators tests: the WHO anthro oracle (DOMAIN.md §3).

`tests/data/who-anthro-oracle-dev.csv` holds 10,000 children computed by WHO's
anthro R package 1.1.0.9000 (`anthro_zscores`): inputs sex, age_days,
weight_kg, lenhei_cm, measure, oedema, muac_cm; outputs clenhei, zlen/flen,
zwei/fwei, zwfl/fwfl, zbmi/fbmi, zac/fac (empty = NA).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

ORACLE_PATH = Path(__file__).resolve().parents[2] / "data" / "who-anthro-oracle-dev.csv"


@pytest.fixture(scope="session")
def oracle_path() -> Path:
    return ORACLE_PATH


@pytest.fixture(scope="session")
def oracle_rows() -> list[dict[str, str]]:
    with ORACLE_PATH.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 10_000
    return rows
