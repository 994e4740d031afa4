"""The `posyandu-sync` admin commands against a real database."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from cli.main import main
from core.config import get_settings
from core.db import get_engine
from models import AppToken, User, Wilayah
from tests.support import KELURAHAN


@pytest.fixture
def cli_db(db, database_url, monkeypatch):
    monkeypatch.setenv("POSYANDU_DATABASE_URL", database_url)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield db
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_create_user_and_app_token(cli_db, capsys):
    assert main(["create-user", "--username", "bu-sri", "--password", "rahasia-123",
                 "--role", "kader", "--scope", KELURAHAN]) == 0
    assert main(["app-token", "--username", "bu-sri", "--base-url", "https://x.example"]) == 0
    url = capsys.readouterr().out.strip().splitlines()[-1]
    assert url.startswith("https://x.example/key/")
    with Session(cli_db) as s:
        user = s.exec(select(User).where(User.username == "bu-sri")).one()
        assert user.password_hash.startswith("$argon2")
        assert s.exec(select(AppToken).where(AppToken.user_id == user.id)).one()


def test_app_token_for_a_loopback_base_url_warns_on_stderr(cli_db, capsys):
    assert main(["create-user", "--username", "bu-sri", "--password", "rahasia-123",
                 "--role", "kader", "--scope", KELURAHAN]) == 0
    capsys.readouterr()
    assert main(["app-token", "--username", "bu-sri", "--base-url", "http://127.0.0.1:8000"]) == 0
    out = capsys.readouterr()
    assert out.out.strip().startswith("http://127.0.0.1:8000/key/")
    assert out.err.startswith("warning: ") and "HP" in out.err and "phone" in out.err
    assert main(["app-token", "--username", "bu-sri", "--base-url", "http://192.168.1.10:8000"]) == 0
    assert capsys.readouterr().err == ""
    with Session(cli_db) as s:
        assert {t.kind for t in s.exec(select(AppToken)).all()} == {"cli"}


def test_create_user_with_unknown_role_scope_fails_cleanly(cli_db, capsys):
    assert main(["create-user", "--username", "x", "--password", "rahasia-123",
                 "--role", "kader", "--scope", "12.34.56.7890"]) == 1
    assert "Unknown wilayah" in capsys.readouterr().err


def test_bootstrap_creates_the_first_admin_once(cli_db, capsys):
    assert main(["bootstrap"]) == 0
    assert "first admin created" in capsys.readouterr().out
    assert main(["bootstrap"]) == 0
    assert "first admin created" not in capsys.readouterr().out


def test_wilayah_import_adds_regions_under_their_parents(cli_db, tmp_path, capsys):
    (tmp_path / "regencies.csv").write_text("code,province_code,name\n33.74,33,Kota Semarang\n")
    (tmp_path / "districts.csv").write_text("code,regency_code,name\n33.74.01,33.74,Semarang Tengah\n")
    (tmp_path / "villages.csv").write_text(
        "code,district_code,name\n33.74.01.1001,33.74.01,Miroto\n33.74.01.2001,33.74.01,Desa X\n")
    assert main(["wilayah", "import", str(tmp_path / "villages.csv"), str(tmp_path / "districts.csv"),
                 str(tmp_path / "regencies.csv")]) == 0
    assert "4 added" in capsys.readouterr().out
    with Session(cli_db) as s:
        assert s.get(Wilayah, "33.74.01.1001").level == "kelurahan"
        assert s.get(Wilayah, "33.74.01.2001").level == "desa"
        assert s.get(Wilayah, "33.74.01.1001").parent_code == "33.74.01"


def test_wilayah_import_rejects_orphans_and_changes_nothing(cli_db, tmp_path, capsys):
    (tmp_path / "villages.csv").write_text("code,district_code,name\n11.01.01.2001,11.01.01,Keude\n")
    assert main(["wilayah", "import", str(tmp_path / "villages.csv")]) == 1
    assert "no parent" in capsys.readouterr().err
    with Session(cli_db) as s:
        assert s.get(Wilayah, "11.01.01.2001") is None


def test_a_second_bootstrap_says_what_it_found(cli_db, capsys):
    assert main(["bootstrap"]) == 0
    first = capsys.readouterr().out
    assert "forms published:" in first and "first admin created" in first
    assert main(["bootstrap"]) == 0
    second = capsys.readouterr().out
    assert "forms already published: anthropometry v" in second
    assert "admin exists (1 admin account)" in second and "first admin created" not in second


def test_version_comes_from_the_installed_distribution(capsys):
    from importlib import metadata

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"posyandu-sync {metadata.version('posyandu-sync')}"


def test_serve_host_and_port_have_help(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "0.0.0.0 for phones on the LAN" in out and "TCP port (default 8000)" in out


def test_the_banner_says_where_the_cli_lives_when_it_is_not_on_path(monkeypatch):
    import sys
    from pathlib import Path

    from cli import serve

    monkeypatch.setenv("PATH", "/nonexistent")
    hint = serve.cli_hint()
    assert hint and f"{Path(sys.executable).parent}/posyandu-sync" in hint and "activate" in hint
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    assert serve.cli_hint() is None and serve.cli_name() == "posyandu-sync"


def _users(db) -> list[str]:
    with Session(db) as s:
        return [u.username for u in s.exec(select(User)).all()]


def _can_sign_in(db, username, password) -> bool:
    from core.security import verify_password

    with Session(db) as s:
        user = s.exec(select(User).where(User.username == username)).one()
        return verify_password(user.password_hash, password)


def test_create_user_prompts_twice_for_the_password(cli_db, monkeypatch, capsys):
    answers = iter(["rahasia-123", "rahasia-123"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["create-user", "--username", "bu-sri", "--role", "kader",
                 "--scope", KELURAHAN]) == 0
    assert capsys.readouterr().err == ""
    assert _can_sign_in(cli_db, "bu-sri", "rahasia-123")


def test_create_user_with_mismatched_prompts_creates_nothing(cli_db, monkeypatch, capsys):
    answers = iter(["rahasia-123", "rahasia-124"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["create-user", "--username", "bu-sri", "--role", "kader",
                 "--scope", KELURAHAN]) == 1
    assert "do not match" in capsys.readouterr().err
    assert _users(cli_db) == []


@pytest.mark.parametrize("interruption", [EOFError, KeyboardInterrupt])
def test_create_user_without_a_typed_password_creates_nothing(cli_db, monkeypatch, capsys,
                                                              interruption):
    """No terminal and nothing piped (a script's `create-user … </dev/null`), or Ctrl-C
    at the prompt: a message, not a traceback, and no account."""
    def prompt(prompt=""):
        raise interruption
    monkeypatch.setattr("getpass.getpass", prompt)
    assert main(["create-user", "--username", "bu-sri", "--role", "kader",
                 "--scope", KELURAHAN]) == 1
    err = capsys.readouterr().err
    assert "no password was typed" in err and "--password-stdin" in err
    assert _users(cli_db) == []


def test_create_user_reads_one_line_from_stdin(cli_db, monkeypatch, capsys):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("rahasia 123\nnot this\n"))
    assert main(["create-user", "--username", "bu-sri", "--password-stdin", "--role", "kader",
                 "--scope", KELURAHAN]) == 0
    assert capsys.readouterr().err == ""
    assert _can_sign_in(cli_db, "bu-sri", "rahasia 123")


def test_create_user_with_password_on_argv_warns(cli_db, capsys):
    assert main(["create-user", "--username", "bu-sri", "--password", "rahasia-123",
                 "--role", "kader", "--scope", KELURAHAN]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: ") and "ps, shell history" in err
    assert _can_sign_in(cli_db, "bu-sri", "rahasia-123")


def test_the_banner_shows_the_address_phones_use_and_what_keeps_them_out(monkeypatch):
    from cli import serve

    monkeypatch.setattr(serve, "cli_hint", lambda: None)
    lan = serve.banner("0.0.0.0", 8000, "http://192.168.1.10:8000/", "sqlite:///x.db")
    assert lan[0].startswith("posyandu-sync serving on http://192.168.1.10:8000  (listening on 0.0.0.0:8000")
    assert "http://192.168.1.10:8000/docs" in lan[1]
    assert not any("warning" in line or "POSYANDU_BASE_URL" in line for line in lan)

    unreachable = serve.banner("127.0.0.1", 8000, "http://192.168.1.10:8000", "sqlite:///x.db")
    assert any("phones cannot reach http://192.168.1.10:8000" in line and "--host 0.0.0.0" in line
               for line in unreachable)

    default = serve.banner("127.0.0.1", 8000, None, "sqlite:///x.db")
    assert default[0].startswith("posyandu-sync serving on http://127.0.0.1:8000")
    assert any("POSYANDU_BASE_URL=http://<LAN address>:8000 and serve with --host 0.0.0.0" in line
               for line in default)
    everywhere = serve.banner("0.0.0.0", 8000, None, "sqlite:///x.db")
    assert any("POSYANDU_BASE_URL" in line and "--host" not in line for line in everywhere)
