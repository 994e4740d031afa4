"""Scrubbing a raw submission for an erasure or the retention period: the leaves that
identify the person go, any leaf holding one of their names or NIKs goes, the rest
(measured values, other people) stays; XML from Collect and JSON from Kobo alike."""

from __future__ import annotations

import json

from sync.subjects import ERASED, MOTHER_LEAVES, SUBJECT_LEAVES, scrub_json, scrub_xml
from sync.submission_xml import flatten_leaves, safe_parse

XML = b"""<?xml version='1.0' encoding='UTF-8'?>
<data xmlns="http://www.w3.org/2002/xforms" id="anthropometry" version="3">
  <grp_child><child_name>Siti Aminah</child_name><child_nik>3375014403240001</child_nik>
  <mother_name>Rina Wati</mother_name><mother_nik>3375015507950002</mother_nik>
  <household_kk></household_kk></grp_child>
  <grp_measure><weight_kg>9.1</weight_kg></grp_measure>
  <grp_extra><notes>tinggal dengan nenek, Rina Wati</notes></grp_extra>
  <meta><instanceID>uuid:1</instanceID></meta>
</data>"""


def test_subject_leaves_go_and_measured_values_stay():
    leaves = flatten_leaves(safe_parse(scrub_xml(XML, SUBJECT_LEAVES, set(), set())))
    assert leaves["child_name"] == leaves["child_nik"] == leaves["mother_name"] == ERASED
    assert leaves["notes"] == ERASED
    assert leaves["household_kk"] == ""  # empty stays empty
    assert leaves["weight_kg"] == "9.1" and leaves["instanceID"] == "uuid:1"


def test_a_mother_loses_her_leaves_from_her_childs_submission_and_the_child_stays():
    leaves = flatten_leaves(safe_parse(scrub_xml(XML, MOTHER_LEAVES, {"rina wati"},
                                                 {"3375015507950002"})))
    assert leaves["mother_name"] == leaves["mother_nik"] == ERASED
    assert leaves["child_name"] == "Siti Aminah"
    # A free-text note that mentions her keeps the rest of what it says.
    assert leaves["notes"] == f"tinggal dengan nenek, {ERASED}"


def test_a_name_inside_another_word_is_not_a_mention():
    xml = XML.replace(b"tinggal dengan nenek, Rina Wati", b"Rina Watiningsih datang")
    leaves = flatten_leaves(safe_parse(scrub_xml(xml, frozenset(), {"rina wati"}, set())))
    assert leaves["notes"] == "Rina Watiningsih datang"


def test_a_leaf_equal_to_a_held_nik_or_name_goes_whatever_its_field():
    other = XML.replace(b"<weight_kg>9.1</weight_kg>", b"<weight_kg>9.1</weight_kg>"
                        b"<extra>3375014403240001</extra><who> siti aminah </who>")
    leaves = flatten_leaves(safe_parse(scrub_xml(other, frozenset(), {"siti aminah"},
                                                 {"3375014403240001"})))
    assert leaves["extra"] == leaves["who"] == leaves["child_nik"] == ERASED
    assert leaves["mother_name"] == "Rina Wati"


def test_kobo_json_is_scrubbed_by_leaf_name():
    body = json.dumps({"grp_child/child_name": "Siti Aminah", "grp_measure/weight_kg": 9.1,
                       "_attachments": [{"filename": "a.jpg"}],
                       "meta/instanceID": "uuid:2"}).encode()
    out = json.loads(scrub_json(body, SUBJECT_LEAVES, set(), set()))
    assert out["grp_child/child_name"] == ERASED
    assert out["grp_measure/weight_kg"] == 9.1 and out["meta/instanceID"] == "uuid:2"
