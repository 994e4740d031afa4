"""`assess_child`: the record the server stores on each measurement."""

from __future__ import annotations

from indicators.child import assess_child

STORED_FIELDS = [
    "age_days",
    "clenhei",
    "cmeasure",
    "c9mo_flag",
    "cbmi",
    "zlen",
    "flen",
    "zwei",
    "fwei",
    "zwfl",
    "fwfl",
    "zbmi",
    "fbmi",
    "zac",
    "fac",
    "bbu_category",
    "tbu_category",
    "bbtb_category",
    "imtu_category",
    "stunted",
    "severely_stunted",
    "wasted",
    "severely_wasted",
    "underweight",
    "overweight",
    "age_group",
]


def test_assessment_carries_who_zscores_and_permenkes_categories_under_their_names():
    record = assess_child(1, 800, 8.0, 80.0, "L", oedema="n", muac_cm=12.0).as_dict()
    assert list(record) == STORED_FIELDS
    assert (record["zlen"], record["flen"], record["zwfl"], record["zac"]) == (
        -3.05,
        0,
        -3.34,
        -3.14,
    )
    assert record["tbu_category"] == "sangat_pendek"
    assert record["bbtb_category"] == "gizi_buruk"
    assert (record["stunted"], record["wasted"], record["age_group"]) == (True, True, "balita")


def test_assessment_of_a_child_with_oedema_is_gizi_buruk_without_weight_zscores():
    record = assess_child(2, 300, 7.0, 66.0, "H", oedema=True).as_dict()
    assert (record["zwei"], record["zwfl"], record["zbmi"]) == (None, None, None)
    assert (record["bbtb_category"], record["bbu_category"]) == ("gizi_buruk", "sangat_kurang")
    assert record["wasted"] is True and record["age_group"] == "baduta"


def test_assessment_without_age_still_gives_weight_for_length():
    record = assess_child(1, None, 9.0, 75.0, "L").as_dict()
    assert record["zwfl"] is not None and record["bbtb_category"] is not None
    assert (record["zlen"], record["tbu_category"], record["stunted"], record["age_group"]) == (
        None,
        None,
        None,
        None,
    )
