#!/usr/bin/env python3
"""Known-vulnerabilities audit of the installed (locked) dependencies, for .ci/run.

Runs pip-audit over the project's virtual environment and decides:

- a known vulnerability in any dependency -> exit 1 (CI fails). PyPI's advisory data
  carries no severity, so "critical" cannot be told apart by the tool: every known
  vulnerability fails the build until it is fixed (upgrade) or reviewed and listed,
  with its reason, in .ci/audit-ignore (one `ID  # why` a line).
- the advisory database cannot be reached (no network, or an index mirror that does
  not serve PyPI's vulnerability data: every dependency comes back "not found on
  PyPI"), so nothing was checked -> said in capitals on stderr, and exit 0, unless
  POSYANDU_AUDIT_REQUIRED=1 (then exit 2). A puskesmas developer offline can still
  run the tests; a CI that must audit sets the variable.
- otherwise: how many dependencies were checked, exit 0.

Usage: .ci/audit.py [PIP_AUDIT [PYTHON]]   (defaults: .venv/bin/pip-audit, .venv/bin/python)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORE_FILE = ROOT / ".ci" / "audit-ignore"


def ignored_ids(path: Path = IGNORE_FILE) -> list[str]:
    if not path.exists():
        return []
    ids = []
    for line in path.read_text().splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            ids.append(entry)
    return ids


def decide(report: dict | None, *, error: str | None, required: bool,
           ignored: list[str]) -> tuple[int, str]:
    """(exit code, message) from pip-audit's JSON report (None when it did not run)."""
    if report is None:
        message = ("VULNERABILITY AUDIT NOT RUN: the advisory database could not be reached"
                   f" ({error or 'pip-audit failed'}).")
        return (2 if required else 0), message
    deps = report.get("dependencies", [])
    checked = [d for d in deps if "skip_reason" not in d]
    skipped = [d for d in deps if "skip_reason" in d]
    found = [(d["name"], d.get("version"), v["id"], v.get("fix_versions", []))
             for d in checked for v in d.get("vulns", []) if v["id"] not in ignored
             and not set(v.get("aliases", [])) & set(ignored)]
    if found:
        lines = [f"  {name} {version}: {vid} (fixed in {', '.join(fix) or 'no release yet'})"
                 for name, version, vid, fix in found]
        return 1, ("KNOWN VULNERABILITIES in the installed dependencies:\n" + "\n".join(lines)
                   + "\nUpgrade them, or review and list the id in .ci/audit-ignore with why.")
    if deps and not checked:
        message = (f"VULNERABILITY AUDIT NOT RUN: none of the {len(deps)} dependencies could be "
                   "checked; the package index answered without PyPI's vulnerability data "
                   f"(e.g. {skipped[0]['skip_reason']}).")
        return (2 if required else 0), message
    note = f" ({len(skipped)} could not be checked)" if skipped else ""
    return 0, f"vulnerability audit: {len(checked)} dependencies checked, none known{note}."


def main(argv: list[str]) -> int:
    pip_audit = argv[1] if len(argv) > 1 else str(ROOT / ".venv/bin/pip-audit")
    required = os.environ.get("POSYANDU_AUDIT_REQUIRED", "") not in ("", "0", "false")
    ignored = ignored_ids()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "audit.json"
        command = [pip_audit, "--skip-editable", "--progress-spinner", "off", "-f", "json",
                   "-o", str(out), "--timeout", "30"]
        for vid in ignored:
            command += ["--ignore-vuln", vid]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            report, error = None, str(exc)
        else:
            report = json.loads(out.read_text()) if out.exists() and out.stat().st_size else None
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            error = None if report is not None else tail[:300]
    code, message = decide(report, error=error, required=required, ignored=ignored)
    print(message, file=sys.stderr if code or "NOT RUN" in message else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
