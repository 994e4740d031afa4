"""CSRF: where the console's tests plug in.

Today no route authenticates by cookie: the JSON API takes `Authorization: Bearer`
only, OpenRosa takes a device token in the path or HTTP Basic, and a browser sends
neither by itself to another site's form post, so there is nothing to forge.
`test_attacks.test_no_route_reads_a_session_cookie` keeps it so.

The console (server-rendered pages, api/console/, issue in progress) signs in with a
cookie. Its routes are unknown to test_attacks.ROUTES until it lands, so
`test_every_route_has_an_attack_spec` fails for each of them; the console adds them
there with `kind="console"`, and `attack_console_route` below is then run for every
unsafe one (POST/PUT/PATCH/DELETE): implement it to submit the console's form from
another origin, without the CSRF token and with a wrong one, and to assert 403 and
that nothing changed.
"""

from __future__ import annotations

import pytest


def attack_console_route(client, method: str, path: str) -> None:
    pytest.fail(f"{method} {path}: a console route without a CSRF attack test; write "
                "attack_console_route in tests/security/csrf.py")
