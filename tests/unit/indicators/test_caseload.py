"""The pure caseload maths: which measurement decides, age groups, flags, SKDN."""

from datetime import date

from indicators.caseload import ChildMeasurement, child_months, previous_period, region_figures


def m(id, day, age_days=400, weight=9.0, **status):
    return ChildMeasurement(id=id, measured_on=date.fromisoformat(day), age_days=age_days,
                            weight_kg=weight, kelurahan_code="33.75.01.1002", **status)


def test_latest_valid_measurement_of_the_month_decides_the_status():
    months = child_months([m(1, "2026-11-02", stunted=True), m(2, "2026-11-20", stunted=False),
                           m(3, "2026-11-25", stunted=True, is_current=False)])
    counts = months["2026-11"].counts
    assert months["2026-11"].measurement_id == 2
    assert "0_59m.stunted" not in counts and counts["0_59m.assessed_stunting"] == 1


def test_baduta_is_under_731_days_and_balita_includes_it():
    assert "0_23m.measured" in child_months([m(1, "2026-11-02", age_days=730)])["2026-11"].counts
    later = child_months([m(1, "2026-11-02", age_days=731)])["2026-11"].counts
    assert "0_23m.measured" not in later and later["0_59m.measured"] == 1
    assert child_months([m(1, "2026-11-02", age_days=1827)]) == {}  # 60 months and over
    assert child_months([m(1, "2026-11-02", age_days=None)]) == {}  # age unknown


def test_flagged_z_score_is_out_of_that_indicator_and_its_denominator():
    counts = child_months([m(1, "2026-11-02", stunted=None, wasted=True)])["2026-11"].counts
    assert "0_59m.assessed_stunting" not in counts and counts["0_59m.wasted"] == 1
    figures = region_figures(child_months([m(1, "2026-11-02", stunted=None, wasted=True)]).values())
    assert figures["0_59m"]["stunted_prevalence"] is None
    assert figures["0_59m"]["wasted_prevalence"] == 1.0


def test_measurement_in_conflict_is_not_counted():
    assert child_months([m(1, "2026-11-02", in_conflict=True)]) == {}


def test_skdn_n_needs_a_gain_since_last_month_and_2t_two_months_without_gain():
    months = child_months([m(1, "2026-09-05", weight=9.0), m(2, "2026-10-05", weight=9.0),
                           m(3, "2026-11-05", weight=8.9), m(4, "2026-12-05", weight=9.3)])
    assert "0_59m.N" not in months["2026-09"].counts  # not weighed the month before
    assert "0_59m.N" not in months["2026-10"].counts
    assert months["2026-11"].counts["0_59m.not_gained_twice"] == 1
    assert months["2026-12"].counts["0_59m.N"] == 1
    assert "0_59m.not_gained_twice" not in months["2026-12"].counts


def test_region_figures_add_up_and_give_ratios_with_four_decimals():
    children = [child_months([m(i, "2026-11-02", stunted=i < 1)])["2026-11"] for i in range(3)]
    figures = region_figures(children, registered={"0_59m": 7, "0_23m": 5})
    assert figures["0_59m"]["stunted"] == 1 and figures["0_59m"]["measured"] == 3
    assert figures["0_59m"]["stunted_prevalence"] == 0.3333
    assert figures["0_59m"]["D_over_S"] == round(3 / 7, 4)


def test_previous_period_crosses_the_year():
    assert previous_period("2026-01") == "2025-12" and previous_period("2026-02", 2) == "2025-12"
