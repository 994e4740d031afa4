"""Raw-submission retention: after the period, processed submissions' raw XML and
photos are anonymised (or purged); failed ones and young ones are kept; the records
made from them, and every figure, stay; a phone resending an old form is still told
it was received. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text, update
from sqlmodel import Session, select

from cli.main import main
from core.config import get_settings
from core.db import get_engine
from models import Attachment, AuditLog, Measurement, Submission, SubmissionPurge
from models.base import utcnow
from sync.submission_xml import flatten_leaves, safe_parse
from tests.support import OPENROSA, child_values, fill_submission, multipart_files


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
def aged(client, phone, forms, cli_db):
    """Two processed submissions 400 days old (one with a photo), one failed as old,
    one processed yesterday."""
    names = ("Ayu Lestari", "Bagus Pratama", "Citra Dewi", "Dimas Saputra")
    sent = []
    for n, name in enumerate(names):
        values = child_values(posyandu_id=phone.posyandu_id, child_name=name, child_nik="",
                              mother_name=f"Ibu {name}", mother_nik="", household_kk="")
        if n == 2:
            values["measured_on"] = "2099-01-01"  # in the future: stored, failed to process
        xml = fill_submission(forms["anthropometry"], values)
        assert _post(client, phone, xml, {"photo.jpg": b"photo-" + name.encode()}
                     if n == 0 else None).status_code == 201
        sent.append(xml)
    old = utcnow() - timedelta(days=400)
    with Session(cli_db) as s:
        ids = s.exec(select(Submission.id).order_by(Submission.id)).all()
        s.exec(update(Submission).where(Submission.id.in_(ids[:3])).values(received_at=old))
        s.commit()
        statuses = s.exec(select(Submission.status).order_by(Submission.id)).all()
    assert statuses == ["processed", "processed", "failed", "processed"]
    return ids, sent


def _figures(db):
    with db.connect() as conn:
        return conn.execute(text("SELECT count(*), sum(zlen), sum(weight_kg) FROM measurement")
                            ).one()


def test_retention_anonymises_old_processed_submissions_and_keeps_their_records(
        aged, cli_db, client, phone, capsys):
    ids, sent = aged
    before = _figures(cli_db)
    assert main(["retention", "run", "--days", "365", "--dry-run"]) == 0
    assert "2 submissions" in capsys.readouterr().out
    assert main(["retention", "run", "--days", "365"]) == 0
    out = capsys.readouterr().out
    assert "2 submissions" in out and "anonymised" in out
    with Session(cli_db) as s:
        rows = {r.id: r for r in s.exec(select(Submission)).all()}
        for sid in ids[:2]:
            leaves = flatten_leaves(safe_parse(rows[sid].content))
            assert leaves["child_name"] == leaves["mother_name"] == "[dihapus]"
            assert leaves["weight_kg"] == "9.1"  # the measured values stay readable
        assert b"Citra Dewi" in rows[ids[2]].content  # failed: kept for reprocessing
        assert b"Dimas Saputra" in rows[ids[3]].content  # young: kept
        assert {a.data for a in s.exec(select(Attachment)).all()} == {b""}
        purged = s.exec(select(SubmissionPurge)).all()
        assert sorted(p.submission_id for p in purged) == ids[:2]
        assert {p.reason for p in purged} == {"retention"}
        assert len(s.exec(select(Measurement)).all()) == 3
        assert s.exec(select(AuditLog).where(AuditLog.action == "retention.run")).one()
    assert _figures(cli_db) == before
    # Idempotent, and an old form sent again is still "already received".
    assert main(["retention", "run", "--days", "365"]) == 0
    assert "0 submissions" in capsys.readouterr().out
    assert _post(client, phone, sent[0]).status_code == 202
    assert _figures(cli_db) == before


def test_purge_mode_removes_the_raw_content_and_reprocessing_it_is_refused(
        aged, cli_db, client, admin_headers, capsys):
    ids, _ = aged
    assert main(["retention", "run", "--days", "365", "--mode", "purge"]) == 0
    with Session(cli_db) as s:
        assert [s.get(Submission, sid).content for sid in ids[:2]] == [b"", b""]
        assert s.get(Submission, ids[3]).content != b""
    r = client.post(f"/api/v1/submissions/{ids[0]}/reprocess", headers=admin_headers)
    assert r.status_code == 409 and r.json()["error"] == "submission.purged"
    capsys.readouterr()
    assert main(["reprocess", "--id", str(ids[0])]) == 0
    assert "1 purged" in capsys.readouterr().out
    with Session(cli_db) as s:
        assert s.get(Submission, ids[0]).status == "processed"  # left as it was


def test_retention_needs_a_period(cli_db, capsys, monkeypatch):
    monkeypatch.delenv("POSYANDU_RAW_RETENTION_DAYS", raising=False)
    get_settings.cache_clear()
    assert main(["retention", "run"]) == 1
    assert "POSYANDU_RAW_RETENTION_DAYS" in capsys.readouterr().err
