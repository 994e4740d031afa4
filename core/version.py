"""The installed distribution's version (from pyproject.toml via importlib.metadata)."""

from __future__ import annotations

from importlib import metadata


def app_version() -> str:
    try:
        return metadata.version("posyandu-sync")
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "0+unknown"
