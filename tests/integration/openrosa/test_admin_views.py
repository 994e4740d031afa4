"""What administrators see: failed submissions, reprocessing, measurements, phone QR."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from cli.main import main
from core.config import get_settings
from core.db import get_engine
from models import Submission, Wilayah
from sync.collect_settings import decode_settings
from tests.support import OPENROSA, bearer, child_values, fill_submission, multipart_files


def _submit(client, phone, forms, **values):
    values = {"posyandu_id": phone.posyandu_id, **values}
    xml = fill_submission(forms["anthropometry"], child_values(**values))
    r = client.post(f"{phone.prefix}/submission", headers=OPENROSA, files=multipart_files(xml))
    assert r.status_code == 201, r.text


def test_failed_submissions_are_listed_with_their_error(client, admin_headers, phone, forms):
    _submit(client, phone, forms, measured_on="2099-01-01")
    r = client.get("/api/v1/submissions?status=failed", headers=admin_headers)
    assert r.status_code == 200
    [item] = r.json()["items"]
    assert "future" in item["error"]
    detail = client.get(f"/api/v1/submissions/{item['id']}", headers=admin_headers).json()
    assert "<measured_on>2099-01-01</measured_on>" in detail["content"]


def test_submissions_are_scoped_for_supervisors(client, admin_headers, phone, forms, make_user):
    _submit(client, phone, forms)
    make_user("sup-other", "supervisor", scopes=["33.75.04"])
    headers = bearer(client, "sup-other", "password-123")
    assert client.get("/api/v1/submissions", headers=headers).json()["total"] == 0
    sub_id = client.get("/api/v1/submissions", headers=admin_headers).json()["items"][0]["id"]
    assert client.get(f"/api/v1/submissions/{sub_id}", headers=headers).status_code == 404
    kader = bearer(client, phone.username, phone.password)
    assert client.get("/api/v1/submissions", headers=kader).status_code == 403


def test_measurements_carry_stored_z_scores_in_scope(client, admin_headers, phone, forms, make_user):
    _submit(client, phone, forms)
    items = client.get("/api/v1/measurements", headers=admin_headers).json()["items"]
    assert len(items) == 1 and items[0]["zlen"] is not None and items[0]["tbu_category"]
    # Every stored indicator is served (the response model is derived from the table).
    assert {"severely_wasted", "stunted", "cbmi", "plausibility_flags", "instance_id"} <= set(items[0])
    assert "submission_id" not in items[0]
    make_user("agency-x", "agency", scopes=["33.75.04"], agency="DPUPR")
    other = bearer(client, "agency-x", "password-123")
    assert client.get("/api/v1/measurements", headers=other).json()["total"] == 0


@pytest.fixture
def cli_env(database_url, monkeypatch):
    monkeypatch.setenv("POSYANDU_DATABASE_URL", database_url)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_reprocess_command_retries_failed_submissions(client, make_phone, forms, db, cli_env, capsys):
    phone = make_phone("sup", scopes=["33.75"], role="supervisor")
    _submit(client, phone, forms, posyandu_id="", kelurahan_code="33.75.01.1098")
    assert main(["reprocess"]) == 0
    assert "1 failed" in capsys.readouterr().out
    with Session(db) as s:
        s.add(Wilayah(code="33.75.01.1098", name="Baru", level="kelurahan", parent_code="33.75.01"))
        s.commit()
    assert main(["reprocess"]) == 0
    assert "1 processed" in capsys.readouterr().out
    with Session(db) as s:
        assert s.exec(select(Submission.status)).all() == ["processed"]


def test_collect_qr_code_holds_the_token_settings(client, admin_headers, phone):
    r = client.post(f"/api/v1/users/{phone.username}/collect-qr?format=json", headers=admin_headers,
                    json={"label": "HP Bu Sri"})
    assert r.status_code == 200
    body = r.json()
    settings = decode_settings(body["qr_payload"])
    assert settings == body["settings"]
    url = settings["general"]["server_url"]
    assert url.startswith("http://testserver/key/")
    # the new token works for the phone
    assert client.get(url.replace("http://testserver", "") + "/formList",
                      headers=OPENROSA).status_code == 200
    png = client.post(f"/api/v1/users/{phone.username}/collect-qr", headers=admin_headers, json={})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
