"""The JSON sync API (sync.offline): a kader pulls only her scope and only what changed,
pushes versioned mutations that merge or open conflicts (never overwrite), replays
change nothing, and a supervisor resolves conflicts."""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from models import AuditLog, Person
from tests.support import KELURAHAN, add_posyandu, bearer


def _setup(client, make_user, db):
    mine = add_posyandu(db, KELURAHAN, "Melati 1")
    other = add_posyandu(db, KELURAHAN, "Mawar 2")
    make_user("sri", "kader", [f"posyandu:{mine}"])
    make_user("ani", "kader", [f"posyandu:{mine}"])
    make_user("budi", "kader", [f"posyandu:{other}"])
    make_user("spv", "supervisor", [KELURAHAN])
    return mine, other, {name: bearer(client, name, "password-123")
                         for name in ("sri", "ani", "budi", "spv")}


def _push(client, headers, *mutations, device="hp-1"):
    answer = client.post("/api/v1/sync/push", headers=headers,
                         json={"device_id": device, "mutations": list(mutations)})
    assert answer.status_code == 200, answer.text
    return answer.json()["results"]


def _create(pid, name="Ani", **changes):
    return {"mutation_id": str(uuid.uuid4()), "entity": "person", "id": pid, "op": "create",
            "base_version": 0, "changes": {"name": name, "sex": "female",
                                           "birth_date": "2024-05-01",
                                           "kelurahan_code": KELURAHAN, **changes}}


def _update(pid, base, **changes):
    return {"mutation_id": str(uuid.uuid4()), "entity": "person", "id": pid, "op": "update",
            "base_version": base, "changes": changes}


def _all_changes(client, headers, since=None, limit=500):
    seen = []
    while True:
        page = client.get("/api/v1/sync/changes", headers=headers,
                          params={"limit": limit, **({"since": since} if since else {})})
        assert page.status_code == 200, page.text
        body = page.json()
        seen += body["changes"]
        since = body["next_cursor"]
        if not body["more"]:
            return seen, since


def test_create_then_pull_shows_the_record_in_scope_only(client, make_user, db):
    mine, _, h = _setup(client, make_user, db)
    pid = str(uuid.uuid4())
    [result] = _push(client, h["sri"], _create(pid))
    assert result["status"] == "applied" and result["version"] == 1
    changes, cursor = _all_changes(client, h["ani"])
    assert [(c["entity"], c["id"], c["op"], c["version"]) for c in changes] == [
        ("person", pid, "upsert", 1)]
    data = changes[0]["data"]
    assert data == {"name": "Ani", "sex": "female", "birth_date": "2024-05-01", "nik": None,
                    "mother_id": None, "household_id": None, "kelurahan_code": KELURAHAN,
                    "posyandu_id": mine, "version": 1}
    # Another posyandu's kader sees nothing of it.
    assert _all_changes(client, h["budi"])[0] == []
    # Only what changed: nothing new after the cursor, then exactly the one update.
    assert _all_changes(client, h["ani"], since=cursor)[0] == []
    _push(client, h["sri"], _update(pid, 1, nik=None, name="Ani Lestari"))
    delta, _ = _all_changes(client, h["ani"], since=cursor)
    assert [(c["id"], c["version"], c["data"]["name"]) for c in delta] == [(pid, 2, "Ani Lestari")]


def test_replaying_a_mutation_returns_the_stored_result_and_changes_nothing(client, make_user, db):
    _, _, h = _setup(client, make_user, db)
    pid = str(uuid.uuid4())
    create = _create(pid)
    update = _update(pid, 1, name="Ani L")
    first = _push(client, h["sri"], create, update)
    again = _push(client, h["sri"], create, update)
    assert first == again and [r["status"] for r in first] == ["applied", "applied"]
    with Session(db) as s:
        assert s.get(Person, pid).version == 2


