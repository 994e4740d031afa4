"""The shipped deployment runs as non-root with a read-only root filesystem, behind TLS."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_the_image_runs_as_a_numeric_non_root_user():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    users = [line.split(None, 1)[1] for line in lines if line.startswith("USER ")]
    assert users, "the Dockerfile sets no USER: it would run as root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    # the code is not writable by that user (only /app/var is)
    assert any("chmod a-w" in line for line in lines)


def test_compose_runs_the_api_read_only_non_root_behind_tls():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    api = compose["services"]["api"]
    assert api["read_only"] is True and "/tmp" in api["tmpfs"]
    assert api["user"].split(":")[0] != "0"
    assert api["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in api["security_opt"]
    assert "ports" not in api  # only the TLS proxy is reachable from outside
    assert api["environment"]["POSYANDU_BASE_URL"].startswith("https://")
    proxy = compose["services"]["proxy"]
    assert {"80:80", "443:443"} <= set(proxy["ports"])
    assert re.search(r"--to api:8000", proxy["command"])
