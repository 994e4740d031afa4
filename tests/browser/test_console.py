"""The console in headless Chromium with every request to another host aborted: sign
in, the dashboard's figures equal the API's, a child's growth chart, a kader refused
another posyandu's child (403), a conflict resolved and a failed submission reprocessed
by clicking, and a form post without its CSRF token refused. With
POSYANDU_SCREENSHOTS=DIR (`make screenshots`) the main pages are saved as PNGs there."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from api.console.render import CONTENT_SECURITY_POLICY
from models import DuplicatePair, Person
from sync.dashboard import month_of
from tests.console_data import (
    PASSWORD,
    add_missing_kelurahan,
    children_this_month,
    duplicate_pair,
    failed_submission,
    open_conflict,
    setup_field,
)
from tests.support import KELURAHAN, bearer


@pytest.fixture(scope="module")
def field(live_server):
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        data = setup_field(live_server.engine)
        children_this_month(http, data)
        data.conflict_id = open_conflict(http)
        data.second_conflict_id = open_conflict(http)
        data.failed_id = failed_submission(http, live_server.engine)
        duplicate_pair(http, data)
        duplicate_pair(http, data, "Nur Hidayah", "Nur", birth_date="2024-06-15")
    with Session(live_server.engine) as s:
        data.siti = s.exec(select(Person.id).where(Person.name == "Siti Aminah")).one()
        pairs = {s.get(Person, p.a_id).name.split()[0]: p.id
                 for p in s.exec(select(DuplicatePair)).all()}
        data.pair_id, data.second_pair_id = pairs["Aisyah"], pairs["Nur"]
    return data


def _sign_in(page, url, username, password=PASSWORD):
    page.goto(f"{url}/admin/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin$"))


def _clean(offline_page):
    assert offline_page.blocked == []
    assert [e for e in offline_page.console_errors if "Content Security Policy" in e] == []


def test_sign_in_and_the_dashboard_shows_the_apis_figures(live_server, field, offline_page,
                                                          playwright_thread):
    page = offline_page.page
    response = page.goto(f"{live_server.url}/admin/login")
    assert response.header_value("content-security-policy") == CONTENT_SECURITY_POLICY
    _sign_in(page, live_server.url, "spv")
    row = page.locator(f'tr[data-kelurahan="{KELURAHAN}"]')
    playwright_thread.expect(row).to_be_visible()
    shown = {name: int(row.locator(f'[data-figure="{name}"]').inner_text().split()[0])
             for name in ("measurements", "stunted", "wasted", "underweight")}
    month = month_of(date.today())
    with httpx.Client(base_url=live_server.url) as http:
        headers = bearer(http, "spv", PASSWORD)
        params = {"kelurahan_code": KELURAHAN, "from": month.since.isoformat(),
                  "to": month.until.isoformat(), "limit": 1}
        api = {"measurements": http.get("/api/v1/measurements", headers=headers,
                                        params=params).json()["total"]}
        for name in ("stunted", "wasted", "underweight"):
            api[name] = http.get("/api/v1/measurements", headers=headers,
                                 params={**params, name: "true"}).json()["total"]
        failed = http.get("/api/v1/submissions", headers=headers,
                          params={"status": "failed"}).json()["total"]
    assert shown == api and api["measurements"] == 3
    tile = page.locator('[data-figure="failed_submissions"] strong').inner_text()
    assert int(tile) == failed
    _clean(offline_page)


def test_a_childs_growth_chart_opens(live_server, field, offline_page, playwright_thread):
    page = offline_page.page
    _sign_in(page, live_server.url, "sri")
    page.goto(f"{live_server.url}/admin/registry?q=siti")
    page.click("text=Siti Aminah")
    chart = page.locator('svg[data-chart="length_height_for_age"]')
    playwright_thread.expect(chart).to_be_visible()
    assert chart.locator("path.sd").count() == 5
    assert chart.locator("circle.pt").count() == 2
    box = chart.bounding_box()
    assert box["width"] > 250 and box["height"] > 150  # drawn, not collapsed
    if os.environ.get("POSYANDU_SCREENSHOTS"):
        page.set_viewport_size({"width": 1200, "height": 900})
        page.locator(".charts").screenshot(path=str(_shots() / "growth-chart.png"))
    _clean(offline_page)


def test_a_kader_cannot_open_another_posyandus_child(live_server, field, offline_page):
    page = offline_page.page
    _sign_in(page, live_server.url, "budi")
    response = page.goto(f"{live_server.url}/admin/persons/{field.siti}")
    assert response.status == 403
    assert "di luar wilayah kerja" in page.content()
    _clean(offline_page)


def test_a_conflict_is_resolved_by_clicking(live_server, field, offline_page, playwright_thread):
    page = offline_page.page
    _sign_in(page, live_server.url, "spv")
    page.goto(f"{live_server.url}/admin/conflicts")
    page.click(f'tr[data-conflict="{field.conflict_id}"] a')
    playwright_thread.expect(page.locator("#conflict-status")).to_have_text("terbuka")
    page.check('tr[data-field="name"] input[value="typed"]')
    page.fill('input[name="typed.name"]', "Dewi Ayu")
    page.click('button[value="fields"]')
    playwright_thread.expect(page.locator("#conflict-status")).to_have_text("selesai")
    with Session(live_server.engine) as s:
        from models import SyncConflict

        conflict = s.get(SyncConflict, field.conflict_id)
        assert s.get(Person, conflict.entity_id).name == "Dewi Ayu"
    _clean(offline_page)


def test_a_failed_submission_is_reprocessed_by_clicking(live_server, field, offline_page,
                                                        playwright_thread):
    page = offline_page.page
    _sign_in(page, live_server.url, "spv")
    page.goto(f"{live_server.url}/admin/submissions?status=failed")
    page.click(f'tr[data-submission="{field.failed_id}"] a')
    playwright_thread.expect(page.get_by_text("Nama anak")).to_be_visible()
    add_missing_kelurahan(live_server.engine)
    page.click("text=Proses ulang")
    playwright_thread.expect(page.locator("#submission-status")).to_have_text("diproses")
    _clean(offline_page)


def test_a_duplicate_pair_is_merged_and_unmerged_by_clicking(live_server, field, offline_page,
                                                              playwright_thread):
    page = offline_page.page
    _sign_in(page, live_server.url, "spv")
    page.goto(f"{live_server.url}/admin/duplicates")
    page.click(f'tr[data-pair="{field.pair_id}"] a')
    playwright_thread.expect(page.locator("#pair-status")).to_have_text("terbuka")
    assert page.locator("svg.growth-chart").count() == 4
    page.check('input[name="survivor"][value="a"]')
    page.click("#merge")
    playwright_thread.expect(page.locator("#pair-status")).to_have_text("digabung")
    with Session(live_server.engine) as s:
        pair = s.get(DuplicatePair, field.pair_id)
        assert s.get(Person, pair.b_id).merged_into_id == pair.a_id
    page.goto(f"{live_server.url}/admin/persons/{pair.b_id}")
    playwright_thread.expect(page.locator("#merged")).to_be_visible()
    page.click("#unmerge")
    playwright_thread.expect(page.locator("#merged")).to_have_count(0)
    with Session(live_server.engine) as s:
        assert s.get(Person, pair.b_id).merged_into_id is None
    _clean(offline_page)


def test_a_case_list_is_downloaded(live_server, field, offline_page, playwright_thread):
    page = offline_page.page
    _sign_in(page, live_server.url, "spv")
    page.click("text=Daftar sasaran")
    playwright_thread.expect(page.locator("table.cases")).to_be_visible()
    assert page.locator("tr[data-case]").count() >= 1

    def click_and_download(real_page):
        with real_page.expect_download(timeout=60_000) as info:  # a loaded CI machine
            real_page.click("#download-csv")
        return info.value.suggested_filename, info.value.path()

    name, path = playwright_thread.run(click_and_download, page)
    assert name.startswith("cases-nutrition-") and name.endswith(".csv")
    assert b"Siti Aminah" in Path(path).read_bytes()
    _clean(offline_page)


def test_a_form_post_without_the_csrf_token_is_refused(live_server, field, offline_page):
    page = offline_page.page
    _sign_in(page, live_server.url, "spv")
    page.goto(f"{live_server.url}/admin/password")
    page.locator("form.stack input[name=csrf_token]").evaluate("e => e.remove()")
    page.fill("input[name=current_password]", PASSWORD)
    page.fill("input[name=new_password]", "not-changed-1")
    page.fill("input[name=repeat_password]", "not-changed-1")
    statuses = []
    page.on("response", lambda r: statuses.append((r.request.method, r.url, r.status)))
    page.click("form.stack button[type=submit]")
    page.get_by_text("Token keamanan formulir").wait_for()
    assert ("POST", f"{live_server.url}/admin/password", 403) in statuses
    # Still the old password.
    with httpx.Client(base_url=live_server.url) as http:
        assert http.post("/api/v1/auth/token", data={"username": "spv", "password": PASSWORD}
                         ).status_code == 200


def test_the_console_works_on_a_phones_screen(live_server, field, playwright_thread):
    context = playwright_thread.new_context(viewport={"width": 390, "height": 844},
                                            is_mobile=True)
    page = context.new_page()
    try:
        _sign_in(page, live_server.url, "spv")
        page.goto(f"{live_server.url}/admin/persons/{field.siti}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 400  # nothing wider than the screen but the scrolling tables
        chart = page.locator('svg[data-chart="weight_for_age"]').bounding_box()
        assert chart["width"] <= 390
    finally:
        context.close()


def _shots() -> Path:
    out = Path(os.environ["POSYANDU_SCREENSHOTS"])
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.mark.skipif(not os.environ.get("POSYANDU_SCREENSHOTS"),
                    reason="screenshots only with POSYANDU_SCREENSHOTS=DIR (make screenshots)")
def test_screenshots_of_the_main_pages(live_server, field, offline_page):
    page = offline_page.page
    page.set_viewport_size({"width": 1200, "height": 900})
    _sign_in(page, live_server.url, "spv")
    page.screenshot(path=str(_shots() / "dashboard.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/conflicts/{field.second_conflict_id}")
    page.screenshot(path=str(_shots() / "conflict.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/persons/{field.siti}")
    page.screenshot(path=str(_shots() / "child.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/duplicates/{field.second_pair_id}")
    page.screenshot(path=str(_shots() / "duplicate-pair.png"), full_page=True)
    _clean(offline_page)
