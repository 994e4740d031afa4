"""The exchange ODK Collect performs, against XForms built by pyxform from our forms."""

from __future__ import annotations

import base64
import hashlib
import threading
from datetime import date

import pytest
from lxml import etree
from sqlmodel import Session, func, select

from indicators.anthro import age_in_days
from indicators.child import assess_child
from models import Attachment, Measurement, Person, Submission
from sync.identity import PersonClaim, person_candidates
from tests.support import (
    KELURAHAN,
    OPENROSA,
    add_posyandu,
    child_values,
    fill_submission,
    multipart_files,
)

NS = {"x": "http://openrosa.org/xforms/xformsList", "m": "http://openrosa.org/xforms/xformsManifest",
      "r": "http://openrosa.org/http/response"}


def _count(db, model) -> int:
    with Session(db) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def _post(client, phone, xml, attachments=None, headers=OPENROSA):
    return client.post(f"{phone.prefix}/submission", headers=headers,
                       files=multipart_files(xml, attachments))


def test_form_list_hashes_match_the_downloaded_forms(client, phone):
    r = client.get(f"{phone.prefix}/formList", headers=OPENROSA)
    assert r.status_code == 200
    assert r.headers["X-OpenRosa-Version"] == "1.0"
    doc = etree.fromstring(r.content)
    ids = doc.xpath("//x:formID/text()", namespaces=NS)
    assert sorted(ids) == ["anthropometry", "pregnancy_screening", "sanitation_check"]
    for xform in doc.xpath("//x:xform", namespaces=NS):
        url = xform.findtext("x:downloadUrl", namespaces=NS)
        assert url.startswith(f"http://testserver{phone.prefix}/")
        body = client.get(url.replace("http://testserver", ""), headers=OPENROSA).content
        assert xform.findtext("x:hash", namespaces=NS) == "md5:" + hashlib.md5(body).hexdigest()
        assert xform.findtext("x:manifestUrl", namespaces=NS)


def test_manifest_media_hash_matches_the_scoped_pick_list(client, phone, forms):
    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    assert _post(client, phone, xml).status_code == 201
    r = client.get(f"{phone.prefix}/forms/anthropometry/manifest", headers=OPENROSA)
    media = etree.fromstring(r.content).xpath("//m:mediaFile", namespaces=NS)[0]
    assert media.findtext("m:filename", namespaces=NS) == "children.csv"
    answer = client.get(media.findtext("m:downloadUrl", namespaces=NS)
                        .replace("http://testserver", ""), headers=OPENROSA)
    csv_body = answer.content
    # An ODK entity list (the form declares entities): its hash is the list's
    # fingerprint, the ETag, as ODK Central's (tests/.../test_offline_entities.py).
    assert media.get("type") == "entityList"
    assert media.findtext("m:hash", namespaces=NS) == "md5:" + answer.headers["ETag"].strip('"')
    lines = csv_body.decode().splitlines()
    assert lines[0].startswith("name,label,__version,nik,full_name,sex,birth_date")
    assert "Siti Aminah" in lines[1] and "2024-03-04" in lines[1]


def test_basic_auth_is_challenged_then_accepted(client, phone):
    r = client.head("/submission", headers=OPENROSA)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Basic realm=")
    creds = base64.b64encode(f"{phone.username}:{phone.password}".encode()).decode()
    r = client.head("/submission", headers={**OPENROSA, "Authorization": f"Basic {creds}"})
    assert r.status_code == 204
    assert int(r.headers["X-OpenRosa-Accept-Content-Length"]) > 1_000_000
    assert r.headers["Date"] and r.headers["X-OpenRosa-Version"] == "1.0"
    wrong = base64.b64encode(f"{phone.username}:nope".encode()).decode()
    assert client.head("/submission", headers={**OPENROSA, "Authorization": f"Basic {wrong}"}
                       ).status_code == 401


