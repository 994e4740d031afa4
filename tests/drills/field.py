"""Real phones against a real server, for the backup test and the fault drills.

`Field` sets up a database as an admin would (forms, a posyandu, kaders with device
tokens). `PhoneFleet` runs kader phones in threads, each sending its own OpenRosa
submissions over HTTP (multipart, `X-OpenRosa-Version`, under `/key/{token}`) and
retrying what was not acknowledged, as ODK Collect does: a 201 or 202 is an
acknowledgement, anything else (a 503, a refused connection, a reset) is sent again
after a pause. Every answer is recorded per submission. `LiveServer` is the app under
uvicorn in a thread; `ServerProcess` is `posyandu-sync serve` in processes of its own
(for kill -9).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlmodel import Session

from tests.support import KELURAHAN, OPENROSA, add_posyandu, child_values, fill_submission

ROOT = Path(__file__).resolve().parents[2]
_SYLLABLES = ("ba", "ci", "da", "fi", "ga", "hi", "ja", "ki", "la", "mi", "na", "pi", "ra",
              "si", "ta", "wi", "ya", "zu", "ko", "ne")


def child_name(n: int) -> str:
    """A distinct name per n (name matching ignores digits, so names are letters)."""
    parts = []
    for _ in range(3):
        n, r = divmod(n, len(_SYLLABLES))
        parts.append(_SYLLABLES[r])
    return "Anak " + "".join(parts).capitalize() + " " + parts[0].capitalize() + "wati"


@dataclass
class Field:
    form_xml: bytes
    posyandu_id: int
    tokens: list[str]

    @classmethod
    def set_up(cls, engine, phones: int) -> Field:
        from sync import accounts
        from sync.forms import current_forms, publish_builtin_forms

        with Session(engine) as s:
            publish_builtin_forms(s)
            s.commit()
            form = next(f.xml for f in current_forms(s) if f.form_id == "anthropometry")
        posyandu_id = add_posyandu(engine, KELURAHAN, f"Drill {uuid.uuid4().hex[:6]}")
        tokens = []
        with Session(engine) as s:
            for n in range(phones):
                user = accounts.create_user(s, username=f"kader-{posyandu_id}-{n}",
                                            password="password-123", role="kader",
                                            scopes=[f"posyandu:{posyandu_id}"])
                tokens.append(accounts.create_app_token(s, user=user, label=f"phone {n}")[1])
            s.commit()
        return cls(form, posyandu_id, tokens)

    def submissions(self, phone: int, count: int, *, start: int = 0,
                    attachment: int = 0) -> list[tuple[str, bytes, bytes | None]]:
        """(instance id, XML, attachment bytes or None): each a new child."""
        made = []
        for i in range(start, start + count):
            instance = f"uuid:{uuid.uuid4()}"
            xml = fill_submission(self.form_xml, child_values(
                posyandu_id=self.posyandu_id, child_name=child_name(phone * 10_000 + i),
                child_nik="", mother_name="", mother_nik="", household_kk=""),
                instance_id=instance)
            made.append((instance, xml, os.urandom(attachment) if attachment else None))
        return made


@dataclass
class Sent:
    instance_id: str
    answers: list = field(default_factory=list)  # (status code or exception name, time)
    acked_at: float | None = None  # when the first 201/202 came back


class Phone(threading.Thread):
    def __init__(self, fleet: PhoneFleet, token: str, work: list):
        super().__init__(daemon=True, name=f"phone-{token[:6]}")
        self.fleet, self.token, self.work = fleet, token, work
        self.sent = {instance: Sent(instance) for instance, _, _ in work}

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            for instance, xml, photo in self.work:
                record = self.sent[instance]
                while not self.fleet.stopping.is_set():
                    answer = self._post(client, xml, photo)
                    record.answers.append((answer, time.monotonic()))
                    if answer in (201, 202):
                        record.acked_at = time.monotonic()
                        break
                    self.fleet.refusals.append(answer)
                    time.sleep(self.fleet.retry_pause)
                if self.fleet.pause:
                    time.sleep(self.fleet.pause)

    def _post(self, client: httpx.Client, xml: bytes, photo: bytes | None):
        files = [("xml_submission_file", ("submission.xml", xml, "text/xml"))]
        if photo is not None:
            files.append(("photo.jpg", ("photo.jpg", photo, "image/jpeg")))
        try:
            response = client.post(f"{self.fleet.base_url()}/key/{self.token}/submission",
                                   headers=OPENROSA, files=files)
        except httpx.HTTPError as exc:
            return type(exc).__name__
        if response.status_code == 503:
            self.fleet.unavailable.append((response.headers.get("retry-after"),
                                           response.headers.get("x-posyandu-error"),
                                           response.text))
        elif response.status_code not in (201, 202):
            self.fleet.unexpected.append((response.status_code, response.text[:300]))
        return response.status_code


class PhoneFleet:
    """Phones sending at once; `resend_all()` sends every submission once more, as
    phones whose answers were lost do."""

    def __init__(self, base_url, work: dict[str, list], *, retry_pause: float = 0.2,
                 pause: float = 0.0):
        self.base_url = base_url if callable(base_url) else (lambda: base_url)
        self.retry_pause, self.pause = retry_pause, pause
        self.stopping = threading.Event()
        self.refusals: list = []
        self.unavailable: list = []
        self.unexpected: list = []
        self.phones = [Phone(self, token, items) for token, items in work.items()]

    def start(self) -> PhoneFleet:
        for phone in self.phones:
            phone.start()
        return self

    def join(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        for phone in self.phones:
            phone.join(max(0.0, deadline - time.monotonic()))
        self.stopping.set()
        stuck = [p.name for p in self.phones if p.is_alive()]
        assert not stuck, f"phones still sending after {timeout} s: {stuck}"

    @property
    def sent(self) -> dict[str, Sent]:
        return {k: v for phone in self.phones for k, v in phone.sent.items()}

    def acked(self, before: float | None = None) -> set[str]:
        return {k for k, v in self.sent.items()
                if v.acked_at is not None and (before is None or v.acked_at < before)}

    def acked_count(self) -> int:
        return sum(1 for phone in self.phones for v in phone.sent.values() if v.acked_at)

    def resend_all(self) -> Counter:
        """Every submission once more, one request each: each must be 202 (stored
        already, nothing new made)."""
        answers: Counter = Counter()
        with httpx.Client(timeout=30) as client:
            for phone in self.phones:
                for _instance, xml, photo in phone.work:
                    answers[phone._post(client, xml, photo)] += 1
        return answers


def stored_state(engine) -> dict:
    """What the database holds of the drill's children: submissions by status, the
    instance ids, and how many persons and measurements each child has."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT instance_id, status FROM submission")).all()
        per_child = conn.execute(text(
            "SELECT p.name, count(DISTINCT p.id), count(m.id) FROM person p "
            "LEFT JOIN measurement m ON m.person_id = p.id GROUP BY p.name")).all()
    return {"instances": {r[0] for r in rows}, "statuses": Counter(r[1] for r in rows),
            "children": {name: (persons, measurements) for name, persons, measurements in per_child}}


