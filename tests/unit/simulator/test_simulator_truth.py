"""`simulate --truth-only`: the ground-truth files, their consistency, reproducibility."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest

from cli.main import main
from simulator.truth import TRUTH_FILES


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def truth(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("truth")
    code = main(["simulate", "--truth-only", "--months", "3", "--seed", "9", "--scale", "0.5",
                 "--out", str(out)])
    assert code == 0
    return out


def test_truth_only_writes_every_file_with_a_header(truth):
    for name in TRUTH_FILES:
        assert (truth / name).is_file(), name
    summary = json.loads((truth / "summary.json").read_text())
    assert summary["months"] == 3 and summary["seed"] == 9 and summary["kelurahan"] == 27
    assert len(read(truth / "submissions.csv")) == summary["submissions"]
    assert {"true_person_id", "registered_names", "nik", "twin_of", "mother_true_id",
            "identity_errors"} <= set(read(truth / "persons.csv")[0])


def test_every_submission_names_its_true_person_or_household(truth):
    persons = {p["true_person_id"]: p for p in read(truth / "persons.csv")}
    households = {h["true_household_id"] for h in read(truth / "households.csv")}
    for s in read(truth / "submissions.csv"):
        if s["form_id"] == "sanitation_check":
            assert s["true_household_id"] in households and not s["true_person_id"]
        else:
            assert persons[s["true_person_id"]]["household"] == s["true_household_id"]
        assert int(s["sent_times"]) >= 1


def test_measurements_carry_sent_and_true_values_with_who_z_scores(truth):
    rows = read(truth / "measurements.csv")
    submissions = {s["instance_id"] for s in read(truth / "submissions.csv")
                   if s["form_id"] == "anthropometry"}
    assert {r["instance_id"] for r in rows} == submissions
    clean = [r for r in rows if not r["injected_errors"] and r["zlen"]]
    assert len(clean) > 100
    for r in clean:
        # Measurement noise of a posyandu: a few tenths of a z-score at most.
        assert abs(float(r["zlen"]) - float(r["true_zlen"])) < 0.6
        assert float(r["true_zlen"]) == pytest.approx(float(r["haz_track"]), abs=0.01)
        assert r["stunted"] == str(int(float(r["zlen"]) < -2 and r["flen"] == "0"))


def test_true_stunting_among_measured_children_is_near_the_configured_rate(truth):
    rows = [r for r in read(truth / "measurements.csv") if r["current"] == "1"]
    share = sum(int(r["true_stunted"]) for r in rows) / len(rows)
    assert share == pytest.approx(0.15, abs=0.03)


def test_caseload_counts_distinct_true_children_by_their_latest_measurement(truth):
    latest: dict[tuple[str, str], dict] = {}
    for r in read(truth / "measurements.csv"):
        if r["current"] != "1":
            continue
        key = (r["true_person_id"], r["month"])
        if key not in latest or (r["measured_on"], int(r["order"])) > (
                latest[key]["measured_on"], int(latest[key]["order"])):
            latest[key] = r
    expected: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in latest.values():
        cell = expected[(r["kelurahan_code"], r["month"])]
        cell["children_measured"] += 1
        cell["stunted"] += int(r["stunted"])
        cell["wasted"] += int(r["wasted"])
        cell["underweight"] += int(r["underweight"])
        cell["baduta_stunted"] += int(r["stunted"]) and int(r["age_days"]) < 731
    caseload = read(truth / "caseload.csv")
    assert len(caseload) == len(expected) == 27 * 3
    for row in caseload:
        cell = expected[(row["kelurahan_code"], row["month"])]
        for key in ("children_measured", "stunted", "wasted", "underweight", "baduta_stunted"):
            assert int(row[key]) == cell[key], (row, key)
        assert row["balita_stunted"] == row["stunted"]


def test_the_same_seed_writes_byte_identical_truth(tmp_path):
    args = ["simulate", "--truth-only", "--months", "2", "--seed", "4", "--scale", "0.2"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    assert main([*args[:-3], "5", "--scale", "0.2", "--out", str(tmp_path / "c")]) == 0
    for name in TRUTH_FILES:
        if name == "summary.json":
            continue
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / "persons.csv").read_bytes() != \
        (tmp_path / "c" / "persons.csv").read_bytes()


def test_rates_come_from_a_toml_or_json_file_and_bad_ones_are_refused(tmp_path, capsys):
    toml = tmp_path / "rates.toml"
    toml.write_text('offline_month = 0.0\ntimeout_retry = 0.0\n[stunting_by_kelurahan]\n'
                    '"33.75.01.1002" = 0.3\n')
    out = tmp_path / "out"
    assert main(["simulate", "--truth-only", "--months", "1", "--scale", "0.2",
                 "--rates", str(toml), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rates"]["stunting_by_kelurahan"] == {"33.75.01.1002": 0.3}
    assert all(s["sent_times"] == "1" for s in read(out / "submissions.csv"))
    bad = tmp_path / "bad.json"
    bad.write_text('{"ofline_month": 0.2}')
    assert main(["simulate", "--truth-only", "--rates", str(bad), "--out", str(out)]) == 2
    assert "unknown rate" in capsys.readouterr().err
    bad.write_text('{"offline_month": 1.5}')
    assert main(["simulate", "--truth-only", "--rates", str(bad), "--out", str(out)]) == 2


def test_a_period_reaching_into_the_future_is_refused(tmp_path, capsys):
    assert main(["simulate", "--truth-only", "--start", "2099-01", "--out", str(tmp_path)]) == 2
    assert "future" in capsys.readouterr().err