def test_head_then_post_stores_and_processes_the_measurement(client, phone, forms, db):
    assert client.head(f"{phone.prefix}/submission", headers=OPENROSA).status_code == 204
    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    r = _post(client, phone, xml, {"kms.jpg": b"\xff\xd8photo"})
    assert r.status_code == 201, r.text
    assert etree.fromstring(r.content).tag == "{http://openrosa.org/http/response}OpenRosaResponse"
    with Session(db) as s:
        submission = s.exec(select(Submission)).one()
        assert submission.status == "processed", submission.error
        assert submission.content == xml
        m = s.exec(select(Measurement)).one()
        child = s.get(Person, m.person_id)
        assert child.name == "Siti Aminah" and child.nik == "3375014403240001"
        mother = s.get(Person, child.mother_id)
        assert mother.name == "Rina Wati"
        expected = assess_child(2, age_in_days(child.birth_date, m.measured_on), 9.1, 80.2,
                                "L", False, 14.1)
        assert (m.zlen, m.zwei, m.zwfl, m.zbmi, m.zac) == (
            expected.zlen, expected.zwei, expected.zwfl, expected.zbmi, expected.zac)
        assert m.stunted == expected.stunted and m.tbu_category == str(expected.tbu_category)
        assert s.exec(select(Attachment)).one().name == "kms.jpg"


def test_identical_resubmission_is_accepted_once(client, phone, forms, db):
    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    assert _post(client, phone, xml).status_code == 201
    r = _post(client, phone, xml)
    assert r.status_code == 202
    assert _count(db, Submission) == 1 and _count(db, Measurement) == 1


def test_changed_xml_with_same_instance_id_is_409(client, phone, forms, db):
    values = child_values(posyandu_id=phone.posyandu_id)
    xml = fill_submission(forms["anthropometry"], values, instance_id="uuid:same")
    assert _post(client, phone, xml).status_code == 201
    changed = fill_submission(forms["anthropometry"], dict(values, weight_kg="9.4"),
                              instance_id="uuid:same")
    r = _post(client, phone, changed)
    assert r.status_code == 409
    assert "edit formulir" in etree.fromstring(r.content).findtext("r:message", namespaces=NS)
    assert r.headers["X-Posyandu-Error"] == "submission.xml_conflict"
    with Session(db) as s:
        assert s.exec(select(Measurement.weight_kg)).all() == [9.1]


def test_split_submission_adds_later_attachments(client, phone, forms, db):
    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    assert _post(client, phone, xml, {"a.jpg": b"first"}).status_code == 201
    assert _post(client, phone, xml, {"b.jpg": b"second"}).status_code in (201, 202)
    with Session(db) as s:
        assert sorted(s.exec(select(Attachment.name)).all()) == ["a.jpg", "b.jpg"]
    assert _count(db, Submission) == 1


def test_edit_with_deprecated_id_supersedes_and_keeps_the_original(client, phone, forms, db):
    values = child_values(posyandu_id=phone.posyandu_id)
    original = fill_submission(forms["anthropometry"], values, instance_id="uuid:v1")
    assert _post(client, phone, original).status_code == 201
    edit = fill_submission(forms["anthropometry"], dict(values, length_height_cm="81.0"),
                           instance_id="uuid:v2", deprecated_id="uuid:v1")
    assert _post(client, phone, edit).status_code == 201
    with Session(db) as s:
        subs = {x.instance_id: x.status for x in s.exec(select(Submission)).all()}
        assert subs == {"uuid:v1": "superseded", "uuid:v2": "processed"}
        rows = {m.length_height_cm: m.is_current for m in s.exec(select(Measurement)).all()}
        assert rows == {80.2: False, 81.0: True}


def test_edit_arriving_before_the_original_still_wins(client, phone, forms, db):
    values = child_values(posyandu_id=phone.posyandu_id)
    edit = fill_submission(forms["anthropometry"], dict(values, length_height_cm="81.0"),
                           instance_id="uuid:v2", deprecated_id="uuid:v1")
    original = fill_submission(forms["anthropometry"], values, instance_id="uuid:v1")
    assert _post(client, phone, edit).status_code == 201
    assert _post(client, phone, original).status_code == 201
    with Session(db) as s:
        rows = {m.length_height_cm: m.is_current for m in s.exec(select(Measurement)).all()}
        assert rows == {80.2: False, 81.0: True}


def test_two_identical_posts_racing_store_exactly_one_submission(app, phone, forms, db):
    from fastapi.testclient import TestClient

    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def send():
        with TestClient(app) as c:
            barrier.wait()
            statuses.append(_post(c, phone, xml).status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses)[0] == 201 and set(statuses) <= {201, 202}
    assert statuses.count(201) == 1
    assert _count(db, Submission) == 1 and _count(db, Measurement) == 1


