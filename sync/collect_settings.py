"""ODK Collect configuration QR codes, as ODK Central makes them: the settings JSON,
zlib-compressed, base64-encoded, drawn as a QR code."""

from __future__ import annotations

import base64
import io
import ipaddress
import json
import zlib
from urllib.parse import urlsplit

LOOPBACK_WARNING = (
    "Alamat server {url} hanya dapat dibuka dari komputer ini sendiri; HP kader tidak dapat "
    "menjangkaunya. Jalankan server dengan POSYANDU_BASE_URL=http://<alamat-LAN>:{port} "
    "HOST=0.0.0.0 lalu buat kode QR lagi. / The server address {url} is loopback: a phone "
    "cannot reach it. Serve with POSYANDU_BASE_URL=http://<LAN address>:{port} HOST=0.0.0.0 "
    "and make the QR code again.")


def loopback_warning(server_url: str) -> str | None:
    """A warning (Bahasa Indonesia, then English) when the base URL given to phones is a
    loopback address (localhost, 127.0.0.0/8, ::1): Collect on a phone would try to reach
    itself. None when the address may be reachable."""
    try:
        host = (urlsplit(server_url).hostname or "").rstrip(".").lower()
    except ValueError:
        return None
    if not host:
        return None
    loopback = host == "localhost" or host.endswith(".localhost")
    if not loopback:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
    if not loopback:
        return None
    parts = urlsplit(server_url)
    try:  # the port it serves on, for the address to use instead (8000: make run's)
        port = parts.port or 8000
    except ValueError:
        port = 8000
    return LOOPBACK_WARNING.format(url=f"{parts.scheme}://{parts.netloc}", port=port)


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
