"""Reading credentials from the Authorization header (one parser for every route)."""

from __future__ import annotations

import base64
import binascii


def authorization(header: str) -> tuple[str, str]:
    """('basic' | 'bearer' | ..., the rest), scheme lower-cased."""
    scheme, _, value = header.partition(" ")
    return scheme.lower(), value.strip()


def basic_credentials(value: str) -> tuple[str, str] | None:
    """(username, password) from the value of a Basic header, or None if malformed."""
    try:
        username, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (username, password) if sep else None
