"""ODK offline entities, as ODK Collect (v2024.3+) uses them, against the XForms pyxform
builds from our forms: the manifest's entity lists, the list CSV with its ETag and 304,
the integrity check, and submissions whose `<meta><entity>` creates or updates a child,
including an offline branch of updates that reaches the server out of order."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid

import pytest
from lxml import etree
from sqlmodel import Session, select

from models import EntityAction, Measurement, Person, Submission, SyncConflict
from tests.support import OPENROSA, child_values, entity_submission, multipart_files

NS = {"x": "http://openrosa.org/xforms/xformsList", "m": "http://openrosa.org/xforms/xformsManifest"}


def _post(client, phone, xml):
    return client.post(f"{phone.prefix}/submission", headers=OPENROSA, files=multipart_files(xml))


def _manifest(client, phone, form_id="anthropometry") -> dict:
    r = client.get(f"{phone.prefix}/forms/{form_id}/manifest", headers=OPENROSA)
    assert r.status_code == 200, r.text
    files = {}
    for f in etree.fromstring(r.content).xpath("//m:mediaFile", namespaces=NS):
        files[f.findtext("m:filename", namespaces=NS)] = {
            "type": f.get("type"), "hash": f.findtext("m:hash", namespaces=NS),
            "url": f.findtext("m:downloadUrl", namespaces=NS).replace("http://testserver", ""),
            "integrity": (f.findtext("m:integrityUrl", namespaces=NS) or "")
            .replace("http://testserver", "") or None}
    return files


def _rows(body: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body.decode())))


def _new_child(phone, **overrides):
    return child_values(posyandu_id=phone.posyandu_id, is_new_child="yes", **overrides)


def _follow_up(phone, child_id, **overrides):
    return child_values(posyandu_id=phone.posyandu_id, is_new_child="no", child_pick=child_id,
                        child_id=child_id, **overrides)


def test_the_manifest_lists_entity_lists_with_integrity_and_the_csv_has_etag_and_304(
        client, phone, forms):
    listed = etree.fromstring(client.get(f"{phone.prefix}/formList", headers=OPENROSA).content)
    urls = {x.findtext("x:formID", namespaces=NS): x.findtext("x:manifestUrl", namespaces=NS)
            for x in listed.xpath("//x:xform", namespaces=NS)}
    assert urls["anthropometry"] == f"http://testserver{phone.prefix}/forms/anthropometry/manifest"
    form = client.get(f"{phone.prefix}/forms/anthropometry/form.xml", headers=OPENROSA).content
    assert b'entities:entities-version="2024.1.0"' in form and b'dataset="children"' in form
    manifest = _manifest(client, phone)
    children = manifest["children.csv"]
    assert children["type"] == "entityList"
    assert children["integrity"] == f"{phone.prefix}/entity-lists/children/integrity"
    assert manifest["context.csv"]["type"] is None and manifest["context.csv"]["integrity"] is None
    assert _manifest(client, phone, "pregnancy_screening")["women.csv"]["type"] == "entityList"
    assert _manifest(client, phone, "sanitation_check")["households.csv"]["type"] == "entityList"
    first = client.get(children["url"], headers=OPENROSA)
    assert first.status_code == 200
    assert first.content.decode().splitlines() == [
        "name,label,__version,nik,full_name,sex,birth_date,mother_name,mother_nik,household_kk,"
        "kelurahan_code,posyandu_id"]
    etag = first.headers["ETag"]
    assert children["hash"] == f"md5:{etag.strip(chr(34))}"
    again = client.get(children["url"], headers={**OPENROSA, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    # A child registered: the list, its ETag and the manifest hash all change.
    child = str(uuid.uuid4())
    assert _post(client, phone, entity_submission(forms["anthropometry"], _new_child(phone),
                                                   entity_id=child, create=True)).status_code == 201
    changed = client.get(children["url"], headers={**OPENROSA, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    [row] = _rows(changed.content)
    assert (row["name"], row["__version"], row["full_name"]) == (child, "1", "Siti Aminah")
    assert _manifest(client, phone)["children.csv"]["hash"] == \
        f"md5:{changed.headers['ETag'].strip(chr(34))}"


def test_a_child_registered_offline_keeps_the_phone_id_and_a_follow_up_updates_it(
        client, phone, forms, db):
    child = str(uuid.uuid4())
    create = entity_submission(forms["anthropometry"], _new_child(phone), entity_id=child,
                                create=True)
    assert _post(client, phone, create).status_code == 201
    # The afternoon's follow-up, based on the list the phone had (version 1 from the server).
    update = entity_submission(forms["anthropometry"], _follow_up(
        phone, child, child_name="Siti Aminah Putri", measured_on="2026-11-03"),
        entity_id=child, create=False, base=1, trunk=1, branch=str(uuid.uuid4()))
    r = _post(client, phone, update)
    assert r.status_code == 201
    with Session(db) as s:
        person = s.get(Person, child)
        assert (person.name, person.version) == ("Siti Aminah Putri", 2)
        assert s.exec(select(Measurement.person_id)).all() == [child, child]
        assert {a.status for a in s.exec(select(EntityAction)).all()} == {"applied"}


def test_an_offline_branch_arriving_out_of_order_is_held_then_applied_in_branch_order(
        client, phone, forms, db):
    child, branch = str(uuid.uuid4()), str(uuid.uuid4())
    form = forms["anthropometry"]
    create = entity_submission(form, _new_child(phone), entity_id=child, create=True)
    # Two updates made offline on the phone, on the child it registered offline:
    # local version 1 -> 2 -> 3, one branch, no trunk (never seen from the server).
    first = entity_submission(form, _follow_up(phone, child, child_name="Siti A",
                                                measured_on="2026-11-03"),
                               entity_id=child, create=False, base=1, branch=branch)
    second = entity_submission(form, _follow_up(phone, child, child_name="Siti B",
                                                 child_nik="3375014403240009",
                                                 measured_on="2026-11-04"),
                                entity_id=child, create=False, base=2, branch=branch)
    held = _post(client, phone, second)
    assert held.status_code == 201 and "setelah formulir sebelumnya" in held.text
    assert _post(client, phone, first).status_code == 201  # held too: no registration yet
    with Session(db) as s:
        assert s.get(Person, child) is None
        assert sorted(s.exec(select(Submission.status)).all()) == ["held", "held"]
        assert s.exec(select(Measurement)).all() == []
    # The registration arrives last: everything is applied, in branch order.
    assert _post(client, phone, create).status_code == 201
    with Session(db) as s:
        person = s.get(Person, child)
        assert (person.name, person.nik, person.version) == ("Siti B", "3375014403240009", 3)
        assert sorted(s.exec(select(Submission.status)).all()) == ["processed"] * 3
        assert len(s.exec(select(Measurement)).all()) == 3
        actions = s.exec(select(EntityAction).order_by(EntityAction.local_version)).all()
        assert [(a.action, a.local_version, a.server_version, a.status) for a in actions] == [
            ("create", 1, 1, "applied"), ("update", 2, 2, "applied"), ("update", 3, 3, "applied")]
        assert s.exec(select(SyncConflict)).all() == []


def test_a_stale_base_version_merges_other_fields_and_opens_a_conflict_on_the_same_field(
        client, phone, forms, db, make_user):
    from tests.support import bearer

    child = str(uuid.uuid4())
    form = forms["anthropometry"]
    assert _post(client, phone, entity_submission(form, _new_child(phone), entity_id=child,
                                                   create=True)).status_code == 201
    # The supervisor corrects the name on the server (version 2) while the phone is offline.
    make_user("spv", "supervisor", ["33.75.01.1002"])
    spv = bearer(client, "spv", "password-123")
    pushed = client.post("/api/v1/sync/push", headers=spv, json={"device_id": "web", "mutations": [
        {"mutation_id": str(uuid.uuid4()), "entity": "person", "id": child, "op": "update",
         "base_version": 1, "changes": {"name": "Siti Aminah S"}}]}).json()["results"]
    assert pushed[0]["status"] == "applied"
    # The kader's offline edit was made on version 1: a new name and the sex corrected.
    stale = entity_submission(form, _follow_up(phone, child, child_name="Siti Aminah K",
                                                child_sex="male", measured_on="2026-11-03"),
                               entity_id=child, create=False, base=1, trunk=1, branch="b1")
    assert _post(client, phone, stale).status_code == 201
    with Session(db) as s:
        person = s.get(Person, child)
        assert (person.name, person.sex, person.version) == ("Siti Aminah S", "male", 3)
        [conflict] = s.exec(select(SyncConflict)).all()
        assert conflict.fields == {"name": {"base": "Siti Aminah", "current": "Siti Aminah S",
                                            "incoming": "Siti Aminah K"}}
        assert conflict.submission_id is not None and conflict.status == "open"
        assert s.exec(select(Submission.status)).all() == ["processed", "processed"]


def test_a_create_identity_finds_registered_is_an_alias_that_integrity_reports_merged(
        client, phone, forms, db):
    form = forms["anthropometry"]
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    assert _post(client, phone, entity_submission(form, _new_child(phone), entity_id=first,
                                                   create=True)).status_code == 201
    # Another phone registers the same child (same NIK) offline, with its own id.
    assert _post(client, phone, entity_submission(
        form, _new_child(phone, measured_on="2026-11-05"), entity_id=second,
        create=True)).status_code == 201
    with Session(db) as s:
        alias = s.get(Person, second)
        assert alias.merged_into_id == first
        assert s.exec(select(Measurement.person_id)).all() == [first, first]
    listed = _rows(client.get(_manifest(client, phone)["children.csv"]["url"],
                              headers=OPENROSA).content)
    assert [row["name"] for row in listed] == [first]
    never_sent = str(uuid.uuid4())
    r = client.get(f"{phone.prefix}/entity-lists/children/integrity", headers=OPENROSA,
                   params={"id": f"{second},{first},{never_sent}"})
    assert r.status_code == 200 and r.headers["X-OpenRosa-Version"] == "1.0"
    doc = etree.fromstring(r.content)
    answer = {e.get("id"): (e.findtext("deleted"), e.findtext("mergedInto"))
              for e in doc.iter("entity")}
    assert answer == {second: ("true", first), first: ("false", None), never_sent: ("false", None)}
    # A follow-up the other phone makes of its own id reaches the survivor.
    follow = entity_submission(form, _follow_up(phone, second, measured_on="2026-11-06"),
                                entity_id=second, create=False, base=1, branch="b2")
    assert _post(client, phone, follow).status_code == 201
    with Session(db) as s:
        assert s.exec(select(Measurement.person_id)).all() == [first] * 3
    # The JSON feed says the same: the phone's id now lives at the survivor.
    from tests.support import bearer
    feed = client.get("/api/v1/sync/changes", headers=bearer(client, phone.username, phone.password))
    assert [(c["op"], c["merged_into"]) for c in feed.json()["changes"] if c["id"] == second] == [
        ("merge", first)]
    bad = client.get(f"{phone.prefix}/entity-lists/trees/integrity", headers=OPENROSA,
                     params={"id": first})
    assert bad.status_code == 400


def test_forms_without_entities_keep_the_plain_pick_lists(client, phone, db, tmp_path):
    """KoboCollect (and any form version without an entities sheet) gets the CSV pick
    list exactly as before: no entityList, no __version."""
    from clients.kobo_forms.build import (
        build_xform_from_source,
        read_sheets,
        without_entities,
        write_xlsx,
    )
    from sync.forms import publish

    sheets = without_entities(read_sheets("anthropometry"))
    sheets["settings"][1][sheets["settings"][0].index("version")] = "1999010101"
    built = build_xform_from_source(write_xlsx(sheets, tmp_path / "anthropometry.xlsx"))
    assert b"entities-version" not in built.xml
    with Session(db) as s:
        publish(s, form_id="anthropometry", version=built.version, title=built.title,
                xml=built.xml, media=built.media)
        s.commit()
    manifest = _manifest(client, phone)
    assert manifest["children.csv"]["type"] is None and manifest["children.csv"]["integrity"] is None
    body = client.get(manifest["children.csv"]["url"], headers=OPENROSA)
    assert body.content.decode().splitlines()[0].startswith("name,label,nik,full_name")
    assert "ETag" not in body.headers
    assert manifest["children.csv"]["hash"] == "md5:" + hashlib.md5(body.content).hexdigest()


ORDERS = list(__import__("itertools").permutations(range(3)))


@pytest.mark.parametrize("order", ORDERS, ids=["".join(map(str, o)) for o in ORDERS])
def test_every_arrival_order_of_an_offline_branch_ends_in_the_same_state(client, phone, forms, db,
                                                                        order):
    """A registration and two updates made offline on one phone, sent in any order:
    the same final record, every form processed, nothing applied twice or dropped."""
    child, branch = str(uuid.uuid4()), str(uuid.uuid4())
    form = forms["anthropometry"]
    sent = [
        entity_submission(form, _new_child(phone), entity_id=child, create=True),
        entity_submission(form, _follow_up(phone, child, child_name="Siti A",
                                            measured_on="2026-11-03"),
                           entity_id=child, create=False, base=1, branch=branch),
        entity_submission(form, _follow_up(phone, child, child_name="Siti B",
                                            child_nik="3375014403240009",
                                            measured_on="2026-11-04"),
                           entity_id=child, create=False, base=2, branch=branch),
    ]
    for i in order:
        assert _post(client, phone, sent[i]).status_code == 201
    with Session(db) as s:
        person = s.get(Person, child)
        assert (person.name, person.nik, person.version) == ("Siti B", "3375014403240009", 3)
        assert s.exec(select(Submission.status)).all() == ["processed"] * 3
        assert len(s.exec(select(Measurement)).all()) == 3
        assert s.exec(select(SyncConflict)).all() == []
