"""Data subject requests (UU PDP): a mother and her child registered by a kader's
phone, then exported, corrected and erased through `posyandu-sync person ...`, on
SQLite and PostgreSQL. Erasure leaves no name, NIK or KK of theirs anywhere the
service keeps data (registry, versions, raw submissions, photos, the export), keeps the
anonymous counts as they were, and is refused while a legal hold is active."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from cli.main import main
from core.config import get_settings
from core.db import get_engine
from models import (
    Attachment,
    AuditLog,
    ChangeLog,
    Household,
    Person,
    PersonVersion,
    Submission,
)
from sync.submission_xml import flatten_leaves, safe_parse
from tests.support import ADMIN_PASSWORD, OPENROSA, child_values, fill_submission, multipart_files

CHILD_NIK, MOTHER_NIK, KK = "3375014403240001", "3375015507950002", "3375010101200003"
PHOTO = b"\xff\xd8growth-card-photo-of-siti"


@pytest.fixture
def cli_db(db, database_url, monkeypatch):
    monkeypatch.setenv("POSYANDU_DATABASE_URL", database_url)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield db
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


def _post(client, phone, xml, attachments=None):
    return client.post(f"{phone.prefix}/submission", headers=OPENROSA,
                       files=multipart_files(xml, attachments))


@pytest.fixture
def family(client, phone, forms, cli_db, make_user):
    """Siti (measured twice, a photo with the first), her mother Rina (screened once),
    and Budi, another child, who must stay untouched."""
    make_user("admin", "admin", password=ADMIN_PASSWORD)
    sent = {}
    for day in ("2026-10-02", "2026-11-02"):
        xml = fill_submission(forms["anthropometry"], child_values(
            posyandu_id=phone.posyandu_id, measured_on=day, length_height_cm="72.0"))
        assert _post(client, phone, xml, {"photo.jpg": PHOTO} if day.endswith("10-02") else None
                     ).status_code == 201
        sent[day] = xml
    woman = fill_submission(forms["pregnancy_screening"], {
        "is_new_woman": "yes", "woman_nik": MOTHER_NIK, "woman_name": "Rina Wati",
        "woman_birth_date": "1995-07-15", "household_kk": KK, "kelurahan_code": "33.75.01.1002",
        "posyandu_id": phone.posyandu_id, "pregnant": "yes", "gestational_age_weeks": "20",
        "screened_on": "2026-11-02", "muac_cm": "22.9", "hb_g_dl": "10.4", "height_cm": "150",
        "weight_kg": "48"})
    assert _post(client, phone, woman).status_code == 201
    visit = fill_submission(forms["sanitation_check"], {
        "is_new_household": "yes", "kelurahan_code": "33.75.01.1002", "household_kk": KK,
        "head_name": "Rina Wati", "address": "Jl. Melati 3", "rt": "02", "rw": "05",
        "checked_on": "2026-11-02", "latrine_access": "own", "latrine_type": "gooseneck",
        "waste_disposal": "septic_tank", "handwashing_soap": "yes",
        "drinking_water_source": "piped", "water_treated": "boiled", "waste_bin": "yes",
        "wastewater_drain": "closed_drain"})
    assert _post(client, phone, visit).status_code == 201
    budi = fill_submission(forms["anthropometry"], child_values(
        posyandu_id=phone.posyandu_id, child_name="Budi Santoso", child_sex="male",
        child_nik="", mother_name="Yuni Lestari", mother_nik="", household_kk=""))
    assert _post(client, phone, budi).status_code == 201
    with Session(cli_db) as s:
        siti = s.exec(select(Person).where(Person.nik == CHILD_NIK)).one()
        rina = s.exec(select(Person).where(Person.nik == MOTHER_NIK)).one()
    assert siti.mother_id == rina.id
    return {"siti": siti.id, "rina": rina.id, "sent": sent, "woman": woman, "budi": budi,
            "db": cli_db}


def _export(person_id, capsys) -> dict:
    capsys.readouterr()
    assert main(["person", "export", person_id, "--actor", "admin"]) == 0
    return json.loads(capsys.readouterr().out)


def _counts(db) -> dict:
    with db.connect() as conn:
        return dict(conn.execute(text(
            "SELECT count(*) AS measurements, sum(CASE WHEN stunted THEN 1 ELSE 0 END) AS stunted, "
            "count(DISTINCT person_id) AS children, sum(zlen) AS zlen FROM measurement "
            "WHERE is_current")).one()._mapping) | dict(conn.execute(text(
            "SELECT count(*) AS screenings, sum(CASE WHEN kek THEN 1 ELSE 0 END) AS kek "
            "FROM pregnancy_screening")).one()._mapping) | dict(conn.execute(text(
            "SELECT count(*) AS persons, sum(CASE WHEN sex = 'female' THEN 1 ELSE 0 END) AS "
            "girls FROM person")).one()._mapping)


def _everything_stored(db) -> str:
    """Every text and blob the service keeps, as one string to search."""
    from sqlalchemy import inspect

    parts = []
    with db.connect() as conn:
        for table in inspect(conn).get_table_names():  # every table, new ones included
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        parts.append(bytes(value).decode("utf-8", errors="replace"))
                    elif value is not None:
                        parts.append(json.dumps(value, default=str) if isinstance(value, dict)
                                     else str(value))
    return "\n".join(parts)


def test_a_persons_export_holds_every_record_and_submission_that_names_them(family, capsys):
    siti = _export(family["siti"], capsys)
    assert siti["format"] == "posyandu-sync person export 1"
    assert siti["person"]["name"] == "Siti Aminah" and siti["person"]["nik"] == CHILD_NIK
    assert siti["versions"] and siti["versions"][0]["data"]["name"] == "Siti Aminah"
    assert [m["measured_on"] for m in siti["measurements"]] == ["2026-10-02", "2026-11-02"]
    assert siti["household"]["kk"] == KK
    subject = [s for s in siti["submissions"] if s["role"] == "subject"]
    assert len(subject) == 2 and all("Siti Aminah" in s["content"] for s in subject)
    assert [a["name"] for s in subject for a in s["attachments"]] == ["photo.jpg"]
    assert not any("Budi" in (s["content"] or "") for s in siti["submissions"])

    rina = _export(family["rina"], capsys)
    assert [c["name"] for c in rina["children"]] == ["Siti Aminah"]
    assert len(rina["pregnancy_screenings"]) == 1 and rina["pregnancies"]
    roles = sorted(s["role"] for s in rina["submissions"])
    assert roles == ["mentioned", "mother", "mother", "subject"]  # the visit names her as head
    capsys.readouterr()
    assert main(["person", "export", family["siti"], "--attachments", "--actor", "admin"]) == 0
    data = json.loads(capsys.readouterr().out)
    photos = [a for s in data["submissions"] for a in s["attachments"]]
    assert base64.b64decode(photos[0]["data"]) == PHOTO
    assert main(["person", "export", "no-such-person", "--actor", "admin"]) == 1
    # Each export is a read of personal data, in the access log.
    from sync.access import export_reads

    with Session(family["db"]) as s:
        reads = [r for r in export_reads(s) if r["resource"] == "person_export"]
    assert len(reads) == 3 and {r["action"] for r in reads} == {"export"}
    assert all(r["username"] == "admin" for r in reads)
    assert any(family["siti"] in r["persons"] and family["rina"] not in r["persons"]
               for r in reads)


def test_a_correction_is_a_new_version_with_the_old_one_kept(family, cli_db, capsys):
    assert main(["person", "correct", family["siti"], "--set", "name=Siti Aminah Putri",
                 "--reason", "permintaan ibu, KK terbaru", "--actor", "admin"]) == 0
    assert "applied, version 2" in capsys.readouterr().out
    with Session(cli_db) as s:
        versions = s.exec(select(PersonVersion).where(
            PersonVersion.person_id == family["siti"]).order_by(PersonVersion.version)).all()
        assert [v.data["name"] for v in versions] == ["Siti Aminah", "Siti Aminah Putri"]
        assert versions[-1].reason == "subject:correction"
        audit = s.exec(select(AuditLog).where(AuditLog.action == "person.correct")).one()
        assert audit.detail["fields"] == ["name"] and audit.actor_id is not None
    assert main(["person", "correct", family["siti"], "--set", "nik=123", "--reason", "x",
                 "--actor", "admin"]) == 1
    assert "16 digits" in capsys.readouterr().err


def test_erasure_replaces_every_personal_field_and_keeps_the_anonymous_counts(
        family, cli_db, client, phone, capsys):
    before = _counts(cli_db)
    # A legal retention duty blocks erasure until it is released.
    assert main(["person", "hold", family["rina"], "--reason", "kasus dalam pemeriksaan",
                 "--actor", "admin"]) == 0
    assert main(["person", "erase", family["rina"], "--reason", "DSR-7", "--actor", "admin",
                 "--yes"]) == 1
    assert "legal retention duty" in capsys.readouterr().err
    assert main(["person", "erase", family["rina"], "--reason", "DSR-7", "--actor", "admin"]) == 2
    assert main(["person", "release", family["rina"], "--actor", "admin"]) == 0

    # The mother first: her screening is anonymised, and her name leaves her child's
    # submissions, which still name the child.
    assert main(["person", "erase", family["rina"], "--reason", "DSR-7", "--actor", "admin",
                 "--yes"]) == 0
    with Session(cli_db) as s:
        for sub in s.exec(select(Submission).where(Submission.form_id == "anthropometry")).all():
            body = sub.content.decode()
            assert "Rina Wati" not in body and MOTHER_NIK not in body
        kept = [sub.content.decode() for sub in s.exec(select(Submission)).all()]
        assert sum("Siti Aminah" in body for body in kept) == 2
    assert main(["person", "erase", family["siti"], "--reason", "DSR-8", "--actor", "admin",
                 "--yes"]) == 0
    assert "erased" in capsys.readouterr().out

    stored = _everything_stored(cli_db)
    for personal in ("Siti Aminah", "Rina Wati", CHILD_NIK, MOTHER_NIK, "growth-card-photo"):
        assert personal not in stored, personal
    assert "Budi Santoso" in stored and "Yuni Lestari" in stored  # another family: untouched
    with Session(cli_db) as s:
        siti = s.get(Person, family["siti"])
        home_id = s.exec(select(Household.id).where(Household.kk == KK)).one()
        # an anonymous member of her household still (the family's caseload counts)
        assert (siti.name, siti.nik, siti.mother_id, siti.household_id) == (
            "[dihapus]", None, None, home_id)
        assert (siti.sex, siti.birth_date.isoformat()) == ("female", "2024-03-04")
        # The household she headed keeps its KK and address for its other members.
        home = s.exec(select(Household).where(Household.kk == KK)).one()
        assert home.head_name is None and home.address == "Jl. Melati 3"
        assert all(v.data["name"] == "[dihapus]" and v.data["nik"] is None for v in s.exec(
            select(PersonVersion).where(PersonVersion.person_id.in_(
                [family["siti"], family["rina"]]))).all())
        # The raw submissions still parse, with the measured values and no identity.
        for sub in s.exec(select(Submission).where(Submission.form_id == "anthropometry")).all():
            leaves = flatten_leaves(safe_parse(sub.content))
            if leaves["child_name"] == "Budi Santoso":
                continue
            assert leaves["child_name"] == "[dihapus]" and leaves["household_kk"] == "[dihapus]"
            assert leaves["weight_kg"] == "9.1"
        assert {a.data for a in s.exec(select(Attachment)).all()} == {b""}
        erased = s.exec(select(AuditLog).where(AuditLog.action == "person.erase")).all()
        assert {e.detail["reason"] for e in erased} == {"DSR-7", "DSR-8"}
        assert all(e.actor_id is not None for e in erased)
        # Phones get the anonymised record through the change feed.
        last = s.exec(select(ChangeLog).where(ChangeLog.entity_id == family["siti"])
                      .order_by(ChangeLog.seq.desc())).first()
        assert last.version == siti.version and last.op == "upsert"
    after = _counts(cli_db)
    assert after == before

    # A phone resending the original form is told it was received; nothing new is made.
    assert _post(client, phone, family["sent"]["2026-11-02"]).status_code == 202
    assert _counts(cli_db) == before
    export = json.dumps(_export(family["siti"], capsys))
    assert "Siti Aminah" not in export and CHILD_NIK not in export


def test_erasure_reaches_what_phones_sent_offline(family, cli_db, capsys):
    """An ODK entity action keeps the properties a phone sent (name, NIK) and a pushed
    mutation keeps its result: erasure replaces the person there too."""
    from models import EntityAction, SyncMutation, User

    with Session(cli_db) as s:
        submission_id = s.exec(select(Submission.id)).first()
        user_id = s.exec(select(User.id)).first()
        s.add(EntityAction(submission_id=submission_id, dataset="children",
                           entity_id=family["siti"], action="update", local_version=2,
                           properties={"full_name": "Siti Aminah", "nik": CHILD_NIK,
                                       "mother_name": "Rina Wati", "sex": "female"}))
        s.add(SyncMutation(user_id=user_id, device_id="hp-1", mutation_id="m-1", result={
            "mutation_id": "m-1", "status": "rejected", "id": family["siti"],
            "reason": f"nik {CHILD_NIK} is already Siti Aminah's"}))
        s.commit()
    assert main(["person", "erase", family["siti"], "--reason", "DSR-9", "--actor", "admin",
                 "--yes"]) == 0
    stored = _everything_stored(cli_db)
    assert "Siti Aminah" not in stored and CHILD_NIK not in stored
    with Session(cli_db) as s:
        action = s.exec(select(EntityAction).where(EntityAction.entity_id == family["siti"])).one()
        assert action.properties["sex"] == "female"  # what is not personal stays
        assert "Rina Wati" in json.dumps(action.properties)  # her mother is not erased
