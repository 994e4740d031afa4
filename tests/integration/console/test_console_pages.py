"""The console's pages over the real service: scopes as the API's (a kader cannot open
another posyandu's child), the growth chart on the WHO curves, the dashboard's figures
equal to the API's, submissions with the form's labels and reprocessing, conflicts
resolved by side, per field or typed value, users and phones; audit entries for every
change."""

from __future__ import annotations

import re
from datetime import date

from sqlmodel import Session, select

from models import AppToken, AuditLog, Person, SyncConflict, User
from sync.dashboard import month_of
from tests.console_data import (
    PASSWORD,
    add_missing_kelurahan,
    children_this_month,
    failed_submission,
    open_conflict,
    setup_field,
)
from tests.integration.console.conftest import sign_in
from tests.support import KELURAHAN, bearer


def _person_id(db, name: str) -> str:
    with Session(db) as s:
        return s.exec(select(Person.id).where(Person.name == name)).one()


def _audit(db, action: str) -> list[AuditLog]:
    with Session(db) as s:
        return list(s.exec(select(AuditLog).where(AuditLog.action == action)).all())


def test_a_kader_opens_her_posyandus_child_but_not_another_posyandus(client, console_client, db):
    field = setup_field(db)
    children_this_month(client, field)
    siti = _person_id(db, "Siti Aminah")
    sign_in(console_client, "sri")
    assert console_client.get(f"/admin/persons/{siti}").status_code == 200
    sign_in(client, "budi")
    refused = client.get(f"/admin/persons/{siti}")
    assert refused.status_code == 403 and "di luar wilayah kerja" in refused.text
    assert client.get("/admin/persons/no-such-person").status_code == 404
    # Her search does not find the other posyandu's children either.
    assert "Siti Aminah" not in client.get("/admin/registry?q=siti").text
    assert "Siti Aminah" in console_client.get("/admin/registry?q=siti").text
    # Nor the review queues: those are a supervisor's (as /api/v1/submissions).
    assert client.get("/admin/submissions").status_code == 403


def test_a_childs_page_draws_the_who_curves_and_her_points_with_flagged_ones_marked(client, db):
    field = setup_field(db)
    children_this_month(client, field)
    sign_in(client, "spv")
    siti = client.get(f"/admin/persons/{_person_id(db, 'Siti Aminah')}").text
    for chart in ("length_height_for_age", "weight_for_age", "weight_for_length"):
        svg = re.search(rf'<svg class="growth-chart"[^>]*data-chart="{chart}".*?</svg>', siti,
                        re.S).group(0)
        assert sorted(re.findall(r'data-sd="(-?\d)"', svg)) == ["-2", "-3", "0", "2", "3"]
        assert len(re.findall(r'<circle class="pt"', svg)) == 2  # two visits, none flagged
    assert "weight_for_height" not in siti  # measured lying only
    # Ani's 30 kg at 35 months is beyond WHO's plausible weight-for-age: a flagged point.
    ani = client.get(f"/admin/persons/{_person_id(db, 'Ani Rahma')}").text
    wfa = re.search(r'data-chart="weight_for_age".*?</svg>', ani, re.S).group(0)
    assert 'class="pt pt-flag"' in wfa and "<circle" not in wfa
    assert 'class="flagged"' in ani  # its row in the measurement table
    # Budi was measured standing: weight-for-height.
    budi = client.get(f"/admin/persons/{_person_id(db, 'Budi Santoso')}").text
    assert 'data-chart="weight_for_height"' in budi


