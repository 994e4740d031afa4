"""The fleet against a fake OpenRosa server: set-up through the admin API, registrations
picked from the downloaded lists on later visits, every submission stored exactly once."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from clients.kobo_forms.build import FORM_IDS, build_xform
from simulator.admin import AdminApiError, AdminClient, set_up_phones
from simulator.fleet import fill_without_server
from simulator.population import CityShape
from simulator.rates import Rates
from simulator.run import SimulationConfig, build_plan, run_against_server
from tests.unit.simulator.fake_server import BASE, FakeServer, read_submission

CONFIG = SimulationConfig(
    seed=2, months=4, phones=4, shape=CityShape(scale=0.3),
    rates=Rates(offline_month=0.25, timeout_retry=0.2, edit_sent_form=0.1),
)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> tuple[FakeServer, dict, Path]:
    server = FakeServer()
    out = tmp_path_factory.mktemp("run")
    with server.client() as client:
        summary = run_against_server(CONFIG, out, client=client, admin_user="admin",
                                     admin_password="secret", concurrency=3)
    return server, summary, out


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_every_submission_is_stored_exactly_once_despite_retries_and_bursts(finished_run):
    server, summary, out = finished_run
    planned = read(out / "submissions.csv")
    assert set(server.stored) == {s["instance_id"] for s in planned}
    run = summary["run"]
    retries = sum(int(s["sent_times"]) - 1 for s in planned)
    assert retries > 0 and any(s["sent_in"] != s["month"] for s in planned)
    assert run["sent"] == len(planned) + retries
    assert (run["accepted"], run["duplicates"]) == (len(planned), retries)
    assert run["conflicts"] == run["rejected"] == run["server_errors"] == 0
    assert run["completed"] and not run["phone_errors"]


def test_the_server_is_set_up_with_one_kader_per_phone_scoped_to_its_posyandu(finished_run):
    server, _, _ = finished_run
    assert len(server.users) == CONFIG.phones
    ids = {p["id"] for p in server.posyandu}
    assert all(scopes[0].removeprefix("posyandu:") in {str(i) for i in ids}
               for scopes in server.users.values())


def test_a_rerun_reuses_posyandu_and_accounts(finished_run):
    server, _, _ = finished_run
    plan = build_plan(CONFIG)
    before = (len(server.posyandu), dict(server.users))
    with server.client() as client:
        accounts = set_up_phones(AdminClient(BASE, client, "admin", "secret"), plan.city,
                                 plan.phones)
    assert (len(server.posyandu), server.users) == before
    assert len({a.server_url for a in accounts}) == len(accounts)


def test_wrong_admin_credentials_are_reported():
    server = FakeServer()
    with server.client() as client, pytest.raises(AdminApiError, match="log in"):
        AdminClient(BASE, client, "admin", "wrong")


def test_later_visits_pick_the_child_this_phone_registered(finished_run):
    server, _, out = finished_run
    by_instance = {s["instance_id"]: s for s in read(out / "submissions.csv")}
    registry_of: dict[tuple[str, str], str] = {}  # (phone, true child) -> row id
    picked = 0
    for instance_id, answers in server.answers.items():
        truth = by_instance[instance_id]
        if truth["form_id"] != "anthropometry" or answers.get("deprecatedID"):
            continue
        key = (truth["phone"], truth["true_person_id"])
        if answers["is_new_child"] == "no":
            picked += 1
            assert answers["child_id"] == answers["child_pick"] != ""
            assert registry_of.setdefault(key, answers["child_id"]) == answers["child_id"]
        else:
            assert answers["child_id"] == "" and answers["child_name"]
    assert picked > 0
    rows = {r["name"]: r for r in server.lists["children.csv"]}
    persons = {p["true_person_id"]: p for p in read(out / "persons.csv")}
    for (_, child), row_id in registry_of.items():
        assert rows[row_id]["birth_date"] == persons[child]["birth_date"]


def test_the_run_records_what_the_server_answered(finished_run):
    _, _, out = finished_run
    records = read(out / "run.csv")
    assert {r["outcome"] for r in records} == {"stored"}
    retried = [r["statuses"].split(";") for r in records if ";" in r["statuses"]]
    assert retried and all(s[0] == "201" and set(s[1:]) == {"202"} for s in retried)
    assert any(r["new_registration"] == "0" and r["registry_id"] for r in records)


def test_edits_reach_the_server_after_the_form_they_replace(finished_run):
    server, _, out = finished_run
    edits = [s for s in read(out / "submissions.csv") if s["deprecated_id"]]
    assert edits
    order = list(server.stored)
    for edit in edits:
        answers = server.answers[edit["instance_id"]]
        assert answers["deprecatedID"] == edit["deprecated_id"]
        assert order.index(edit["deprecated_id"]) < order.index(edit["instance_id"])


def test_a_plan_can_be_filled_without_a_server_for_benchmarks():
    plan = build_plan(CONFIG)
    forms = {form_id: build_xform(form_id).xml for form_id in FORM_IDS}
    filled = list(fill_without_server(plan, forms))
    assert [s.instance_id for s, _ in filled] == [s.instance_id for s in plan.submissions]
    for s, xml in filled:
        form_id, answers = read_submission(xml)
        assert form_id == s.form_id and answers["instanceID"] == s.instance_id
        assert answers.get("deprecatedID", "") == (s.deprecated_id or "")
        if not s.is_edit and "posyandu_id" in answers:
            assert answers["posyandu_id"].isdigit()
