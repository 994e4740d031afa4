"""Issue #13 "field-ready": what a phone meets in the field (context, versions, QR)."""

from __future__ import annotations

from sqlmodel import Session, select

from models import AppToken, Posyandu
from sync.collect_settings import decode_settings
from tests.support import KELURAHAN, OPENROSA, child_values, fill_submission, multipart_files


def _post(client, phone, xml):
    return client.post(f"{phone.prefix}/submission", headers=OPENROSA,
                       files=multipart_files(xml))


def test_a_submission_to_an_inactive_posyandu_is_refused_and_a_retry_of_one_before_is_not(
        client, phone, forms, db):
    before = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    assert _post(client, phone, before).status_code == 201
    with Session(db) as s:
        s.get(Posyandu, phone.posyandu_id).is_active = False
        s.commit()
    after = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    r = _post(client, phone, after)
    assert r.status_code == 409
    assert r.headers["X-Posyandu-Error"] == "posyandu.inactive"
    assert "tidak aktif" in r.text
    assert _post(client, phone, before).status_code in (200, 201, 202)


# ---------------------------------------------------------------- Collect QR

def _qr(client, admin_headers, username, query="", **kwargs):
    return client.post(f"/api/v1/users/{username}/collect-qr{query}", headers=admin_headers,
                       **kwargs)


def _live(client, url: str) -> bool:
    return client.get(url.replace("http://testserver", "") + "/formList",
                      headers=OPENROSA).status_code == 200


def test_collect_qr_needs_no_body(client, admin_headers, phone):
    r = _qr(client, admin_headers, phone.username)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    r = _qr(client, admin_headers, phone.username, "?format=json")
    assert r.status_code == 200, r.text
    assert r.json()["settings"]["project"]["name"] == "Posyandu"
    assert decode_settings(r.json()["qr_payload"]) == r.json()["settings"]


def test_a_new_qr_revokes_the_earlier_qr_tokens_but_not_hand_made_ones(
        client, admin_headers, phone, db):
    png = _qr(client, admin_headers, phone.username)
    assert png.headers["X-Posyandu-Revoked-Tokens"] == ""
    first = _qr(client, admin_headers, phone.username, "?format=json").json()
    # the PNG's token is gone, the phone fixture's (made by hand, kind api) is not
    assert len(first["revoked_tokens"]) == 1
    url = first["settings"]["general"]["server_url"]
    assert _live(client, url)
    assert client.get(f"{phone.prefix}/formList", headers=OPENROSA).status_code == 200

    png = _qr(client, admin_headers, phone.username)
    revoked = png.headers["X-Posyandu-Revoked-Tokens"].split(",")
    assert len(revoked) == 1
    assert not _live(client, url)
    with Session(db) as s:
        rows = s.exec(select(AppToken).order_by(AppToken.id)).all()
        assert [t.kind for t in rows] == ["api", "qr", "qr", "qr"]
        assert [t.revoked_at is None for t in rows] == [True, False, False, True]


def test_keep_existing_leaves_the_earlier_qr_tokens_live(client, admin_headers, phone):
    first = _qr(client, admin_headers, phone.username, "?format=json").json()
    second = _qr(client, admin_headers, phone.username, "?format=json&keep_existing=true").json()
    assert second["revoked_tokens"] == []
    for body in (first, second):
        assert _live(client, body["settings"]["general"]["server_url"])


def test_qr_for_an_unknown_or_disabled_user_is_refused(client, admin_headers, phone):
    assert _qr(client, admin_headers, "nobody").status_code == 404
    client.patch(f"/api/v1/users/{phone.username}", json={"is_active": False},
                 headers=admin_headers)
    r = _qr(client, admin_headers, phone.username)
    assert r.status_code == 403 and r.json()["error"] == "user.inactive"


def test_a_loopback_server_url_is_warned_about(client, admin_headers, phone, monkeypatch):
    from core.config import get_settings

    r = _qr(client, admin_headers, phone.username, "?format=json")
    assert r.json()["warning"] is None and "X-Posyandu-Warning" not in r.headers
    monkeypatch.setenv("POSYANDU_BASE_URL", "http://127.0.0.1:8000")
    get_settings.cache_clear()
    try:
        r = _qr(client, admin_headers, phone.username, "?format=json")
        assert "a phone cannot reach it" in r.json()["warning"]
        assert r.headers["X-Posyandu-Warning"] == r.json()["warning"]
        png = _qr(client, admin_headers, phone.username)
        assert "HP kader" in png.headers["X-Posyandu-Warning"]
        made = client.post(f"/api/v1/users/{phone.username}/app-tokens", json={},
                           headers=admin_headers).json()
        assert made["warning"] == r.json()["warning"]
    finally:
        monkeypatch.delenv("POSYANDU_BASE_URL")
        get_settings.cache_clear()


