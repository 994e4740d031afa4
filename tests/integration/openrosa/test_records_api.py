"""Measurements, pregnancy screenings and sanitation checks read through the JSON API:
names, computed results, filters, scope and pages (records: field_records.py)."""

from __future__ import annotations

import pytest

from tests.integration.openrosa.field_records import (
    CHECKS,
    MEASUREMENTS,
    SCREENINGS,
    FieldData,
    send_field_records,
)
from tests.support import KELURAHAN, OTHER_KELURAHAN, bearer


@pytest.fixture
def field(client, db, forms, phone, make_phone, admin_headers) -> FieldData:
    return send_field_records(client, db, forms, phone, make_phone, admin_headers)


def _get(client, headers, path: str, **params) -> dict:
    r = client.get(path, headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _names(client, headers, path: str, key: str, **params) -> list[str]:
    return [item[key] for item in _get(client, headers, path, **params)["items"]]


# ---------------------------------------------------------------- measurements


def test_measurements_carry_the_childs_name_and_sex_newest_first(client, admin_headers, field):
    body = _get(client, admin_headers, MEASUREMENTS)
    assert body["total"] == 6 and (body["limit"], body["offset"]) == (100, 0)
    rows = [(m["measured_on"], m["child_name"], m["sex"]) for m in body["items"]]
    # Same day: the later record first (id tiebreak).
    assert rows == [("2026-10-20", "Ayu Lestari", "female"), ("2026-10-20", "Fajar Nugroho", "male"),
                    ("2026-10-20", "Eko Prasetyo", "male"), ("2026-10-15", "Budi Santoso", "male"),
                    ("2026-10-02", "Siti Aminah", "female"), ("2026-09-02", "Siti Aminah", "female")]
    siti = body["items"][-1]
    assert (siti["tbu_category"], siti["bbu_category"], siti["stunted"], siti["underweight"]) == (
        "sangat_pendek", "kurang", True, True)
    assert siti["zlen"] == -3.16 and siti["instance_id"].startswith("uuid:")


def test_measurements_are_filtered_by_flags(client, admin_headers, field):
    flagged = _get(client, admin_headers, MEASUREMENTS, flagged="true")["items"]
    assert [(m["child_name"], m["plausibility_flags"], m["fwfl"]) for m in flagged] == [
        ("Eko Prasetyo", "", 1), ("Siti Aminah", "length_drop", 0)]
    assert _names(client, admin_headers, MEASUREMENTS, "child_name", flagged="false") == [
        "Ayu Lestari", "Fajar Nugroho", "Budi Santoso", "Siti Aminah"]


@pytest.mark.parametrize("params, expected", [
    ({"stunted": "true"}, ["Ayu Lestari", "Eko Prasetyo", "Siti Aminah", "Siti Aminah"]),
    ({"stunted": "false"}, ["Fajar Nugroho", "Budi Santoso"]),
    # Eko's weight-for-length is flagged: neither wasted nor not wasted.
    ({"wasted": "true"}, ["Fajar Nugroho"]),
    ({"wasted": "false"}, ["Ayu Lestari", "Budi Santoso", "Siti Aminah", "Siti Aminah"]),
    ({"underweight": "true"}, ["Fajar Nugroho", "Eko Prasetyo", "Siti Aminah", "Siti Aminah"]),
    ({"tbu_category": "pendek"}, ["Eko Prasetyo"]),
    ({"bbu_category": "sangat_kurang"}, ["Eko Prasetyo"]),
    ({"bbtb_category": "gizi_kurang"}, ["Fajar Nugroho"]),
    ({"imtu_category": "gizi_baik", "stunted": "false"}, ["Budi Santoso"]),
    # `category`: any of the four categories has the value.
    ({"category": "pendek"}, ["Eko Prasetyo"]),
    ({"category": "sangat_kurang"}, ["Eko Prasetyo"]),
    ({"category": "gizi_kurang"}, ["Fajar Nugroho"]),
    ({"from": "2026-10-02", "to": "2026-10-15"}, ["Budi Santoso", "Siti Aminah"]),
    ({"from": "2026-10-16"}, ["Ayu Lestari", "Fajar Nugroho", "Eko Prasetyo"]),
    ({"to": "2026-09-30"}, ["Siti Aminah"]),
    ({"kelurahan_code": OTHER_KELURAHAN}, ["Ayu Lestari"]),
])
def test_measurement_filters_narrow_the_list(client, admin_headers, field, params, expected):
    body = _get(client, admin_headers, MEASUREMENTS, **params)
    assert [m["child_name"] for m in body["items"]] == expected
    assert body["total"] == len(expected)


def test_measurements_are_filtered_by_posyandu_and_child(client, admin_headers, field):
    assert _names(client, admin_headers, MEASUREMENTS, "child_name",
                  posyandu_id=field.kader_b.posyandu_id) == ["Ayu Lestari"]
    siti = _get(client, admin_headers, MEASUREMENTS, to="2026-09-30")["items"][0]["person_id"]
    assert _names(client, admin_headers, MEASUREMENTS, "measured_on", person_id=siti) == [
        "2026-10-02", "2026-09-02"]


# ---------------------------------------------------------------- pregnancy screenings


def test_pregnancy_screenings_show_kek_anaemia_and_risk_markers(client, admin_headers, field):
    body = _get(client, admin_headers, SCREENINGS)
    assert body["total"] == 4
    by_name = {s["woman_name"]: s for s in body["items"]}
    assert list(by_name) == ["Sri Wahyuni", "Ani Susanti", "Dewi Lestari", "Rina Wati"]
    rina = by_name["Rina Wati"]
    assert (rina["kek"], rina["anaemia"], rina["anaemia_severity"], rina["hb_g_dl"]) == (
        True, True, "mild", 10.8)  # the edit, not the first version
    assert rina["instance_id"] == "uuid:rina-2" and rina["pregnancy_id"]
    assert (rina["kelurahan_code"], rina["kelurahan_name"], rina["posyandu_id"],
            rina["posyandu_name"]) == (KELURAHAN, "Medono", field.kader_a.posyandu_id, "Melati 1")
    assert rina["bmi"] == pytest.approx(48 / 1.5**2)
    dewi = by_name["Dewi Lestari"]
    assert [dewi[k] for k in ("kek", "anaemia", "anaemia_severity", "risk_age_under_20",
                              "risk_age_over_35", "risk_short_stature", "risk_low_bmi")] == [
        False, False, "none", True, False, True, False]
    sri = by_name["Sri Wahyuni"]
    assert [sri[k] for k in ("pregnant", "gestational_age_weeks", "kek", "anaemia",
                             "risk_age_over_35", "risk_low_bmi", "age_years")] == [
        False, None, True, False, True, True, 38]
    assert by_name["Ani Susanti"]["anaemia_severity"] == "moderate"


@pytest.mark.parametrize("params, expected", [
    ({"kek": "true"}, ["Sri Wahyuni", "Rina Wati"]),
    ({"kek": "false"}, ["Ani Susanti", "Dewi Lestari"]),
    ({"anaemia": "true"}, ["Ani Susanti", "Rina Wati"]),
    ({"anaemia": "false", "kek": "false"}, ["Dewi Lestari"]),
    ({"pregnant": "false"}, ["Sri Wahyuni"]),
    ({"from": "2026-10-01", "to": "2026-10-31"}, ["Ani Susanti", "Dewi Lestari"]),
    ({"kelurahan_code": OTHER_KELURAHAN}, ["Ani Susanti"]),
    ({"current_only": "false"}, ["Sri Wahyuni", "Ani Susanti", "Dewi Lestari", "Rina Wati",
                                 "Rina Wati"]),
])
def test_pregnancy_screening_filters_narrow_the_list(client, admin_headers, field, params,
                                                     expected):
    body = _get(client, admin_headers, SCREENINGS, **params)
    assert [s["woman_name"] for s in body["items"]] == expected
    assert body["total"] == len(expected)


def test_pregnancy_screenings_are_filtered_by_posyandu_and_woman(client, admin_headers, field):
    assert _names(client, admin_headers, SCREENINGS, "woman_name",
                  posyandu_id=field.kader_a.posyandu_id) == [
        "Sri Wahyuni", "Dewi Lestari", "Rina Wati"]
    dewi = _get(client, admin_headers, SCREENINGS, pregnant="true", kek="false",
                anaemia="false")["items"][0]["woman_id"]
    assert _names(client, admin_headers, SCREENINGS, "woman_name", woman_id=dewi) == [
        "Dewi Lestari"]
    old = _get(client, admin_headers, SCREENINGS, current_only="false")["items"][-1]
    assert (old["instance_id"], old["hb_g_dl"], old["is_current"]) == ("uuid:rina-1", 10.4, False)


# ---------------------------------------------------------------- sanitation checks


def test_sanitation_checks_show_the_household_and_stbm_pillars(client, admin_headers, field):
    body = _get(client, admin_headers, CHECKS)
    assert [(c["head_name"], c["checked_on"]) for c in body["items"]] == [
        ("Pak Budi", "2026-11-03"), ("Pak Hadi", "2026-10-20"), ("Pak Joko", "2026-10-03")]
    budi, _, joko = body["items"]
    assert (budi["kk"], budi["kelurahan_code"], budi["kelurahan_name"]) == (
        "3375010101200003", KELURAHAN, "Medono")
    pillars = ("stop_babs", "ctps", "pamm_rt", "ps_rt", "plc_rt", "jamban_sehat",
               "sanitasi_layak", "air_minum_layak")
    assert [budi[p] for p in pillars] == [True] * 8
    # A simple pit keeps the excreta (Stop BABS) but is no healthy latrine.
    assert [joko[p] for p in pillars] == [True] + [False] * 7
    assert (joko["latrine_type"], joko["handwashing_soap"], joko["waste_bin"]) == (
        "cemplung", False, False)


@pytest.mark.parametrize("params, expected", [
    ({"jamban_sehat": "true"}, ["Pak Budi", "Pak Hadi"]),
    ({"jamban_sehat": "false"}, ["Pak Joko"]),
    ({"sanitasi_layak": "false"}, ["Pak Joko"]),
    ({"sanitasi_layak": "true", "kelurahan_code": OTHER_KELURAHAN}, ["Pak Hadi"]),
    ({"from": "2026-10-01", "to": "2026-10-31"}, ["Pak Hadi", "Pak Joko"]),
    ({"kelurahan_code": KELURAHAN}, ["Pak Budi", "Pak Joko"]),
])
def test_sanitation_check_filters_narrow_the_list(client, admin_headers, field, params, expected):
    body = _get(client, admin_headers, CHECKS, **params)
    assert [c["head_name"] for c in body["items"]] == expected
    assert body["total"] == len(expected)


def test_sanitation_checks_are_filtered_by_household(client, admin_headers, field):
    joko = _get(client, admin_headers, CHECKS, jamban_sehat="false")["items"][0]["household_id"]
    assert _names(client, admin_headers, CHECKS, "head_name", household_id=joko) == ["Pak Joko"]


# ---------------------------------------------------------------- scope and pages


def test_each_caller_sees_the_records_of_their_scope_only(client, field, make_user):
    make_user("sup-barat", "supervisor", scopes=["33.75.01"])
    make_user("sup-selatan", "supervisor", scopes=["33.75.04"])
    make_user("dinkes", "agency", scopes=["33.75"], agency="Dinas Kesehatan")
    seen = {}
    for username in ("kader-sri", "kader-b", "sup-barat", "sup-selatan", "dinkes"):
        headers = bearer(client, username, "password-123")
        seen[username] = (
            set(_names(client, headers, MEASUREMENTS, "child_name")),
            set(_names(client, headers, SCREENINGS, "woman_name")),
            set(_names(client, headers, CHECKS, "head_name")))
    barat = ({"Siti Aminah", "Budi Santoso", "Eko Prasetyo", "Fajar Nugroho"},
             {"Rina Wati", "Dewi Lestari", "Sri Wahyuni"}, {"Pak Budi", "Pak Joko"})
    selatan = ({"Ayu Lestari"}, {"Ani Susanti"}, {"Pak Hadi"})
    assert seen["kader-sri"] == seen["sup-barat"] == barat
    assert seen["kader-b"] == seen["sup-selatan"] == selatan
    assert seen["dinkes"] == tuple(a | b for a, b in zip(barat, selatan, strict=True))
    # A filter never reaches outside the scope.
    other = bearer(client, "kader-b", "password-123")
    for path in (MEASUREMENTS, SCREENINGS, CHECKS):
        assert _get(client, other, path, kelurahan_code=KELURAHAN)["total"] == 0
    assert _get(client, other, MEASUREMENTS,
                posyandu_id=field.kader_a.posyandu_id)["total"] == 0


@pytest.mark.parametrize("path, key", [(MEASUREMENTS, "id"), (SCREENINGS, "id"), (CHECKS, "id")])
def test_pages_follow_each_other_without_overlap(client, admin_headers, field, path, key):
    everything = _get(client, admin_headers, path)
    pages = [_get(client, admin_headers, path, limit=2, offset=offset)
             for offset in range(0, everything["total"], 2)]
    assert all(p["total"] == everything["total"] and p["limit"] == 2 for p in pages)
    assert [item[key] for p in pages for item in p["items"]] == [
        item[key] for item in everything["items"]]


def test_records_need_a_signed_in_caller(client):
    for path in (MEASUREMENTS, SCREENINGS, CHECKS):
        r = client.get(path)
        assert r.status_code == 401 and r.json()["error"] == "auth.missing"


@pytest.mark.parametrize("query", [
    f"{MEASUREMENTS}?flagged=maybe", f"{MEASUREMENTS}?stunted=2", f"{MEASUREMENTS}?wasted=x",
    f"{MEASUREMENTS}?underweight=x", f"{MEASUREMENTS}?tbu_category=gizi_buruk",
    f"{MEASUREMENTS}?bbu_category=bogus", f"{MEASUREMENTS}?bbtb_category=pendek",
    f"{MEASUREMENTS}?imtu_category=bogus", f"{MEASUREMENTS}?category=bogus", f"{MEASUREMENTS}?from=2026-13-01",
    f"{MEASUREMENTS}?to=yesterday", f"{MEASUREMENTS}?posyandu_id=0",
    f"{MEASUREMENTS}?posyandu_id=99999999999", f"{MEASUREMENTS}?current_only=perhaps",
    f"{SCREENINGS}?kek=maybe", f"{SCREENINGS}?anaemia=x", f"{SCREENINGS}?pregnant=x",
    f"{SCREENINGS}?from=01-10-2026", f"{SCREENINGS}?posyandu_id=abc",
    f"{CHECKS}?jamban_sehat=maybe", f"{CHECKS}?sanitasi_layak=x", f"{CHECKS}?to=2026-02-30",
    f"{CHECKS}?limit=1001",
])
def test_an_unknown_filter_value_is_422_not_an_empty_page(client, admin_headers, query):
    r = client.get(query, headers=admin_headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "request.invalid"


@pytest.mark.parametrize("path", [MEASUREMENTS, SCREENINGS, CHECKS])
def test_a_date_range_that_ends_before_it_starts_is_refused(client, admin_headers, path):
    r = client.get(path, headers=admin_headers, params={"from": "2026-10-02", "to": "2026-10-01"})
    assert r.status_code == 400 and r.json()["error"] == "filter.date_range"
    assert _get(client, admin_headers, path, **{"from": "2026-10-02", "to": "2026-10-02"})


# ---------------------------------------------------------------- the contract


def test_the_measurement_response_serves_every_stored_column():
    """The response model is written out (for its descriptions); this keeps it from
    silently leaving out a column added to the table, as the derived model did."""
    from api.routes.records import MeasurementOut
    from models import Measurement

    internal = {"submission_id", "created_at"}
    assert set(Measurement.model_fields) - internal <= set(MeasurementOut.model_fields)
    assert {"instance_id", "child_name", "sex"} <= set(MeasurementOut.model_fields)


def test_openapi_explains_every_computed_result(app):
    schemas = app.openapi()["components"]["schemas"]
    computed = {
        "MeasurementOut": ["zlen", "flen", "tbu_category", "bbtb_category", "stunted", "wasted",
                           "underweight", "plausibility_flags", "child_name"],
        "PregnancyScreeningOut": ["kek", "anaemia", "anaemia_severity", "bmi",
                                  "risk_age_under_20", "risk_age_over_35", "risk_short_stature",
                                  "risk_low_bmi"],
        "SanitationCheckOut": ["stop_babs", "ctps", "pamm_rt", "ps_rt", "plc_rt", "jamban_sehat",
                               "sanitasi_layak", "air_minum_layak"],
    }
    for schema, fields in computed.items():
        properties = schemas[schema]["properties"]
        assert all(properties[f].get("description") for f in fields), schema
    assert "23.5" in schemas["PregnancyScreeningOut"]["properties"]["kek"]["description"]
    parameters = {p["name"] for p in app.openapi()["paths"][MEASUREMENTS]["get"]["parameters"]}
    assert {"kelurahan_code", "person_id", "current_only", "limit", "offset", "posyandu_id",
            "flagged", "stunted", "wasted", "underweight", "tbu_category", "bbu_category",
            "bbtb_category", "imtu_category", "from", "to"} <= parameters