def test_missing_openrosa_version_header_is_400(client, phone, forms):
    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    r = _post(client, phone, xml, headers={})
    assert r.status_code == 400
    assert "versi OpenRosa" in r.text
    assert r.headers["X-Posyandu-Error"] == "openrosa.version_missing"


def test_unknown_form_and_unknown_version_are_404(client, phone, forms, db):
    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    r = _post(client, phone, xml.replace(b'id="anthropometry"', b'id="nope"'))
    assert r.status_code == 404
    r = _post(client, phone, xml.replace(b'version="', b'version="1999'))
    assert r.status_code == 404 and "version" in r.text
    assert _count(db, Submission) == 0


def test_closed_form_is_409(client, phone, forms, db):
    from sync.forms import set_form_state

    with Session(db) as s:
        set_form_state(s, form_id="anthropometry", state="closed")
        s.commit()
    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    assert _post(client, phone, xml).status_code == 409
    assert _count(db, Submission) == 0


def test_submission_outside_the_kaders_scope_is_403(client, make_phone, forms, db):
    other_id = add_posyandu(db, "33.75.04.1002", "Mawar")
    phone = make_phone()
    xml = fill_submission(forms["anthropometry"],
                          child_values(posyandu_id=other_id, kelurahan_code="33.75.04.1002"))
    r = _post(client, phone, xml)
    assert r.status_code == 403
    assert _count(db, Submission) == 0


@pytest.mark.parametrize("kelurahan", ["33.75.01.1002", ""])
def test_a_posyandu_outside_a_wilayah_scope_is_403_whatever_kelurahan_is_named(
        client, make_phone, forms, db, kelurahan):
    """A supervisor of one kecamatan naming another kecamatan's posyandu (with a
    kelurahan of their own, or none): refused, so the submission is never shown to
    that posyandu's people."""
    elsewhere = add_posyandu(db, "33.75.04.1002", "Mawar")
    phone = make_phone("supervisor-barat", scopes=["33.75.01"], role="supervisor")
    xml = fill_submission(forms["anthropometry"],
                          child_values(posyandu_id=elsewhere, kelurahan_code=kelurahan))
    r = _post(client, phone, xml)
    assert r.status_code == 403 and "posyandu" in r.text
    assert _count(db, Submission) == 0


def test_another_posyandu_of_the_kaders_own_kelurahan_is_403(client, make_phone, forms, db):
    neighbour = add_posyandu(db, KELURAHAN, "Kenanga")  # the kader's posyandu's kelurahan
    phone = make_phone()
    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=neighbour))
    r = _post(client, phone, xml)
    assert r.status_code == 403 and "posyandu" in r.text
    assert _count(db, Submission) == 0


def test_revoked_token_is_403(client, phone, forms, db):
    from models import AppToken
    from sync.accounts import revoke_app_token

    with Session(db) as s:
        revoke_app_token(s, token_id=s.exec(select(AppToken.id)).one())
        s.commit()
    r = client.get(f"{phone.prefix}/formList", headers=OPENROSA)
    assert r.status_code == 403
    assert "sudah dicabut" in r.text and "QR" in r.text
    assert r.headers["X-Posyandu-Error"] == "auth.revoked_app_token"


def test_agency_accounts_cannot_submit(client, make_phone, forms, db):
    phone = make_phone("dinas", scopes=["33.75"], role="agency")
    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    assert _post(client, phone, xml).status_code == 403


def test_failed_processing_keeps_the_submission_and_reprocess_fixes_it(client, make_phone, forms, db):
    from models import Wilayah
    from sync.process import reprocess

    phone = make_phone("supervisor", scopes=["33.75"], role="supervisor")
    xml = fill_submission(forms["anthropometry"],
                          child_values(posyandu_id="", kelurahan_code="33.75.01.1099"))
    r = _post(client, phone, xml)
    assert r.status_code == 201
    with Session(db) as s:
        sub = s.exec(select(Submission)).one()
        assert sub.status == "failed" and "33.75.01.1099" in sub.error
        assert s.exec(select(func.count()).select_from(Person)).one() == 0
        s.add(Wilayah(code="33.75.01.1099", name="Baru", level="kelurahan", parent_code="33.75.01"))
        s.commit()
    assert reprocess(db) == {"processed": 1}
    assert reprocess(db, statuses=("processed",)) == {"processed": 1}
    with Session(db) as s:
        assert s.exec(select(func.count()).select_from(Measurement)).one() == 1


