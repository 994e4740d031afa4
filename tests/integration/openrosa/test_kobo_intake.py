"""KoboToolbox REST Service intake: same pipeline, same idempotency, per-hook secret."""

from __future__ import annotations

import base64

import pytest
from sqlmodel import Session, func, select

from models import Measurement, Submission
from sync.kobo import create_hook
from tests.support import KELURAHAN


@pytest.fixture
def hook(db, phone):
    with Session(db) as s:
        row, secret = create_hook(s, name="Kobo Dinkes", form_id="anthropometry",
                                  username=phone.username)
        s.commit()
        return row.id, secret


def kobo_payload(posyandu_id: int, **overrides) -> dict:
    payload = {
        "_id": 4242, "_uuid": "7d3a1c2e-0000-4000-8000-000000000001",
        "_xform_id_string": "aBcDeFgHiJ", "__version__": "vQ9x", "formhub/uuid": "f00",
        "_submission_time": "2026-11-02T03:04:05", "_attachments": [], "_status": "submitted_via_web",
        "meta/instanceID": "uuid:7d3a1c2e-0000-4000-8000-000000000001",
        "grp_child/is_new_child": "yes", "grp_child/child_name": "Ahmad Fauzi",
        "grp_child/child_sex": "male", "grp_child/child_birth_date": "2025-01-15",
        "grp_child/mother_name": "Dewi", "grp_child/kelurahan_code": KELURAHAN,
        "grp_child/posyandu_id": str(posyandu_id), "grp_measure/measured_on": "2026-11-01",
        "grp_measure/weight_kg": "10.2", "grp_measure/length_height_cm": "79.5",
        "grp_measure/measure_method": "lying", "grp_measure/oedema": "no",
    }
    payload.update(overrides)
    return payload


def _basic(secret: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"kobo:{secret}".encode()).decode()}


def _count(db, model):
    with Session(db) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_kobo_submission_is_stored_and_processed(client, hook, phone, db):
    hook_id, secret = hook
    r = client.post(f"/api/v1/intake/kobo/{hook_id}", json=kobo_payload(phone.posyandu_id),
                    headers=_basic(secret))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "processed"
    with Session(db) as s:
        sub = s.exec(select(Submission)).one()
        assert (sub.source, sub.instance_id) == ("kobo", "uuid:7d3a1c2e-0000-4000-8000-000000000001")
        assert b"_xform_id_string" in sub.content  # the raw payload is kept
        m = s.exec(select(Measurement)).one()
        assert m.weight_kg == 10.2 and m.zwei is not None


def test_kobo_overlong_instance_id_is_400_and_stores_nothing(client, hook, phone, db):
    hook_id, secret = hook
    payload = kobo_payload(phone.posyandu_id, **{"meta/instanceID": "uuid:" + "x" * 120})
    r = client.post(f"/api/v1/intake/kobo/{hook_id}", json=payload, headers=_basic(secret))
    assert r.status_code == 400 and "100 characters" in r.json()["detail"]
    assert _count(db, Submission) == 0


def test_kobo_retry_with_changed_metadata_is_a_duplicate(client, hook, phone, db):
    hook_id, secret = hook
    first = kobo_payload(phone.posyandu_id)
    assert client.post(f"/api/v1/intake/kobo/{hook_id}", json=first, headers=_basic(secret)).status_code == 201
    retry = dict(first, _status="validated", _id=4243)
    r = client.post(f"/api/v1/intake/kobo/{hook_id}", headers={"X-Hook-Secret": secret}, json=retry)
    assert r.status_code == 200 and r.json()["duplicate"] is True
    assert _count(db, Submission) == 1 and _count(db, Measurement) == 1


def test_kobo_changed_answers_with_same_uuid_is_409(client, hook, phone, db):
    hook_id, secret = hook
    client.post(f"/api/v1/intake/kobo/{hook_id}", json=kobo_payload(phone.posyandu_id),
                headers=_basic(secret))
    changed = kobo_payload(phone.posyandu_id, **{"grp_measure/weight_kg": "11.0"})
    r = client.post(f"/api/v1/intake/kobo/{hook_id}", json=changed, headers=_basic(secret))
    assert r.status_code == 409 and r.json()["error"] == "submission.xml_conflict"


@pytest.mark.parametrize("headers,status", [({}, 401), ({"X-Hook-Secret": "wrong"}, 401)])
def test_kobo_hook_needs_its_secret(client, hook, phone, db, headers, status):
    hook_id, _ = hook
    r = client.post(f"/api/v1/intake/kobo/{hook_id}", json=kobo_payload(phone.posyandu_id),
                    headers=headers)
    assert r.status_code == status
    assert _count(db, Submission) == 0


