"""`posyandu-sync backup` taken while phones are sending, restored into a fresh
database: every submission acknowledged before the backup began is there, processed,
and the copy is one consistent state (each stored submission with its child and
measurement, as the transaction that stored it left them)."""

from __future__ import annotations

import time

import httpx
import pytest

from cli.main import main
from core.db import make_engine
from tests.drills.field import Field, LiveServer, PhoneFleet, stored_state
from tests.support import OPENROSA

pytestmark = pytest.mark.slow

PHONES, EACH = 4, 50


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_a_backup_taken_while_phones_send_restores_every_acknowledged_submission(
        db, database_url_factory, tmp_path, capsys):
    field = Field.set_up(db, phones=PHONES)
    work = {token: field.submissions(n, EACH) for n, token in enumerate(field.tokens)}
    backup_file = tmp_path / "posyandu.backup"
    with LiveServer(db) as server:
        fleet = PhoneFleet(server.url, work, pause=0.01).start()
        deadline = time.monotonic() + 60
        while fleet.acked_count() < 40:
            assert time.monotonic() < deadline, "phones did not get going"
            time.sleep(0.02)
        began = time.monotonic()
        assert main(["backup", str(backup_file), "--database-url", _url(db)]) == 0
        ended = time.monotonic()
        fleet.join()
    said = capsys.readouterr().out
    assert "backup of" in said
    with capsys.disabled():
        print(f"\nBACKUP {db.dialect.name}: {said.strip()}; {len(fleet.acked(before=began))} "
              f"acknowledged before it began, {len(fleet.acked()) - len(fleet.acked(before=ended))} "
              f"after it ended, of {PHONES * EACH}")
    assert fleet.unexpected == []
    before = fleet.acked(before=began)
    after = fleet.acked() - fleet.acked(before=ended)
    assert len(before) >= 40
    assert after, "every phone had finished before the backup ended: nothing was sent beside it"

    fresh = database_url_factory(db.dialect.name)
    assert main(["restore", str(backup_file), "--database-url", fresh]) == 0
    restored = make_engine(fresh)
    try:
        state = stored_state(restored)
        assert before <= state["instances"], f"{len(before - state['instances'])} acknowledged " \
            "submissions are missing from the restored database"
        # One committed state: each stored submission has its child and one measurement.
        assert set(state["statuses"]) == {"processed"}
        assert len(state["children"]) == len(state["instances"])
        assert all(counts == (1, 1) for counts in state["children"].values())

        # The restored database serves: a phone resending an acknowledged form is told
        # it is already there.
        with LiveServer(restored) as again:
            instance = next(iter(before))
            token, xml = next((token, xml) for token, items in work.items()
                              for i, xml, _ in items if i == instance)
            r = httpx.post(f"{again.url}/key/{token}/submission", headers=OPENROSA,
                           files=[("xml_submission_file", ("submission.xml", xml, "text/xml"))])
            assert r.status_code == 202, r.text
            assert httpx.get(f"{again.url}/readyz").status_code == 200
    finally:
        restored.dispose()

    # A database that is not empty is never overwritten by accident.
    capsys.readouterr()
    assert main(["restore", str(backup_file), "--database-url", fresh]) == 1
    assert "is not empty" in capsys.readouterr().err
    assert main(["restore", str(backup_file), "--database-url", fresh, "--force"]) == 0


def test_a_backup_of_one_kind_is_not_restored_into_the_other(db, database_url_factory,
                                                            tmp_path, capsys):
    backup_file = tmp_path / "b"
    assert main(["backup", str(backup_file), "--database-url", _url(db)]) == 0
    other = "postgresql" if db.dialect.name == "sqlite" else "sqlite"
    if other == "postgresql":
        target = database_url_factory("postgres")
    else:
        target = database_url_factory("sqlite")
    capsys.readouterr()
    assert main(["restore", str(backup_file), "--database-url", target]) == 1
    assert "restore into a database of the same kind" in capsys.readouterr().err


def test_pg_dump_older_than_the_server_is_refused_with_what_to_install(tmp_path):
    from core.backup import BackupError, find_pg_tool

    fake = tmp_path / "pg_dump"
    fake.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    fake.chmod(0o755)
    with pytest.raises(BackupError) as caught:
        find_pg_tool("pg_dump", 15, str(fake))
    assert "postgresql-client-15" in str(caught.value)
    assert "9" in str(caught.value)
    with pytest.raises(BackupError):
        find_pg_tool("pg_dump", 15, str(tmp_path / "missing"))


@pytest.mark.postgres
def test_restore_into_a_postgresql_database_that_does_not_exist_says_to_create_it(
        postgres_server_url, tmp_path, capsys):
    from sqlalchemy.engine import make_url

    dump = tmp_path / "b.dump"
    dump.write_bytes(b"PGDMP" + b"\0" * 32)
    missing = make_url(postgres_server_url).set(database="posyandu_never_created")
    assert main(["restore", str(dump), "--database-url",
                 missing.render_as_string(hide_password=False)]) == 1
    assert "createdb posyandu_never_created" in capsys.readouterr().err