def test_the_dashboard_shows_the_figures_the_api_gives(client, db):
    field = setup_field(db)
    children_this_month(client, field)
    open_conflict(client)
    failed_submission(client, db)
    sign_in(client, "spv")
    page = client.get("/admin").text
    row = re.search(rf'<tr data-kelurahan="{re.escape(KELURAHAN)}">(.*?)</tr>', page, re.S).group(1)
    shown = {name: int(value) for name, value in
             re.findall(r'data-figure="(\w+)">(\d+)', row)}
    headers = bearer(client, "spv", PASSWORD)
    month = month_of(date.today())
    base = {"kelurahan_code": KELURAHAN, "from": month.since.isoformat(),
            "to": month.until.isoformat(), "limit": 1}

    def total(path, **params):
        answer = client.get(path, headers=headers, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()["total"]

    assert shown["measurements"] == total("/api/v1/measurements", **base) == 3
    for name in ("stunted", "wasted", "underweight"):
        assert shown[name] == total("/api/v1/measurements", **base, **{name: "true"}), name
    assert shown["stunted"] >= 1
    # The trend: 12 months ending with this one; only this month has measurements (Siti's
    # visit a year ago is the 13th month back), at the prevalence of the totals row.
    trend = re.search(r'<svg class="trend-chart".*?</svg>', page, re.S).group(0)
    assert len(re.findall(r'text-anchor="middle">\d\d/\d\d<', trend)) == 12
    stunted = total("/api/v1/measurements", **base, stunted="true") / (
        total("/api/v1/measurements", **base, stunted="true")
        + total("/api/v1/measurements", **base, stunted="false"))
    [point] = re.findall(r'class="tr tr-stunted"[^>]*><title>[^<]*: ([\d.]+)%', trend)
    assert float(point) == round(stunted * 100, 1)
    tiles = dict(re.findall(r'data-figure="(\w+)"><strong>(\d+)</strong>', page))
    assert int(tiles["open_conflicts"]) == total("/api/v1/conflicts", status="open") == 1
    assert int(tiles["failed_submissions"]) == total("/api/v1/submissions", status="failed") == 1
    devices = client.get("/api/v1/devices", headers=headers).json()["items"]
    assert int(tiles["stale_phones"]) == 0 and len(devices) == 2  # both synced just now


def test_a_submission_shows_the_forms_labels_and_a_failed_one_is_reprocessed(extra_wilayah,
                                                                             client, db):
    setup_field(db)
    submission_id = failed_submission(client, db)
    sign_in(client, "spv")
    listed = client.get("/admin/submissions?status=failed").text
    assert f'data-submission="{submission_id}"' in listed
    page = client.get(f"/admin/submissions/{submission_id}").text
    assert "Nama anak" in page and "Rafi" in page and "<child_name>" not in page
    assert "Perempuan" in page  # the choice's label, not "female"
    assert f"/admin/submissions/{submission_id}/attachments/kms.jpg" in page
    photo = client.get(f"/admin/submissions/{submission_id}/attachments/kms.jpg")
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    client.get("/admin/lang/en")
    assert "Child&#39;s name" in client.get(f"/admin/submissions/{submission_id}").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    still = client.post(f"/admin/submissions/{submission_id}/reprocess", data={"csrf_token": csrf})
    assert still.status_code == 200 and 'data-status="failed"' in still.text
    add_missing_kelurahan(db)
    extra_wilayah.append("33.75.01.1098")
    done = client.post(f"/admin/submissions/{submission_id}/reprocess", data={"csrf_token": csrf})
    assert 'data-status="processed"' in done.text
    assert [a.detail["status"] for a in _audit(db, "submission.reprocess")] == ["failed",
                                                                                "processed"]
    assert client.post(f"/admin/submissions/{submission_id}/reprocess").status_code == 403


def test_a_conflict_is_resolved_per_field_with_a_typed_value(client, db):
    setup_field(db)
    conflict_id = open_conflict(client)
    sign_in(client, "spv")
    assert f'data-conflict="{conflict_id}"' in client.get("/admin/conflicts").text
    page = client.get(f"/admin/conflicts/{conflict_id}").text
    for value in ("Dewi", "Dewi Sartika", "Dewi Lestari", "sri", "hp-2"):
        assert value in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    version = re.search(r'name="expected_version" value="(\d+)"', page).group(1)
    answer = client.post(f"/admin/conflicts/{conflict_id}/resolve", data={
        "csrf_token": csrf, "expected_version": version, "mode": "fields",
        "pick.name": "typed", "typed.name": "Dewi Sartika Lestari"}, follow_redirects=False)
    assert answer.status_code == 303
    with Session(db) as s:
        conflict = s.get(SyncConflict, conflict_id)
        person = s.get(Person, conflict.entity_id)
    assert conflict.status == "resolved" and person.name == "Dewi Sartika Lestari"
    [audit] = _audit(db, "conflict.resolve")
    assert audit.detail["conflict_id"] == conflict_id
    again = client.post(f"/admin/conflicts/{conflict_id}/resolve", data={
        "csrf_token": csrf, "mode": "incoming"})
    assert again.status_code == 409
    assert "open" not in client.get("/admin/conflicts?status=open").text.split("<tbody>")[1]


def test_a_conflict_is_resolved_by_taking_the_incoming_side(client, db):
    setup_field(db)
    conflict_id = open_conflict(client)
    sign_in(client, "spv")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"',
                     client.get(f"/admin/conflicts/{conflict_id}").text).group(1)
    client.post(f"/admin/conflicts/{conflict_id}/resolve",
                data={"csrf_token": csrf, "mode": "incoming"})
    with Session(db) as s:
        conflict = s.get(SyncConflict, conflict_id)
        assert s.get(Person, conflict.entity_id).name == "Dewi Lestari"


