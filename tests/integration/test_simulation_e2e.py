"""A small simulated city synced to the real app (SQLite and PostgreSQL), and what the
server stored compared with the simulator's ground truth."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from simulator.admin import AdminClient
from simulator.population import CityShape
from simulator.rates import Rates
from simulator.run import SimulationConfig, run_against_server
from simulator.server_report import collect
from sync.forms import publish_builtin_forms
from tests.support import ADMIN_PASSWORD

pytestmark = pytest.mark.slow

CONFIG = SimulationConfig(
    seed=5, months=3, phones=5, shape=CityShape(scale=0.3),
    rates=Rates(offline_month=0.3, timeout_retry=0.15, edit_sent_form=0.08),
)
Z_COLUMNS = ("zlen", "flen", "zwei", "fwei", "zwfl", "fwfl", "zbmi", "fbmi", "zac", "fac")


def read(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    key = next(iter(rows[0]))
    return {row[key]: row for row in rows}


@pytest.fixture
def simulated(db, client, admin_user, tmp_path):
    with Session(db) as session:
        publish_builtin_forms(session)
        session.commit()
    summary = run_against_server(CONFIG, tmp_path, client=client, admin_user="admin",
                                 admin_password=ADMIN_PASSWORD, concurrency=3)
    with db.connect() as conn:
        stored = conn.execute(text(
            "SELECT s.instance_id, s.form_id, s.status, s.error, m.* FROM submission s "
            "LEFT JOIN measurement m ON m.submission_id = s.id")).mappings().all()
        counts = {table: dict(conn.execute(text(
            f"SELECT count(*), sum(CASE WHEN {flag} THEN 1 ELSE 0 END) FROM {table} "
            "WHERE is_current")).one()._mapping)
            for table, flag in (("measurement", "stunted"), ("pregnancy_screening", "kek"),
                                ("sanitation_check", "jamban_sehat"))}
    report = collect(AdminClient(str(client.base_url), client, "admin", ADMIN_PASSWORD))
    return summary, tmp_path, [dict(r) for r in stored], (report, counts)


def test_a_simulated_city_is_stored_as_its_ground_truth_says(simulated, db):
    """One simulation per database backend, checked six ways (it is the slow part)."""
    summary, out, stored, demo_report = simulated
    every_submission_is_stored_exactly_once(summary, out, stored)
    every_measurement_has_the_sent_values_and_who_z_scores(out, stored)
    each_registry_child_is_one_true_child(out, stored)
    phones_find_the_children_they_registered(out)
    the_demo_report_counts_what_is_stored(stored, *demo_report)
    caseloads_equal_the_truth_for_children_without_errors(out, stored, db)


def every_submission_is_stored_exactly_once(summary, out, stored) -> None:
    """Despite lost responses (the same bytes sent again) and offline bursts, every
    planned submission (household visits by posyandu kader included) is stored once."""
    planned = read(out / "submissions.csv")
    expected = set(planned)
    assert {p["form_id"] for p in planned.values()} == {
        "anthropometry", "pregnancy_screening", "sanitation_check"}
    retries = sum(int(planned[i]["sent_times"]) - 1 for i in expected)
    assert retries > 0
    assert sorted(r["instance_id"] for r in stored) == sorted(expected)
    run = summary["run"]
    assert (run["accepted"], run["duplicates"]) == (len(expected), retries)
    assert run["conflicts"] == run["server_errors"] == run["network_errors"] == 0
    assert run["rejected"] == 0
    assert {r["status"] for r in stored} <= {"processed", "superseded"}, \
        {r["error"] for r in stored if r["error"]}


def every_measurement_has_the_sent_values_and_who_z_scores(out, stored):
    """Values as sent; z-scores exactly as WHO's for children typed in without errors."""
    truth = read(out / "measurements.csv")
    persons = read(out / "persons.csv")
    measured = [r for r in stored if r["form_id"] == "anthropometry"]
    assert len(measured) == len(truth)
    exact = 0
    for row in measured:
        t = truth[row["instance_id"]]
        assert row["person_id"], row
        assert str(row["measured_on"]) == t["measured_on"]
        assert row["weight_kg"] == float(t["weight_kg"])
        assert row["length_height_cm"] == float(t["length_height_cm"])
        assert row["measure_method"] == t["measure_method"]
        assert bool(row["is_current"]) == (t["current"] == "1")
        if persons[t["true_person_id"]]["identity_errors"]:
            continue
        exact += 1
        for column in Z_COLUMNS:
            expected = float(t[column]) if t[column] else None
            assert row[column] == expected, (column, row, t)
        assert bool(row["stunted"]) == (t["stunted"] == "1")
    assert exact > len(measured) / 2


