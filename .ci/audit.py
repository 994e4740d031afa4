#!/usr/bin/env python3
"""Known-vulnerabilities audit of the installed (locked) dependencies, for .ci/run.

Two sources, merged:

- pip-audit over the project's virtual environment (PyPI's vulnerability data, online);
- always, the offline snapshot .ci/advisories.json (the PyPA advisory database's entries
  for our distributions, see .ci/advisories.py): every installed name and version is
  matched against its ranges (introduced <= v < fixed) and version lists.

and decides:

- a known vulnerability in any dependency, from either source -> exit 1 (CI fails), one
  line a finding (package, version, id, fixed in). PyPI's advisory data carries no
  severity, so "critical" cannot be told apart by the tool: every known vulnerability
  fails the build until it is fixed (upgrade) or reviewed and listed, with its reason,
  in .ci/audit-ignore (one `ID  # why` a line; an alias matches too).
- the online advisory database cannot be reached (no network, or an index mirror that
  does not serve PyPI's vulnerability data: every dependency comes back "not found on
  PyPI"): said in capitals on stderr; the snapshot is still checked, so this alone is
  exit 0. Only when the snapshot could not be checked either (missing, unreadable) is
  nothing checked -> exit 0, unless POSYANDU_AUDIT_REQUIRED=1 (then exit 2). A
  puskesmas developer offline can still run the tests; a CI that must audit sets it.
- a snapshot built from an advisory database more than 90 days old (its source_date,
  or the day it was generated when it has none): a warning on stderr (refresh it:
  .ci/advisories.py refresh).
- otherwise: how many dependencies were checked, exit 0.

Usage: .ci/audit.py [PIP_AUDIT [PYTHON]]   (defaults: .venv/bin/pip-audit, .venv/bin/python)
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
IGNORE_FILE = ROOT / ".ci" / "audit-ignore"
STALE_AFTER_DAYS = 90


def _load_advisories():
    # .ci is no package: load its sibling by path (registered, so it is loaded once).
    if "ci_advisories" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "ci_advisories", Path(__file__).resolve().with_name("advisories.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules["ci_advisories"] = module
        spec.loader.exec_module(module)
    return sys.modules["ci_advisories"]


advisories = _load_advisories()
SNAPSHOT_FILE = advisories.SNAPSHOT


class SnapshotCheck(NamedTuple):
    """The installed distributions matched against .ci/advisories.json."""
    checked: int  # installed distributions looked up
    findings: list  # advisories.Finding, ignored ones included
    source: str  # which database commit, of when
    uncovered: list[str]  # installed now, not when the snapshot was made


def ignored_ids(path: Path = IGNORE_FILE) -> list[str]:
    if not path.exists():
        return []
    ids = []
    for line in path.read_text().splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            ids.append(entry)
    return ids


def check_snapshot(snapshot: dict, distributions: list[tuple[str, str]]) -> SnapshotCheck:
    covered = set(snapshot.get("packages", []))
    uncovered = sorted(name for name, _ in distributions
                       if covered and advisories.normalise(name) not in covered)
    source = (f"{snapshot.get('source', 'advisory database')} "
              f"{str(snapshot.get('source_commit', 'unknown'))[:12]} of "
              f"{snapshot.get('source_date', 'unknown')}")
    return SnapshotCheck(len(distributions), advisories.findings(snapshot, distributions),
                         source, uncovered)


def stale_warning(snapshot: dict, today: dt.date | None = None,
                  days: int = STALE_AFTER_DAYS) -> str | None:
    """A warning when the advisory database the snapshot was built from is old.

    One date decides: the database's own (source_date), or, when the snapshot has no
    valid one, the day it was generated (a snapshot is never generated before the
    database it reads, so an old generated date means an old database too)."""
    today = today or dt.date.today()
    for field, what in (("source_date", "built from the advisory database as of"),  # noqa: B007
                        ("generated", "generated")):
        try:
            when = dt.date.fromisoformat(str(snapshot.get(field)))
            break
        except ValueError:
            continue
    else:
        return ("WARNING: the offline advisory snapshot (.ci/advisories.json) has no "
                "valid source_date or generated date. Refresh it: .ci/advisories.py "
                "refresh PATH_TO_ADVISORY_DATABASE.")
    if (today - when).days <= days:
        return None
    return ("WARNING: the offline advisory snapshot (.ci/advisories.json) was "
            f"{what} {when} ({(today - when).days} days ago); advisories published since "
            "are not in it. Refresh it: .ci/advisories.py refresh "
            f"PATH_TO_ADVISORY_DATABASE (more than {days} days is stale).")


def _ids(name: str, vid: str, aliases) -> set[tuple[str, str]]:
    return {(advisories.normalise(name), i) for i in (vid, *aliases)}


def decide(report: dict | None, *, error: str | None, required: bool,
           ignored: list[str], snapshot: SnapshotCheck | None = None,
           snapshot_error: str | None = None) -> tuple[int, str]:
    """(exit code, message) from pip-audit's JSON report (None when it did not run) and
    the snapshot's check (None when it could not be read)."""
    deps = (report or {}).get("dependencies", [])
    checked = [d for d in deps if "skip_reason" not in d]
    skipped = [d for d in deps if "skip_reason" in d]
    online = report is not None and not (deps and not checked)
    if report is None:
        online_status = ("the advisory database could not be reached"
                         f" ({error or 'pip-audit failed'})")
    elif not online:
        online_status = (f"none of the {len(deps)} dependencies could be checked; the package "
                         "index answered without PyPI's vulnerability data "
                         f"(e.g. {skipped[0]['skip_reason']})")
    else:
        note = f" ({len(skipped)} could not be checked)" if skipped else ""
        online_status = f"{len(checked)} dependencies checked{note}"

    found = [advisories.Finding(d["name"], d.get("version"), v["id"],
                                tuple(v.get("aliases", [])), tuple(v.get("fix_versions", [])))
             for d in checked for v in d.get("vulns", [])]
    seen = set().union(*(_ids(f.name, f.id, f.aliases) for f in found))
    for f in snapshot.findings if snapshot else []:
        if not _ids(f.name, f.id, f.aliases) & seen:  # pip-audit's report has it already
            found.append(f)
            seen |= _ids(f.name, f.id, f.aliases)
    found = [f for f in found if f.id not in ignored and not set(f.aliases) & set(ignored)]

    if snapshot is not None:
        offline_status = (f"{snapshot.checked} distributions matched against the offline "
                          f"snapshot ({snapshot.source})")
        if snapshot.uncovered:
            offline_status += (f"; {len(snapshot.uncovered)} installed since it was made are "
                               f"not in it ({', '.join(snapshot.uncovered[:5])}): refresh it")
    else:
        offline_status = ("the offline snapshot could not be checked"
                          f" ({snapshot_error or 'not read'})")

    if found:
        lines = [f"  {f.name} {f.version}: {f.id} "
                 f"(fixed in {', '.join(f.fixed) or 'no release yet'})" for f in found]
        return 1, ("KNOWN VULNERABILITIES in the installed dependencies:\n" + "\n".join(lines)
                   + "\nUpgrade them, or review and list the id in .ci/audit-ignore with why."
                   + f"\n(online: {online_status}; {offline_status}.)")
    if not online and snapshot is None:
        return (2 if required else 0), (f"VULNERABILITY AUDIT NOT RUN: {online_status}; "
                                        f"{offline_status}.")
    if not online:
        return 0, (f"VULNERABILITY AUDIT OFFLINE ONLY: {online_status}. Checked instead: "
                   f"{offline_status}, none known.")
    if snapshot is None:
        return 0, (f"vulnerability audit: {online_status}, none known. "
                   f"WARNING: {offline_status}.")
    return 0, f"vulnerability audit: {online_status}, none known; {offline_status}, none known."


