"""Attacks on the identity review (#14) and caseload (#16) endpoints from another scope:
a kader, supervisor and agency of posyandu B's kecamatan aim at A's ids, filter for A's
region, and write records that name A's people. Each gets a 404 (or 403), or an empty
page, never A's data."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from models import Household, Person
from sync import identity
from tests.support import KELURAHAN, OTHER_KELURAHAN, bearer

RINA_NIK = "3375015507950002"


def _ids(db) -> dict:
    with Session(db) as s:
        rina = s.exec(select(Person.id).where(Person.nik == RINA_NIK)).one()
        dewi = s.exec(select(Person.id).where(Person.name == "Dewi Lestari")).one()
        ani = s.exec(select(Person.id).where(Person.name == "Ani Susanti")).one()
        budi = s.exec(select(Household.id).where(Household.head_name == "Pak Budi")).one()
        joko = s.exec(select(Household.id).where(Household.head_name == "Pak Joko")).one()
        hadi = s.exec(select(Household.id).where(Household.head_name == "Pak Hadi")).one()
        pair = identity.open_pair(s, "person", rina, dewi, None, None, cross_scope=False,
                                  source="batch", score=12.0, evidence={})
        s.commit()
    return {"rina": rina, "dewi": dewi, "ani": ani, "budi": budi, "joko": joko, "hadi": hadi,
            "pair": pair}


@pytest.fixture
def attack(client, db, field, make_user, admin_headers) -> dict:
    """A's records, and B's kader, supervisor and agency (Pekalongan Selatan)."""
    selatan = OTHER_KELURAHAN[:8]
    make_user("sup-b", "supervisor", [selatan], password="sup-b-pass-1")
    make_user("sup-a", "supervisor", [KELURAHAN[:8]], password="sup-a-pass-1")
    make_user("dinkes-b", "agency", [selatan], password="agency-b-pass-1", agency="Dinkes")
    make_user("dinkes-a", "agency", [KELURAHAN[:8]], password="agency-a-pass-1",
              agency="Dinkes")
    for user in ("dinkes-a", "dinkes-b"):
        assert client.put(f"/api/v1/users/{user}/programs", headers=admin_headers, json={
            "programs": ["antenatal", "sanitation"]}).status_code == 200
    return {**_ids(db),
            "kader": bearer(client, field.kader_b.username, field.kader_b.password),
            "supervisor": bearer(client, "sup-b", "sup-b-pass-1"),
            "own_supervisor": bearer(client, "sup-a", "sup-a-pass-1"),
            "agency": bearer(client, "dinkes-b", "agency-b-pass-1"),
            "own_agency": bearer(client, "dinkes-a", "agency-a-pass-1")}


@pytest.mark.parametrize("who", ["kader", "supervisor", "agency"])
def test_another_scopes_ids_and_filters_give_nothing(client, attack, who):
    h, a = attack[who], attack
    for path, code in ((f"/api/v1/persons/{a['rina']}", "person.not_found"),
                       (f"/api/v1/households/{a['budi']}", "household.not_found"),
                       (f"/api/v1/duplicates/{a['pair']}", "duplicate.not_found")):
        r = client.get(path, headers=h)
        assert r.status_code == 404 and r.json()["error"] == code, (path, r.text)
        assert "Rina" not in r.text and "Budi" not in r.text
    for path in (f"/api/v1/persons?kelurahan_code={KELURAHAN}", "/api/v1/persons?name=Siti",
                 f"/api/v1/persons?household_id={a['budi']}",
                 f"/api/v1/households?kelurahan_code={KELURAHAN}",
                 "/api/v1/households?name=Pak Budi",
                 f"/api/v1/duplicates?kelurahan_code={KELURAHAN}", "/api/v1/duplicates",
                 f"/api/v1/interventions?person_id={a['rina']}",
                 f"/api/v1/interventions?kelurahan_code={KELURAHAN}"):
        r = client.get(path, headers=h)
        assert r.status_code == 200 and r.json()["total"] == 0, (path, r.text)
    # its own region still answers (the attack is not refused for another reason)
    own = client.get(f"/api/v1/persons?kelurahan_code={OTHER_KELURAHAN}", headers=h).json()
    assert own["total"] >= 1 and a["ani"] in [p["id"] for p in own["items"]]


def test_another_scopes_case_lists_are_not_found_in_any_format(client, attack):
    for fmt in ("json", "csv", "xlsx"):
        for code in (KELURAHAN, KELURAHAN[:8], "33.75"):
            r = client.get(f"/api/v1/caseloads/{code}/cases?program=antenatal&period=2026-09"
                           f"&format={fmt}", headers=attack["agency"])
            assert r.status_code == 404 and r.json()["error"] == "caseload.region_not_found"
    own = client.get(f"/api/v1/caseloads/{OTHER_KELURAHAN}/cases?program=antenatal"
                     "&period=2026-10", headers=attack["agency"])
    assert own.status_code == 200 and [c["name"] for c in own.json()["items"]] == ["Ani Susanti"]


def test_writes_naming_another_scopes_people_are_refused(client, db, attack):
    a = attack
    # merge, dismiss and unmerge of A's pair by B's supervisor
    r = client.post(f"/api/v1/duplicates/{a['pair']}/merge", headers=a["supervisor"],
                    json={"survivor_id": a["rina"]})
    assert r.status_code == 404 and r.json()["error"] == "duplicate.not_found"
    r = client.post(f"/api/v1/duplicates/{a['pair']}/dismiss", headers=a["supervisor"])
    assert r.status_code == 404
    # A's supervisor merges it, moving the survivor into B's kelurahan: refused
    r = client.post(f"/api/v1/duplicates/{a['pair']}/merge", headers=a["own_supervisor"],
                    json={"survivor_id": a["rina"], "values": {"kelurahan_code": OTHER_KELURAHAN}})
    assert r.status_code == 400 and r.json()["error"] == "merge.scope"
    r = client.post(f"/api/v1/duplicates/{a['pair']}/merge", headers=a["own_supervisor"],
                    json={"survivor_id": a["rina"]})
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/persons/{a['dewi']}/unmerge", headers=a["supervisor"])
    assert r.status_code == 404
    with Session(db) as s:
        assert s.get(Person, a["dewi"]).merged_into_id == a["rina"]  # still merged
    # interventions naming A's woman or household, by B's agency
    for subject in ({"person_id": a["rina"]}, {"household_id": a["joko"]}):
        r = client.post("/api/v1/interventions", headers=a["agency"], json={
            "program": "antenatal", "type": "ttd", "delivered_on": "2026-10-12", **subject})
        assert r.status_code == 404 and r.json()["error"] == "intervention.subject_not_found"
    # B's own intervention, corrected to name A's woman: refused, and A's is unreachable
    mine = client.post("/api/v1/interventions", headers=a["agency"], json={
        "program": "antenatal", "type": "ttd", "delivered_on": "2026-10-12",
        "person_id": a["ani"]}).json()
    r = client.patch(f"/api/v1/interventions/{mine['id']}", headers=a["agency"],
                     json={"person_id": a["rina"]})
    assert r.status_code == 404 and r.json()["error"] == "intervention.subject_not_found"
    theirs = client.post("/api/v1/interventions", headers=a["own_agency"], json={
        "program": "sanitation", "type": "latrine", "delivered_on": "2026-10-12",
        "household_id": a["joko"]}).json()
    for method in ("get", "patch", "delete"):
        kwargs = {"json": {"quantity": 2}} if method == "patch" else {}
        r = getattr(client, method)(f"/api/v1/interventions/{theirs['id']}",
                                    headers=a["agency"], **kwargs)
        assert r.status_code == 404, (method, r.text)
    assert client.get(f"/api/v1/interventions/{theirs['id']}",
                      headers=a["own_agency"]).json()["version"] == 1
