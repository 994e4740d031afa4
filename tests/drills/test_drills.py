"""Fault drills: the service under real phones while something goes wrong.

- kill -9 of a worker during a burst (SQLite and PostgreSQL): uvicorn's supervisor
  starts a new worker, phones resend what was not acknowledged, every acknowledged
  submission is stored and each child is processed once, even after every phone
  resends everything.
- PostgreSQL restarted during a burst (a private cluster): phones get 503 with
  Retry-After and the Bahasa message, send again, nothing is lost, and the same
  server processes recover without being restarted.
- The disk full under SQLite: 503 (server.storage_full), the database passes
  SQLite's integrity check, and the service takes submissions again once space is
  freed, without a restart.

Each drill prints one line of figures (the latest are in docs/recovery.md).
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter

import httpx
import pytest
from sqlalchemy import create_engine, text

from core.db import make_engine
from core.migrate import upgrade
from tests.drills.field import Field, PhoneFleet, ServerProcess, assert_each_acked_stored_once

pytestmark = [pytest.mark.drill, pytest.mark.slow]

PHONES, EACH = 4, 40


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _work(field: Field, each: int = EACH, attachment: int = 0) -> dict:
    return {token: field.submissions(n, each, attachment=attachment)
            for n, token in enumerate(field.tokens)}


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)])
def fresh_database(request, database_url_factory):
    url = database_url_factory(request.param)
    upgrade(url)
    engine = make_engine(url, pool_size=2)
    yield url, engine
    engine.dispose()


def test_kill_9_of_a_worker_during_a_burst_loses_no_acknowledged_submission(
        fresh_database, tmp_path):
    url, engine = fresh_database
    field = Field.set_up(engine, phones=PHONES)
    work = _work(field)
    total = PHONES * EACH
    server = ServerProcess(url, workers=2, log=tmp_path / "server.log").start()
    try:
        first = server.workers_pids()
        fleet = PhoneFleet(server.url, work, retry_pause=0.2).start()
        killed = []
        for threshold in (total // 4, total // 2):
            _wait(lambda t=threshold: fleet.acked_count() >= t, 120, f"{threshold} acknowledged")
            victim = server.busiest_worker()
            server.kill9(victim)
            killed.append(victim)
            # uvicorn's supervisor replaces it; phones on the other worker go on meanwhile.
            _wait(lambda v=victim: len(server.workers_pids()) == 2 and v not in
                  server.workers_pids(), 60, "a new worker")
        fleet.join(180)
        now = server.workers_pids()
        assert not set(now) & set(killed) and len(now) == 2, (first, killed, now)
        assert fleet.acked_count() == total
        assert fleet.unexpected == []
        refused = Counter(fleet.refusals)
        assert refused, "no phone noticed either kill: the drill hit nothing"
        assert_each_acked_stored_once(fleet, engine)
        again = fleet.resend_all()
        assert again == Counter({202: total}), again
        assert_each_acked_stored_once(fleet, engine)
        # Stored by a worker killed before it could answer: the phone's next try was a 202.
        unanswered = sum(1 for sent in fleet.sent.values() if len(sent.answers) > 1
                         and sent.answers[-1][0] == 202)
    finally:
        server.stop()
    print(f"\nDRILL kill-9 {engine.dialect.name}: {total} submissions from {PHONES} phones, "
          f"kill -9 twice mid-burst (each time the worker holding most phone connections), "
          f"phones' failed tries {dict(refused)}, "
          f"{fleet.acked_count()} acknowledged, all stored once ({unanswered} committed by a "
          f"killed worker before it answered, 202 on the phone's next try); resend of all: "
          f"{dict(again)}")


def test_postgresql_restarted_during_a_burst_phones_get_503_and_nothing_is_lost(
        private_postgres, tmp_path):
    admin = create_engine(private_postgres.server_url.replace("postgresql://",
                                                              "postgresql+psycopg://"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS drill"))
        conn.execute(text("CREATE DATABASE drill"))
    admin.dispose()
    url = private_postgres.server_url.rsplit("/", 1)[0] + "/drill"
    upgrade(url)
    engine = make_engine(url, pool_size=2)
    field = Field.set_up(engine, phones=PHONES)
    engine.dispose()  # the drill's own connections would be cut by the restart too
    work = _work(field)
    total = PHONES * EACH
    server = ServerProcess(url, workers=2, log=tmp_path / "server.log").start()
    try:
        workers = server.workers_pids()
        fleet = PhoneFleet(server.url, work, retry_pause=0.25).start()
        _wait(lambda: fleet.acked_count() >= total // 4, 120, "a quarter acknowledged")
        down_at = time.monotonic()
        private_postgres.stop("fast")  # every connection is cut, as at a restart
        _wait(lambda: len(fleet.unavailable) >= PHONES, 30, "phones told the service is down")
        time.sleep(1.0)
        private_postgres.start()
        up_at = time.monotonic()
        fleet.join(180)
        recovered = max(v.acked_at for v in fleet.sent.values()
                        if v.acked_at is not None) - up_at
        assert server.workers_pids() == workers, "the service was restarted: it should recover"
        assert fleet.acked_count() == total
        assert fleet.unexpected == []  # no 500, no other answer than 201/202/503
        assert set(fleet.refusals) == {503}, Counter(fleet.refusals)
        for retry_after, code, body in fleet.unavailable:
            assert retry_after is not None and int(retry_after) > 0
            assert code == "server.database_unavailable", (code, body)
            assert "basis data sedang tidak tersedia" in body
            assert "<OpenRosaResponse" in body
        assert httpx.get(f"{server.url}/readyz").status_code == 200
        check = make_engine(url, pool_size=1)
        try:
            assert_each_acked_stored_once(fleet, check)
            again = fleet.resend_all()
            assert again == Counter({202: total}), again
        finally:
            check.dispose()
    finally:
        server.stop()
    print(f"\nDRILL postgres restart: {total} submissions from {PHONES} phones, PostgreSQL "
          f"down {up_at - down_at:.1f} s mid-burst, {len(fleet.unavailable)} answers 503 "
          f"(Retry-After, server.database_unavailable), all {total} stored once, same 2 "
          f"workers, last phone done {recovered:.1f} s after PostgreSQL was back")


def test_the_disk_full_under_sqlite_is_503_the_database_intact_and_service_resumes(
        small_disk, tmp_path):
    db_path = small_disk.path / "posyandu.db"
    url = f"sqlite:///{db_path}"
    upgrade(url)
    engine = make_engine(url, pool_size=2)
    field = Field.set_up(engine, phones=PHONES)
    # Photos fill the WAL quickly, so a full disk is met within a few submissions.
    work = _work(field, each=25, attachment=64 * 1024)
    total = PHONES * 25
    server = ServerProcess(url, workers=1, log=tmp_path / "server.log").start()
    try:
        pid = server.process.pid
        fleet = PhoneFleet(server.url, work, retry_pause=0.2).start()
        _wait(lambda: fleet.acked_count() >= 20, 60, "20 acknowledged")
        filler = small_disk.fill()  # mid-burst
        filled_at_acked = fleet.acked_count()
        assert small_disk.free() < 64 * 1024
        _wait(lambda: len(fleet.unavailable) >= 2 * PHONES, 60, "phones told the disk is full")
        acked_while_full = fleet.acked_count()
        codes = Counter(code for _, code, _ in fleet.unavailable)
        filler.unlink()  # an administrator frees space
        freed_at = time.monotonic()
        fleet.join(180)
        assert server.process.pid == pid and server.process.poll() is None
        assert fleet.acked_count() == total
        assert fleet.unexpected == []
        assert set(fleet.refusals) == {503}, Counter(fleet.refusals)
        assert set(codes) <= {"server.storage_full", "server.database_unavailable"}, codes
        assert codes["server.storage_full"] > 0, codes
        assert all(r is not None for r, _, _ in fleet.unavailable)
        full_body = next(body for _, code, body in fleet.unavailable if code == "server.storage_full")
        assert "Penyimpanan server penuh" in full_body
        assert_each_acked_stored_once(fleet, engine)
        with engine.connect() as conn:
            photos = conn.execute(text("SELECT count(*) FROM attachment")).scalar()
        assert photos == total
    finally:
        server.stop()
        engine.dispose()
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()
    print(f"\nDRILL sqlite disk full: {total} submissions with 64 KiB photos from {PHONES} "
          f"phones, disk filled mid-burst (after {filled_at_acked}): {acked_while_full - filled_at_acked} "
          f"more acknowledged in the WAL's free space, "
          f"{len(fleet.unavailable)} answers 503 {dict(codes)}; space freed, all {total} stored "
          f"once ({time.monotonic() - freed_at:.1f} s), same process, integrity_check ok")
