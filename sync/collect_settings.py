"""ODK Collect configuration QR codes, as ODK Central makes them: the settings JSON,
zlib-compressed, base64-encoded, drawn as a QR code."""

from __future__ import annotations

import base64
import io
import json
import zlib


def collect_settings(*, server_url: str, project_name: str, kader_name: str) -> dict:
    """Settings for a kader's phone: the token URL, send automatically, forms kept in
    step with the server, and the server URL locked."""
    return {
        "general": {
            "server_url": server_url,
            "username": "",
            "form_update_mode": "match_exactly",
            "periodic_form_updates_check": "every_one_hour",
            "autosend": "wifi_and_cellular",
            "delete_send": False,
            "metadata_username": kader_name,
        },
        "admin": {"change_server": False, "admin_pw": ""},
        "project": {"name": project_name, "icon": "P", "color": "#1b7f3b"},
    }


def encode_settings(settings: dict) -> str:
    """What the QR code holds: base64(zlib(JSON))."""
    raw = json.dumps(settings, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.b64encode(zlib.compress(raw)).decode()


def decode_settings(payload: str) -> dict:
    return json.loads(zlib.decompress(base64.b64decode(payload)))


def qr_png(payload: str, *, scale: int = 6) -> bytes:
    import segno

    buffer = io.BytesIO()
    segno.make(payload, error="l", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
