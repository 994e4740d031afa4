"""Drill: the Docker image's run-time conditions, reproduced without Docker.

The image (Dockerfile, docker-compose.yml) runs the service as uid/gid 10001 with a
read-only root filesystem: /app/var is the one writable place and /tmp a tmpfs.
tests/unit/test_deployment.py reads those files; this drill runs the service under
the same conditions and looks at what it did:

- the Dockerfile's CMD, step by step (`posyandu-sync migrate`, `bootstrap`, `serve`
  with two workers), from this venv, as uid/gid 10001 with no supplementary groups,
  no capabilities and no_new_privs (setpriv), in a working directory it cannot write
  (the repository, as /app in the image), HOME not writable either, the image's
  environment (PYTHONDONTWRITEBYTECODE=1, POSYANDU_LOG_JSON=true) and SQLite in a
  fresh var directory owned by 10001;
- writes through the running service: the admin made by bootstrap signs in and
  creates a posyandu, a kader and a device token; the phone sends an OpenRosa
  submission with a photo, which is stored and processed;
- every process of the service ran as uid 10001 (/proc/<pid>/status), and no file
  owned by uid 10001 exists outside the var directory and /tmp: not in the
  repository, the venv, the Python installation, /root, /home, /var, /etc, /usr,
  /opt or /srv.

When the venv's Python lies where uid 10001 cannot enter (pyenv under /root, mode
700; the image has it in /usr/local), the service runs in a mount namespace of its own
that lets it reach that Python and nothing else there (`_reach`).

Needs root (to switch to uid 10001) and setpriv (util-linux), and unshare for that
namespace; without them the drill is skipped with the reason, unless
POSYANDU_REQUIRE_DRILLS=1 (CI), where it fails.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
import pytest

from tests.drills.conftest import _unavailable
from tests.drills.field import ROOT, ServerProcess
from tests.support import KELURAHAN, OPENROSA, child_values, fill_submission, multipart_files

pytestmark = [pytest.mark.drill, pytest.mark.slow]

UID = GID = 10001  # the Dockerfile's USER
BIN = Path(sys.executable).parent
CLI = BIN / "posyandu-sync"
PHOTO_BYTES = 256 * 1024  # stored in the database with the submission


def _as_image_user() -> list[str]:
    """The prefix that runs a command as the image's user: uid/gid 10001, no other
    group, no capability (cap_drop: ALL), no_new_privs (no-new-privileges:true)."""
    if os.geteuid() != 0:
        _unavailable("running the service as uid 10001 needs root")
    if shutil.which("setpriv") is None:
        _unavailable("no setpriv (util-linux) to run the service as uid 10001")
    return ["setpriv", "--reuid", str(UID), "--regid", str(GID), "--clear-groups",
            "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]


def _passable(directory: Path) -> bool:
    """Whether uid 10001 (no supplementary groups) may traverse `directory`."""
    st = directory.stat()
    if st.st_uid == UID:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == GID:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def _unreachable_above(path: Path) -> Path | None:
    """The topmost directory above `path` that uid 10001 cannot traverse, if any."""
    for ancestor in reversed(path.parents):
        if not _passable(ancestor):
            return ancestor
    return None


def _reach(staging: Path) -> list[str]:
    """What the service needs to read (the repository, the venv, the Python it was
    made from) may lie under a directory uid 10001 cannot enter: a pyenv Python under
    /root, mode 700 (in the image it is in /usr/local, readable by all). Then the
    service runs in a mount namespace of its own in which that directory is an empty
    tmpfs owned by root, mode 755, holding only those trees, bind-mounted: the real
    ones, which the final scan looks at; nothing else of it is there, and nothing in
    the tmpfs is writable by uid 10001. Returns the prefix (none when not needed)."""
    needed = {ROOT, Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent}
    needed = {p.resolve() for p in needed}
    needed = {p for p in needed if not any(q != p and q in p.parents for q in needed)}
    covers: dict[Path, list[Path]] = {}
    for path in sorted(needed):
        cover = _unreachable_above(path)
        if cover is not None:
            covers.setdefault(cover, []).append(path)
    if not covers:
        return []
    if shutil.which("unshare") is None:
        _unavailable(f"uid {UID} cannot reach {sorted(covers)} and there is no unshare to make "
                     "a mount namespace where it can")
    q = shlex.quote
    staged, lines = [], ["set -e"]
    for paths in covers.values():
        for path in paths:
            stage = staging / str(len(staged))
            stage.mkdir(parents=True)
            staged.append((stage, path))
            lines.append(f"mount --bind {q(str(path))} {q(str(stage))}")
    for cover in covers:
        lines.append(f"mount -t tmpfs -o mode=0755,size=1m posyandu-drill {q(str(cover))}")
    for stage, path in staged:
        lines += [f"mkdir -p {q(str(path))}", f"mount --bind {q(str(stage))} {q(str(path))}",
                  f"umount {q(str(stage))}"]
    lines.append('exec "$@"')
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
            "\n".join(lines), "posyandu-drill-reach"]


def _checked_roots(var: Path) -> list[Path]:
    """Where a service confined to its var directory and /tmp must leave nothing."""
    roots = [ROOT, Path(sys.prefix), Path(sys.base_prefix)]
    try:  # an editable install's source tree (the venv may belong to another checkout)
        direct = json.loads(metadata.distribution("posyandu-sync").read_text("direct_url.json")
                            or "{}")
        if direct.get("url", "").startswith("file://"):
            roots.append(Path(unquote(urlsplit(direct["url"]).path)))
    except metadata.PackageNotFoundError:
        pass
    roots += [Path(p) for p in ("/root", "/home", "/var", "/etc", "/usr", "/opt", "/srv")]
    unique = []
    for root in roots:
        root = root.resolve()
        if root.is_dir() and root != Path("/") and root != var and root not in unique:
            unique.append(root)
    return unique


def _owned_by_image_user(roots: list[Path], *, exclude: Path) -> list[str]:
    found = subprocess.run(["find", *map(str, roots), "-path", str(exclude), "-prune", "-o",
                            "(", "-uid", str(UID), "-o", "-gid", str(GID), ")", "-print"],
                           capture_output=True, text=True, timeout=300)
    return sorted(set(found.stdout.split("\n")) - {""})


def _ids(pid: int) -> dict[str, str]:
    status = Path(f"/proc/{pid}/status").read_text()
    return {key: value.strip() for key, value in
            (line.split(":", 1) for line in status.splitlines() if ":" in line)
            if key in ("Uid", "Gid", "Groups", "CapEff", "CapPrm", "NoNewPrivs")}


@dataclass
class ImageBox:
    """The image's places: the var directory (the volume) and a HOME, neither under
    pytest's tmp_path (mode 700, owned by root: uid 10001 could not reach it)."""
    root: Path
    var: Path
    home: Path
    prefix: list[str]

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.var / 'posyandu.db'}"

    def env(self) -> dict[str, str]:
        """The image's environment (Dockerfile ENV), and nothing of the caller's."""
        return {"PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin", "HOME": str(self.home),
                "LANG": "C.UTF-8", "PYTHONPATH": str(ROOT),  # this checkout's code wins
                "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
                "PIP_NO_CACHE_DIR": "1", "POSYANDU_LOG_JSON": "true",
                "POSYANDU_DATABASE_URL": self.database_url}

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*self.prefix, str(CLI), *args], cwd=ROOT, env=self.env(),
                              capture_output=True, text=True, timeout=300)


