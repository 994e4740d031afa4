"""A crowded worker asks phones to reconnect (sync.writer.SubmissionWriter.crowded), so
that with several workers on one socket, phones do not pile up on one of them."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest
from sqlmodel import Session, func, select

from models import Submission
from sync.writer import SubmissionWriter
from tests.drills.field import LiveServer
from tests.support import OPENROSA, child_values, fill_submission, multipart_files


async def _waiting_while_held(writer: SubmissionWriter, queued: int, push: int = 0):
    """crowded() while the writer holds one unit and `queued` more single units (and a
    push of `push` units) wait behind it; then crowded() once all are done."""
    release = threading.Event()

    def hold(tx):
        release.wait(10)

    first = asyncio.ensure_future(writer.store(hold))
    await asyncio.sleep(0.05)
    rest = [asyncio.ensure_future(writer.store(lambda tx: None)) for _ in range(queued)]
    if push:
        rest.append(asyncio.ensure_future(writer.store_all([lambda tx: None] * push, group=3)))
    await asyncio.sleep(0.05)
    during = (writer.waiting, writer.crowded())
    release.set()
    await asyncio.gather(first, *rest)
    return during, (writer.waiting, writer.crowded())


@pytest.mark.parametrize(("queued", "push", "crowded"), [
    (3, 0, False),  # 4 units: two groups of 2, not more
    (4, 0, True),   # 5: more than two groups
    (0, 3, False),  # a push counts its units: 1 + 3
    (0, 4, True),   # 1 + 4, in jobs of 3 and 1 (counting jobs would give 3)
])
def test_a_writer_is_crowded_once_it_holds_more_than_two_groups(db, queued, push, crowded):
    writer = SubmissionWriter(db, max_batch=2, rebalance=True)
    try:
        during, after = asyncio.run(_waiting_while_held(writer, queued, push))
    finally:
        writer.close()
    assert during == (1 + queued + push, crowded)
    assert after == (0, False)


def test_a_writer_alone_on_its_socket_is_never_crowded(db):
    writer = SubmissionWriter(db, max_batch=2)
    try:
        during, after = asyncio.run(_waiting_while_held(writer, 8))
    finally:
        writer.close()
    assert during == (9, False) and after == (0, False)


def test_serve_tells_its_workers_how_many_they_are(db, monkeypatch):
    from api.app import create_app
    from core.config import get_settings

    assert create_app(db).state.submission_writer.rebalance is False
    monkeypatch.setenv("POSYANDU_WORKERS", "2")
    get_settings.cache_clear()
    try:
        assert create_app(db).state.submission_writer.rebalance is True
    finally:
        monkeypatch.delenv("POSYANDU_WORKERS")
        get_settings.cache_clear()


def _crowd(app, crowded: bool) -> None:
    writer = app.state.submission_writer
    writer.rebalance = True
    writer.waiting = 2 * writer.max_batch + 1 if crowded else 0


def test_a_crowded_worker_still_answers_and_stores_but_closes_the_connection(
        app, client, phone, forms, db):
    xml = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    _crowd(app, crowded=False)
    head = client.head(f"{phone.prefix}/submission", headers=OPENROSA)
    assert head.status_code == 204 and "connection" not in head.headers
    _crowd(app, crowded=True)
    head = client.head(f"{phone.prefix}/submission", headers=OPENROSA)
    assert head.status_code == 204 and head.headers["connection"] == "close"
    assert head.headers["X-OpenRosa-Accept-Content-Length"]
    r = client.post(f"{phone.prefix}/submission", headers=OPENROSA,
                    files=multipart_files(xml))
    assert r.status_code == 201 and r.headers["connection"] == "close"
    assert app.state.submission_writer.waiting == 2 * app.state.submission_writer.max_batch + 1
    with Session(db) as s:
        assert s.exec(select(func.count()).select_from(Submission)).one() == 1


def _head_then_read(url: str, prefix: str) -> tuple[bytes, bool]:
    """HEAD /submission over a raw keep-alive connection: (the answer, whether the
    server then closed the connection)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"HEAD {prefix}/submission HTTP/1.1\r\nHost: phone\r\n"
                     "X-OpenRosa-Version: 1.0\r\nContent-Length: 0\r\n\r\n".encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(4096)
        sock.settimeout(1)
        try:
            return answer, sock.recv(4096) == b""
        except TimeoutError:  # still open, as keep-alive leaves it
            return answer, False


def test_under_uvicorn_the_crowded_worker_really_closes_the_connection(db, phone):
    with LiveServer(db) as server:
        _crowd(server.app, crowded=False)
        answer, closed = _head_then_read(server.url, phone.prefix)
        assert answer.startswith(b"HTTP/1.1 204") and not closed
        _crowd(server.app, crowded=True)
        answer, closed = _head_then_read(server.url, phone.prefix)
        assert answer.startswith(b"HTTP/1.1 204") and closed


@pytest.fixture
def serve_env(database_url, monkeypatch):
    """`serve` on the test database, with uvicorn.run recorded instead of serving."""
    import uvicorn

    from core.config import get_settings
    from core.db import get_engine

    monkeypatch.setenv("POSYANDU_DATABASE_URL", database_url)
    # serve sets POSYANDU_WORKERS itself: setting it here first makes monkeypatch
    # restore whatever was there before (nothing, as a rule) once the test is done.
    monkeypatch.setenv("POSYANDU_WORKERS", "1")
    monkeypatch.delenv("POSYANDU_WORKERS")
    get_settings.cache_clear()
    get_engine.cache_clear()
    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append(kwargs))
    yield calls
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()



@pytest.mark.parametrize(("argv", "env", "workers"), [
    ([], None, 1), ([], "3", 3), (["--workers", "2"], None, 2), (["--workers", "2"], "3", 2),
    (["--workers", "1"], "3", 1)])
def test_serve_takes_its_workers_from_the_flag_or_the_environment_and_passes_them_on(
        serve_env, monkeypatch, argv, env, workers):
    import os

    from cli.main import main
    from core.config import get_settings

    if env is not None:
        monkeypatch.setenv("POSYANDU_WORKERS", env)
        get_settings.cache_clear()
    assert main(["serve", "--port", "8999", *argv]) == 0
    assert serve_env[-1]["workers"] == workers
    assert os.environ["POSYANDU_WORKERS"] == str(workers)  # what each worker reads
    # One worker runs the app in serve's own process: its settings say so too.
    assert get_settings().workers == workers


@pytest.mark.parametrize(("argv", "env"), [(["--workers", "0"], None), ([], "0")])
def test_serve_refuses_no_workers(serve_env, monkeypatch, capsys, argv, env):
    from cli.main import main
    from core.config import get_settings

    if env is not None:
        monkeypatch.setenv("POSYANDU_WORKERS", env)
        get_settings.cache_clear()
    assert main(["serve", *argv]) == 2
    assert "at least 1" in capsys.readouterr().out and serve_env == []


def test_serve_leaves_no_worker_count_behind():
    """Runs after the serve tests above (the file runs in order, in one process):
    serve writes the environment directly, and a count left behind would turn
    rebalancing on in every app the later tests build."""
    import os

    assert "POSYANDU_WORKERS" not in os.environ
