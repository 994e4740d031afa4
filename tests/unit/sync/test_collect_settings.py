"""The loopback warning: a server URL a phone cannot reach."""

from __future__ import annotations

import pytest

from sync.collect_settings import loopback_warning


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/key/abc", "http://localhost:8000", "http://LOCALHOST.", "http://[::1]:8000/",
    "https://127.1.2.3", "http://api.localhost:8000"])
def test_a_loopback_server_url_gets_a_warning_in_bahasa_and_english(url):
    warning = loopback_warning(url)
    assert warning is not None
    assert "HP kader tidak dapat" in warning and "a phone cannot reach it" in warning
    assert "/key/" not in warning  # the token stays out of logs and headers
    assert warning.isascii()  # it also goes into an HTTP header


def test_the_warning_suggests_the_port_the_server_uses():
    warning = loopback_warning("http://127.0.0.1:8011/key/abc")
    assert "POSYANDU_BASE_URL=http://<alamat-LAN>:8011 " in warning
    assert "POSYANDU_BASE_URL=http://<LAN address>:8011 " in warning
    assert ":8000" not in warning


@pytest.mark.parametrize("url", [
    "http://192.168.1.10:8000", "https://posyandu.example.id/key/x", "http://10.0.0.2",
    "http://[fe80::1]:8000", "", "not a url", "http://[::1"])
def test_a_reachable_or_unreadable_url_gets_none(url):
    assert loopback_warning(url) is None