def _sanitation(forms, kelurahan):
    return fill_submission(forms["sanitation_check"], {
        "is_new_household": "yes", "household_kk": "3375010101200003", "head_name": "Pak Budi",
        "kelurahan_code": kelurahan, "checked_on": "2026-11-03", "latrine_access": "own",
        "latrine_type": "gooseneck", "waste_disposal": "septic_tank", "handwashing_soap": "yes",
        "drinking_water_source": "piped", "water_treated": "boiled", "waste_bin": "yes",
        "wastewater_drain": "closed_drain"})


def test_posyandu_kader_visits_households_of_the_posyandus_kelurahan_only(client, phone, forms, db):
    from models import SanitationCheck

    assert _post(client, phone, _sanitation(forms, "33.75.01.1002")).status_code == 201
    assert _post(client, phone, _sanitation(forms, "33.75.04.1002")).status_code == 403
    with Session(db) as s:
        check = s.exec(select(SanitationCheck)).one()
        assert (check.jamban_sehat, check.sanitasi_layak, check.stop_babs) == (True, True, True)


def test_mothers_nik_typed_for_the_child_is_not_identity_evidence(client, phone, forms, db):
    mother_nik = "3375015507950002"  # born 15-07-1995, female
    values = child_values(posyandu_id=phone.posyandu_id, child_nik="", mother_nik=mother_nik)
    assert _post(client, phone, fill_submission(forms["anthropometry"], values)).status_code == 201
    typo = child_values(posyandu_id=phone.posyandu_id, child_nik=mother_nik,
                        mother_nik=mother_nik, measured_on="2026-11-09")
    assert _post(client, phone, fill_submission(forms["anthropometry"], typo)).status_code == 201
    with Session(db) as s:
        rows = s.exec(select(Measurement).order_by(Measurement.id)).all()
        assert rows[0].person_id == rows[1].person_id  # the same child, not the mother
        assert rows[1].plausibility_flags == "child_nik_inconsistent"
        child = s.get(Person, rows[1].person_id)
        assert child.nik is None and child.sex == "female" and child.mother_id


def test_monthly_visits_without_niks_keep_one_child_and_one_mother(client, phone, forms, db):
    """No NIK for child or mother and no KK: the child is found by name and birth date,
    and the mother is the one the registry already links to that child (not a new
    mother each month, which would also hide the child behind a new mother id)."""
    for month, day in (("10", "02"), ("11", "03"), ("11", "30")):
        values = child_values(posyandu_id=phone.posyandu_id, child_nik="", mother_nik="",
                              household_kk="", measured_on=f"2026-{month}-{day}")
        assert _post(client, phone, fill_submission(forms["anthropometry"], values)).status_code == 201
    with Session(db) as s:
        assert len({m.person_id for m in s.exec(select(Measurement)).all()}) == 1
        persons = s.exec(select(Person)).all()
        assert sorted(p.name for p in persons) == ["Rina Wati", "Siti Aminah"]


def test_a_child_shorter_than_last_month_is_flagged_not_corrected(client, phone, forms, db):
    first = child_values(posyandu_id=phone.posyandu_id, measured_on="2026-10-02")
    shorter = child_values(posyandu_id=phone.posyandu_id, measured_on="2026-11-02",
                           length_height_cm="78.6")
    for values in (first, shorter):
        assert _post(client, phone, fill_submission(forms["anthropometry"], values)).status_code == 201
    with Session(db) as s:
        rows = s.exec(select(Measurement).order_by(Measurement.measured_on)).all()
        assert [m.plausibility_flags for m in rows] == ["", "length_drop"]
        assert rows[1].length_height_cm == 78.6  # kept as measured


