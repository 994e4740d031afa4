"""Public URLs: the configured base URL, or the one the request came in on."""

from __future__ import annotations

from fastapi import Request

from core.config import get_settings


def base_url(request: Request) -> str:
    configured = get_settings().base_url
    return (configured or str(request.base_url)).rstrip("/")


def collect_server_url(request: Request, token: str) -> str:
    """What ODK Collect is given as its server URL for a device token."""
    return f"{base_url(request)}/key/{token}"
