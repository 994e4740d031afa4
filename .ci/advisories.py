#!/usr/bin/env python3
"""The offline advisory snapshot (.ci/advisories.json) that .ci/audit.py always checks.

pip-audit needs PyPI's (or OSV's) vulnerability service; offline, or behind an index
mirror that does not serve it, it checks nothing. The snapshot is the part of the PyPA
advisory database (https://github.com/pypa/advisory-database, OSV YAML files under
vulns/<package>/*.yaml) that concerns the distributions installed in our virtual
environment, so CI always checks at least what was known when it was refreshed.

    .ci/advisories.py refresh PATH [--python .venv/bin/python] [--out .ci/advisories.json]
                                   [--commit SHA --commit-date YYYY-MM-DD]

PATH is a checkout of the database, a bare clone of it (read with `git archive`), or a
copy of its vulns/ tree (then give --commit and --commit-date: they cannot be read).
Withdrawn advisories are left out, and so are the advisories' `versions` lists where
the ranges already cover them (the ranges say the same thing; the snapshot stays small).

The snapshot:
    {"generated": "YYYY-MM-DD", "source": URL, "source_commit": SHA,
     "source_date": "YYYY-MM-DD" (the commit's date: how fresh the advisories are),
     "packages": [the PEP 503 names of the distributions installed when it was made],
     "advisories": [{"id", "aliases", "package", "ranges": [{"introduced", "fixed" |
                     "last_affected"}], "versions": [...]}]}
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / ".ci" / "advisories.json"
SOURCE = "https://github.com/pypa/advisory-database"

# Run by the audited environment's python: its distributions, name and version.
_LIST_INSTALLED = (
    "import importlib.metadata as m, json; print(json.dumps(sorted("
    "{(d.metadata['Name'], d.version) for d in m.distributions() if d.metadata['Name']})))"
)


class Finding(NamedTuple):
    name: str
    version: str
    id: str
    aliases: tuple[str, ...]
    fixed: tuple[str, ...]


def normalise(name: str) -> str:
    """PEP 503: runs of -, _ and . are one -, lower case."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed(python: str | Path) -> list[tuple[str, str]]:
    """(name, version) of every distribution installed for `python`."""
    done = subprocess.run([str(python), "-c", _LIST_INSTALLED], capture_output=True,
                          text=True, timeout=120, check=True)
    return [(name, version) for name, version in json.loads(done.stdout)]


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _same(a: str, b: str) -> bool:
    va, vb = _version(a), _version(b)
    return va == vb if va is not None and vb is not None else a == b


def _in_range(version: Version, span: dict) -> bool:
    low = _version(span.get("introduced", "0") or "0")
    if low is None or version < low:
        return False
    if "fixed" in span:
        fixed = _version(span["fixed"])
        return fixed is not None and version < fixed
    if "last_affected" in span:
        last = _version(span["last_affected"])
        return last is not None and version <= last
    return True  # introduced, never fixed


def _spans(events: list[dict]) -> list[dict]:
    """OSV events (introduced / fixed / last_affected, in any order) as intervals."""
    events = [e for e in events if e]
    ordered = events
    if all(_version(next(iter(e.values()))) is not None for e in events):
        ordered = sorted(events, key=lambda e: _version(next(iter(e.values()))))
    spans, current = [], None
    for event in ordered:
        if "introduced" in event:
            if current is not None:  # two introduced in a row: the first stays open
                spans.append(current)
            current = {"introduced": str(event["introduced"])}
        elif "fixed" in event or "last_affected" in event:
            kind = "fixed" if "fixed" in event else "last_affected"
            spans.append({**(current or {"introduced": "0"}), kind: str(event[kind])})
            current = None
        # "limit" events only bound git ranges
    if current is not None:
        spans.append(current)
    return spans


def entry_affects(entry: dict, version: str) -> tuple[bool, tuple[str, ...]]:
    """Whether one snapshot entry covers `version`, and the releases that fix it."""
    if entry.get("withdrawn"):
        return False, ()
    parsed = _version(version)
    fixes = []
    hit = False
    if parsed is not None:
        for span in entry.get("ranges", []):
            if _in_range(parsed, span):
                hit = True
                if "fixed" in span:
                    fixes.append(span["fixed"])
    if not hit and any(_same(version, listed) for listed in entry.get("versions", [])):
        hit = True
        later = [s["fixed"] for s in entry.get("ranges", []) if "fixed" in s]
        fixes = [f for f in later if parsed is None or (_version(f) or parsed) > parsed]
    return hit, tuple(dict.fromkeys(fixes))


def findings(snapshot: dict, distributions: list[tuple[str, str]]) -> list[Finding]:
    """Every snapshot advisory that covers an installed (name, version)."""
    by_package: dict[str, list[dict]] = {}
    for entry in snapshot.get("advisories", []):
        by_package.setdefault(normalise(entry["package"]), []).append(entry)
    found = []
    for name, version in sorted(distributions, key=lambda d: normalise(d[0])):
        for entry in by_package.get(normalise(name), []):
            hit, fixed = entry_affects(entry, version)
            if hit:
                found.append(Finding(name, version, entry["id"],
                                     tuple(entry.get("aliases", [])), fixed))
    return found


