"""Playwright's sync API, run in a thread of its own and reached through proxies.

`PlaywrightThread` starts Playwright and Chromium in one worker thread (a
single-thread executor); `Remote` wraps each Playwright object so that every
attribute read and method call runs in that thread, and wraps what comes back. Tests
use the proxies as they would use Playwright's objects (`page.goto(...)`,
`page.get_by_text(...).first.wait_for()`, `expect(locator).to_be_visible()`).
Callbacks given to Playwright (routes, event handlers) run in the worker thread on
the real objects.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any


class PlaywrightThread:
    def __init__(self, *, executable_path: str):
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright")
        self._playwright = None
        self._browser = None

        def start():
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=executable_path, args=["--no-sandbox"])

        self.call(start)

    def call(self, function, *args, **kwargs):
        return self._executor.submit(function, *args, **kwargs).result()

    def run(self, function, *args, **kwargs):
        """`function` in the worker thread on the real objects behind proxies. Use it
        to wait for an event (`page.expect_download()`): Playwright's sync API
        dispatches events only while a call is running in its thread, so a handler
        registered through a proxy and awaited from the test's thread may never fire."""
        return self.call(function, *_unwrap(args), **_unwrap(kwargs))

    def new_context(self, **options) -> Remote:
        return Remote(self, self.call(lambda: self._browser.new_context(**options)))

    def expect(self, target, *args, **kwargs) -> Remote:
        from playwright.sync_api import expect

        return Remote(self, self.call(lambda: expect(_unwrap(target), *args, **kwargs)))

    def close(self) -> None:
        def stop():
            self._browser.close()
            self._playwright.stop()

        try:
            self.call(stop)
        finally:
            self._executor.shutdown(wait=True)


def _unwrap(value: Any) -> Any:
    if isinstance(value, Remote):
        return object.__getattribute__(value, "_target")
    if isinstance(value, list | tuple):
        return type(value)(_unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


def _is_playwright_object(value: Any) -> bool:
    return type(value).__module__.startswith("playwright.")


class Remote:
    __slots__ = ("_thread", "_target")

    def __init__(self, thread: PlaywrightThread, target: Any):
        object.__setattr__(self, "_thread", thread)
        object.__setattr__(self, "_target", target)

    def _wrap(self, value: Any) -> Any:
        thread = object.__getattribute__(self, "_thread")
        if isinstance(value, list):
            return [self._wrap(v) for v in value]
        if _is_playwright_object(value) and not callable(value):
            return Remote(thread, value)
        return value

    def __getattr__(self, name: str) -> Any:
        thread = object.__getattribute__(self, "_thread")
        target = object.__getattribute__(self, "_target")
        value = thread.call(getattr, target, name)
        if callable(value) and not isinstance(value, type):
            def method(*args, **kwargs):
                return self._wrap(thread.call(value, *_unwrap(args), **_unwrap(kwargs)))
            return method
        return self._wrap(value)

    def __repr__(self) -> str:
        return f"Remote({object.__getattribute__(self, '_target')!r})"
