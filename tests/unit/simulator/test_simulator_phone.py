"""The simulated phone speaks OpenRosa as ODK Collect does (against a fake server)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest
from lxml import etree

from simulator.phone import (
    Attachment,
    OpenRosaError,
    OpenRosaPhone,
    XFormTemplate,
    edit_submission,
    multipart_body,
)
from tests.unit.simulator.fake_server import (
    BASE,
    FakeServer,
    form_xml,
    parse_multipart,
    read_submission,
)

WIB = timezone(timedelta(hours=7))


def child_answers(**extra) -> dict[str, str]:
    return {
        "is_new_child": "yes", "child_name": "Aqila Putri", "child_sex": "female",
        "child_birth_date": "2024-03-04", "mother_name": "Siti Aminah",
        "kelurahan_code": "33.75.01.1002", "posyandu_id": "1", "measured_on": "2025-01-08",
        "weight_kg": "9.1", "length_height_cm": "76.5", "measure_method": "lying",
        "muac_cm": "14.1", "oedema": "no", **extra,
    }


@pytest.fixture
def phone(fake_server: FakeServer):
    p = OpenRosaPhone(fake_server.url(), fake_server.client())
    p.refresh()
    yield p
    p.close()


def test_filled_submission_is_the_primary_instance_with_answers_set_by_leaf_name():
    template = XFormTemplate(form_xml("anthropometry"))
    xml = template.fill(child_answers(), instance_id="uuid:abc",
                        filled_at=datetime(2025, 1, 8, 9, 0, tzinfo=WIB), device_id="collect:x")
    root = etree.fromstring(xml)
    assert root.tag == "data"  # no XForms namespace, as Collect serialises it
    assert (root.get("id"), root.get("version")) == ("anthropometry", template.version)
    assert root.findtext("grp_child/child_name") == "Aqila Putri"
    assert root.findtext("grp_measure/weight_kg") == "9.1"
    assert root.findtext("meta/instanceID") == "uuid:abc"
    assert root.findtext("start") == "2025-01-08T09:00:00.000+07:00"
    assert root.findtext("deviceid") == "collect:x"
    assert root.find("meta/deprecatedID") is None


def test_picking_a_row_sets_the_registry_id_and_prefills_identity_like_collect():
    template = XFormTemplate(form_xml("anthropometry"))
    pick = template.pick_lists["child_pick"]
    assert pick.media_file == "children.csv"
    row = {"name": "R7", "nik": "3375014403240001", "full_name": "Aqila Putri",
           "sex": "female", "birth_date": "2024-03-04", "posyandu_id": "1"}
    answers = template.pick_answers(pick, row)
    assert answers["is_new_child"] == "no"
    assert answers["child_pick"] == answers["child_id"] == "R7"
    assert answers["child_nik"] == "3375014403240001"
    assert answers["child_birth_date"] == "2024-03-04"
    new = template.pick_answers(pick, None)
    assert new["is_new_child"] == "yes" and new["child_id"] == ""


def test_submitting_sends_head_then_a_multipart_post_with_the_xml_part(phone, fake_server):
    xml = XFormTemplate(form_xml("anthropometry")).fill(child_answers(), instance_id="uuid:1")
    result = phone.post_submission(xml)
    assert result.status_code == 201
    wire = [(r.method, r.url.path) for r in fake_server.log if r.url.path.endswith("submission")]
    assert wire == [("HEAD", "/key/tok/submission"), ("POST", "/key/tok/submission")]
    post = fake_server.requests("POST", "submission")[0]
    assert post.headers["X-OpenRosa-Version"] == "1.0"
    parts = parse_multipart(post.content, post.headers["Content-Type"])
    assert parts["xml_submission_file"] == ("submission.xml", "text/xml", xml)
    assert phone.max_content_length == fake_server.max_content_length


def test_a_retry_after_a_timeout_sends_identical_bytes_and_is_a_duplicate(phone, fake_server):
    xml = XFormTemplate(form_xml("anthropometry")).fill(child_answers(), instance_id="uuid:2")
    first, again = phone.post_submission(xml), phone.post_submission(xml)
    posts = fake_server.requests("POST", "submission")
    assert posts[0].content == posts[1].content
    assert posts[0].headers["Content-Type"] == posts[1].headers["Content-Type"]
    assert (first.status_code, again.status_code) == (201, 202)
    assert len(fake_server.stored) == 1


def test_changed_xml_under_the_same_instance_id_is_a_conflict_with_the_server_message(
        phone, fake_server):
    template = XFormTemplate(form_xml("anthropometry"))
    phone.post_submission(template.fill(child_answers(), instance_id="uuid:3"))
    result = phone.post_submission(template.fill(child_answers(weight_kg="9.9"),
                                                 instance_id="uuid:3"))
    assert result.status_code == 409
    assert "already sent" in result.message


def test_an_edit_has_a_new_instance_id_and_the_old_one_as_deprecated_id(phone, fake_server):
    template = XFormTemplate(form_xml("anthropometry"))
    original = template.fill(child_answers(), instance_id="uuid:old")
    edited = edit_submission(original, {"weight_kg": "9.3"}, instance_id="uuid:new",
                             deprecated_id="uuid:old")
    assert phone.post_submission(original).status_code == 201
    assert phone.post_submission(edited).status_code == 201
    form_id, answers = read_submission(edited)
    assert form_id == "anthropometry"
    assert (answers["instanceID"], answers["deprecatedID"]) == ("uuid:new", "uuid:old")
    assert answers["weight_kg"] == "9.3" and answers["child_name"] == "Aqila Putri"


def test_the_phone_follows_the_servers_urls_and_refetches_media_only_when_it_changes(
        fake_server):
    phone = OpenRosaPhone(fake_server.url(), fake_server.client())
    phone.refresh()
    assert set(phone.forms) == {"anthropometry", "pregnancy_screening", "sanitation_check"}
    assert phone.media["children.csv"] == []
    media_gets = len(fake_server.requests("GET", "children.csv"))
    assert phone.refresh() == []  # nothing changed: no downloads
    assert len(fake_server.requests("GET", "children.csv")) == media_gets
    fake_server.lists["children.csv"].append({"name": "R1", "label": "x", "full_name": "A"})
    assert phone.refresh() == ["children.csv"]
    assert phone.media["children.csv"][0]["name"] == "R1"
    assert all(r.headers["X-OpenRosa-Version"] == "1.0" for r in fake_server.log)


def test_the_phone_never_requests_another_host(fake_server):
    phone = OpenRosaPhone(fake_server.url(), fake_server.client())
    with pytest.raises(OpenRosaError, match="refusing"):
        phone._get_ok("http://elsewhere.test/key/tok/formList")
    assert fake_server.log == []


def test_attachments_beyond_the_accepted_size_go_in_further_posts_marked_incomplete(
        fake_server):
    fake_server.max_content_length = 3000
    phone = OpenRosaPhone(fake_server.url(), fake_server.client())
    xml = XFormTemplate(form_xml("anthropometry")).fill(child_answers(), instance_id="uuid:4")
    photos = (Attachment("a.jpg", b"x" * 2000, "image/jpeg"),
              Attachment("b.jpg", b"y" * 2000, "image/jpeg"))
    phone.post_submission(xml, photos)
    posts = fake_server.requests("POST", "submission")
    assert len(posts) == 2
    first = parse_multipart(posts[0].content, posts[0].headers["Content-Type"])
    last = parse_multipart(posts[1].content, posts[1].headers["Content-Type"])
    assert first["*isIncomplete*"][2] == b"yes" and "a.jpg" in first
    assert "*isIncomplete*" not in last and "b.jpg" in last


def test_multipart_boundary_does_not_depend_on_chance():
    body_a, type_a = multipart_body(b"<data/>")
    body_b, type_b = multipart_body(b"<data/>")
    assert (body_a, type_a) == (body_b, type_b)
    assert multipart_body(b"<data id='x'/>")[1] != type_a


def test_a_bad_token_answer_is_reported(fake_server):
    phone = OpenRosaPhone(f"{BASE}/key/wrong", httpx.Client(transport=fake_server.transport()))
    with pytest.raises(OpenRosaError, match="403"):
        phone.refresh()
    phone.client.close()
