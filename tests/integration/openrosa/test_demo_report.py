"""The end of `make demo`: what the server stored, read from its API as an admin
(simulator/server_report.py through simulator.demo.server_summary), against the app."""

from __future__ import annotations

from simulator.admin import AdminClient
from simulator.demo import server_summary
from simulator.server_report import collect
from tests.integration.openrosa.field_records import send_field_records
from tests.support import ADMIN_PASSWORD

BASE = "http://testserver"


def test_an_empty_server_is_summarised_without_failing(client, admin_user):
    text = server_summary(BASE, "admin", ADMIN_PASSWORD, client=client)
    assert "submissions" in text and "sanitation checks" in text
    assert "none yet" in text and "%" not in text  # no share of nothing
    assert f"{BASE}/api/v1/measurements" in text


def test_the_summary_counts_what_the_server_stored(client, db, forms, phone, make_phone,
                                                    admin_user, admin_headers):
    send_field_records(client, db, forms, phone, make_phone, admin_headers)
    report = collect(AdminClient(BASE, client, "admin", ADMIN_PASSWORD), examples=3)
    assert report.submissions.total == 14
    assert {c.label: c.total for c in report.by_status} == {
        "processed": 13, "superseded": 1, "failed": 0, "received": 0}
    assert report.measurements.total == 6
    assert {c.label: c.total for c in report.children} == {
        "stunted": 4, "wasted": 1, "underweight": 4, "flagged": 2}
    assert report.screenings.total == 4
    assert {c.label: c.total for c in report.women} == {"KEK": 2, "anaemia": 2, "pregnant": 3}
    assert {c.label: c.total for c in report.households} == {
        "jamban sehat": 2, "no jamban sehat": 1, "sanitasi layak": 2}
    assert [m["child_name"] for m in report.examples] == [
        "Ayu Lestari", "Fajar Nugroho", "Eko Prasetyo"]

    text = server_summary(BASE, "admin", ADMIN_PASSWORD, client=client)
    assert "4 (67 %) stunted" in text and "2 (50 %) KEK" in text
    assert "2 (67 %) jamban sehat" in text
    assert f"{BASE}/api/v1/pregnancy-screenings?kek=true" in text
    assert "Fajar Nugroho" in text and "gizi_kurang" in text


def test_a_refused_sign_in_is_a_line_of_text_not_a_crash(client, admin_user):
    text = server_summary(BASE, "admin", "wrong-password", client=client)
    assert text.startswith("could not read the server's results") and "401" in text