def each_registry_child_is_one_true_child(out, stored):
    """No child split over two registry persons, none merged with another child."""
    truth = read(out / "measurements.csv")
    persons = read(out / "persons.csv")
    true_children_of: dict[str, set[str]] = defaultdict(set)
    server_ids_of: dict[str, set[str]] = defaultdict(set)
    for row in stored:
        if row["form_id"] == "anthropometry":
            child = truth[row["instance_id"]]["true_person_id"]
            true_children_of[row["person_id"]].add(child)
            server_ids_of[child].add(row["person_id"])
    clean = {c for c in server_ids_of
             if not persons[c]["identity_errors"] and not persons[c]["moved_to_kelurahan"]}
    assert clean
    for child in clean:
        (server_id,) = server_ids_of[child]
        assert true_children_of[server_id] == {child}


def phones_find_the_children_they_registered(out):
    """Once a phone has sent a registration and refreshed its lists, it picks the child
    from children.csv (child_id set) instead of typing the child in again."""
    planned = read(out / "submissions.csv")
    for record in read(out / "run.csv").values():
        s = planned[record["instance_id"]]
        if s["form_id"] == "anthropometry" and not s["deprecated_id"]:
            assert record["new_registration"] == s["expect_new_registration"], (record, s)


def the_demo_report_counts_what_is_stored(stored, report, counts):
    """The end of `make demo` (simulator/server_report.py) reads the same numbers from the
    API as the tables hold."""
    assert report.submissions.total == len(stored)
    by_status = {c.label: c.total for c in report.by_status}
    assert by_status == {s: sum(r["status"] == s for r in stored) for s in by_status}
    for whole, first, table in ((report.measurements, report.children[0], "measurement"),
                                (report.screenings, report.women[0], "pregnancy_screening"),
                                (report.checks, report.households[0], "sanitation_check")):
        values = list(counts[table].values())
        assert (whole.total, first.total) == (values[0], values[1] or 0), table
        assert whole.total > 0, table
    assert report.examples and all(m["child_name"] for m in report.examples)


def caseloads_equal_the_truth_for_children_without_errors(out, stored, db):
    """The whole chain: for the children typed in without identity or measurement errors
    (and who did not move), the caseload contributions the server keeps, summed per
    kelurahan and month, equal the simulator's caseload for those children; and every
    aggregate equals a full recompute from the raw records (caseloads verify)."""
    from simulator.truth import caseload_rows
    from sync import caseloads

    truth = read(out / "measurements.csv")
    persons = read(out / "persons.csv")
    spoiled = {t["true_person_id"] for t in truth.values() if t["injected_errors"]}
    server_of = {r["instance_id"]: r["person_id"] for r in stored if r["form_id"] == "anthropometry"}
    true_of: dict[str, set[str]] = defaultdict(set)
    for instance_id, server_id in server_of.items():
        true_of[server_id].add(truth[instance_id]["true_person_id"])
    clean = {child for child, p in persons.items() if p["role"] == "child"
             and not p["identity_errors"] and not p["moved_to_kelurahan"] and child not in spoiled}
    clean_server = {sid for sid, children in true_of.items() if children <= clean}
    rows = [{**t, "current": t["current"] == "1", "order": int(t["order"]),
             "age_days": int(t["age_days"]), **{k: int(t[k]) for k in (
                 "stunted", "wasted", "underweight", "true_stunted", "true_wasted",
                 "true_underweight")}}
            for t in truth.values() if t["true_person_id"] in clean
            and int(t["age_days"]) / 30.4375 < 60]
    expected = {(r["kelurahan_code"], r["month"]): {
        "c59_measured": r["children_measured"], "c59_stunted": r["stunted"],
        "c59_wasted": r["wasted"], "c59_underweight": r["underweight"],
        "c23_measured": r["baduta_measured"], "c23_stunted": r["baduta_stunted"]}
        for r in caseload_rows(rows)}
    got: dict = defaultdict(lambda: dict.fromkeys(next(iter(expected.values())), 0))
    with db.connect() as conn:
        for subject, period, code, counts in conn.execute(text(
                "SELECT subject_id, period, kelurahan_code, counts FROM caseload_contribution "
                "WHERE subject_kind = 'person'")):
            if subject in clean_server:
                counts = counts if isinstance(counts, dict) else __import__("json").loads(counts)
                for key in got[(code, period)]:
                    got[(code, period)][key] += counts.get(key, 0)
    got = {k: v for k, v in got.items() if v["c59_measured"]}
    assert len(expected) > 3 and sum(e["c59_stunted"] for e in expected.values()) > 0
    assert got == expected
    with Session(db) as session:
        report = caseloads.verify(session)
    assert report.ok, report.differences
