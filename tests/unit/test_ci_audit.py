"""The CI's vulnerability gate (.ci/audit.py) fails on a known vulnerability, and says
plainly when it could not check anything."""

from __future__ import annotations

import datetime
import importlib.metadata
import importlib.util
import json
import sys
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


# The offline snapshot (.ci/advisories.json, built by .ci/advisories.py refresh): checked
# on every run, so an audit without network still checks something.

advisories = audit.advisories

SNAPSHOT = {
    "generated": "2026-11-01", "source": "https://github.com/pypa/advisory-database",
    "source_commit": "0123456789abcdef", "source_date": "2026-10-30",
    "packages": ["jinja2", "pyyaml", "fastapi"],
    "advisories": [
        {"id": "GHSA-h5c8-rqwp-cp95", "aliases": ["CVE-2024-22195"], "package": "jinja2",
         "ranges": [{"introduced": "0", "fixed": "3.1.3"}], "versions": []},
        {"id": "PYSEC-2099-1", "aliases": [], "package": "pyyaml",
         "ranges": [{"introduced": "6.0", "last_affected": "6.0.1"}], "versions": ["5.4b2"]},
        {"id": "PYSEC-2099-2", "aliases": [], "package": "fastapi", "withdrawn": "2099-01-02",
         "ranges": [{"introduced": "0"}], "versions": []}]}


def offline(distributions, *, ignored=(), required=True, snapshot=SNAPSHOT):
    check = audit.check_snapshot(snapshot, distributions)
    return audit.decide(None, error="Name or service not known", required=required,
                        ignored=list(ignored), snapshot=check)


def test_a_snapshot_advisory_covering_an_installed_version_fails_offline():
    code, message = offline([("Jinja2", "3.1.2"), ("fastapi", "0.121.0")])
    assert code == 1
    assert "Jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in 3.1.3)" in message
    assert message.count("\n  ") == 1  # one line a finding; fastapi's is withdrawn
    # introduced and last_affected are affected, a listed version too; names per PEP 503
    for name, version in (("Py_YAML", "6.0"), ("py.yaml", "6.0.1"), ("PY--yaml", "5.4b2")):
        code, message = offline([(name, version)], snapshot={
            **SNAPSHOT, "advisories": [{**SNAPSHOT["advisories"][1], "package": "py-yaml"}]})
        assert code == 1 and f"{name} {version}: PYSEC-2099-1 (fixed in no release yet)" in message


def test_a_version_outside_the_ranges_passes_and_says_what_it_checked():
    for distributions in ([("jinja2", "3.1.3")], [("jinja2", "3.2")], [("pyyaml", "6.0.2")],
                          [("pyyaml", "5.4")], [("not-in-it", "3.1.2")]):
        code, message = offline(distributions)
        assert code == 0, distributions
        assert message.startswith("VULNERABILITY AUDIT OFFLINE ONLY")
        assert "matched against the offline snapshot" in message
        assert "0123456789ab of 2026-10-30" in message


def test_a_reviewed_snapshot_advisory_listed_by_id_or_alias_passes():
    for ignored in (["GHSA-h5c8-rqwp-cp95"], ["CVE-2024-22195"]):
        assert offline([("jinja2", "3.1.2")], ignored=ignored)[0] == 0
    assert offline([("jinja2", "3.1.2")], ignored=["GHSA-other"])[0] == 1


def test_a_withdrawn_advisory_is_ignored():
    assert audit.check_snapshot(SNAPSHOT, [("fastapi", "0.1")]).findings == []
    assert offline([("fastapi", "0.1")])[0] == 0
    live = {**SNAPSHOT["advisories"][2]}
    del live["withdrawn"]
    assert offline([("fastapi", "0.1")], snapshot={**SNAPSHOT, "advisories": [live]})[0] == 1


def test_required_fails_only_when_neither_the_online_database_nor_the_snapshot_was_checked():
    assert offline([("jinja2", "3.2")], required=True)[0] == 0
    code, message = audit.decide(None, error="offline", required=True, ignored=[],
                                 snapshot=None, snapshot_error="advisories.json: missing")
    assert code == 2 and message.startswith("VULNERABILITY AUDIT NOT RUN")
    assert "advisories.json: missing" in message


def test_online_and_snapshot_findings_are_merged_one_line_each():
    check = audit.check_snapshot(SNAPSHOT, [("jinja2", "3.1.2"), ("pyyaml", "6.0")])
    code, message = audit.decide(VULNERABLE, error=None, required=False, ignored=[],
                                 snapshot=check)
    assert code == 1
    assert message.count("GHSA-h5c8-rqwp-cp95") == 1  # in both: pip-audit's line only
    assert "pyyaml 6.0: PYSEC-2099-1" in message
    clean = audit.check_snapshot(SNAPSHOT, [("jinja2", "3.2")])
    code, message = audit.decide(CLEAN, error=None, required=True, ignored=[], snapshot=clean)
    assert code == 0 and message.startswith("vulnerability audit: 1 dependencies checked")