def snapshot_entries(advisory: dict, wanted: set[str]) -> list[dict]:
    """The snapshot's entries (one per package we have) for one OSV advisory."""
    if advisory.get("withdrawn"):
        return []
    merged: dict[str, dict] = {}
    for affected in advisory.get("affected", []):
        package = affected.get("package", {})
        name = normalise(str(package.get("name", "")))
        if package.get("ecosystem") != "PyPI" or name not in wanted:
            continue
        entry = merged.setdefault(name, {"id": advisory["id"],
                                         "aliases": sorted(advisory.get("aliases") or []),
                                         "package": name, "ranges": [], "versions": []})
        for r in affected.get("ranges", []):
            if r.get("type") in ("ECOSYSTEM", "SEMVER"):
                entry["ranges"] += [s for s in _spans(r.get("events", []))
                                    if s not in entry["ranges"]]
        for listed in affected.get("versions") or []:
            listed = str(listed)
            parsed = _version(listed)
            covered = parsed is not None and any(_in_range(parsed, s) for s in entry["ranges"])
            if not covered and listed not in entry["versions"]:
                entry["versions"].append(listed)
    return list(merged.values())


def build(vulns: Path, distributions: list[tuple[str, str]], *, source_commit: str,
          source_date: str, generated: str) -> dict:
    """The snapshot from a vulns/ tree, for the given installed distributions."""
    import yaml  # a dev dependency; only refresh needs it

    wanted = {normalise(name) for name, _ in distributions}
    advisories = []
    for folder in sorted(p for p in vulns.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.yaml")):
            # BaseLoader: every scalar a string, so a version such as 1.10 stays "1.10"
            advisory = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
            if isinstance(advisory, dict) and advisory.get("id"):
                advisories += snapshot_entries(advisory, wanted)
    advisories.sort(key=lambda e: (e["package"], e["id"]))
    return {"generated": generated, "source": SOURCE, "source_commit": source_commit,
            "source_date": source_date, "packages": sorted(wanted),
            "advisories": advisories}


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=300)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def refresh(checkout: Path, python: str, out: Path, *, commit: str | None = None,
            commit_date: str | None = None, today: dt.date | None = None) -> dict:
    checkout = checkout.resolve()
    generated = (today or dt.date.today()).isoformat()
    with tempfile.TemporaryDirectory() as tmp:
        if (checkout / "vulns").is_dir():
            vulns = checkout / "vulns"
            if _git("-C", str(checkout), "rev-parse", "--show-toplevel") == str(checkout):
                commit = commit or _git("-C", str(checkout), "rev-parse", "HEAD")
                commit_date = commit_date or _git("-C", str(checkout), "log", "-1",
                                                  "--format=%cs")
        elif _git("--git-dir", str(checkout), "rev-parse", "HEAD"):  # a bare clone
            git_dir = f"--git-dir={checkout}"
            commit = commit or _git(git_dir, "rev-parse", "HEAD")
            commit_date = commit_date or _git(git_dir, "log", "-1", "--format=%cs")
            archive = Path(tmp) / "vulns.tar"
            if _git(git_dir, "archive", "-o", str(archive), "HEAD", "vulns") is None:
                raise SystemExit(f"{checkout}: git archive HEAD vulns failed")
            subprocess.run(["tar", "-xf", str(archive), "-C", tmp], check=True)
            vulns = Path(tmp) / "vulns"
        else:
            raise SystemExit(f"{checkout}: neither a vulns/ tree nor a git clone of the "
                             "advisory database")
        snapshot = build(vulns, installed(python), source_commit=commit or "unknown",
                         source_date=commit_date or "unknown", generated=generated)
    out.write_text(json.dumps(snapshot, indent=1) + "\n", encoding="utf-8")
    return snapshot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=".ci/advisories.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser("refresh", help="rebuild .ci/advisories.json")
    cmd.add_argument("checkout", type=Path, help="the PyPA advisory database")
    cmd.add_argument("--python", default=str(ROOT / ".venv/bin/python"),
                     help="the environment whose distributions the snapshot covers")
    cmd.add_argument("--out", type=Path, default=SNAPSHOT)
    cmd.add_argument("--commit", help="the database's commit, when PATH is a bare vulns/ copy")
    cmd.add_argument("--commit-date", help="that commit's date, YYYY-MM-DD")
    args = parser.parse_args(argv)
    snapshot = refresh(args.checkout, args.python, args.out, commit=args.commit,
                       commit_date=args.commit_date)
    print(f"{args.out}: {len(snapshot['advisories'])} advisories for "
          f"{len(snapshot['packages'])} installed distributions, from {snapshot['source']} "
          f"{snapshot['source_commit'][:12]} of {snapshot['source_date']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
