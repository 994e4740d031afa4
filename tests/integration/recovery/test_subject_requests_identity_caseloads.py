# ruff: noqa: F811 - the fixtures imported from test_subject_requests are used by name
"""Data subject requests reach what identity resolution (#14) and caseloads (#16)
keep: a person's export holds their identity decisions, duplicate pairs, merges and
interventions, and is in the access log; erasure leaves no name or NIK of theirs in
decisions, pairs, merges (an unmerge afterwards brings none back), intervention notes
or logged searches, while the caseload aggregates stay exactly as they were."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from cli.main import main
from models import AccessLog, DuplicatePair, IdentityDecision, Person, RecordMerge
from sync import caseloads
from sync.subjects import ERASED_FINGERPRINT
from tests.integration.recovery.test_subject_requests import (  # noqa: F401 - fixtures
    CHILD_NIK,
    MOTHER_NIK,
    _everything_stored,
    _export,
    cli_db,
    family,
)
from tests.support import (
    ADMIN_PASSWORD,
    OPENROSA,
    bearer,
    child_values,
    fill_submission,
    multipart_files,
)

LONE = {"mother_name": "", "mother_nik": "", "household_kk": "", "child_nik": ""}
NEW_TABLES = ("identity_decision", "duplicate_pair", "record_merge", "intervention",
              "caseload_case", "caseload_contribution", "access_log", "audit_log")


def _stored(db, tables) -> str:
    parts = []
    with db.connect() as conn:
        for table in tables:
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                parts.extend(json.dumps(v, default=str) if isinstance(v, (dict, list)) else str(v)
                             for v in row if v is not None)
    return "\n".join(parts)


def _aggregates(db) -> list:
    with db.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT * FROM caseload_aggregate ORDER BY kelurahan_code, period"))]


def _registered_twice_and_merged(client, db, phone, forms, family) -> dict:
    """Siti registered again as 'Siti' (no NIK, no family): a review pair, which a
    supervisor merges into the first record."""
    xml = fill_submission(forms["anthropometry"], child_values(
        posyandu_id=phone.posyandu_id, child_name="Siti", measured_on="2026-09-02",
        weight_kg="8.6", length_height_cm="70.0", **LONE))
    r = client.post(f"{phone.prefix}/submission", headers=OPENROSA, files=multipart_files(xml))
    assert r.status_code == 201, r.text
    with Session(db) as s:
        pair = s.exec(select(DuplicatePair)).one()
    assert family["siti"] in (pair.a_id, pair.b_id)
    supervisor = bearer(client, "sup", "sup-pass-123")
    r = client.post(f"/api/v1/duplicates/{pair.id}/merge", headers=supervisor,
                    json={"survivor_id": family["siti"]})
    assert r.status_code == 200, r.text
    other = pair.b_id if pair.a_id == family["siti"] else pair.a_id
    return {"pair": pair.id, "absorbed": other, "supervisor": supervisor}


def _setup(client, cli_db, phone, forms, family, make_user) -> dict:
    make_user("sup", "supervisor", ["33.75"], password="sup-pass-123")
    make_user("dinkes", "agency", ["33.75"], password="agency-pass-1", agency="Dinkes")
    admin = bearer(client, "admin", ADMIN_PASSWORD)
    assert client.put("/api/v1/users/dinkes/programs", headers=admin, json={
        "programs": ["nutrition", "sanitation"]}).status_code == 200
    merged = _registered_twice_and_merged(client, cli_db, phone, forms, family)
    agency = bearer(client, "dinkes", "agency-pass-1")
    with Session(cli_db) as s:
        household = s.get(Person, family["siti"]).household_id
    for body in ({"program": "nutrition", "type": "pmt", "delivered_on": "2026-11-05",
                  "person_id": family["siti"],
                  "notes": f"PMT untuk Siti Aminah (NIK {CHILD_NIK}), ibu Rina Wati"},
                 {"program": "sanitation", "type": "latrine", "delivered_on": "2026-11-06",
                  "household_id": household, "notes": "Jamban untuk keluarga Rina Wati"}):
        r = client.post("/api/v1/interventions", headers=agency, json=body)
        assert r.status_code == 201, r.text
    # searches that name them, in the access log
    assert client.get("/api/v1/persons?name=Siti Aminah", headers=admin).json()["total"] == 1
    assert client.get(f"/api/v1/persons?nik={MOTHER_NIK}", headers=admin).json()["total"] == 1
    return {**merged, "household": household, "admin": admin}


def test_an_export_holds_their_pairs_merges_decisions_and_interventions_and_is_logged(
        family, cli_db, client, phone, forms, make_user, capsys):
    setup = _setup(client, cli_db, phone, forms, family, make_user)
    data = _export(family["siti"], capsys)
    assert data["merged_from"] == [setup["absorbed"]]
    assert [(p["id"], p["status"]) for p in data["duplicate_pairs"]] == [(setup["pair"], "merged")]
    [merge] = data["merges"]
    assert (merge["survivor_id"], merge["absorbed_id"]) == (family["siti"], setup["absorbed"])
    assert merge["absorbed_before"]["name"] == "Siti"
    assert {d["subject_id"] for d in data["identity_decisions"]} >= {family["siti"]}
    assert [i["type"] for i in data["interventions"]] == ["pmt"]
    assert [i["type"] for i in data["household_interventions"]] == ["latrine"]
    with Session(cli_db) as s:
        logged = s.exec(select(AccessLog).where(AccessLog.resource == "person_export")).one()
    assert (logged.username, logged.role, logged.action) == ("admin", "admin", "export")
    assert (logged.subject_type, logged.subject_id) == ("person", family["siti"])
    assert set(logged.persons) == {family["siti"], setup["absorbed"]}
    assert logged.households == [setup["household"]] and logged.actor_id is not None
    with pytest.raises(SystemExit):  # who reads must be said: --actor is required
        main(["person", "export", family["rina"]])


def test_erasure_scrubs_identity_and_caseload_records_and_keeps_the_aggregates(
        family, cli_db, client, phone, forms, make_user, capsys):
    setup = _setup(client, cli_db, phone, forms, family, make_user)
    stored = _stored(cli_db, NEW_TABLES)
    assert "Siti Aminah" in stored and CHILD_NIK in stored and "Rina Wati" in stored
    before = _aggregates(cli_db)
    assert before
    for who, dsr in (("rina", "DSR-7"), ("siti", "DSR-8")):
        assert main(["person", "erase", family[who], "--reason", dsr, "--actor", "admin",
                     "--yes"]) == 0
    stored = _stored(cli_db, NEW_TABLES)
    everything = _everything_stored(cli_db)
    for personal in ("Siti Aminah", "Rina Wati", CHILD_NIK, MOTHER_NIK):
        assert personal not in stored, personal
        assert personal not in everything, personal
    with Session(cli_db) as s:
        merge = s.exec(select(RecordMerge)).one()
        assert merge.absorbed_before["name"] == "[dihapus]"
        assert merge.survivor_before["nik"] is None and merge.survivor_before["name"] == "[dihapus]"
        decisions = s.exec(select(IdentityDecision).where(IdentityDecision.subject_id.in_(
            [family["siti"], setup["absorbed"], family["rina"]]))).all()
        assert decisions and {d.fingerprint for d in decisions} == {ERASED_FINGERPRINT}
        notes = [n for n in s.exec(text("SELECT notes FROM intervention ORDER BY id")).scalars()]
        assert notes == ["PMT untuk [dihapus] (NIK [dihapus]), ibu [dihapus]",
                         "Jamban untuk keluarga [dihapus]"]
        searches = s.exec(select(AccessLog).where(AccessLog.resource == "persons")).all()
        assert {tuple(sorted(a.query.values())) for a in searches} == {("[dihapus]",)}
        assert caseloads.verify(s).ok
    # the anonymous counts: every aggregate as before, coverage included
    assert _aggregates(cli_db) == before
    # an unmerge after the erasure revives the duplicate anonymous, not as 'Siti'
    r = client.post(f"/api/v1/persons/{setup['absorbed']}/unmerge",
                    headers=setup["supervisor"])
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["nik"]) == ("[dihapus]", None)
    assert "Siti" not in _stored(cli_db, ("person", "person_version"))
    with Session(cli_db) as s:
        assert caseloads.verify(s).ok