def test_independent_fields_merge_and_overlapping_fields_open_a_conflict(client, make_user, db):
    _, _, h = _setup(client, make_user, db)
    pid = str(uuid.uuid4())
    _push(client, h["sri"], _create(pid))
    # Both phones start from version 1, offline.
    [a] = _push(client, h["sri"], _update(pid, 1, name="Ani Lestari"), device="hp-sri")
    [b] = _push(client, h["ani"], _update(pid, 1, nik="3375014105240001"), device="hp-ani")
    assert (a["status"], a["version"]) == ("applied", 2)
    assert (b["status"], b["version"]) == ("merged", 3)
    # An overlapping edit: the name changed on the server since version 1.
    [c] = _push(client, h["ani"], _update(pid, 1, name="Ani Putri", sex="male"), device="hp-ani")
    assert c["status"] == "conflict" and c["conflict_id"] and c["version"] == 4
    with Session(db) as s:
        person = s.get(Person, pid)
        # The non-overlapping field is applied; the overlapping one keeps its current value.
        assert (person.name, person.sex, person.nik) == ("Ani Lestari", "male", "3375014105240001")
    listed = client.get("/api/v1/conflicts", headers=h["spv"], params={"status": "open"}).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == c["conflict_id"]
    detail = client.get(f"/api/v1/conflicts/{c['conflict_id']}", headers=h["spv"]).json()
    assert detail["fields"] == {"name": {"base": "Ani", "current": "Ani Lestari",
                                         "incoming": "Ani Putri"}}
    assert detail["device_id"] == "hp-ani" and detail["sources"]["base"]["version"] == 1
    # A kader of another posyandu cannot see it; kaders do not review.
    assert client.get(f"/api/v1/conflicts/{c['conflict_id']}", headers=h["budi"]).status_code == 403
    # A stale expected_version is 409 and changes nothing.
    stale = client.post(f"/api/v1/conflicts/{c['conflict_id']}/resolve", headers=h["spv"],
                        json={"choose": "incoming", "expected_version": 3})
    assert stale.status_code == 409 and stale.json()["error"] == "conflict.record_moved"
    _, cursor = _all_changes(client, h["sri"])
    done = client.post(f"/api/v1/conflicts/{c['conflict_id']}/resolve", headers=h["spv"],
                       json={"choose": "incoming", "expected_version": 4})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "resolved" and done.json()["resolution"]["version"] == 5
    with Session(db) as s:
        assert s.get(Person, pid).name == "Ani Putri"
        audit = s.exec(select(AuditLog).where(AuditLog.action == "conflict.resolve")).all()
        assert len(audit) == 1 and audit[0].entity_id == pid
    # The resolution reaches phones through the feed.
    delta, _ = _all_changes(client, h["sri"], since=cursor)
    assert [(c["id"], c["version"], c["data"]["name"]) for c in delta] == [(pid, 5, "Ani Putri")]
    again = client.post(f"/api/v1/conflicts/{c['conflict_id']}/resolve", headers=h["spv"],
                        json={"choose": "current"})
    assert again.status_code == 409 and again.json()["error"] == "conflict.resolved"


def test_resolving_with_typed_values(client, make_user, db):
    _, _, h = _setup(client, make_user, db)
    pid = str(uuid.uuid4())
    _push(client, h["sri"], _create(pid))
    _push(client, h["sri"], _update(pid, 1, name="Ani A"))
    [c] = _push(client, h["ani"], _update(pid, 1, name="Ani B"))
    bad = client.post(f"/api/v1/conflicts/{c['conflict_id']}/resolve", headers=h["spv"],
                      json={"values": {"shoe_size": 3}})
    assert bad.status_code == 400
    ok = client.post(f"/api/v1/conflicts/{c['conflict_id']}/resolve", headers=h["spv"],
                     json={"values": {"name": "Ani Budiarti"}})
    assert ok.status_code == 200
    with Session(db) as s:
        assert s.get(Person, pid).name == "Ani Budiarti"


def test_bad_mutations_are_rejected_one_by_one_and_a_bad_envelope_is_400(client, make_user, db):
    _, other, h = _setup(client, make_user, db)
    pid = str(uuid.uuid4())
    results = _push(client, h["sri"],
                    _create(pid),
                    _update(pid, 1, shoe_size=40),
                    _update(pid, 1, nik="123"),
                    _update(pid, 9, name="X"),
                    _update(str(uuid.uuid4()), 1, name="X"),
                    _create(str(uuid.uuid4()), posyandu_id=other),
                    _update(pid, 1, birth_date="2024-02-30"))
    assert [r["status"] for r in results] == ["applied"] + ["rejected"] * 6
    assert all(r["reason"] for r in results[1:])
    # Budi (another posyandu) cannot touch Sri's record.
    [foreign] = _push(client, h["budi"], _update(pid, 1, name="Y"))
    assert foreign["status"] == "rejected"
    with Session(db) as s:
        assert s.get(Person, pid).version == 1
    for body in ({}, {"device_id": "x", "mutations": [{"op": "create"}]},
                 {"device_id": "", "mutations": []}, [1, 2]):
        answer = client.post("/api/v1/sync/push", headers=h["sri"], json=body)
        assert answer.status_code == 400 and answer.json()["error"] == "sync.bad_push"
    assert client.post("/api/v1/sync/push", json={"device_id": "x", "mutations": []}).status_code == 401
    assert client.get("/api/v1/sync/changes").status_code == 401
    make_user("dinkes", "agency", [KELURAHAN], agency="Dinkes")
    agency = client.post("/api/v1/sync/push", headers=bearer(client, "dinkes", "password-123"),
                         json={"device_id": "x", "mutations": [_update(pid, 1, name="Z")]})
    assert agency.status_code == 403


