"""/docs and /redoc render the API's operations in Chromium with every request to
another host aborted: a puskesmas server often has no internet."""

from __future__ import annotations

from api.routes.docs import CONTENT_SECURITY_POLICY


def test_swagger_ui_renders_the_operations_with_the_network_blocked(live_server, offline_page,
                                                                    playwright_thread):
    page = offline_page.page
    response = page.goto(f"{live_server.url}/docs")
    assert response.status == 200
    assert response.header_value("content-security-policy") == CONTENT_SECURITY_POLICY
    # An operation as Swagger UI draws it: method badge and path.
    submission = page.locator(".opblock-post .opblock-summary-path", has_text="/submission").first
    playwright_thread.expect(submission).to_be_visible(timeout=20_000)
    playwright_thread.expect(page.locator(".opblock-get .opblock-summary-path",
                                          has_text="/api/v1/measurements").first).to_be_visible()
    assert offline_page.blocked == []
    assert [e for e in offline_page.console_errors if "Content Security Policy" in e] == []


def test_redoc_renders_the_operations_with_the_network_blocked(live_server, offline_page,
                                                               playwright_thread):
    page = offline_page.page
    response = page.goto(f"{live_server.url}/redoc")
    assert response.status == 200
    assert response.header_value("content-security-policy") == CONTENT_SECURITY_POLICY
    # ReDoc lists every operation in its side menu, by summary, with its method.
    menu = page.locator("[role=menuitem]", has_text="List Measurements").first
    playwright_thread.expect(menu).to_be_visible(timeout=20_000)
    menu.click()
    playwright_thread.expect(page.get_by_text("/api/v1/measurements").first).to_be_visible()
    assert offline_page.blocked == []
    # ReDoc always tries to show its vendor's logo from the vendor's CDN (the image
    # hides itself when it fails): the policy stops that request before the network.
    violations = [e for e in offline_page.console_errors if "Content Security Policy" in e]
    assert all("cdn.redoc.ly/redoc/logo-mini.svg" in e for e in violations), violations


def test_the_default_cdn_pages_are_not_served(live_server, offline_page):
    html = offline_page.page.goto(f"{live_server.url}/docs").text()
    assert "cdn.jsdelivr.net" not in html and "<script>" not in html