def assert_each_acked_stored_once(fleet: PhoneFleet, engine) -> dict:
    """Every acknowledged submission is stored and processed, each child once with one
    measurement (a resend never makes a second one)."""
    state = stored_state(engine)
    acked = fleet.acked()
    assert acked, "no submission was acknowledged"
    missing = acked - state["instances"]
    assert not missing, f"{len(missing)} acknowledged submissions are not stored"
    assert set(state["statuses"]) <= {"processed"}, state["statuses"]
    doubled = {name: c for name, c in state["children"].items() if c != (1, 1)}
    assert not doubled, f"children stored more than once: {list(doubled.items())[:5]}"
    assert len(state["children"]) == len(state["instances"])
    return state


# ---------------------------------------------------------------- servers

def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    with free_socket() as sock:
        return sock.getsockname()[1]


class LiveServer:
    """The app under uvicorn in a thread of this process, on `engine`."""

    def __init__(self, engine):
        import uvicorn

        from api.app import create_app, warm_up

        self.app = create_app(engine)
        warm_up(self.app)
        self.sock = free_socket()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning",
                                                    lifespan="on", date_header=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True, name="uvicorn-drill")

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()


class ServerProcess:
    """`posyandu-sync serve --workers N` on a free port, in processes of its own."""

    def __init__(self, database_url: str, workers: int, log: Path, env: dict | None = None):
        self.database_url, self.workers, self.log = database_url, workers, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env or {}
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        return [str(Path(sys.executable).parent / "posyandu-sync"), "serve", "--port",
                str(self.port), "--workers", str(self.workers)]

    def environment(self) -> dict[str, str]:
        return {**os.environ, "POSYANDU_DATABASE_URL": self.database_url,
                "POSYANDU_LOG_LEVEL": "WARNING", **self.env}

    def outputs(self) -> tuple:
        """(stdout, stderr) of the server: both to the log."""
        return self.log.open("ab"), subprocess.STDOUT

    def start(self, timeout: float = 60) -> ServerProcess:
        stdout, stderr = self.outputs()
        self.process = subprocess.Popen(self.command(), cwd=ROOT, env=self.environment(),
                                        stdout=stdout, stderr=stderr, start_new_session=True)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the server exited: {self.log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    if self.workers == 1 or len(self.workers_pids()) == self.workers:
                        return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not get ready: {self.log.read_text()[-3000:]}")

    def workers_pids(self) -> list[int]:
        """The worker processes under uvicorn's supervisor."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        children = [int(pid) for pid in path.read_text().split()] if path.exists() else []
        # The supervisor's own children: multiprocessing's resource tracker is one of them.
        # A child listed a moment ago may be gone, or a zombie not yet reaped (its cmdline
        # is empty): a killed worker either way, so it is left out.
        workers = []
        for pid in children:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if cmdline and b"resource_tracker" not in cmdline:
                workers.append(pid)
        return workers

    def connections_of(self, pid: int) -> int:
        """Established TCP connections to the server's port held by this process."""
        inodes = set()
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except FileNotFoundError:  # it has exited since it was listed
            return 0
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        count = 0
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            if not Path(table).exists():
                continue
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == self.port and fields[3] == "01" and fields[9] in inodes:
                    count += 1
        return count

    def busiest_worker(self) -> int:
        """The worker holding the most phone connections (killing it is felt)."""
        return max(self.workers_pids(), key=self.connections_of)

    def kill9(self, pid: int | None = None) -> None:
        os.kill(pid or self.process.pid, signal.SIGKILL)
        if pid is None or pid == self.process.pid:
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
