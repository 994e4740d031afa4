"""The caseload API as agencies use it: region figures and rollups, series, targets,
scopes, programme grants, case lists (JSON pages, CSV, XLSX) and interventions with
the coverage they make."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from models import AuditLog
from sync import caseloads
from tests.integration.caseloads.intake import make_field
from tests.support import ADMIN_PASSWORD, KELURAHAN, OTHER_KELURAHAN, bearer

KECAMATAN, KOTA = KELURAHAN[:8], "33.75"


@pytest.fixture
def field(db):
    with Session(db) as s:
        caseloads.seed_targets(s)
        s.commit()
    f = make_field(db)
    f.child(0, "2026-11-03", weight=8.0, height=70.0)  # stunted (and underweight)
    f.child(1, "2026-11-05", weight=11.5, height=86.0)  # well
    f.household(0, "2026-11-06", good=False)
    f.woman(0, "2026-11-07", pregnant=True, muac=22.0, hb=10.0)  # KEK, anaemic
    f.woman(1, "2026-11-08", pregnant=False, muac=25.0, hb=11.0, catin=True)  # remaja + catin, anaemic
    return f


@pytest.fixture
def agency(client, make_user, admin_headers):
    make_user("dinkes", "agency", scopes=[KOTA], agency="Dinas Kesehatan")
    make_user("dpupr-selatan", "agency", scopes=[OTHER_KELURAHAN[:8]], agency="DPUPR")
    return bearer(client, "dinkes", "password-123")


def test_a_kelurahan_entry_has_every_figure_the_issue_lists(client, field, admin_headers):
    r = client.get(f"/api/v1/caseloads/{KELURAHAN}?period=2026-11", headers=admin_headers)
    assert r.status_code == 200, r.text
    e = r.json()
    assert e["wilayah"] == {"code": KELURAHAN, "name": "Medono", "level": "kelurahan"}
    assert e["period"] == "2026-11" and e["children_regions"] == []
    baduta, balita = e["children"]["0_23m"], e["children"]["0_59m"]
    assert (baduta["registered"], baduta["measured"], baduta["stunted"]) == (1, 1, 1)
    assert (balita["registered"], balita["measured"], balita["stunted"]) == (2, 2, 1)
    assert balita["stunted_prevalence"] == 0.5 and balita["S"] == 2 and balita["D"] == 2
    assert balita["D_over_S"] == 1.0 and balita["N_over_D"] == 0.0
    for key in ("severely_stunted", "wasted", "severely_wasted", "underweight", "overweight",
                "wasted_prevalence", "underweight_prevalence", "overweight_prevalence", "N",
                "not_gained_twice"):
        assert key in balita
    assert e["pregnancies"]["active"] == 1 and e["pregnancies"]["kek"] == 1
    assert e["pregnancies"]["anaemia"] == 1 and e["pregnancies"]["kek_prevalence"] == 1.0
    assert e["women"]["remaja"]["screened"] == 1 and e["women"]["catin"]["anaemia"] == 1
    h = e["households"]
    assert (h["checked"], h["no_healthy_latrine"], h["no_handwashing_soap"]) == (1, 1, 1)
    assert h["unimproved_water"] == 1 and "open_defecation" in h and "at_risk_families" in h
    assert e["coverage"]["nutrition"] == {"cases": 1, "covered": 0, "share": 0.0}
    assert e["targets"]["national_target"] == 0.14  # 2024's, the latest up to 2026
    assert e["targets"]["target_year"] == 2024 and e["targets"]["target_set_for"] == KOTA


def test_rollups_add_up_and_the_list_pages_regions(client, field, admin_headers):
    kec = client.get(f"/api/v1/caseloads/{KECAMATAN}?period=2026-11", headers=admin_headers).json()
    assert kec["wilayah"]["level"] == "kecamatan"
    below = kec["children_regions"]
    assert {b["wilayah"]["level"] for b in below} == {"kelurahan"} and len(below) > 1
    def get(e, path):
        for k in path:
            e = e[k]
        return e

    for path in (("children", "0_59m", "measured"), ("children", "0_23m", "registered"),
                 ("pregnancies", "active"), ("households", "checked")):
        assert get(kec, path) == sum(get(b, path) for b in below) > 0
    kota = client.get(f"/api/v1/caseloads/{KOTA}?period=2026-11", headers=admin_headers).json()
    assert kota["children"]["0_59m"]["stunted"] == 1 and len(kota["children_regions"]) == 4
    page = client.get(f"/api/v1/caseloads?period=2026-11&level=kelurahan&parent={KECAMATAN}"
                      "&limit=2&offset=0", headers=admin_headers).json()
    assert page["total"] == len(below) and len(page["items"]) == 2
    kecs = client.get("/api/v1/caseloads?period=2026-11&level=kecamatan&parent=33.75",
                      headers=admin_headers).json()
    assert kecs["total"] == 4
    assert sum(i["children"]["0_59m"]["measured"] for i in kecs["items"]) == 2


def test_series_gives_every_month(client, field, admin_headers):
    r = client.get(f"/api/v1/caseloads/{KELURAHAN}/series?from=2026-09&to=2026-12",
                   headers=admin_headers)
    assert r.status_code == 200, r.text
    months = r.json()
    assert [m["period"] for m in months] == ["2026-09", "2026-10", "2026-11", "2026-12"]
    assert [m["children"]["0_59m"]["measured"] for m in months] == [0, 0, 2, 0]
    bad = client.get(f"/api/v1/caseloads/{KELURAHAN}/series?from=2026-12&to=2026-01",
                     headers=admin_headers)
    assert bad.status_code == 400 and bad.json()["error"] == "caseload.bad_period"


def test_targets_are_seeded_set_by_admins_and_give_the_gap(client, field, admin_headers, agency):
    e = client.get(f"/api/v1/caseloads/{KOTA}?period=2024-06", headers=admin_headers).json()
    assert e["targets"]["stunting_prevalence_target"] == 0.1224
    assert e["targets"]["target_set_for"] == KOTA and e["targets"]["national_target"] == 0.14
    assert client.put("/api/v1/targets/33.75/2026", json={"stunting_prevalence": 0.10},
                      headers=agency).status_code == 403
    r = client.put("/api/v1/targets/33.75/2026", json={"stunting_prevalence": 0.10},
                   headers=admin_headers)
    assert r.status_code == 200, r.text
    t = client.get(f"/api/v1/caseloads/{KELURAHAN}?period=2026-11",
                   headers=admin_headers).json()["targets"]
    assert t["stunting_prevalence_target"] == 0.10 and t["target_set_for"] == KOTA
    assert t["current_stunting_prevalence"] == 0.5 and t["gap_percentage_points"] == 40.0
    assert client.put("/api/v1/targets/99.99/2026", json={"stunting_prevalence": 0.1},
                      headers=admin_headers).json()["error"] == "target.bad_value"


def test_an_agency_sees_only_its_regions(client, field, agency):
    selatan = bearer(client, "dpupr-selatan", "password-123")
    r = client.get(f"/api/v1/caseloads/{KELURAHAN}?period=2026-11", headers=selatan)
    assert r.status_code == 404 and r.json()["error"] == "caseload.region_not_found"
    assert client.get("/api/v1/caseloads/33.75?period=2026-11", headers=selatan).status_code == 404
    page = client.get("/api/v1/caseloads?period=2026-11&level=kelurahan", headers=selatan).json()
    assert page["total"] > 0 and all(i["wilayah"]["code"].startswith(OTHER_KELURAHAN[:8])
                                     for i in page["items"])
    assert client.get(f"/api/v1/caseloads/{KELURAHAN}?period=2026-11", headers=agency).status_code == 200


def test_case_lists_need_a_granted_programme_and_come_as_json_csv_and_xlsx(
        client, field, agency, admin_headers):
    url = f"/api/v1/caseloads/{KELURAHAN}/cases?program=nutrition&period=2026-11"
    denied = client.get(url, headers=agency)
    assert denied.status_code == 403 and denied.json()["error"] == "caseload.program_not_granted"
    r = client.put("/api/v1/users/dinkes/programs", json={"programs": ["nutrition", "antenatal"]},
                   headers=admin_headers)
    assert r.status_code == 200 and r.json()["programs"] == ["antenatal", "nutrition"]
    page = client.get(url, headers=agency).json()
    [case] = page["items"]
    assert case["subject"] == "person" and case["name"] == "Ahmad Fauzi"
    assert "stunted" in case["reasons"] and case["values"]["measured_on"] == "2026-11-03"
    assert case["posyandu"]["id"] == field.posyandu_id and case["interventions"] == []
    assert page["next_cursor"] is None
    antenatal = client.get(url.replace("nutrition", "antenatal"), headers=agency).json()["items"]
    assert antenatal[0]["name"] == "Rina Wati" and {"kek", "anaemia"} <= set(antenatal[0]["reasons"])
    assert client.get(url.replace("nutrition", "sanitation"), headers=agency).status_code == 403
    sanitation = client.get(url.replace("nutrition", "sanitation"), headers=admin_headers).json()
    assert sanitation["items"][0]["head_name"] == "Slamet"
    assert sanitation["items"][0]["rt"] == "001" and sanitation["items"][0]["address"]
    text = client.get(url + "&format=csv", headers=agency)
    assert text.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(text.content.decode("utf-8-sig"))))
    assert rows[0]["name"] == "Ahmad Fauzi" and "stunted" in rows[0]["reasons"]
    book = client.get(url + "&format=xlsx", headers=agency)
    sheet = load_workbook(io.BytesIO(book.content)).active
    header, first = [c.value for c in sheet[1]], [c.value for c in sheet[2]]
    assert first[header.index("name")] == "Ahmad Fauzi"


def test_case_list_pages_follow_the_cursor(client, db, admin_headers):
    f = make_field(db)
    for i, weight, height in ((0, 7.0, 68.0), (1, 8.0, 74.0), (3, 6.0, 60.0)):
        f.child(i, "2026-11-03", weight=weight, height=height)
    url = f"/api/v1/caseloads/{KELURAHAN}/cases?program=nutrition&period=2026-11&limit=2"
    first = client.get(url, headers=admin_headers).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = client.get(url + f"&cursor={first['next_cursor']}", headers=admin_headers).json()
    ids = [c["person_id"] for c in first["items"] + second["items"]]
    assert len(ids) == len(set(ids)) == 3 and second["next_cursor"] is None
    bad = client.get(url + "&cursor=bm9wZQ", headers=admin_headers)
    assert bad.status_code == 400 and bad.json()["error"] == "caseload.bad_cursor"


def test_interventions_make_coverage_and_are_corrected_withdrawn_and_audited(
        client, db, field, agency, admin_headers):
    client.put("/api/v1/users/dinkes/programs", json={"programs": ["nutrition"]},
               headers=admin_headers)
    cases_url = f"/api/v1/caseloads/{KELURAHAN}/cases?program=nutrition&period=2026-11"
    child = client.get(cases_url, headers=agency).json()["items"][0]["person_id"]
    body = {"program": "nutrition", "type": "pmt", "delivered_on": "2026-11-20",
            "person_id": child, "quantity": 30, "unit": "sachet", "notes": "PMT lokal"}
    assert client.post("/api/v1/interventions", json={**body, "program": "sanitation"},
                       headers=agency).status_code == 403
    r = client.post("/api/v1/interventions", json=body, headers=agency)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["agency"] == "Dinas Kesehatan" and made["kelurahan_code"] == KELURAHAN

    def coverage():
        return client.get(f"/api/v1/caseloads/{KELURAHAN}?period=2026-11",
                          headers=agency).json()["coverage"]["nutrition"]

    assert coverage() == {"cases": 1, "covered": 1, "share": 1.0}
    case = client.get(cases_url, headers=agency).json()["items"][0]
    assert case["covered"] and case["interventions"][0]["type"] == "pmt"
    r = client.patch(f"/api/v1/interventions/{made['id']}", json={"delivered_on": "2026-10-30"},
                     headers=agency)
    assert r.status_code == 200 and r.json()["version"] == 2
    assert coverage()["covered"] == 0
    r = client.delete(f"/api/v1/interventions/{made['id']}", headers=agency)
    assert r.status_code == 200 and r.json()["withdrawn"]
    assert client.get("/api/v1/interventions", headers=agency).json()["total"] == 0
    kept = client.get("/api/v1/interventions?include_withdrawn=true", headers=agency).json()
    assert kept["items"][0]["id"] == made["id"] and kept["items"][0]["withdrawn"]
    assert client.patch(f"/api/v1/interventions/{made['id']}", json={"quantity": 1},
                        headers=agency).json()["error"] == "intervention.withdrawn"
    with Session(db) as s:
        actions = s.exec(select(AuditLog.action).where(AuditLog.entity_type == "intervention")
                         .order_by(AuditLog.id)).all()
    assert actions == ["intervention.create", "intervention.update", "intervention.withdraw"]
    with Session(db) as s:
        assert caseloads.verify(s).ok


def test_an_agency_cannot_record_outside_its_scope(client, field, make_user, admin_headers):
    make_user("dkp-selatan", "agency", scopes=[OTHER_KELURAHAN[:8]], agency="DKP")
    client.put("/api/v1/users/dkp-selatan/programs", json={"programs": ["fish_aid"]},
               headers=admin_headers)
    other = bearer(client, "dkp-selatan", "password-123")
    household = client.get(f"/api/v1/caseloads/{KELURAHAN}/cases?program=fish_aid&period=2026-11",
                           headers=admin_headers).json()["items"][0]["household_id"]
    r = client.post("/api/v1/interventions", json={
        "program": "fish_aid", "type": "fish_aid", "delivered_on": "2026-11-20",
        "household_id": household}, headers=other)
    assert r.status_code == 404 and r.json()["error"] == "intervention.subject_not_found"
    _ = ADMIN_PASSWORD