def test_growth_history_is_the_current_measurements_each_counted_once(client, phone, forms, db):
    """The child is found by NIK and by name (two lookups return it); the first
    measurement was replaced by an edit, so the third is compared with the edit only."""
    form = forms["anthropometry"]
    first = child_values(posyandu_id=phone.posyandu_id, measured_on="2026-09-02",
                         length_height_cm="80.2")
    edit = dict(first, length_height_cm="76.0")
    third = child_values(posyandu_id=phone.posyandu_id, measured_on="2026-10-02",
                         length_height_cm="77.0")
    for xml in (fill_submission(form, first, instance_id="uuid:g1"),
                fill_submission(form, edit, instance_id="uuid:g2", deprecated_id="uuid:g1"),
                fill_submission(form, third)):
        assert _post(client, phone, xml).status_code == 201
    with Session(db) as s:
        rows = s.exec(select(Measurement).where(Measurement.is_current)
                      .order_by(Measurement.measured_on)).all()
        assert [(m.length_height_cm, m.plausibility_flags) for m in rows] == [(76.0, ""), (77.0, "")]
        claim = PersonClaim(registry_id=None, nik=first["child_nik"], name=first["child_name"],
                            kelurahan_code=first["kelurahan_code"],
                            birth_date=date.fromisoformat(first["child_birth_date"]))
        candidates = person_candidates(s, claim)
        [child] = [p for p in candidates.persons if p["nik"] == first["child_nik"]]
        # On PostgreSQL it came with the candidates; SQLite reads it when asked.
        assert sorted(g.measured_on.isoformat() for g in candidates.growth_history(
            s, child["id"])) == ["2026-09-02", "2026-10-02"]


def test_pregnancy_screenings_of_one_pregnancy_share_it(client, phone, forms, db):
    from models import Pregnancy, PregnancyScreening

    base = {"is_new_woman": "yes", "woman_nik": "3375015507950002", "woman_name": "Rina Wati",
            "woman_birth_date": "1995-07-15", "kelurahan_code": "33.75.01.1002",
            "posyandu_id": phone.posyandu_id, "pregnant": "yes", "muac_cm": "22.9",
            "hb_g_dl": "10.4", "height_cm": "150", "weight_kg": "48"}
    for day, weeks in (("2026-09-01", "12"), ("2026-11-01", "21")):
        xml = fill_submission(forms["pregnancy_screening"],
                              dict(base, screened_on=day, gestational_age_weeks=weeks))
        assert _post(client, phone, xml).status_code == 201
    with Session(db) as s:
        screenings = s.exec(select(PregnancyScreening)).all()
        assert len(screenings) == 2 and {x.pregnancy_id for x in screenings} != {None}
        assert len({x.pregnancy_id for x in screenings}) == 1
        assert all(x.kek and x.anaemia and x.anaemia_severity == "mild" for x in screenings)
        assert len(s.exec(select(Pregnancy)).all()) == 1


def test_submission_answers_carry_the_request_context_and_errors_stay_openrosa(
        client, phone, forms, monkeypatch):
    """HEAD/POST /submission are answered ahead of FastAPI's router; they still get a
    request id and Date, and an unexpected failure is a logged OpenRosa 500."""
    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    r = _post(client, phone, xml, headers={**OPENROSA, "X-Request-ID": "phone-42"})
    assert r.status_code == 201
    assert r.headers["X-Request-ID"] == "phone-42" and r.headers["Date"]

    from sync import intake

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(intake.OpenRosaSubmission, "store", broken)
    other = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    r = _post(client, phone, other)
    assert r.status_code == 500
    message = etree.fromstring(r.content).findtext("r:message", namespaces=NS)
    assert "kesalahan di server" in message and "disk on fire" not in message
    assert r.headers["X-Posyandu-Error"] == "server.error"
    # Other methods on the path are not submissions.
    r = client.get(f"{phone.prefix}/submission", headers=OPENROSA)
    assert r.status_code == 405 and r.headers["Allow"] == "HEAD, POST"
    assert etree.fromstring(r.content).tag == "{http://openrosa.org/http/response}OpenRosaResponse"


def test_submission_path_under_a_proxy_root_path(app, phone, forms):
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://testserver", root_path="/posyandu") as proxied:
        assert proxied.head(f"/posyandu{phone.prefix}/submission", headers=OPENROSA
                            ).status_code == 204
        xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
        r = proxied.post(f"/posyandu{phone.prefix}/submission", headers=OPENROSA,
                         files=multipart_files(xml))
        assert r.status_code == 201, r.text