def test_kobo_unknown_hook_and_bad_json_are_4xx(client, hook, db):
    _, secret = hook
    assert client.post("/api/v1/intake/kobo/nope", json={}, headers=_basic(secret)).status_code == 404
    hook_id, _ = hook
    r = client.post(f"/api/v1/intake/kobo/{hook_id}", content=b"{not json",
                    headers={**_basic(secret), "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "kobo.bad_json"
    r = client.post(f"/api/v1/intake/kobo/{hook_id}", json={"no": "uuid"}, headers=_basic(secret))
    assert r.status_code == 400 and r.json()["error"] == "kobo.no_instance_id"
    assert _count(db, Submission) == 0


def test_admin_creates_hooks_over_the_api(client, admin_headers, phone):
    r = client.post("/api/v1/kobo-hooks", headers=admin_headers,
                    json={"name": "Kobo", "form_id": "anthropometry", "username": phone.username})
    assert r.status_code == 201
    assert r.json()["url"].endswith(f"/api/v1/intake/kobo/{r.json()['id']}")
    r = client.post("/api/v1/kobo-hooks", headers=admin_headers,
                    json={"name": "Kobo", "form_id": "nope", "username": phone.username})
    assert r.status_code == 400
    r = client.post("/api/v1/kobo-hooks", headers=admin_headers,
                    json={"name": "   ", "form_id": "anthropometry", "username": phone.username})
    assert r.status_code == 400 and r.json()["error"] == "kobo.no_name"


def test_kobo_nul_characters_and_deep_nesting_are_400(client, hook, phone, db):
    hook_id, secret = hook
    evil = kobo_payload(phone.posyandu_id, **{"grp_child/child_name": "Siti\x00"})
    r = client.post(f"/api/v1/intake/kobo/{hook_id}", json=evil, headers=_basic(secret))
    assert r.status_code == 400
    deep = b"[" * 100_000 + b"]" * 100_000
    r = client.post(f"/api/v1/intake/kobo/{hook_id}", content=deep,
                    headers={**_basic(secret), "Content-Type": "application/json"})
    assert r.status_code == 400
    assert _count(db, Submission) == 0


@pytest.mark.parametrize("body, why", [
    (b'{"meta/instanceID": "uuid:x", "child_name": "\\ud800"}', "an unpaired surrogate"),
    (b'{"meta/instanceID": "uuid:x", "weight_kg": ' + b"9" * 5000 + b"}", "a 5000-digit number"),
])
def test_kobo_json_that_cannot_be_stored_is_400(client, hook, db, body, why):
    hook_id, secret = hook
    r = client.post(f"/api/v1/intake/kobo/{hook_id}", content=body,
                    headers={**_basic(secret), "Content-Type": "application/json"})
    assert r.status_code == 400, why
    assert _count(db, Submission) == 0


@pytest.mark.parametrize("field", ["meta/instanceID", "meta/deprecatedID"])
def test_kobo_nul_in_an_id_is_400(client, hook, phone, db, field):
    hook_id, secret = hook
    evil = kobo_payload(phone.posyandu_id, **{field: "uuid:\x00abc"})
    r = client.post(f"/api/v1/intake/kobo/{hook_id}", json=evil, headers=_basic(secret))
    assert r.status_code == 400
    assert _count(db, Submission) == 0


def test_kobo_uuid_must_be_text(client, hook, phone, db):
    hook_id, secret = hook
    payload = kobo_payload(phone.posyandu_id, **{"_uuid": {"a": 1}})
    del payload["meta/instanceID"]
    r = client.post(f"/api/v1/intake/kobo/{hook_id}", json=payload, headers=_basic(secret))
    assert r.status_code == 400 and r.json()["error"] == "kobo.no_instance_id"


def test_a_kobo_burst_is_stored_and_processed_in_one_transaction(app, hook, phone, db,
                                                                  monkeypatch):
    """Kobo posts go through the same unit of work as OpenRosa: posts arriving together
    share the writer's transaction (group commit)."""
    import asyncio
    import threading

    import httpx

    from sync import kobo

    hook_id, secret = hook
    sessions, real = [], kobo.store_json

    def recording(session, **kwargs):
        sessions.append(session)
        return real(session, **kwargs)

    monkeypatch.setattr(kobo, "store_json", recording)
    release = threading.Event()

    async def burst():
        writer = app.state.submission_writer
        held = asyncio.ensure_future(writer.store(lambda tx: release.wait(10)))
        await asyncio.sleep(0.05)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://testserver") as http:
            posts = [asyncio.ensure_future(http.post(
                f"/api/v1/intake/kobo/{hook_id}", headers=_basic(secret),
                json=kobo_payload(phone.posyandu_id, _uuid=f"00000000-0000-4000-8000-00000000000{n}",
                                  **{"meta/instanceID": f"uuid:burst-{n}",
                                     "grp_child/child_name": f"Anak {'ABCD'[n]}"})))
                for n in range(4)]
            await asyncio.sleep(0.3)
            release.set()
            await held
            return await asyncio.gather(*posts)

    try:
        answers = asyncio.run(burst())
    finally:
        app.state.submission_writer.close()
    assert [r.status_code for r in answers] == [201] * 4, [r.text for r in answers]
    assert {r.json()["status"] for r in answers} == {"processed"}
    assert len(sessions) == 4 and len({id(s) for s in sessions}) == 1  # one transaction
    assert _count(db, Measurement) == 4
