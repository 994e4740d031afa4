"""Browser tests: the real app under uvicorn on a free port, driven by Playwright in
Debian's Chromium (`/usr/bin/chromium`; Playwright's own browser builds are never
downloaded). Every request for a host other than the server is aborted and recorded,
so a page that needs the internet fails its test.

Playwright's sync API runs an asyncio loop in the thread that starts it, and while it
runs `asyncio.run` cannot be called there. The rest of the suite calls `asyncio.run`,
so Playwright lives in a thread of its own for the whole session and the tests reach
it through `Remote` proxies (see tests/browser/remote.py): the main thread never holds
a running loop. Uvicorn runs in another thread with its own loop.

Without /usr/bin/chromium these tests are skipped, unless POSYANDU_REQUIRE_BROWSER=1
(CI), where they fail.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser.remote import PlaywrightThread

CHROMIUM = Path(os.environ.get("POSYANDU_CHROMIUM", "/usr/bin/chromium"))
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing (apt-get install chromium)"
    if os.environ.get("POSYANDU_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{message}, but POSYANDU_REQUIRE_BROWSER=1")
    pytest.skip(f"{message}: browser tests skipped")


@pytest.fixture(scope="session")
def playwright_thread() -> Iterator[PlaywrightThread]:
    _require_chromium()
    worker = PlaywrightThread(executable_path=str(CHROMIUM))
    yield worker
    worker.close()


class LiveServer:
    def __init__(self, app, engine, url: str):
        self.app, self.engine, self.url = app, engine, url


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="module")
def live_server(database_url_factory) -> Iterator[LiveServer]:
    """The app as `uvicorn api.main:app` builds it, on its own migrated SQLite database
    (the pages' queries are the API's, tested on both backends elsewhere)."""
    import uvicorn

    from api.app import create_app, warm_up
    from core.db import make_engine
    from core.migrate import upgrade

    url = database_url_factory("sqlite")
    upgrade(url)
    engine = make_engine(url)
    app = create_app(engine)
    warm_up(app)
    sock = _free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on",
                                           date_header=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="uvicorn-live-server")
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield LiveServer(app, engine, f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=20)
    sock.close()
    engine.dispose()


class OfflinePage:
    """A fresh browser context and page for one test, with every request to a host
    other than the local server aborted and kept in `blocked`."""

    def __init__(self, worker: PlaywrightThread):
        self.blocked: list[str] = []
        self.console_errors: list[str] = []
        self.context = worker.new_context()
        self.page = self.context.new_page()

        def route(route):  # runs in the Playwright thread, on the real objects
            url = route.request.url
            host = urlsplit(url).hostname
            if host in LOCAL_HOSTS or url.startswith(("data:", "blob:")):
                route.continue_()
            else:
                self.blocked.append(url)
                route.abort()

        def console(message):
            if message.type == "error":
                self.console_errors.append(message.text)

        self.context.route("**/*", route)
        self.page.on("console", console)


@pytest.fixture
def offline_page(playwright_thread) -> Iterator[OfflinePage]:
    page = OfflinePage(playwright_thread)
    yield page
    page.context.close()
