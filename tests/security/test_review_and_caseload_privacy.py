"""The endpoints of identity review (#14) and caseloads (#16) under the protections of
#18: an agency gets NIKs and KK numbers masked in every answer (persons, households,
duplicate pairs side by side, case lists as JSON, CSV and XLSX, interventions) unless
granted full NIKs, cannot search by one, and every read of personal data there is in
the access log."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from models import AccessLog, Household, Person
from sync import identity
from tests.support import KELURAHAN, bearer

FULL = re.compile(r"(?<!\d)\d{16}(?!\d)")
RINA_NIK, BUDI_KK, JOKO_KK = "3375015507950002", "3375010101200003", "3375010101200004"


def _person(db, name: str, nik: str | None = None) -> str:
    """(The children's mothers are 'Rina Wati' too, without a NIK: Rina is the one with.)"""
    with Session(db) as s:
        query = select(Person.id).where(Person.name == name)
        return s.exec(query.where(Person.nik == nik) if nik else query).one()


def _household(db, head: str) -> str:
    with Session(db) as s:
        [found] = s.exec(select(Household.id).where(Household.head_name == head)).all()
        return found


def _log(db) -> list[AccessLog]:
    with Session(db) as s:
        return list(s.exec(select(AccessLog).order_by(AccessLog.id)).all())


def _pair(db, entity: str, x: str, y: str) -> int:
    """A duplicate candidate pair as the batch scan (posyandu-sync dedup) opens one."""
    with Session(db) as s:
        pair_id = identity.open_pair(s, entity, x, y, None, None, cross_scope=False,
                                     source="batch", score=12.0,
                                     evidence={"score": 12.0, "band": "review",
                                               "fields": {"name": {"level": "variant",
                                                                   "weight": 3.1}}})
        s.commit()
    return pair_id


@pytest.fixture
def agency(client, make_user, admin_headers):
    make_user("dinkes", "agency", ["33.75"], password="agency-pass-1", agency="Dinkes")
    r = client.put("/api/v1/users/dinkes/programs",
                   json={"programs": ["antenatal", "sanitation"]}, headers=admin_headers)
    assert r.status_code == 200
    return bearer(client, "dinkes", "agency-pass-1")


@pytest.fixture
def pairs(db, field) -> dict:
    rina, dewi = _person(db, "Rina Wati", RINA_NIK), _person(db, "Dewi Lestari")
    budi, joko = _household(db, "Pak Budi"), _household(db, "Pak Joko")
    return {"person": _pair(db, "person", rina, dewi),
            "household": _pair(db, "household", budi, joko),
            "rina": rina, "dewi": dewi, "budi": budi, "joko": joko}


CASES = f"/api/v1/caseloads/{KELURAHAN}/cases"


def _rina_intervention(client, headers, rina) -> int:
    r = client.post("/api/v1/interventions", headers=headers, json={
        "program": "antenatal", "type": "ttd", "delivered_on": "2026-09-10", "person_id": rina,
        "notes": f"TTD 30 tablet untuk Rina Wati (NIK {RINA_NIK})"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _answers(client, headers, pairs, intervention_id) -> dict[str, str]:
    """Every answer of #14 and #16 an agency gets that can carry identity numbers."""
    got = {
        "persons": client.get("/api/v1/persons?name=Rina", headers=headers),
        "person": client.get(f"/api/v1/persons/{pairs['rina']}", headers=headers),
        "households": client.get("/api/v1/households", headers=headers),
        "household": client.get(f"/api/v1/households/{pairs['budi']}", headers=headers),
        "duplicates": client.get("/api/v1/duplicates", headers=headers),
        "duplicate": client.get(f"/api/v1/duplicates/{pairs['person']}", headers=headers),
        "household_pair": client.get(f"/api/v1/duplicates/{pairs['household']}",
                                     headers=headers),
        "antenatal": client.get(f"{CASES}?program=antenatal&period=2026-09", headers=headers),
        "antenatal.csv": client.get(f"{CASES}?program=antenatal&period=2026-09&format=csv",
                                    headers=headers),
        "sanitation": client.get(f"{CASES}?program=sanitation&period=2026-10", headers=headers),
        "sanitation.csv": client.get(f"{CASES}?program=sanitation&period=2026-10&format=csv",
                                     headers=headers),
        "interventions": client.get("/api/v1/interventions", headers=headers),
        "intervention": client.get(f"/api/v1/interventions/{intervention_id}", headers=headers),
    }
    for name, r in got.items():
        assert r.status_code == 200, (name, r.text)
    texts = {name: r.content.decode("utf-8-sig") for name, r in got.items()}
    for program, period in (("antenatal", "2026-09"), ("sanitation", "2026-10")):
        r = client.get(f"{CASES}?program={program}&period={period}&format=xlsx", headers=headers)
        assert r.status_code == 200
        sheet = load_workbook(io.BytesIO(r.content)).active
        texts[f"{program}.xlsx"] = "\n".join(
            ",".join("" if c.value is None else str(c.value) for c in row) for row in sheet.rows)
    return texts


def test_an_agency_sees_niks_and_kks_masked_in_every_review_and_caseload_answer(
        client, db, field, pairs, agency):
    intervention = _rina_intervention(client, agency, pairs["rina"])
    texts = _answers(client, agency, pairs, intervention)
    assert {name: FULL.findall(text) for name, text in texts.items() if FULL.findall(text)} == {}
    # masked, not dropped: the regency and the last four digits tell people apart
    for name in ("persons", "person", "duplicate", "antenatal", "antenatal.csv", "antenatal.xlsx"):
        assert "3375********0002" in texts[name], name
    for name in ("households", "household", "household_pair", "sanitation", "sanitation.csv",
                 "sanitation.xlsx"):
        assert "3375********0004" in texts[name] or "3375********0003" in texts[name], name
    assert "(NIK 3375********0002)" in texts["intervention"]
    assert "(NIK 3375********0002)" in texts["interventions"]
    # names and addresses stay: the agency's work needs them
    assert "Rina Wati" in texts["antenatal.csv"] and "Pak Joko" in texts["sanitation.xlsx"]
    rows = list(csv.DictReader(io.StringIO(texts["sanitation.csv"])))
    assert rows[0]["kk"] == "3375********0004" and rows[0]["head_name"] == "Pak Joko"


def test_full_numbers_when_granted_and_for_supervisors(client, db, field, pairs, agency,
                                                       admin_headers, make_user):
    intervention = _rina_intervention(client, agency, pairs["rina"])
    client.patch("/api/v1/users/dinkes", json={"nik_full": True}, headers=admin_headers)
    granted = _answers(client, agency, pairs, intervention)
    for name in ("person", "duplicate", "antenatal.csv", "antenatal.xlsx", "intervention"):
        assert RINA_NIK in granted[name], name
    assert JOKO_KK in granted["sanitation.xlsx"] and BUDI_KK in granted["household"]
    make_user("sup", "supervisor", ["33.75"], password="sup-pass-123")
    supervisor = bearer(client, "sup", "sup-pass-123")
    side = client.get(f"/api/v1/duplicates/{pairs['person']}", headers=supervisor).json()
    assert RINA_NIK in (side["a"]["nik"], side["b"]["nik"])


def test_an_agency_cannot_search_by_a_number_it_may_not_see(client, field, agency,
                                                            admin_headers):
    for path in (f"/api/v1/persons?nik={RINA_NIK}", f"/api/v1/households?kk={JOKO_KK}"):
        r = client.get(path, headers=agency)
        assert r.status_code == 403 and r.json()["error"] == "identity.number_search", path
        assert RINA_NIK not in r.text
        r = client.get(path, headers={**agency, "Accept-Language": "id"})
        assert r.json()["detail"].startswith("Pencarian dengan NIK")
    client.patch("/api/v1/users/dinkes", json={"nik_full": True}, headers=admin_headers)
    found = client.get(f"/api/v1/persons?nik={RINA_NIK}", headers=agency).json()
    assert [p["name"] for p in found["items"]] == ["Rina Wati"]
    assert client.get(f"/api/v1/persons?nik={RINA_NIK}", headers=admin_headers
                      ).json()["total"] == 1


def test_every_read_of_review_and_caseload_data_is_in_the_access_log(client, db, field, pairs,
                                                                     agency):
    intervention = _rina_intervention(client, agency, pairs["rina"])
    before = len(_log(db))
    _answers(client, agency, pairs, intervention)
    rows = [r for r in _log(db)[before:]]
    assert all(r.username == "dinkes" and r.role == "agency" for r in rows)
    by = {}
    for r in rows:
        by.setdefault((r.resource, r.action), []).append(r)
    rina, budi, joko = pairs["rina"], pairs["budi"], pairs["joko"]
    assert rina in by[("persons", "list")][0].persons
    person = by[("person", "read")][0]
    assert (person.subject_type, person.subject_id, person.persons) == ("person", rina, [rina])
    household = by[("household", "read")][0]
    assert household.households == [budi] and household.subject_id == budi
    assert {budi, joko} <= set(by[("households", "list")][0].households)
    assert {rina, pairs["dewi"]} <= set(by[("duplicates", "list")][0].persons)
    assert {budi, joko} <= set(by[("duplicates", "list")][0].households)
    details = {r.subject_id: r for r in by[("duplicate", "read")]}
    assert set(details[str(pairs["person"])].persons) == {rina, pairs["dewi"]}
    assert set(details[str(pairs["household"])].households) == {budi, joko}
    [antenatal] = by[("cases:antenatal", "list")]
    assert rina in antenatal.persons and antenatal.subject_id == KELURAHAN
    assert antenatal.query == {"program": "antenatal", "period": "2026-09"}
    downloads = by[("cases:antenatal", "download")]  # CSV and XLSX
    assert len(downloads) == 2 and all(rina in d.persons for d in downloads)
    assert {d.query["format"] for d in downloads} == {"csv", "xlsx"}
    assert joko in by[("cases:sanitation", "list")][0].households
    assert len(by[("cases:sanitation", "download")]) == 2
    assert rina in by[("interventions", "list")][0].persons
    one = by[("intervention", "read")][0]
    assert one.persons == [rina] and one.subject_id == str(intervention)
    assert all(r.address == "testclient" and r.request_id for r in rows)


def test_aggregates_are_not_personal_reads(client, db, field, agency):
    before = len(_log(db))
    assert client.get(f"/api/v1/caseloads/{KELURAHAN}?period=2026-09",
                      headers=agency).status_code == 200
    assert client.get("/api/v1/caseloads?period=2026-09", headers=agency).status_code == 200
    assert len(_log(db)) == before


def test_a_case_list_that_cannot_be_logged_is_not_served(app, field, agency, monkeypatch,
                                                         admin_headers):
    from fastapi.testclient import TestClient

    from sync import access

    def broken(*args, **kwargs):
        raise RuntimeError("access log unavailable")

    monkeypatch.setattr(access, "record_read", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        for url in (f"{CASES}?program=antenatal&period=2026-09&format=csv", "/api/v1/persons",
                    "/api/v1/duplicates"):
            r = client.get(url, headers=admin_headers)
            assert r.status_code == 500 and "Rina" not in r.text, url