def run_pip_audit(pip_audit: str, ignored: list[str]) -> tuple[dict | None, str | None]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "audit.json"
        command = [pip_audit, "--skip-editable", "--progress-spinner", "off", "-f", "json",
                   "-o", str(out), "--timeout", "30"]
        for vid in ignored:
            command += ["--ignore-vuln", vid]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, str(exc)
        report = json.loads(out.read_text()) if out.exists() and out.stat().st_size else None
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return report, None if report is not None else tail[:300]


def read_snapshot(python: str, path: Path | None = None
                  ) -> tuple[dict | None, SnapshotCheck | None, str | None]:
    """(the snapshot, its check against `python`'s distributions, why not)."""
    path = path or SNAPSHOT_FILE
    try:
        snapshot = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(snapshot, dict) or not isinstance(snapshot.get("advisories"), list):
            raise ValueError("no advisories list")
    except (OSError, ValueError) as exc:
        return None, None, f"{path.name}: {exc}"
    try:
        distributions = advisories.installed(python)
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        return snapshot, None, f"listing {python}'s distributions: {exc}"
    return snapshot, check_snapshot(snapshot, distributions), None


def main(argv: list[str]) -> int:
    pip_audit = argv[1] if len(argv) > 1 else str(ROOT / ".venv/bin/pip-audit")
    python = argv[2] if len(argv) > 2 else str(ROOT / ".venv/bin/python")
    required = os.environ.get("POSYANDU_AUDIT_REQUIRED", "") not in ("", "0", "false")
    ignored = ignored_ids()
    report, error = run_pip_audit(pip_audit, ignored)
    snapshot, check, snapshot_error = read_snapshot(python)
    if snapshot is not None and (warning := stale_warning(snapshot)):
        print(warning, file=sys.stderr)
    code, message = decide(report, error=error, required=required, ignored=ignored,
                           snapshot=check, snapshot_error=snapshot_error)
    clean = code == 0 and message.startswith("vulnerability audit:") and "WARNING" not in message
    print(message, file=sys.stdout if clean else sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
