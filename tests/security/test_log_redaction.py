"""Device tokens, JWTs and passwords never reach a log, whatever the path looks like
(core.redact, applied to every record by core.logging's record factory)."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from core.logging import install_redaction
from core.redact import redact
from sync import accounts
from tests.support import ADMIN_PASSWORD, OPENROSA, bearer

TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


# ---------------------------------------------------------------- the rules


@pytest.mark.parametrize("text, secret", [
    ("GET //key/SECRETtoken123/formList 404", "SECRETtoken123"),
    ("GET ///key/SECRETtoken123/forms/x/manifest", "SECRETtoken123"),
    ('1.2.3.4:5 - "GET /key/SECRETtoken123/formList?formID=a HTTP/1.1" 404', "SECRETtoken123"),
    ("GET /x%2Fkey%2FSECRETtoken123%2FformList", "SECRETtoken123"),
    ("GET /UuA5q7iEbHL6U4C98fLJk4XCIXm7Aae1ggbD8Ay6i0mCy8rW/formList 404",
     "UuA5q7iEbHL6U4C98fLJk4XCIXm7Aae1ggbD8Ay6i0mCy8rW"),
    ("Authorization: Bearer abc.def-SECRET", "abc.def-SECRET"),
    ("authorization: basic c3JpOnNlY3JldC1wYXNzd29yZA==", "c3JpOnNlY3JldC1wYXNzd29yZA=="),
    ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl seen", "c2lnbmF0dXJl"),
    ("GET /api/v1/auth/me?access_token=SECRETvalue&x=1", "SECRETvalue"),
    ("username=sri&password=hunter2-SECRET", "hunter2-SECRET"),
    ('{"username": "sri", "password": "hunter2-SECRET"}', "hunter2-SECRET"),
    ("{'new_password': 'hunter2-SECRET'}", "hunter2-SECRET"),
    ("could not connect to postgresql://posyandu:dbSECRET@db:5432/x", "dbSECRET"),
    ("X-Hook-Secret given: secret=SECRETvalue", "SECRETvalue"),
])
def test_redact_removes_the_secret(text, secret):
    assert secret not in redact(text)
    assert "***" in redact(text)


@pytest.mark.parametrize("text", [
    "GET /api/v1/measurements?kelurahan_code=33.75.01.1002&limit=50 200",
    "GET /forms/anthropometry/form.xml 200",
    "POST /submission 201",
    "monkey=1 keyboard=2",
    "GET /api/v1/intake/kobo/0b8f5a34-3c1e-4f53-9a57-2f0d3d2b7e11 201",
])
def test_redact_leaves_ordinary_lines_alone(text):
    assert redact(text) == text


@settings(max_examples=300, deadline=None)
@given(token=st.text(TOKEN_ALPHABET, min_size=8, max_size=60),
       slashes=st.integers(1, 4), tail=st.sampled_from(["/formList", "/submission", "",
                                                        "/forms/a/manifest", "?x=1"]),
       before=st.sampled_from(["GET ", '"GET ', "path=", "", "http://h:8000"]))
def test_a_device_token_in_any_path_is_redacted(token, slashes, tail, before):
    line = f"{before}{'/' * slashes}key/{token}{tail} 404"
    assert token not in redact(line)


# ---------------------------------------------------------------- every logger


def test_every_logger_is_redacted_including_arguments_and_tracebacks():
    install_redaction()
    secret = "SECRETtoken1234567"
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    # a handler on each logger itself: uvicorn's own set-up (an in-process server in
    # another test) may have changed its loggers' propagation and levels
    loggers = [logging.getLogger(n) for n in ("uvicorn.access", "some.library", "posyandu.api")]
    saved = [(lg.level, lg.propagate, lg.disabled) for lg in loggers]
    keep = Keep(logging.DEBUG)
    for lg in loggers:
        lg.addHandler(keep)
        lg.setLevel(logging.DEBUG)
        lg.propagate, lg.disabled = False, False
    try:
        logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "1.2.3.4:1", "GET",
                                                 f"//key/{secret}/formList", "1.1", 404)
        logging.getLogger("some.library").warning("auth header %r", {"Authorization":
                                                                     f"Bearer {secret}"})
        try:
            raise ValueError(f"bad url /key/{secret}/formList")
        except ValueError:
            logging.getLogger("posyandu.api").exception("failed")
    finally:
        for lg, (level, propagate, disabled) in zip(loggers, saved):
            lg.removeHandler(keep)
            lg.setLevel(level)
            lg.propagate, lg.disabled = propagate, disabled
    assert len(records) == 3
    formatter = logging.Formatter("%(message)s")
    text = "".join(formatter.format(r) + r.getMessage() + (r.exc_text or "") for r in records)
    assert secret not in text and "/key/***/formList" in text
    # uvicorn's access formatter unpacks the arguments: they must stay five of them
    assert len(records[0].args) == 5 and records[0].args[4] == 404


# ---------------------------------------------------------------- real requests


def _device_token(db, username="sri") -> str:
    with Session(db, expire_on_commit=False) as s:
        user = accounts.get_user_by_username_or_raise(s, username)
        _, token = accounts.create_app_token(s, user=user, label="phone")
        s.commit()
    return token


def test_a_mistyped_phone_url_and_credentials_never_reach_the_log(client, db, make_user,
                                                                  admin_user, caplog):
    make_user("sri", "kader", ["33.75.01.1002"], password="kader-pass-1")
    token = _device_token(db)
    jwt = bearer(client, "admin", ADMIN_PASSWORD)["Authorization"].split()[1]
    with caplog.at_level(logging.INFO):
        # what Collect asks when its server URL ends in a slash (a raw request path)
        assert client.get(f"http://testserver//key/{token}/formList",
                          headers=OPENROSA).status_code == 404
        # the server URL typed without its /key/
        assert client.get(f"/{token}/formList", headers=OPENROSA).status_code == 404
        assert client.get(f"/key/{token}/formList", headers=OPENROSA).status_code == 200
        assert client.get(f"/key/{token}x/formList", headers=OPENROSA).status_code == 401
        assert client.get("/formList", auth=("sri", "wrong-pass-xyz"),
                          headers=OPENROSA).status_code == 401
        assert client.get(f"/api/v1/auth/me?access_token={jwt}",
                          headers={"Authorization": f"Bearer {jwt}x"}).status_code == 401
        assert client.post("/api/v1/auth/token", data={"username": "sri",
                                                       "password": "wrong-pass-xyz"}
                           ).status_code == 401
    lines = caplog.text
    assert "//key/***/formList 404" in lines  # the access line is there, redacted
    for secret in (token, jwt, "wrong-pass-xyz", "kader-pass-1"):
        assert secret not in lines


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(args, env, **kwargs):
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env=env, text=True,
                          capture_output=True, timeout=120, **kwargs)


def _serve(database_url, tmp_path, exchange, **environment) -> tuple[str, str]:
    """Run `posyandu-sync serve --access-log` as a process, call `exchange(http)` once it
    is ready, stop it with Ctrl-C: what it printed (stdout, stderr)."""
    port = _free_port()
    env = {**os.environ, "POSYANDU_DATABASE_URL": database_url, "POSYANDU_LOG_LEVEL": "INFO",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2]), **environment}
    env.pop("POSYANDU_SECRET_KEY", None)
    out_path, err_path = tmp_path / "serve.out", tmp_path / "serve.err"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        server = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port",
                                   str(port), "--access-log"], env=env, stdout=out,
                                  stderr=err, cwd=tmp_path)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            else:
                pytest.fail("serve did not start: " + out_path.read_text() + err_path.read_text())
            with httpx.Client(base_url=base, headers=OPENROSA) as http:
                exchange(http)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
    return out_path.read_text(), err_path.read_text()


def test_serve_access_log_prints_no_token(db, database_url, make_user, tmp_path):
    """`posyandu-sync serve --access-log`: uvicorn's own access line and ours, for a
    mistyped phone URL (a 404), a real one, Basic and a JWT in the query string."""
    make_user("sri", "kader", ["33.75.01.1002"], password="kader-pass-1")
    token = _device_token(db)

    def exchange(http):
        base = str(http.base_url).rstrip("/")
        assert http.get(f"{base}//key/{token}/formList").status_code == 404
        assert http.get(f"/key/{token}/formList?formID=anthropometry").status_code == 200
        assert http.get("/formList", auth=("sri", "kader-pass-1")).status_code == 200
        assert http.get(f"/formList?token={token}").status_code == 401

    out, err = _serve(database_url, tmp_path, exchange)
    text = out + err
    # uvicorn's own access line, redacted (proves the line was printed at all)
    assert re.search(r'"GET //key/\*\*\*/formList HTTP/1\.1" 404', text), text
    assert re.search(r'"GET /key/\*\*\*/formList\?formID=anthropometry HTTP/1\.1" 200', text)
    assert token not in text
    assert "kader-pass-1" not in text


def test_serve_with_json_logs_prints_only_json_lines(db, database_url, make_user, tmp_path):
    """POSYANDU_LOG_JSON=true: every line on stderr is a JSON object, uvicorn's own
    start-up, shut-down and access lines included (the banner is on stdout)."""
    make_user("sri", "kader", ["33.75.01.1002"], password="kader-pass-1")
    token = _device_token(db)

    def exchange(http):
        assert http.get(f"/key/{token}/formList").status_code == 200

    _, err = _serve(database_url, tmp_path, exchange, POSYANDU_LOG_JSON="true")
    lines = [json.loads(line) for line in err.splitlines()]  # fails on a text line
    by_logger = {}
    for line in lines:
        by_logger.setdefault(line["logger"], []).append(line["message"])
    assert any("Application startup complete" in m for m in by_logger["uvicorn.error"])
    assert any("Shutting down" in m for m in by_logger["uvicorn.error"])
    access = [m for m in by_logger["uvicorn.access"] if "formList" in m]
    assert access and all("/key/***/formList" in m and token not in m for m in access)