@pytest.fixture
def image_box() -> Iterator[ImageBox]:
    as_user = _as_image_user()
    root = Path(tempfile.mkdtemp(prefix="posyandu-drill-image-"))
    try:
        root.chmod(0o755)
        prefix = [*_reach(root / "staged"), *as_user]
        var, home = root / "var", root / "home"
        var.mkdir(mode=0o700)
        os.chown(var, UID, GID)
        home.mkdir(mode=0o755)  # root's: not writable by 10001, as HOME in the image
        probe = subprocess.run([*prefix, "sh", "-c", 'test -r "$1/pyproject.toml" && '
                                'test -x "$2" && test -r "$3" && test -w "$4"', "-",
                                str(ROOT), sys.executable, str(CLI), str(var)],
                               capture_output=True)
        if probe.returncode != 0:
            _unavailable(f"uid {UID} cannot read the repository ({ROOT}) or the venv ({BIN}), "
                         f"or cannot write {var}")
        for place in (ROOT, home, ROOT / "var"):
            if subprocess.run([*prefix, "test", "-w", str(place)]).returncode == 0:
                _unavailable(f"{place} is writable by uid {UID}: it would not be in the image")
        yield ImageBox(root, var, home, prefix)
    finally:
        shutil.rmtree(root, ignore_errors=True)


class ImageServer(ServerProcess):
    """`posyandu-sync serve` as the Dockerfile's CMD runs it, as the image's user."""

    def __init__(self, box: ImageBox, workers: int, log: Path):
        super().__init__(box.database_url, workers, log)
        self.box = box
        self.banner = log.with_suffix(".out")

    def command(self) -> list[str]:
        return [*self.box.prefix, str(CLI), "serve", "--host", "127.0.0.1", "--port",
                str(self.port), "--workers", str(self.workers)]

    def environment(self) -> dict[str, str]:
        return self.box.env()  # the image's, nothing of the caller's

    def outputs(self) -> tuple:
        """stdout (the banner) apart from stderr (the log)."""
        return self.banner.open("ab"), self.log.open("ab")