def test_an_admin_creates_a_kader_shows_her_qr_code_revokes_it_and_deactivates_her(client, db):
    field = setup_field(db)
    csrf = sign_in(client, "boss")
    made = client.post("/admin/users", data={
        "csrf_token": csrf, "username": "nina", "password": "password-456", "role": "kader",
        "scopes": f"posyandu:{field.posyandu}", "full_name": "Nina"}, follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == "/admin/users/nina"
    bad = client.post("/admin/users", data={"csrf_token": csrf, "username": "x", "role": "kader",
                                            "password": "password-456", "scopes": ""})
    assert bad.status_code == 400 and "wilayah" in bad.text.lower()
    qr = client.post("/admin/users/nina/collect-qr", data={"csrf_token": csrf, "label": "HP Nina"})
    assert qr.status_code == 200 and 'src="data:image/png;base64,' in qr.text
    assert "/key/" in qr.text
    with Session(db) as s:
        nina = s.exec(select(User).where(User.username == "nina")).one()
        [token] = s.exec(select(AppToken).where(AppToken.user_id == nina.id)).all()
    client.post(f"/admin/app-tokens/{token.id}/revoke", data={"csrf_token": csrf})
    client.post("/admin/users/nina/active", data={"csrf_token": csrf, "active": "0"})
    with Session(db) as s:
        assert s.get(AppToken, token.id).revoked_at is not None
        assert s.get(User, nina.id).is_active is False
    actions = {a.action for a in _audit(db, "user.create") + _audit(db, "app_token.create")
               + _audit(db, "app_token.revoke") + _audit(db, "user.update")}
    assert actions == {"user.create", "app_token.create", "app_token.revoke", "user.update"}
    # A supervisor has no users page.
    sign_in(client, "spv")
    assert client.get("/admin/users").status_code == 403


def test_household_page_lists_members_and_a_search_by_kk_finds_it(client, db):
    field = setup_field(db)
    children_this_month(client, field)
    sign_in(client, "sri")
    found = client.get("/admin/registry?kind=households&q=3375010101200003").text
    link = re.search(r'href="(/admin/households/[^"]+)"', found).group(1)
    page = client.get(link).text
    assert "Siti Aminah" in page and "Rina Wati" in page


def test_an_admin_grants_an_agency_its_programmes(client, db):
    setup_field(db)
    csrf = sign_in(client, "boss")
    client.post("/admin/users", data={
        "csrf_token": csrf, "username": "dinsos", "password": "password-456", "role": "agency",
        "scopes": "33.75", "agency": "Dinas Sosial"})
    granted = client.post("/admin/users/dinsos/programs", data={
        "csrf_token": csrf, "program": ["food_aid", "fish_aid"]}, follow_redirects=False)
    assert granted.status_code == 303
    answer = client.get("/api/v1/users/dinsos/programs", headers=bearer(client, "boss", PASSWORD))
    assert answer.json()["programs"] == ["fish_aid", "food_aid"]
    page = client.get("/admin/users/dinsos").text
    assert page.count("checked") == 2


def test_an_agency_sees_masked_niks_on_the_registry_pages_as_in_the_api(client, db, make_user):
    field = setup_field(db)
    children_this_month(client, field)
    make_user("dinkes", "agency", [KELURAHAN], agency="Dinas Kesehatan")
    sign_in(client, "dinkes")
    found = client.get("/admin/registry?q=siti").text
    assert "3375014403240001" not in found and "3375********0001" in found
    page = client.get(f"/admin/persons/{_person_id(db, 'Siti Aminah')}").text
    assert "3375014403240001" not in page
