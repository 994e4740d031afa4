"""The end of `make demo`: Kota Pekalongan's caseload and one kelurahan's case list, read
from the caseload API (simulator/caseload_report.py), against the app."""

from __future__ import annotations

from simulator.admin import AdminClient
from simulator.caseload_report import render_caseloads
from tests.integration.openrosa.field_records import send_field_records
from tests.support import ADMIN_PASSWORD

BASE = "http://testserver"


def test_the_demo_prints_a_caseload_and_a_case_list(client, db, forms, phone, make_phone,
                                                     admin_user, admin_headers):
    admin = AdminClient(BASE, client, "admin", ADMIN_PASSWORD)
    assert render_caseloads(admin, "2026-09", "2026-11") == "caseloads: no child measured yet"
    send_field_records(client, db, forms, phone, make_phone, admin_headers)
    text = render_caseloads(admin, "2026-09", "2026-11")
    assert "caseload of Kota Pekalongan for 2026-10" in text
    assert "balita  registered" in text and "Pekalongan Barat" in text
    assert "nutrition cases of" in text and "stunted" in text
    assert f"{BASE}/api/v1/caseloads/" in text
