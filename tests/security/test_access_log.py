"""Every read of personal data is in the access log: who read which persons or list,
when, from where; admins query and export it."""

from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import Session, select

from models import AccessLog, Person
from tests.support import OPENROSA, bearer


def _person_id(db, name: str) -> str:
    with Session(db) as s:
        return s.exec(select(Person.id).where(Person.name == name)).one()


def _log(db) -> list[AccessLog]:
    with Session(db) as s:
        return list(s.exec(select(AccessLog).order_by(AccessLog.id)).all())


def test_each_personal_data_read_is_logged_with_who_what_when_where(client, db, field,
                                                                    admin_headers, make_user):
    siti, ayu = _person_id(db, "Siti Aminah"), _person_id(db, "Ayu Lestari")
    before = len(_log(db))
    r = client.get("/api/v1/measurements?kelurahan_code=33.75.01.1002",
                   headers={**admin_headers, "User-Agent": "dinkes-dashboard/1.0"})
    assert r.status_code == 200 and r.json()["total"] == 5
    phone = field.kader_a
    r = client.get(f"{phone.prefix}/forms/anthropometry/media/children.csv", headers=OPENROSA)
    assert r.status_code == 200 and "Siti Aminah" in r.text
    kader_b = bearer(client, field.kader_b.username, field.kader_b.password)
    assert client.get("/api/v1/sync/snapshot", headers=kader_b).status_code == 200
    rows = _log(db)[before:]
    admin_read, download, snapshot = rows[0], rows[1], rows[-1]
    assert (admin_read.username, admin_read.role, admin_read.resource, admin_read.action) == (
        "admin", "admin", "measurements", "list")
    assert siti in admin_read.persons and ayu not in admin_read.persons
    assert admin_read.rows == 5 and admin_read.query == {"kelurahan_code": "33.75.01.1002"}
    assert admin_read.address == "testclient" and admin_read.user_agent == "dinkes-dashboard/1.0"
    assert admin_read.request_id and admin_read.at is not None
    assert (download.username, download.resource, download.action) == (
        phone.username, "picklist:children.csv", "download")
    assert download.app_token_id is not None and siti in download.persons
    assert snapshot.username == "kader-b" and snapshot.resource == "sync_snapshot"
    assert ayu in snapshot.persons and siti not in snapshot.persons


def test_reads_of_one_submission_a_conflict_and_the_feed_are_logged(client, db, field,
                                                                    admin_headers):
    submissions = client.get("/api/v1/submissions?form_id=anthropometry&limit=1",
                             headers=admin_headers).json()["items"]
    sid = submissions[0]["id"]
    assert client.get(f"/api/v1/submissions/{sid}", headers=admin_headers).status_code == 200
    feed_answer = client.get("/api/v1/sync/changes", headers=admin_headers)
    assert feed_answer.status_code == 200
    rows = _log(db)
    detail = next(r for r in rows if r.resource == "submission")
    assert (detail.subject_type, detail.subject_id, detail.action) == ("submission", str(sid),
                                                                       "read")
    assert len(detail.persons) == 1  # the child the submission was about
    # (on PostgreSQL the feed stops below the cluster's oldest open transaction, which
    # another database's client may hold: then the page is empty, and so is the log)
    # a registry record is logged by its id; a measurement, screening or sanitation check
    # (the feed carries them too) by the child, woman or household it is about
    subject = {"person": "id", "household": "id", "measurement": "person_id",
               "pregnancy_screening": "woman_id", "sanitation_check": "household_id"}
    changes = [c for c in feed_answer.json()["changes"] if c["data"]]
    sent = {c["id"] if subject[c["entity"]] == "id" else c["data"][subject[c["entity"]]]
            for c in changes}
    logged = [r for r in rows if r.resource == "sync_changes"]
    if sent:
        assert any(c["entity"] == "measurement" for c in changes)
        assert set(logged[0].persons) | set(logged[0].households) == sent
    else:
        assert logged == []


def test_admins_query_the_log_by_person_and_export_it(client, db, field, admin_headers,
                                                      make_user):
    siti = _person_id(db, "Siti Aminah")
    client.get("/api/v1/measurements", headers=admin_headers)
    kader_b = bearer(client, field.kader_b.username, field.kader_b.password)
    client.get("/api/v1/measurements", headers=kader_b)  # B's children only
    r = client.get(f"/api/v1/access-log?person_id={siti}", headers=admin_headers)
    assert r.status_code == 200
    who = {(i["username"], i["resource"]) for i in r.json()["items"]}
    assert ("admin", "measurements") in who and ("kader-b", "measurements") not in who
    r = client.get("/api/v1/access-log?username=kader-b", headers=admin_headers)
    assert {i["username"] for i in r.json()["items"]} == {"kader-b"}
    page = client.get("/api/v1/access-log?limit=1", headers=admin_headers).json()
    assert len(page["items"]) == 1 and page["total"] >= 2
    assert client.get("/api/v1/access-log?from=2000-01-01&to=2000-01-02",
                      headers=admin_headers).json()["total"] == 0
    exported = client.get(f"/api/v1/access-log/export?person_id={siti}", headers=admin_headers)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert {row["username"] for row in table} >= {"admin"}
    assert all(siti in row["persons"] for row in table if row["resource"] == "measurements")
    # the export is itself a read that is logged
    assert _log(db)[-1].resource == "access_log" and _log(db)[-1].action == "export"


@pytest.mark.parametrize("role", ["kader", "supervisor", "agency"])
def test_only_admins_read_the_access_log(client, make_user, admin_user, role):
    make_user("u", role, ["33.75.01.1002"], password="user-pass-1", agency="Dinkes")
    headers = bearer(client, "u", "user-pass-1")
    for path in ("/api/v1/access-log", "/api/v1/access-log/export"):
        r = client.get(path, headers=headers)
        assert r.status_code == 403 and r.json()["error"] == "auth.role"


def test_a_read_that_cannot_be_logged_is_not_served(app, field, admin_headers,
                                                    monkeypatch):
    from fastapi.testclient import TestClient

    from sync import access

    def broken(*args, **kwargs):
        raise RuntimeError("access log unavailable")

    monkeypatch.setattr(access, "record_read", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/api/v1/measurements", headers=admin_headers)
    assert r.status_code == 500 and "Siti" not in r.text