# ---------------------------------------------------------------- X-OpenRosa-Version

def _gets(phone):
    return [f"{phone.prefix}/formList", f"{phone.prefix}/forms/anthropometry/form.xml",
            f"{phone.prefix}/forms/anthropometry/manifest",
            f"{phone.prefix}/forms/anthropometry/media/children.csv"]


def test_every_openrosa_get_accepts_a_missing_version_header(client, phone):
    for url in _gets(phone):
        r = client.get(url)
        assert r.status_code == 200, (url, r.text)
        assert r.headers["X-OpenRosa-Version"] == "1.0"


def test_every_openrosa_get_refuses_a_version_other_than_1_0(client, phone):
    for url in _gets(phone):
        r = client.get(url, headers={"X-OpenRosa-Version": "2.0"})
        assert r.status_code == 400, url
        assert r.headers["X-Posyandu-Error"] == "openrosa.version_unsupported"
        assert "Versi OpenRosa ini tidak didukung" in r.text


def test_a_wrong_version_is_refused_before_asking_for_credentials(client, phone):
    r = client.get("/formList", headers={"X-OpenRosa-Version": "0.9"})
    assert r.status_code == 400


def test_submissions_still_need_the_version_header(client, phone, forms):
    assert client.head(f"{phone.prefix}/submission").status_code == 400
    assert client.head(f"{phone.prefix}/submission", headers=OPENROSA).status_code == 204
    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    r = client.post(f"{phone.prefix}/submission", headers={"X-OpenRosa-Version": "1.1"},
                    files=multipart_files(xml))
    assert r.status_code == 400
    assert r.headers["X-Posyandu-Error"] == "openrosa.version_unsupported"


# ---------------------------------------------------------------- households.csv

def test_a_household_without_a_recorded_head_is_labelled_so_in_the_pick_list(
        client, phone, db):
    import csv
    import io

    from models import Household
    from tests.support import KELURAHAN

    with Session(db) as s:
        s.add(Household(kk="3375010101200003", head_name=None, kelurahan_code=KELURAHAN))
        s.add(Household(kk=None, head_name=None, kelurahan_code=KELURAHAN))
        s.commit()
    r = client.get(f"{phone.prefix}/forms/sanitation_check/media/households.csv", headers=OPENROSA)
    labels = sorted(row["label"] for row in csv.DictReader(io.StringIO(r.text)))
    assert labels == ["Kepala keluarga belum tercatat",
                      "Kepala keluarga belum tercatat (KK 3375010101200003)"]


# ---------------------------------------------------------------- context.csv

FORM_PICK_LISTS = {"anthropometry": ("children.csv", "is_new_child"),
                   "pregnancy_screening": ("women.csv", "is_new_woman"),
                   "sanitation_check": ("households.csv", "is_new_household")}
MANIFEST_NS = {"m": "http://openrosa.org/xforms/xformsManifest"}


def _rows(client, prefix, form_id, name) -> list[dict]:
    import csv
    import io

    r = client.get(f"{prefix}/forms/{form_id}/media/{name}", headers=OPENROSA)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(r.text)))


def _filled_in(client, prefix, form_id):
    """The form as Collect opens it, with the media this caller downloads."""
    from tests.xform_eval import FormEval

    xml = client.get(f"{prefix}/forms/{form_id}/form.xml", headers=OPENROSA).content
    media = {name: _rows(client, prefix, form_id, name)
             for name in ("context.csv", FORM_PICK_LISTS[form_id][0])}
    return xml, FormEval(xml, media)


def test_every_manifest_lists_context_csv_with_its_hash(client, phone):
    import hashlib

    from lxml import etree

    for form_id in FORM_PICK_LISTS:
        r = client.get(f"{phone.prefix}/forms/{form_id}/manifest", headers=OPENROSA)
        files = {f.findtext("m:filename", namespaces=MANIFEST_NS): f
                 for f in etree.fromstring(r.content).iterfind("m:mediaFile", MANIFEST_NS)}
        assert set(files) == {"context.csv", FORM_PICK_LISTS[form_id][0]}
        entry = files["context.csv"]
        url = entry.findtext("m:downloadUrl", namespaces=MANIFEST_NS)
        assert url == f"http://testserver{phone.prefix}/forms/{form_id}/media/context.csv"
        body = client.get(url.replace("http://testserver", ""), headers=OPENROSA).content
        assert entry.findtext("m:hash", namespaces=MANIFEST_NS) == \
            "md5:" + hashlib.md5(body).hexdigest()


