"""Records for the tests of what readers see: measurements, pregnancy screenings and
sanitation checks in two posyandu of two kecamatan, made by sending real submissions
through the OpenRosa endpoint (so every result is the one processing computes)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from tests.integration.openrosa.conftest import Phone
from tests.support import (
    KELURAHAN,
    OPENROSA,
    OTHER_KELURAHAN,
    add_posyandu,
    child_values,
    fill_submission,
    multipart_files,
)

MEASUREMENTS = "/api/v1/measurements"
SCREENINGS = "/api/v1/pregnancy-screenings"
CHECKS = "/api/v1/sanitation-checks"


def _post(client, phone: Phone, xml: bytes) -> None:
    r = client.post(f"{phone.prefix}/submission", headers=OPENROSA, files=multipart_files(xml))
    assert r.status_code == 201, r.text


def _child(forms, phone: Phone, kelurahan: str, **values) -> bytes:
    # No NIKs or KK unless given: each child is its own person, found again by name and
    # birth date, and no NIK check adds a plausibility flag.
    base = {"posyandu_id": phone.posyandu_id, "kelurahan_code": kelurahan, "child_nik": "",
            "mother_nik": "", "household_kk": ""}
    return fill_submission(forms["anthropometry"], child_values(**{**base, **values}))


def _woman(forms, phone: Phone, kelurahan: str, *, instance_id=None, deprecated_id=None,
           **values) -> bytes:
    base = {"is_new_woman": "yes", "woman_nik": "", "kelurahan_code": kelurahan,
            "posyandu_id": phone.posyandu_id, "pregnant": "yes", "gestational_age_weeks": "20",
            "height_cm": "155", "weight_kg": "52"}
    return fill_submission(forms["pregnancy_screening"], {**base, **values},
                           instance_id=instance_id, deprecated_id=deprecated_id)


GOOD_SANITATION = {"latrine_access": "own", "latrine_type": "gooseneck",
                   "waste_disposal": "septic_tank", "handwashing_soap": "yes",
                   "drinking_water_source": "piped", "water_treated": "boiled", "waste_bin": "yes",
                   "wastewater_drain": "closed_drain"}
POOR_SANITATION = {"latrine_access": "own", "latrine_type": "cemplung",
                   "waste_disposal": "unlined_pit", "handwashing_soap": "no",
                   "drinking_water_source": "unprotected_well", "water_treated": "none",
                   "waste_bin": "no", "wastewater_drain": "open_drain"}


def _household(forms, kelurahan: str, **values) -> bytes:
    return fill_submission(forms["sanitation_check"], {
        "is_new_household": "yes", "kelurahan_code": kelurahan, **values})


@dataclass
class FieldData:
    """Two posyandu in two kecamatan, each with a kader phone, and what they sent."""

    kader_a: Phone
    kader_b: Phone


def send_field_records(client, db, forms, phone: Phone, make_phone, admin_headers) -> FieldData:
    """Six measurements, five screenings (one an edit), three sanitation checks."""
    b_id = add_posyandu(db, OTHER_KELURAHAN, "Mawar 2")
    kader_b = replace(make_phone("kader-b", scopes=[f"posyandu:{b_id}"]), posyandu_id=b_id)
    a, k = phone, KELURAHAN
    sent = [
        # Siti: stunted and underweight, then 1.6 cm shorter a month later (length_drop).
        (a, _child(forms, a, k, child_name="Siti Aminah", measured_on="2026-09-02")),
        (a, _child(forms, a, k, child_name="Siti Aminah", measured_on="2026-10-02",
                   length_height_cm="78.6", weight_kg="9.3")),
        (a, _child(forms, a, k, child_name="Budi Santoso", child_sex="male",
                   child_birth_date="2024-01-10", measured_on="2026-10-15", weight_kg="13.5",
                   length_height_cm="92", measure_method="standing")),
        # Eko: weight-for-length beyond -5 SD, flagged by WHO (no BB/TB category).
        (a, _child(forms, a, k, child_name="Eko Prasetyo", child_sex="male",
                   child_birth_date="2025-06-01", measured_on="2026-10-20", weight_kg="6.0",
                   length_height_cm="75")),
        (a, _child(forms, a, k, child_name="Fajar Nugroho", child_sex="male",
                   child_birth_date="2025-06-01", measured_on="2026-10-20", weight_kg="7.9",
                   length_height_cm="76")),
        (kader_b, _child(forms, kader_b, OTHER_KELURAHAN, child_name="Ayu Lestari",
                         child_birth_date="2025-06-01", measured_on="2026-10-20",
                         weight_kg="8.0", length_height_cm="70")),
        (a, _woman(forms, a, k, woman_name="Rina Wati", woman_nik="3375015507950002",
                   woman_birth_date="1995-07-15", screened_on="2026-09-01", muac_cm="22.9",
                   hb_g_dl="10.4", height_cm="150", weight_kg="48", instance_id="uuid:rina-1")),
        # The kader corrects Rina's Hb (still mild anaemia): the edit replaces the first.
        (a, _woman(forms, a, k, woman_name="Rina Wati", woman_nik="3375015507950002",
                   woman_birth_date="1995-07-15", screened_on="2026-09-01", muac_cm="22.9",
                   hb_g_dl="10.8", height_cm="150", weight_kg="48", instance_id="uuid:rina-2",
                   deprecated_id="uuid:rina-1")),
        (a, _woman(forms, a, k, woman_name="Dewi Lestari", woman_birth_date="2008-02-01",
                   screened_on="2026-10-05", muac_cm="25", hb_g_dl="12", height_cm="143",
                   weight_kg="45")),
        (a, _woman(forms, a, k, woman_name="Sri Wahyuni", woman_birth_date="1988-01-01",
                   screened_on="2026-11-01", pregnant="no", gestational_age_weeks="",
                   muac_cm="23", hb_g_dl="12.5", height_cm="155", weight_kg="42")),
        (kader_b, _woman(forms, kader_b, OTHER_KELURAHAN, woman_name="Ani Susanti",
                         woman_birth_date="1990-05-05", screened_on="2026-10-10",
                         muac_cm="24", hb_g_dl="9.5")),
        (a, _household(forms, k, household_kk="3375010101200003", head_name="Pak Budi",
                       checked_on="2026-11-03", **GOOD_SANITATION)),
        (a, _household(forms, k, household_kk="3375010101200004", head_name="Pak Joko",
                       checked_on="2026-10-03", **POOR_SANITATION)),
        (kader_b, _household(forms, OTHER_KELURAHAN, household_kk="3375040101200005",
                             head_name="Pak Hadi", checked_on="2026-10-20",
                             **{**GOOD_SANITATION, "latrine_access": "shared"})),
    ]
    for who, xml in sent:
        _post(client, who, xml)
    failed = client.get("/api/v1/submissions?status=failed", headers=admin_headers).json()
    assert failed["total"] == 0, failed["items"]
    return FieldData(kader_a=a, kader_b=kader_b)


