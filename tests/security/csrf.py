"""CSRF: the console's form posts (api/console) are the only routes a browser
authenticates by itself (its session cookie). `test_attacks.test_console_routes_are_csrf_tested`
runs `attack_console_route` for every unsafe console route listed in
`test_attacks.CONSOLE_ROUTES`: signed in as an admin (who may do everything, so only the
CSRF check can refuse), the form is posted without its token and with a forged one, and
must be refused with 403 before anything is done. The JSON API takes
`Authorization: Bearer` only and OpenRosa a device token or HTTP Basic, which a browser
never sends to another site's form by itself
(`test_attacks.test_no_route_reads_a_session_cookie`).
"""

from __future__ import annotations

import re

from tests.support import ADMIN_PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _sign_in(client) -> None:
    page = client.get("/admin/login")
    token = _CSRF.search(page.text).group(1)
    answer = client.post("/admin/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                               "csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:200]


def attack_console_route(client, method: str, path: str) -> None:
    url = re.sub(r"\{[^}]+\}", "1", path)
    client.cookies.clear()
    if path != "/admin/login":
        _sign_in(client)
    else:
        client.get("/admin/login")  # the double-submit cookie, as a browser would hold it
    for forged in (None, "0" * 43):
        data = {"username": "admin", "password": ADMIN_PASSWORD}
        if forged is not None:
            data["csrf_token"] = forged
        answer = client.request(method, url, data=data, follow_redirects=False)
        assert answer.status_code == 403, (method, path, forged, answer.status_code,
                                           answer.text[:200])
    client.cookies.clear()
