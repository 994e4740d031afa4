"""Agencies get NIKs and KK numbers masked in every answer that carries them (the
sync snapshot and feed, pick lists, sanitation checks) unless an admin grants the
account full NIKs."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.minimise import mask_nik
from tests.support import OPENROSA, bearer

FULL = re.compile(r"(?<!\d)\d{16}(?!\d)")
RINA_NIK = "3375015507950002"


def test_mask_keeps_regency_and_last_four():
    assert mask_nik("3375014105240001") == "3375********0001"
    assert mask_nik(None) is None and mask_nik("") == ""
    assert mask_nik("12") == "**"


@given(st.text(alphabet="0123456789", min_size=1, max_size=40))
def test_a_mask_never_shows_more_than_a_third_of_the_number(value):
    masked = mask_nik(value)
    assert len(masked) == len(value)
    assert sum(c != "*" for c in masked) <= min(8, 2 * (len(value) // 3))


@pytest.fixture
def agency(make_user):
    make_user("dinkes", "agency", ["33.75"], password="agency-pass-1", agency="Dinkes")
    return "dinkes", "agency-pass-1"


def _answers(client, headers, token=None):
    """Every answer an agency can get that carries identity numbers."""
    texts = [client.get("/api/v1/sync/snapshot", headers=headers).text,
             client.get("/api/v1/sync/changes", headers=headers).text,
             client.get("/api/v1/sanitation-checks", headers=headers).text,
             client.get("/api/v1/pregnancy-screenings", headers=headers).text,
             client.get("/api/v1/measurements", headers=headers).text]
    for name in ("children.csv", "women.csv", "households.csv"):
        form = "sanitation_check" if name == "households.csv" else (
            "pregnancy_screening" if name == "women.csv" else "anthropometry")
        r = client.get(f"/key/{token}/forms/{form}/media/{name}", headers=OPENROSA)
        assert r.status_code == 200, r.text
        texts.append(r.text)
    return texts


def _agency_token(client, admin_headers):
    return client.post("/api/v1/users/dinkes/app-tokens", json={}, headers=admin_headers
                       ).json()["token"]


def test_an_agency_sees_every_nik_and_kk_masked(client, field, agency, admin_headers):
    headers = bearer(client, *agency)
    texts = _answers(client, headers, _agency_token(client, admin_headers))
    joined = "\n".join(texts)
    assert FULL.findall(joined) == []
    assert "3375********0002" in texts[0]  # Rina's NIK in the snapshot, masked
    assert "3375********0003" in texts[2]  # Pak Budi's KK in the sanitation checks
    assert "Rina Wati" in joined  # names stay: the agency's work needs them


def test_full_niks_when_an_admin_grants_them_and_not_after_revoking(client, field, agency,
                                                                   admin_headers):
    headers = bearer(client, *agency)
    token = _agency_token(client, admin_headers)
    r = client.patch("/api/v1/users/dinkes", json={"nik_full": True}, headers=admin_headers)
    assert r.status_code == 200 and r.json()["nik_full"] is True
    granted = "\n".join(_answers(client, headers, token))
    assert RINA_NIK in granted and "3375010101200003" in granted
    client.patch("/api/v1/users/dinkes", json={"nik_full": False}, headers=admin_headers)
    assert FULL.findall("\n".join(_answers(client, headers, token))) == []


def test_kaders_and_supervisors_see_full_numbers_and_cannot_be_granted(client, field,
                                                                      admin_headers,
                                                                      make_user):
    kader = bearer(client, field.kader_a.username, field.kader_a.password)
    assert RINA_NIK in client.get("/api/v1/sync/snapshot", headers=kader).text
    r = client.patch(f"/api/v1/users/{field.kader_a.username}", json={"nik_full": True},
                     headers=admin_headers)
    assert r.status_code == 400 and r.json()["error"] == "user.nik_full_not_agency"


def test_only_an_admin_grants_full_niks(client, field, agency):
    headers = bearer(client, *agency)
    r = client.patch("/api/v1/users/dinkes", json={"nik_full": True}, headers=headers)
    assert r.status_code == 403