def _exercise_writes(base: str, admin_password: str) -> dict:
    """An admin's and a phone's writes through the service; returns the stored submission."""
    with httpx.Client(base_url=base, timeout=60) as client:
        r = client.post("/api/v1/auth/token", data={"username": "admin",
                                                    "password": admin_password})
        assert r.status_code == 200, r.text
        admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = client.post("/api/v1/posyandu", headers=admin,
                        json={"kelurahan_code": KELURAHAN, "name": "Posyandu Drill Image"})
        assert r.status_code == 201, r.text
        posyandu_id = r.json()["id"]
        r = client.post("/api/v1/users", headers=admin, json={
            "username": "kader-image", "password": "password-123", "role": "kader",
            "scopes": [f"posyandu:{posyandu_id}"]})
        assert r.status_code == 201, r.text
        r = client.post("/api/v1/users/kader-image/app-tokens", headers=admin,
                        json={"label": "drill phone"})
        assert r.status_code == 201, r.text
        token = r.json()["token"]
        r = client.get(f"/key/{token}/forms/anthropometry/form.xml", headers=OPENROSA)
        assert r.status_code == 200, r.text
        xml = fill_submission(r.content, child_values(posyandu_id=posyandu_id))
        r = client.post(f"/key/{token}/submission", headers=OPENROSA,
                        files=multipart_files(xml, {"photo.jpg": os.urandom(PHOTO_BYTES)}))
        assert r.status_code == 201, r.text
        r = client.get("/api/v1/submissions", headers=admin)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert len(items) == 1 and items[0]["status"] == "processed", items
        r = client.get(f"/api/v1/submissions/{items[0]['id']}", headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["attachments"] == ["photo.jpg"], r.json()["attachments"]
        return items[0]


def test_the_image_conditions_non_root_read_only_the_service_writes_only_its_var_dir(
        image_box, tmp_path):
    started = time.monotonic()
    box = image_box
    migrate = box.run("migrate")
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    bootstrap = box.run("bootstrap")
    assert bootstrap.returncode == 0, bootstrap.stdout + bootstrap.stderr
    password = re.search(r"first admin created: username 'admin', password '([^']+)'",
                         bootstrap.stdout)
    assert password, bootstrap.stdout
    server = ImageServer(box, workers=2, log=tmp_path / "server.log").start(timeout=90)
    try:
        pids = [server.process.pid, *server.workers_pids()]
        assert len(pids) == 3, pids
        for pid in pids:
            ids = _ids(pid)
            assert ids["Uid"].split() == [str(UID)] * 4, (pid, ids)
            assert ids["Gid"].split() == [str(GID)] * 4, (pid, ids)
            assert ids["Groups"] == "" and ids["NoNewPrivs"] == "1", (pid, ids)
            assert int(ids["CapEff"], 16) == 0 and int(ids["CapPrm"], 16) == 0, (pid, ids)
        submission = _exercise_writes(server.url, password.group(1))
        assert httpx.get(f"{server.url}/readyz").status_code == 200
    finally:
        server.stop()
    assert server.process.returncode == 0, server.log.read_text()[-3000:]
    # stdout is the banner (where to reach the service); stderr the log, whose lines of
    # every line is JSON, uvicorn's own start and stop lines (supervisor and workers) too.
    assert "posyandu-sync serving on" in server.banner.read_text()
    logged = [json.loads(line) for line in server.log.read_text().splitlines()]
    assert any(r["logger"] == "uvicorn.error" and "Started parent process" in r["message"]
               for r in logged), logged
    assert any(r["logger"] == "posyandu.access" and r["path"] == "/key/***/submission"
               and r["status"] == 201 for r in logged), logged
    stored = sorted(p.name for p in box.var.iterdir())
    assert "posyandu.db" in stored, stored
    assert all(p.stat().st_uid == UID for p in box.var.iterdir()), stored

    roots = _checked_roots(box.var)
    written = _owned_by_image_user(roots, exclude=box.var)
    assert not written, (f"uid {UID} wrote outside its var directory and /tmp (the image's "
                         f"read-only root filesystem would refuse these): {written[:20]}")
    left_in_tmp = _owned_by_image_user([Path(tempfile.gettempdir())], exclude=box.root)
    print(f"\nDRILL image conditions: migrate, bootstrap, serve --workers 2 as uid {UID} "
          f"(no groups, no capabilities, no_new_privs), cwd {ROOT} and HOME not writable; "
          f"admin created a posyandu, a kader and a token, submission {submission['id']} "
          f"with a {PHOTO_BYTES // 1024} KiB photo {submission['status']}; var holds "
          f"{stored}; nothing owned by uid {UID} under {len(roots)} roots "
          f"({', '.join(map(str, roots))}); left in {tempfile.gettempdir()}: "
          f"{left_in_tmp or 'nothing'}; {time.monotonic() - started:.1f} s")
