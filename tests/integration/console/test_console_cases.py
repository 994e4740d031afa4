"""Caseloads in the console (#16 merged): the dashboard's caseload row equals the
caseload API's, a programme's case list equals the API's (page, CSV and XLSX), and an
intervention recorded from a case covers it (audited)."""

from __future__ import annotations

import io
import re
from datetime import date

from openpyxl import load_workbook
from sqlmodel import Session, select

from models import AuditLog, Person
from tests.console_data import PASSWORD, children_this_month, setup_field
from tests.integration.console.conftest import sign_in
from tests.support import KELURAHAN, bearer


def test_the_dashboards_caseload_and_the_case_list_are_the_apis(client, db):
    field = setup_field(db)
    children_this_month(client, field)
    period = date.today().strftime("%Y-%m")
    headers = bearer(client, "spv", PASSWORD)
    api = client.get(f"/api/v1/caseloads/{KELURAHAN}", params={"period": period},
                     headers=headers).json()["children"]["0_59m"]
    csrf = sign_in(client, "spv")
    home = client.get("/admin").text
    row = re.search(rf'<tr data-caseload="{re.escape(KELURAHAN)}">(.*?)</tr>', home, re.S).group(1)
    shown = dict(re.findall(r'data-figure="(\w+)">([^<]+)<', row))
    assert (int(shown["S"]), int(shown["D"]), int(shown["N"])) == (api["S"], api["D"], api["N"])
    assert shown["stunted_prevalence"] == f"{api['stunted_prevalence'] * 100:.1f}%"

    page = client.get(f"/admin/cases?code={KELURAHAN}&program=nutrition&period={period}").text
    listed = client.get(f"/api/v1/caseloads/{KELURAHAN}/cases",
                        params={"program": "nutrition", "period": period}, headers=headers).json()
    ids = {c["person_id"] for c in listed["items"]}
    assert ids and set(re.findall(r'<tr data-case="([^"]+)"', page)) == ids
    for fmt in ("csv", "xlsx"):
        mine = client.get("/admin/cases/download", params={
            "code": KELURAHAN, "program": "nutrition", "period": period, "format": fmt})
        theirs = client.get(f"/api/v1/caseloads/{KELURAHAN}/cases", headers=headers, params={
            "program": "nutrition", "period": period, "format": fmt})
        assert mine.status_code == 200 and "attachment" in mine.headers["content-disposition"]
        if fmt == "csv":
            assert mine.content == theirs.content and b"Siti Aminah" in mine.content
        else:
            sheet = load_workbook(io.BytesIO(mine.content)).active
            names = {cell.value for cell in sheet["D"]}
            assert "Siti Aminah" in names

    with Session(db) as s:
        siti = s.exec(select(Person.id).where(Person.name == "Siti Aminah")).one()
    answer = client.post("/admin/interventions", data={
        "csrf_token": csrf, "program": "nutrition", "code": KELURAHAN, "period": period,
        "person_id": siti, "type": "pmt", "delivered_on": date.today().isoformat(),
        "quantity": "2", "unit": "kg"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].endswith("done=1")
    page = client.get(answer.headers["location"]).text
    siti_row = re.search(rf'<tr data-case="{siti}">(.*?)</tr>', page, re.S).group(1)
    assert "pmt" in siti_row and re.search(r"<td>Ya(<br>|</td>)", siti_row)  # covered
    with Session(db) as s:
        assert s.exec(select(AuditLog).where(AuditLog.action == "intervention.create")).first()
    # Without the form's token, nothing is recorded.
    assert client.post("/admin/interventions", data={
        "program": "nutrition", "person_id": siti, "type": "pmt",
        "delivered_on": date.today().isoformat()}).status_code == 403
