"""Duplicate review in the console: the queue, a pair side by side with its evidence and
both growth histories, merge with a chosen survivor and per-field values, unmerge from
the absorbed record's page (the registry as it was), dismiss; the dashboard counts the
open pairs as the API does."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from models import AuditLog, DuplicatePair, Measurement, Person
from tests.console_data import PASSWORD, duplicate_pair, setup_field
from tests.integration.console.conftest import sign_in
from tests.support import bearer


def _pair(db) -> DuplicatePair:
    with Session(db) as s:
        return s.exec(select(DuplicatePair)).one()


def _registry(db) -> dict:
    with Session(db) as s:
        return {"persons": {p.id: (p.name, p.merged_into_id, p.nik)
                            for p in s.exec(select(Person)).all()},
                "measurements": {m.id: m.person_id for m in s.exec(select(Measurement)).all()}}


def test_a_pair_is_merged_with_chosen_values_then_unmerged_from_the_persons_page(client, db):
    field = setup_field(db)
    duplicate_pair(client, field)
    pair = _pair(db)
    before = _registry(db)
    csrf = sign_in(client, "spv")
    home = client.get("/admin").text
    api_total = client.get("/api/v1/duplicates", params={"status": "open"},
                           headers=bearer(client, "spv", PASSWORD)).json()["total"]
    assert re.search(r'data-figure="open_duplicates"><strong>(\d+)', home).group(1) == str(api_total) == "1"
    assert f'data-pair="{pair.id}"' in client.get("/admin/duplicates").text
    page = client.get(f"/admin/duplicates/{pair.id}").text
    assert "Aisyah Putri" in page and "Aisyah" in page
    assert page.count('class="growth-chart"') == 4  # both growth histories
    assert 'data-field="name" class="differs"' in page
    names = {pair.a_id: before["persons"][pair.a_id][0], pair.b_id: before["persons"][pair.b_id][0]}
    # The survivor is the record named "Aisyah"; the name kept is the other one's.
    keep_name_from = "a" if names[pair.a_id] == "Aisyah Putri" else "b"
    survivor = "b" if keep_name_from == "a" else "a"
    answer = client.post(f"/admin/duplicates/{pair.id}/merge", data={
        "csrf_token": csrf, "survivor": survivor, "keep.name": keep_name_from},
        follow_redirects=False)
    assert answer.status_code == 303, answer.text
    survivor_id, absorbed_id = getattr(pair, f"{survivor}_id"), getattr(
        pair, f"{keep_name_from}_id")
    with Session(db) as s:
        assert s.get(Person, survivor_id).name == "Aisyah Putri"
        assert s.get(Person, absorbed_id).merged_into_id == survivor_id
        assert {m.person_id for m in s.exec(select(Measurement)).all()} == {survivor_id}
    assert 'id="pair-status">digabung' in client.get(f"/admin/duplicates/{pair.id}").text
    survivor_page = client.get(f"/admin/persons/{survivor_id}").text
    assert f"/admin/persons/{absorbed_id}/unmerge" in survivor_page
    absorbed_page = client.get(f"/admin/persons/{absorbed_id}").text
    assert "sudah digabung ke" in absorbed_page
    undone = client.post(f"/admin/persons/{absorbed_id}/unmerge", data={"csrf_token": csrf},
                         follow_redirects=False)
    assert undone.status_code == 303
    assert _registry(db) == before
    with Session(db) as s:
        actions = [a.action for a in s.exec(select(AuditLog)).all()]
    assert "person.merge" in actions and "person.unmerge" in actions


def test_a_pair_is_dismissed_and_a_kader_may_not_decide(client, console_client, db):
    field = setup_field(db)
    duplicate_pair(client, field)
    pair = _pair(db)
    sign_in(console_client, "sri")
    assert console_client.get(f"/admin/duplicates/{pair.id}").status_code == 403
    csrf = sign_in(client, "spv")
    assert client.post(f"/admin/duplicates/{pair.id}/dismiss").status_code == 403  # no CSRF
    client.post(f"/admin/duplicates/{pair.id}/dismiss", data={"csrf_token": csrf})
    assert _pair(db).status == "dismissed"
    again = client.post(f"/admin/duplicates/{pair.id}/merge",
                        data={"csrf_token": csrf, "survivor": "a"})
    assert again.status_code == 409
