"""The CI's vulnerability gate (.ci/audit.py) fails on a known vulnerability, and says
plainly when it could not check anything."""

from __future__ import annotations

import importlib.util
from pathlib import Path

AUDIT = Path(__file__).resolve().parents[2] / ".ci" / "audit.py"
spec = importlib.util.spec_from_file_location("ci_audit", AUDIT)
audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit)

VULNERABLE = {"dependencies": [
    {"name": "jinja2", "version": "3.1.2", "vulns": [
        {"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"], "aliases": ["CVE-2024-22195"]}]},
    {"name": "fastapi", "version": "0.121.0", "vulns": []}]}
UNREACHABLE = {"dependencies": [
    {"name": "alembic", "skip_reason": "Dependency not found on PyPI and could not be audited"},
    {"name": "fastapi", "skip_reason": "Dependency not found on PyPI and could not be audited"}]}
CLEAN = {"dependencies": [{"name": "fastapi", "version": "0.121.0", "vulns": []},
                          {"name": "posyandu-sync", "skip_reason": "editable"}]}


def test_a_known_vulnerability_fails_the_build():
    code, message = audit.decide(VULNERABLE, error=None, required=False, ignored=[])
    assert code == 1
    assert "jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in 3.1.3)" in message


def test_a_reviewed_vulnerability_listed_by_id_or_alias_passes():
    for ignored in (["GHSA-h5c8-rqwp-cp95"], ["CVE-2024-22195"]):
        assert audit.decide(VULNERABLE, error=None, required=False, ignored=ignored)[0] == 0


def test_an_unreachable_advisory_database_is_said_and_fails_only_when_required():
    for report, error in ((UNREACHABLE, None), (None, "Name or service not known")):
        code, message = audit.decide(report, error=error, required=False, ignored=[])
        assert code == 0 and message.startswith("VULNERABILITY AUDIT NOT RUN")
        assert audit.decide(report, error=error, required=True, ignored=[])[0] == 2


def test_a_clean_audit_counts_what_it_checked():
    code, message = audit.decide(CLEAN, error=None, required=True, ignored=[])
    assert code == 0 and "1 dependencies checked" in message and "1 could not" in message


def test_the_ignore_file_reads_ids_and_skips_comments(tmp_path):
    path = tmp_path / "ignore"
    path.write_text("# header\nGHSA-1  # not used by us\n\n  PYSEC-2\n")
    assert audit.ignored_ids(path) == ["GHSA-1", "PYSEC-2"]
