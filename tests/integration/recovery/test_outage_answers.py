"""With the database gone (nothing listens where it should be), every channel answers
503 with Retry-After and the catalogue's message: phones get OpenRosa XML in Bahasa
Indonesia, the JSON API {"error", "detail"}; nothing answers 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.db import make_engine
from tests.drills.field import free_port
from tests.support import OPENROSA, child_values, fill_submission, multipart_files


@pytest.fixture
def client_without_database():
    engine = make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/gone")
    app = create_app(engine)
    with TestClient(app, base_url="http://testserver") as client:
        yield client
    engine.dispose()


def test_phones_and_the_api_get_503_with_retry_after_when_the_database_is_down(
        client_without_database, caplog):
    client = client_without_database
    xml = fill_submission(b"""<?xml version="1.0"?><h:html xmlns="http://www.w3.org/2002/xforms"
      xmlns:h="http://www.w3.org/1999/xhtml"><h:head><model><instance><data id="anthropometry"
      version="1"><child_name/><meta><instanceID/></meta></data></instance></model></h:head>
      </h:html>""", child_values())
    answers = [
        client.post("/key/some-token/submission", headers=OPENROSA, files=multipart_files(xml)),
        client.head("/key/some-token/submission", headers=OPENROSA),
        client.get("/key/some-token/formList", headers=OPENROSA),
        client.get("/api/v1/auth/me", headers={"Authorization": "Bearer x"}),
        client.post("/api/v1/auth/token", data={"username": "a", "password": "b"}),
    ]
    for r in answers:
        assert r.status_code == 503, (r.request.url, r.status_code, r.text)
        assert int(r.headers["retry-after"]) > 0
    post = answers[0]
    assert post.headers["x-posyandu-error"] == "server.database_unavailable"
    assert "basis data sedang tidak tersedia" in post.text and "<OpenRosaResponse" in post.text
    assert answers[3].json()["error"] == "server.database_unavailable"
    assert client.get("/readyz").status_code == 503
    assert "Traceback" not in caplog.text
