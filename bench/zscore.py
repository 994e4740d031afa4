"""Benchmark of the WHO z-score batch path.

1. The vectorised computation (`compute_zscores`, then the Permenkes
   categories) on 1,000,000 generated children, on one core: rows per second
   (target >= 1,000,000 rows/s for the z-scores).
2. `posyandu-sync zscore` end to end, as a subprocess, on a generated
   60,000-row CSV (target < 2 s); the start-up of the CLI alone (`--help`,
   which imports every subcommand module); and the same file through
   `indicators.batch` in process.

Run from the repository root:  .venv/bin/python bench/zscore.py
"""

from __future__ import annotations

import io
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from indicators.anthro import (
    MEASURE_HEIGHT,
    MEASURE_LENGTH,
    MEASURE_UNKNOWN,
    compute_zscores,
    growth_standards,
)
from indicators.batch import zscore_csv
from indicators.categories import nutrition_status_arrays


def _from_z(table, sex: np.ndarray, age: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The measurement at z-score `z` (LMS inverted: M(1+LSz)^(1/L))."""
    index = table.index(sex, np.minimum(age, 1826.0))
    l, m, s = table.l[index], table.m[index], table.s[index]
    return m * (1.0 + l * s * z) ** (1.0 / l)


def generate(n: int, seed: int = 2020) -> dict[str, np.ndarray]:
    """Survey-like children: z-scores of a stunting-prone population drawn around
    the WHO medians, lengths measured lying or standing as a kader would (a few
    wrongly, some unknown), a share of 2-decimal lengths, some missing values,
    ages past 60 months, oedema, and gross outliers."""
    rng = np.random.default_rng(seed)
    std = growth_standards()
    sex = rng.integers(1, 3, n)
    age = rng.integers(0, 1900, n).astype(float)
    zlen = rng.normal(-1.0, 1.2, n)
    zwei = 0.6 * zlen + rng.normal(-0.3, 0.9, n)
    length = _from_z(std.length_for_age, sex, age, zlen)
    weight = _from_z(std.weight_for_age, sex, age, zwei)
    muac = _from_z(
        std.arm_circumference_for_age, sex, np.maximum(age, 91.0), rng.normal(-0.3, 1.0, n)
    )
    lying = age < 731  # what the table gives at this age
    measure = np.where(lying, MEASURE_LENGTH, MEASURE_HEIGHT)
    swapped = rng.random(n) < 0.03
    measure[swapped] = MEASURE_LENGTH + MEASURE_HEIGHT - measure[swapped]
    length[swapped & lying] -= 0.7  # stood up: 0.7 cm shorter than lying
    length[swapped & ~lying] += 0.7
    measure[rng.random(n) < 0.1] = MEASURE_UNKNOWN
    two_decimals = rng.random(n) < 0.2
    length = np.where(two_decimals, np.round(length, 2), np.round(length, 1))
    outliers = rng.random(n) < 0.005
    weight[outliers] *= rng.choice([0.5, 2.0], outliers.sum())
    age[rng.random(n) < 0.03] = np.nan
    weight[rng.random(n) < 0.02] = np.nan
    muac[rng.random(n) < 0.3] = np.nan
    return {
        "sex": sex,
        "age_days": age,
        "weight_kg": np.round(weight, 2),
        "lenhei_cm": length,
        "measure": measure.astype(np.int8),
        "oedema": rng.random(n) < 0.01,
        "muac_cm": np.round(muac, 1),
    }


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def write_csv(children: dict[str, np.ndarray], path: Path) -> None:
    measure_names = {MEASURE_LENGTH: "L", MEASURE_HEIGHT: "H", MEASURE_UNKNOWN: ""}

    def number(v: float, spec: str) -> str:
        return "" if math.isnan(v) else format(v, spec)

    with path.open("w") as out:
        out.write("sex,age_days,weight_kg,lenhei_cm,measure,oedema,muac_cm\n")
        columns = zip(*(children[k].tolist() for k in children))
        for sex, age, weight, lenhei, measure, oedema, muac in columns:
            out.write(
                f"{sex},{number(age, '.0f')},{number(weight, '.2f')},{number(lenhei, 'g')},"
                f"{measure_names[measure]},{'y' if oedema else 'n'},{number(muac, '.1f')}\n"
            )


def main() -> None:
    growth_standards()  # load the tables once, outside the timings
    n = 1_000_000
    children = generate(n)
    seconds = best_of(3, lambda: compute_zscores(**children))
    print(f"compute_zscores        {n:>9,} rows  {seconds:6.3f} s  {n / seconds:>12,.0f} rows/s")
    z = compute_zscores(**children)
    seconds_cat = best_of(
        3, lambda: nutrition_status_arrays(z, children["oedema"], children["age_days"])
    )
    total = seconds + seconds_cat
    print(f"  + categories         {n:>9,} rows  {total:6.3f} s  {n / total:>12,.0f} rows/s")

    rows = 60_000
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "children.csv"
        write_csv(generate(rows, seed=60), source)
        env = dict(os.environ, PYTHONPATH=str(REPO))
        command = [
            sys.executable,
            "-m",
            "cli.main",
            "zscore",
            str(source),
            "-o",
            str(Path(tmp) / "out.csv"),
        ]
        seconds = best_of(3, lambda: subprocess.run(command, check=True, cwd=REPO, env=env))
        print(
            f"CLI end to end         {rows:>9,} rows  {seconds:6.3f} s  {rows / seconds:>12,.0f} rows/s"
        )
        help_command = [sys.executable, "-m", "cli.main", "--help"]
        startup = best_of(
            3,
            lambda: subprocess.run(
                help_command, check=True, cwd=REPO, env=env, stdout=subprocess.DEVNULL
            ),
        )
        print(f"  of which CLI start-up (posyandu-sync --help, all subcommands) {startup:6.3f} s")

        def in_process() -> None:
            with source.open(encoding="utf-8-sig", newline="") as f:  # as the CLI opens it
                zscore_csv(f, io.StringIO())

        seconds = best_of(3, in_process)
        print(
            f"  batch in process     {rows:>9,} rows  {seconds:6.3f} s  {rows / seconds:>12,.0f} rows/s"
        )


if __name__ == "__main__":
    main()