def test_basic_credentials_are_checked_outside_the_submission_writer(client, phone, forms,
                                                                    monkeypatch):
    """argon2 on a cache miss takes tens of ms: it must not run in the writer's shared
    transaction, where it would hold up (or, if wrong, fail) other phones' group."""
    from api import login_guard

    checked_on, real = [], login_guard.verify_password

    def recording(*args, **kwargs):
        checked_on.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(login_guard, "verify_password", recording)
    creds = base64.b64encode(f"{phone.username}:{phone.password}".encode()).decode()
    basic = {**OPENROSA, "Authorization": f"Basic {creds}"}
    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    r = client.post("/submission", headers=basic, files=multipart_files(xml))
    assert r.status_code == 201, r.text
    wrong = base64.b64encode(f"{phone.username}:nope".encode()).decode()
    r = client.post("/submission", headers={**OPENROSA, "Authorization": f"Basic {wrong}"},
                    files=multipart_files(xml))
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert len(checked_on) == 2
    assert not [name for name in checked_on if name.startswith("submission-writer")]


@pytest.mark.parametrize("path", ["/submission", "/formList"])
def test_a_nul_in_basic_credentials_is_a_4xx_not_a_server_error(client, phone, path):
    """PostgreSQL refuses the NUL (400 request.bad_value); SQLite finds no such user (401)."""
    credentials = base64.b64encode(f"{phone.username}\x00:{phone.password}".encode()).decode()
    method = client.head if path == "/submission" else client.get
    r = method(path, headers={**OPENROSA, "Authorization": f"Basic {credentials}"})
    assert r.status_code in (400, 401)


def test_what_a_phone_shows_is_bahasa_indonesia(client, phone, forms):
    from api import openrosa_wire

    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    shown = []
    for expected in (201, 202):
        r = _post(client, phone, xml)
        assert r.status_code == expected
        shown.append(etree.fromstring(r.content).findtext("r:message", namespaces=NS))
    assert shown == [openrosa_wire.RECEIVED, openrosa_wire.ALREADY_RECEIVED]
    failed = fill_submission(forms["anthropometry"], child_values(
        posyandu_id=phone.posyandu_id, measured_on="2026-13-45"))
    r = _post(client, phone, failed)
    assert r.status_code == 201
    assert etree.fromstring(r.content).findtext("r:message", namespaces=NS) == (
        openrosa_wire.RECEIVED_NOT_PROCESSED)
    r = client.get("/formList", headers=OPENROSA)  # no credentials
    assert r.status_code == 401 and "kata sandi" in r.text


def test_json_errors_are_english_unless_indonesian_is_preferred(client):
    from core.problems import CATALOGUE

    english = client.get("/api/v1/auth/me")
    assert english.status_code == 401 and english.json()["error"] == "auth.missing"
    assert "Sign in" in english.json()["detail"]
    for header in ("id", "id-ID,id;q=0.9,en;q=0.8", "en;q=0.5, id"):
        r = client.get("/api/v1/auth/me", headers={"Accept-Language": header})
        assert r.json()["detail"] == CATALOGUE["auth.missing"].pesan, header
    r = client.get("/api/v1/auth/me", headers={"Accept-Language": "en-US,en;q=0.9,id;q=0.8"})
    assert "Sign in" in r.json()["detail"]


def test_a_stored_submission_says_where_its_time_went(client, phone, forms):
    """Server-Timing (W3C) on POST /submission: read, queue, write (group size as
    desc), wake, held (the units its worker held when it was queued, as desc) and total, which bench/intake.py turns into the p99 breakdown."""
    import re

    from tests.support import child_values, fill_submission, multipart_files

    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    r = client.post(f"{phone.prefix}/submission", headers=OPENROSA, files=multipart_files(xml))
    assert r.status_code == 201
    metrics = dict(re.findall(r"(\w+);dur=([\d.]+)", r.headers["server-timing"]))
    assert set(metrics) == {"read", "queue", "write", "wake", "total"}
    assert 'write;dur=' in r.headers["server-timing"] and 'desc="1"' in r.headers["server-timing"]
    assert 'held;desc="0"' in r.headers["server-timing"]  # the worker held nothing else
    assert float(metrics["total"]) >= float(metrics["write"])
