"""Fixtures of the fault drills: a private PostgreSQL cluster (the shared server on
127.0.0.1:5432 is never stopped or restarted: other people's tests use it) and a
small filesystem that can be filled up.

Both need what CI on this machine has: PostgreSQL's server binaries
(/usr/lib/postgresql/*/bin) and root (to mount a tmpfs; initdb refuses root, so the
cluster runs as the `postgres` user). Without them the drill is skipped with the
reason, unless POSYANDU_REQUIRE_DRILLS=1 (CI), where it fails.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.drills.field import free_port


def _unavailable(reason: str) -> None:
    if os.environ.get("POSYANDU_REQUIRE_DRILLS") == "1":
        pytest.fail(f"{reason}, but POSYANDU_REQUIRE_DRILLS=1")
    pytest.skip(reason)


@dataclass
class PrivatePostgres:
    bindir: Path
    datadir: Path
    sockdir: Path
    port: int
    as_user: list[str]  # runuser prefix when running as root

    @property
    def server_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.datadir),
                               *args], capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> None:
        self.pg_ctl("-w", "-l", str(self.datadir.parent / "postgres.log"), "-o",
                    f"-p {self.port} -k {self.sockdir} -c listen_addresses=127.0.0.1 "
                    "-c max_connections=60", "start")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("-w", "-m", mode, "stop")


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of our own on a free port, for the drill that restarts it."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]))
    if not found:
        _unavailable("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb)")
    bindir = Path(found[-1]).parent
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="posyandu-drill-pg-"))
    if os.geteuid() == 0:  # initdb refuses to run as root
        if shutil.which("runuser") is None:
            _unavailable("running as root without runuser to start PostgreSQL as postgres")
        try:
            shutil.chown(root, "postgres", "postgres")
        except (LookupError, PermissionError) as exc:
            _unavailable(f"no postgres user to own a private cluster: {exc}")
        as_user = ["runuser", "-u", "postgres", "--"]
    datadir, sockdir = root / "data", root
    init = subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres",
                           "--auth=trust", "-E", "UTF8", "--no-sync"],
                          capture_output=True, text=True, timeout=120)
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        _unavailable(f"initdb failed: {init.stderr[-500:]}")
    cluster = PrivatePostgres(bindir, datadir, sockdir, free_port(), as_user)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.pg_ctl("-m", "immediate", "stop", check=False)
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class SmallDisk:
    path: Path

    def fill(self) -> Path:
        """Fill the filesystem to the last byte; returns the file that holds it."""
        filler = self.path / "filler"
        with open(filler, "wb", buffering=0) as f:
            for chunk in (1 << 20, 1 << 12, 1):
                block = b"\0" * chunk
                try:
                    while True:
                        f.write(block)
                except OSError:
                    pass
        return filler

    def free(self) -> int:
        stats = os.statvfs(self.path)
        return stats.f_bavail * stats.f_frsize


@pytest.fixture
def small_disk() -> Iterator[SmallDisk]:
    """A 48 MB tmpfs mounted for the test (needs root: mount(2))."""
    if os.geteuid() != 0:
        _unavailable("filling a disk needs a filesystem of its own: mounting a tmpfs needs root")
    mountpoint = Path(tempfile.mkdtemp(prefix="posyandu-drill-disk-"))
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m,mode=0755", "tmpfs",
                           str(mountpoint)], capture_output=True, text=True)
    if done.returncode != 0:
        mountpoint.rmdir()
        _unavailable(f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield SmallDisk(mountpoint)
    finally:
        for _ in range(20):
            if subprocess.run(["umount", str(mountpoint)], capture_output=True).returncode == 0:
                break
            time.sleep(0.5)
        else:
            subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)
        mountpoint.rmdir()