def test_a_snapshot_older_than_90_days_is_warned_about():
    today = datetime.date(2026, 11, 30)
    assert audit.stale_warning(SNAPSHOT, today) is None
    assert audit.stale_warning({**SNAPSHOT, "source_date": "2026-09-01"}, today) is None
    old = audit.stale_warning({**SNAPSHOT, "source_date": "2026-08-31"}, today)
    assert old.startswith("WARNING") and "as of 2026-08-31 (91 days ago)" in old
    assert "advisories.py refresh" in old
    # the database's date decides, not the day the snapshot was made from it
    built = audit.stale_warning({**SNAPSHOT, "source_date": "2024-10-10"}, today)
    assert "as of 2024-10-10" in built and "generated" not in built
    # without a valid source_date, the day it was generated stands in
    undated = {**SNAPSHOT, "source_date": "unknown"}
    assert audit.stale_warning({**undated, "generated": "2026-09-01"}, today) is None
    assert "generated 2026-08-31" in audit.stale_warning({**undated, "generated": "2026-08-31"}, today)
    assert "no valid source_date or generated" in audit.stale_warning({}, today)


def test_the_audit_prints_the_stale_warning_and_the_finding(tmp_path, monkeypatch, capsys):
    version = importlib.metadata.version("pytest")
    path = tmp_path / "advisories.json"
    path.write_text(json.dumps({**SNAPSHOT, "source_date": "2020-01-01", "advisories": [
        {"id": "PYSEC-2099-9", "aliases": ["CVE-2099-9"], "package": "pytest",
         "ranges": [], "versions": [version]}]}))
    monkeypatch.setattr(audit, "SNAPSHOT_FILE", path)
    monkeypatch.setattr(audit, "IGNORE_FILE", tmp_path / "none")
    monkeypatch.setenv("POSYANDU_AUDIT_REQUIRED", "1")
    code = audit.main(["audit.py", str(tmp_path / "no-pip-audit"), sys.executable])
    err = capsys.readouterr().err
    assert code == 1
    assert f"pytest {version}: PYSEC-2099-9 (fixed in no release yet)" in err
    assert "WARNING: the offline advisory snapshot" in err and "as of 2020-01-01" in err


def test_the_committed_snapshot_is_readable_and_names_its_source():
    snapshot = json.loads((AUDIT.parent / "advisories.json").read_text())
    assert snapshot["source_commit"] and snapshot["source_date"] and snapshot["generated"]
    assert "jinja2" in snapshot["packages"] and "fastapi" in snapshot["packages"]
    assert all(not a.get("withdrawn") for a in snapshot["advisories"])


def test_refresh_from_a_vulns_tree_keeps_only_our_live_advisories(tmp_path):
    vulns = tmp_path / "db" / "vulns"
    files = {
        "pytest/PYSEC-2099-10.yaml": """\
id: PYSEC-2099-10
aliases:
- CVE-2099-10
affected:
- package:
    name: pytest
    ecosystem: PyPI
  ranges:
  - type: GIT
    repo: https://github.com/pytest-dev/pytest
    events:
    - introduced: '0'
    - fixed: 0123abc
  - type: ECOSYSTEM
    events:
    - introduced: '1.10'
    - fixed: '2.0'
    - introduced: '3.0'
  versions:
  - '1.10'
  - 1.10.1
  - 0.9rc1
""",
        "pytest/PYSEC-2099-11.yaml": """\
id: PYSEC-2099-11
withdrawn: '2099-01-01T00:00:00Z'
affected:
- package: {name: pytest, ecosystem: PyPI}
  ranges:
  - type: ECOSYSTEM
    events: [{introduced: '0'}]
""",
        "no-such-distribution-xyz/PYSEC-2099-12.yaml": """\
id: PYSEC-2099-12
affected:
- package: {name: no-such-distribution-xyz, ecosystem: PyPI}
  ranges: [{type: ECOSYSTEM, events: [{introduced: '0'}]}]
""",
        "pytest/GHSA-npm-only.yaml": """\
id: GHSA-npm-only
affected:
- package: {name: pytest, ecosystem: npm}
  ranges: [{type: ECOSYSTEM, events: [{introduced: '0'}]}]
"""}
    for name, text in files.items():
        (vulns / name).parent.mkdir(parents=True, exist_ok=True)
        (vulns / name).write_text(text)
    out = tmp_path / "advisories.json"
    advisories.refresh(tmp_path / "db", sys.executable, out, commit="c0ffee",
                       commit_date="2099-01-02", today=datetime.date(2099, 1, 3))
    snapshot = json.loads(out.read_text())
    packages = snapshot.pop("packages")
    assert "pytest" in packages and "no-such-distribution-xyz" not in packages
    assert snapshot == {
        "generated": "2099-01-03", "source": "https://github.com/pypa/advisory-database",
        "source_commit": "c0ffee", "source_date": "2099-01-02",
        "advisories": [{"id": "PYSEC-2099-10", "aliases": ["CVE-2099-10"], "package": "pytest",
                        "ranges": [{"introduced": "1.10", "fixed": "2.0"},
                                   {"introduced": "3.0"}],
                        "versions": ["0.9rc1"]}]}
    entry = snapshot["advisories"][0]
    assert [advisories.entry_affects(entry, v)[0] for v in
            ("1.9", "1.10", "1.99", "2.0", "2.9", "3.0", "9.0", "0.9rc1")] == [
            False, True, True, False, False, True, True, True]
