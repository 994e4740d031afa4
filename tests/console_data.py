"""Data for the console's tests, made the way the field makes it: forms published,
kaders' phones submitting over OpenRosa, apps pushing versioned edits that conflict.
Works with a TestClient or an httpx.Client on a live server (same interface)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from sync import accounts
from sync.forms import current_forms, publish_builtin_forms
from tests.support import (
    KELURAHAN,
    OPENROSA,
    add_posyandu,
    bearer,
    child_values,
    fill_submission,
    multipart_files,
)

PASSWORD = "password-123"
KECAMATAN = "33.75.01"  # Pekalongan Barat: KELURAHAN and 33.75.01.1098 (made by a test)


@dataclass
class Field:
    forms: dict[str, bytes]
    posyandu: int
    other_posyandu: int
    kader_token: str  # device token of kader "sri" (posyandu `posyandu`)


def setup_field(engine) -> Field:
    """Forms, two posyandu in KELURAHAN, kader sri (the first) with a phone, kader budi
    (the second), supervisor spv (the kecamatan), admin boss."""
    with Session(engine) as s:
        publish_builtin_forms(s)
        s.commit()
        forms = {f.form_id: f.xml for f in current_forms(s)}
    mine = add_posyandu(engine, KELURAHAN, "Melati 1")
    other = add_posyandu(engine, KELURAHAN, "Mawar 2")
    with Session(engine, expire_on_commit=False) as s:
        sri = accounts.create_user(s, username="sri", password=PASSWORD, role="kader",
                                   scopes=[f"posyandu:{mine}"], full_name="Sri Lestari")
        _, token = accounts.create_app_token(s, user=sri, label="HP Sri")
        accounts.create_user(s, username="budi", password=PASSWORD, role="kader",
                             scopes=[f"posyandu:{other}"])
        accounts.create_user(s, username="spv", password=PASSWORD, role="supervisor",
                             scopes=[KECAMATAN])
        accounts.create_user(s, username="boss", password=PASSWORD, role="admin")
        s.commit()
    return Field(forms, mine, other, token)


def submit_child(client, field: Field, *, token: str | None = None, **values) -> None:
    values = {"posyandu_id": field.posyandu, **values}
    xml = fill_submission(field.forms["anthropometry"], child_values(**values))
    answer = client.post(f"/key/{token or field.kader_token}/submission", headers=OPENROSA,
                         files=multipart_files(xml, values.pop("_attachments", None)))
    assert answer.status_code == 201, answer.text


def children_this_month(client, field: Field, today: date | None = None) -> None:
    """Three children measured today in KELURAHAN's first posyandu: Siti stunted (80.2 cm
    at 33 months), Budi not, Ani with a weight that WHO flags; and Siti once more
    last year (so her chart has two points)."""
    today = today or date.today()
    submit_child(client, field, measured_on=today.isoformat())
    submit_child(client, field, measured_on=f"{today.year - 1}-{today.month:02d}-01",
                 weight_kg="8.2", length_height_cm="74.0")
    submit_child(client, field, measured_on=today.isoformat(), child_nik="3375010101230001",
                 child_name="Budi Santoso", child_sex="male", child_birth_date="2023-06-01",
                 length_height_cm="95.0", weight_kg="14.0", measure_method="standing",
                 mother_name="Wati", mother_nik="3375014101900001",
                 household_kk="3375010101200009")
    submit_child(client, field, measured_on=today.isoformat(), child_nik="3375014101240002",
                 child_name="Ani Rahma", child_birth_date="2024-01-01",
                 length_height_cm="85.0", weight_kg="30.0", mother_name="Tuti",
                 mother_nik="3375014101920002", household_kk="3375010101200010")


def open_conflict(client) -> int:
    """Kader sri creates a child, edits its name; an app of hers that still had version
    1 sends another name: a conflict on `name` (and the stale edit's other field merges)."""
    headers = bearer(client, "sri", PASSWORD)
    pid = str(uuid.uuid4())

    def push(*mutations, device="hp-1"):
        answer = client.post("/api/v1/sync/push", headers=headers,
                             json={"device_id": device, "mutations": list(mutations)})
        assert answer.status_code == 200, answer.text
        return answer.json()["results"]

    push({"mutation_id": str(uuid.uuid4()), "entity": "person", "id": pid, "op": "create",
          "base_version": 0, "changes": {"name": "Dewi", "sex": "female",
                                         "birth_date": "2024-05-01", "kelurahan_code": KELURAHAN}})
    push({"mutation_id": str(uuid.uuid4()), "entity": "person", "id": pid, "op": "update",
          "base_version": 1, "changes": {"name": "Dewi Sartika"}})
    [result] = push({"mutation_id": str(uuid.uuid4()), "entity": "person", "id": pid,
                     "op": "update", "base_version": 1, "changes": {"name": "Dewi Lestari"}},
                    device="hp-2")
    assert result["status"] == "conflict", result
    return result["conflict_id"]


def failed_submission(client, engine) -> int:
    """A supervisor's phone sends a measurement from a kelurahan the server does not know
    yet (it fails processing and stays stored); returns its id."""
    from sqlmodel import select

    from models import Submission

    with Session(engine, expire_on_commit=False) as s:
        user = accounts.get_user_by_username(s, "spv")
        _, token = accounts.create_app_token(s, user=user, label="HP spv")
        s.commit()
    with Session(engine) as s:
        forms = {f.form_id: f.xml for f in current_forms(s)}
    xml = fill_submission(forms["anthropometry"], child_values(
        posyandu_id="", kelurahan_code="33.75.01.1098", child_nik="3375014101240077",
        child_name="Rafi", measured_on=date.today().isoformat()))
    answer = client.post(f"/key/{token}/submission", headers=OPENROSA,
                         files=multipart_files(xml, {"kms.jpg": b"\xff\xd8\xff\xe0fakejpeg"}))
    assert answer.status_code == 201, answer.text
    with Session(engine) as s:
        return s.exec(select(Submission.id).where(Submission.status == "failed")).first()


def add_missing_kelurahan(engine) -> None:
    from models import Wilayah

    with Session(engine) as s:
        s.add(Wilayah(code="33.75.01.1098", name="Baru", level="kelurahan",
                      parent_code="33.75.01"))
        s.commit()


LONE = {"mother_name": "", "mother_nik": "", "household_kk": "", "child_nik": ""}


def duplicate_pair(client, field: Field, full: str = "Aisyah Putri", short: str = "Aisyah",
                   birth_date: str = "2024-03-04") -> None:
    """A child registered twice by kader sri: 'Aisyah Putri', then 'Aisyah' a month later
    with no NIK, mother or KK (identity resolution's review band: a pair to decide)."""
    submit_child(client, field, **LONE, child_name=full, child_birth_date=birth_date,
                 measured_on="2026-10-02", weight_kg="8.8")
    submit_child(client, field, **LONE, child_name=short, child_birth_date=birth_date,
                 measured_on="2026-11-02", weight_kg="9.1")