def test_a_new_posyandu_with_no_children_yet_has_one_context_row(client, phone):
    assert _rows(client, phone.prefix, "anthropometry", "children.csv") == []
    (row,) = _rows(client, phone.prefix, "anthropometry", "context.csv")
    assert row == {"posyandu_id": str(phone.posyandu_id), "posyandu_name": "Melati 1",
                   "kelurahan_code": KELURAHAN, "kelurahan_name": "Medono"}


def test_the_forms_fill_the_kaders_place_from_context_csv_read_only(client, phone):
    for form_id, (_, new_flag) in FORM_PICK_LISTS.items():
        _, form = _filled_in(client, phone.prefix, form_id)
        form.answer(new_flag, "yes")  # the first person of a new posyandu
        assert form.value("kelurahan_code") == KELURAHAN, form_id
        assert form.is_readonly("kelurahan_code"), form_id
        if form_id != "sanitation_check":  # households belong to a kelurahan only
            assert form.value("posyandu_id") == str(phone.posyandu_id), form_id
            assert form.is_readonly("posyandu_id"), form_id


def test_the_first_child_of_a_new_posyandu_goes_through_with_the_context_values(
        client, phone, db):
    from models import Person

    xml, form = _filled_in(client, phone.prefix, "anthropometry")
    form.answer("is_new_child", "yes")
    values = child_values(kelurahan_code=form.value("kelurahan_code"),
                          posyandu_id=form.value("posyandu_id"))
    r = _post(client, phone, fill_submission(xml, values))
    assert r.status_code == 201 and "diolah" in r.text
    with Session(db) as s:
        (child,) = s.exec(select(Person).where(Person.name == "Siti Aminah")).all()
        assert child.posyandu_id == phone.posyandu_id
    # ... and from then on the child is in the list the next form reads
    assert [r["full_name"] for r in _rows(client, phone.prefix, "anthropometry",
                                          "children.csv")] == ["Siti Aminah"]


def test_a_picked_child_brings_its_own_place(client, phone, forms):
    xml, form = _filled_in(client, phone.prefix, "anthropometry")
    form.instances["children"].find("root").append(_item(
        name="c-1", label="Budi", full_name="Budi", kelurahan_code="33.75.01.1003",
        posyandu_id="99"))
    form.answer("is_new_child", "no")
    form.answer("child_pick", "c-1")
    assert (form.value("kelurahan_code"), form.value("posyandu_id")) == ("33.75.01.1003", "99")
    form.answer("is_new_child", "yes")
    assert form.value("posyandu_id") == str(phone.posyandu_id)


def _item(**columns):
    from lxml import etree

    item = etree.Element("item")
    for column, value in columns.items():
        etree.SubElement(item, column).text = value
    return item


def test_a_supervisor_of_a_kecamatan_gets_an_empty_context_row_and_editable_fields(
        client, make_phone, forms):
    supervisor = make_phone("spv-kec", scopes=["33.75.01"], role="supervisor")
    for form_id, (_, new_flag) in FORM_PICK_LISTS.items():
        (row,) = _rows(client, supervisor.prefix, form_id, "context.csv")
        assert set(row.values()) == {""}
        _, form = _filled_in(client, supervisor.prefix, form_id)
        form.answer(new_flag, "yes")
        assert form.value("kelurahan_code") == "" and not form.is_readonly("kelurahan_code")


def test_a_supervisor_of_one_kelurahan_gets_the_kelurahan_but_no_posyandu(
        client, make_phone, forms):
    supervisor = make_phone("spv-kel", scopes=[KELURAHAN], role="supervisor")
    (row,) = _rows(client, supervisor.prefix, "anthropometry", "context.csv")
    assert row == {"posyandu_id": "", "posyandu_name": "", "kelurahan_code": KELURAHAN,
                   "kelurahan_name": "Medono"}
    _, form = _filled_in(client, supervisor.prefix, "anthropometry")
    form.answer("is_new_child", "yes")
    assert form.is_readonly("kelurahan_code") and not form.is_readonly("posyandu_id")


def test_an_inactive_posyandu_is_not_offered_as_the_context(client, phone, db):
    with Session(db) as s:
        s.get(Posyandu, phone.posyandu_id).is_active = False
        s.commit()
    (row,) = _rows(client, phone.prefix, "anthropometry", "context.csv")
    assert row["posyandu_id"] == "" and row["kelurahan_code"] == KELURAHAN


def test_context_csv_over_http_basic_is_the_accounts_own(client, phone):
    r = client.get("/forms/anthropometry/media/context.csv", headers=OPENROSA,
                   auth=(phone.username, phone.password))
    assert r.status_code == 200 and str(phone.posyandu_id) in r.text
    assert client.get("/forms/anthropometry/media/context.csv",
                      headers=OPENROSA).status_code == 401
