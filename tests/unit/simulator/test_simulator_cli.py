"""`posyandu-sync simulate`: argument checks and the progress bar."""

from __future__ import annotations

import io

import pytest

from cli.main import main
from cli.simulate import ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_server_run_needs_admin_credentials(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("POSYANDU_ADMIN_USER", raising=False)
    monkeypatch.delenv("POSYANDU_ADMIN_PASSWORD", raising=False)
    code = main(["simulate", "--server", "http://127.0.0.1:9", "--months", "1",
                 "--out", str(tmp_path)])
    assert code == 2
    assert "admin credentials" in capsys.readouterr().err


def test_server_and_truth_only_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "--server", "http://x", "--truth-only"])
    assert exit_.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_the_progress_bar_draws_on_a_terminal_only():
    terminal = Terminal()
    bar = ProgressBar(200, stream=terminal)
    bar.update(50, "2025-02")
    bar.update(200, "final")
    bar.close()
    assert "25%" in terminal.getvalue() and "100%" in terminal.getvalue()
    assert "200/200 POSTs" in terminal.getvalue()
    pipe = io.StringIO()
    ProgressBar(10, stream=pipe).update(5, "x")
    assert pipe.getvalue() == ""