def test_a_mutation_aimed_at_a_merged_record_goes_to_the_survivor(client, make_user, db):
    _, _, h = _setup(client, make_user, db)
    loser, survivor = str(uuid.uuid4()), str(uuid.uuid4())
    _push(client, h["sri"], _create(loser), _create(survivor, name="Ani S"))
    with Session(db) as s:  # as a merge does (the merge itself is #14's)
        row = s.get(Person, loser)
        row.merged_into_id = survivor
        s.add(row)
        s.commit()
    [r] = _push(client, h["sri"], _update(loser, 1, nik="3375014105240001"))
    assert r["status"] == "applied" and r["id"] == survivor and r["redirected_from"] == loser
    changes, _ = _all_changes(client, h["sri"])
    assert [c["merged_into"] for c in changes if c["id"] == loser] == [survivor]
    assert {c["op"] for c in changes if c["id"] == loser} == {"merge"}


def test_a_cursor_of_another_scope_answers_410_and_the_snapshot_restarts(client, make_user, db):
    _, _, h = _setup(client, make_user, db)
    ids = [str(uuid.uuid4()) for _ in range(5)]
    _push(client, h["sri"], *[_create(pid, name=f"Anak {i}") for i, pid in enumerate(ids)])
    _, cursor = _all_changes(client, h["sri"])
    gone = client.get("/api/v1/sync/changes", headers=h["budi"], params={"since": cursor})
    assert gone.status_code == 410 and gone.json()["error"] == "sync.reset_required"
    bad = client.get("/api/v1/sync/changes", headers=h["sri"], params={"since": "nonsense"})
    assert bad.status_code == 400
    seen, page = [], None
    while True:
        body = client.get("/api/v1/sync/snapshot", headers=h["sri"],
                          params={"limit": 2, **({"page": page} if page else {})}).json()
        seen += [r["id"] for r in body["records"]]
        page = body["next_page"]
        if page is None:
            break
    assert sorted(seen) == sorted(ids)
    # Changes after the snapshot come through its cursor.
    _push(client, h["sri"], _update(ids[0], 1, name="Anak Nol"))
    delta, _ = _all_changes(client, h["sri"], since=body["cursor"])
    assert [(c["id"], c["version"]) for c in delta] == [(ids[0], 2)]


def test_devices_show_last_pull_and_push_and_pending_conflicts(client, make_user, db):
    _, _, h = _setup(client, make_user, db)
    pid = str(uuid.uuid4())
    _push(client, h["sri"], _create(pid), device="hp-sri")
    _push(client, h["sri"], _update(pid, 1, name="A1"), device="hp-sri")
    _push(client, h["ani"], _update(pid, 1, name="A2"), device="hp-ani")
    client.get("/api/v1/sync/changes", headers=h["ani"], params={"device_id": "hp-ani"})
    devices = {d["device_id"]: d for d in
               client.get("/api/v1/devices", headers=h["spv"]).json()["items"]}
    assert set(devices) == {"hp-sri", "hp-ani"}
    assert devices["hp-ani"]["pending_conflicts"] == 1 and devices["hp-ani"]["last_pull_at"]
    assert devices["hp-sri"]["last_pull_at"] is None and devices["hp-sri"]["last_push_at"]
    assert client.get("/api/v1/devices", headers=h["sri"]).status_code == 403


def test_a_record_that_moves_away_leaves_a_tombstone_for_the_old_scope(client, make_user, db):
    _, other, h = _setup(client, make_user, db)
    pid = str(uuid.uuid4())
    _push(client, h["sri"], _create(pid))
    _, sri_cursor = _all_changes(client, h["sri"])
    [moved] = _push(client, h["spv"], _update(pid, 1, posyandu_id=other))
    assert moved["status"] == "applied"
    gone, _ = _all_changes(client, h["sri"], since=sri_cursor)
    assert [(c["id"], c["op"], c["data"]) for c in gone] == [(pid, "delete", None)]
    arrived, _ = _all_changes(client, h["budi"])
    assert [(c["id"], c["op"], c["version"]) for c in arrived] == [(pid, "upsert", 2)]
    # The supervisor of the kelurahan sees both: the move, then the record at its place.
    both, _ = _all_changes(client, h["spv"])
    assert [c["op"] for c in both] == ["upsert", "delete", "upsert"]
