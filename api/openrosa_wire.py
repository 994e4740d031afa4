"""OpenRosa wire details shared by the OpenRosa routes and the error renderer."""

from __future__ import annotations

from core.config import get_settings

OPENROSA_VERSION = "1.0"


def openrosa_headers() -> dict[str, str]:
    return {
        "X-OpenRosa-Version": OPENROSA_VERSION,
        "X-OpenRosa-Accept-Content-Length": str(get_settings().max_submission_bytes),
    }
