"""Intake benchmark: concurrent simulated phones against a running server.

For each backend (SQLite file, PostgreSQL database made for the run) it migrates a
fresh database, publishes the forms, creates one kader + device token per phone,
starts `posyandu-sync serve` in a subprocess, and has N phones send ODK Collect's
exchange (HEAD /submission once, then multipart POSTs of the real anthropometry
XForm filled with simulated children) over keep-alive connections. The load
generator is a small raw-HTTP/1.1 client so that it takes little of the CPU the
server needs; it runs on the same machine.

It prints accepted submissions/s, p50/p99 POST latency, whether every submission was
fully processed (stored, turned into a measurement, z-scores computed), and the
server's memory (RSS of all its processes) at the start and end of the run.

    python bench/intake.py --backend both --phones 50 --submissions 10000
    python bench/intake.py --backend sqlite --submissions 50000   # memory soak
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_SERVER = os.environ.get("POSYANDU_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


# ---------------------------------------------------------------- set-up


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_database(backend: str, workdir: Path) -> tuple[str, callable]:
    if backend == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.db"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from core.db import normalise_url

    server = normalise_url(PG_SERVER)
    name = f"posyandu_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(server).set(database=name).render_as_string(hide_password=False), drop


@dataclass
class BenchPhone:
    token: str
    posyandu_id: int
    kelurahan_code: str


def prepare(url: str, phones: int) -> tuple[bytes, list[BenchPhone]]:
    """Migrate, publish forms, and create one kader with a device token per phone."""
    from sqlmodel import Session, select

    from core.db import make_engine
    from core.migrate import upgrade
    from models import Posyandu, Wilayah
    from sync import accounts
    from sync.forms import current_forms, publish_builtin_forms

    upgrade(url)
    engine = make_engine(url, pool_size=1)
    out = []
    with Session(engine) as s:
        publish_builtin_forms(s)
        form_xml = next(f.xml for f in current_forms(s) if f.form_id == "anthropometry")
        kelurahan = list(s.exec(select(Wilayah.code).where(Wilayah.level == "kelurahan",
                                                          Wilayah.code.startswith("33.75."))))
        for i in range(phones):
            code = kelurahan[i % len(kelurahan)]
            p = Posyandu(kelurahan_code=code, name=f"Posyandu bench {i}")
            s.add(p)
            s.flush()
            user = accounts.create_user(s, username=f"bench-kader-{i}", password="password-123",
                                        role="kader", scopes=[f"posyandu:{p.id}"])
            _, token = accounts.create_app_token(s, user=user)
            out.append(BenchPhone(token, p.id, code))
        s.commit()
    engine.dispose()
    return form_xml, out


def start_server(url: str, port: int, workers: int, log_path: Path) -> subprocess.Popen:
    env = dict(os.environ, POSYANDU_DATABASE_URL=url, POSYANDU_LOG_LEVEL="WARNING",
               POSYANDU_DB_POOL_SIZE="20")
    log = log_path.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port),
                             "--workers", str(workers)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if b" 200 " in sock.recv(200):
                    return proc
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("server exited: " + log_path.read_text()[-2000:])
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not become ready")


def _process_tree(pid: int) -> list[int]:
    try:
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return [pid]
    return [pid] + [int(p) for p in children.split()]


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU time of each of these processes so far."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            out[p] = (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return out


def cpu_since(before: dict[int, float], pids: list[int]) -> float:
    """CPU seconds these processes used since `before` (new processes from their start)."""
    return sum(now - before.get(p, 0.0) for p, now in cpu_seconds(pids).items())


def postgres_pids() -> list[int]:
    """The PostgreSQL server's processes on this machine (the bench's database is its
    only busy one while the bench runs)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    out.append(int(entry.name))
            except OSError:
                pass
    return out


def rss_kb(pid: int) -> int:
    """Resident memory of a process and its children (uvicorn workers)."""
    total = 0
    for p in _process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


# ---------------------------------------------------------------- submissions


def submissions_for(form_xml: bytes, phone: BenchPhone, count: int, rng: random.Random,
                    issuer, children_per_phone: int = 60) -> list[bytes]:
    """Monthly measurements of a posyandu's children, as filled XForm instances.

    Children come from the field simulator's growth model where available (WHO-
    consistent lengths and weights), so the server does real identity matching and
    real z-score work. `issuer` (simulator.nik.NumberIssuer) keeps NIK and KK numbers
    unique across phones.
    """
    from simulator.growth import draw_track, length_height_cm, weight_kg
    from simulator.names import adult_name, child_name
    from tests.support import fill_submission

    today = date.today()
    prefix = phone.kelurahan_code.replace(".", "")[:6]
    children = []
    for _ in range(children_per_phone):
        sex = rng.choice(("male", "female"))
        born = today - timedelta(days=rng.randint(30, 1700))
        mother_born = born - timedelta(days=rng.randint(18 * 365, 40 * 365))
        # As in the field: most children and mothers have a NIK, many households a KK.
        family = {
            "child_nik": issuer.nik(prefix, born, sex) if rng.random() < 0.8 else "",
            "child_name": child_name(rng, sex), "child_sex": sex,
            "child_birth_date": born.isoformat(), "mother_name": adult_name(rng, "female"),
            "mother_nik": issuer.nik(prefix, mother_born, "female") if rng.random() < 0.7 else "",
            "household_kk": issuer.kk(prefix, born) if rng.random() < 0.6 else "",
        }
        track = draw_track(rng, stunted=rng.random() < 0.15, wasted=rng.random() < 0.07)
        children.append((sex, born, family, track))
    out = []
    for n in range(count):
        sex, born, family, track = children[n % len(children)]
        visit = today - timedelta(days=30 * (count // len(children) - n // len(children)))
        if visit <= born:
            visit = born + timedelta(days=1)
        age = (visit - born).days
        height = length_height_cm(sex, age, track.haz)
        weight = weight_kg(sex, age, height, track.whz, track.haz)
        values = {
            "is_new_child": "yes", "child_id": "", **family,
            "kelurahan_code": phone.kelurahan_code,
            "posyandu_id": str(phone.posyandu_id), "measured_on": visit.isoformat(),
            "weight_kg": f"{weight:.1f}", "length_height_cm": f"{height:.1f}",
            "measure_method": "lying" if age < 731 else "standing", "oedema": "no",
        }
        out.append(fill_submission(form_xml, values))
    return out


def multipart(xml: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"xml_submission_file\"; "
            f"filename=\"submission.xml\"\r\nContent-Type: text/xml\r\n\r\n").encode()
    body += xml + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


# ---------------------------------------------------------------- load


def parse_server_timing(value: bytes) -> dict[str, float]:
    """`read;dur=1.2, write;dur=8.0;desc="6"` -> {"read": 1.2, "write": 8.0, "group": 6}."""
    out = {}
    for metric in value.decode("latin-1").split(","):
        name, *params = (p.strip() for p in metric.split(";"))
        for param in params:
            key, _, number = param.partition("=")
            if key == "dur":
                out[name] = float(number)
            elif key == "desc" and name == "write":
                out["group"] = float(number.strip('"'))
            elif key == "desc" and name == "held":
                out["held"] = float(number.strip('"'))
    return out


async def _exchange(reader, writer, request: bytes,
                    timing: dict | None = None) -> tuple[int, bool]:
    """Send one request; returns the status and whether the server keeps the
    connection open (it may answer `Connection: close`). The server's Server-Timing
    header, if any, goes into `timing`."""
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection without answering")
    status = int(status_line.split()[1])
    length, keep_alive = 0, True
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"", b"\n"):
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"connection" and value.strip().lower() == b"close":
            keep_alive = False
        elif name == b"server-timing" and timing is not None:
            timing.update(parse_server_timing(value.strip()))
    if length:
        await reader.readexactly(length)
    return status, keep_alive


async def run_phone(port: int, phone: BenchPhone, bodies: list[bytes], latencies: list[float],
                    statuses: dict[int, int], burst: int, timings: list | None = None,
                    closed: list | None = None) -> None:
    """One phone: each sync opens a connection, asks HEAD /submission, then POSTs a
    burst of finished forms over keep-alive, and closes (as Collect does between
    syncs). New connections let the kernel spread phones over the server's workers.
    When the server answers `Connection: close` (a crowded worker rebalancing, see
    sync.writer.SubmissionWriter.crowded), the next request opens a new connection,
    as Collect's HTTP client does; each such answer goes into `closed`."""
    prefix = f"/key/{phone.token}"
    head = (f"HEAD {prefix}/submission HTTP/1.1\r\nHost: bench\r\nX-OpenRosa-Version: 1.0\r\n"
            "Content-Length: 0\r\n\r\n").encode()
    for start in range(0, len(bodies), burst):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head)
        await writer.drain()
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().replace(b" ", b"").startswith(b"connection:close"):
                if closed is not None:
                    closed.append(1)
                writer.close()
                await writer.wait_closed()
                reader = writer = None
                break
        for xml in bodies[start:start + burst]:
            body, ctype = multipart(xml)
            request = (f"POST {prefix}/submission HTTP/1.1\r\nHost: bench\r\n"
                       f"X-OpenRosa-Version: 1.0\r\nContent-Type: {ctype}\r\n"
                       f"Content-Length: {len(body)}\r\n\r\n").encode() + body
            started = time.perf_counter()
            if reader is None:  # the server closed the last one: open a new connection
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            timing: dict = {}
            status, keep_alive = await _exchange(reader, writer, request, timing)
            latencies.append(time.perf_counter() - started)
            if timings is not None:
                timings.append((latencies[-1] * 1000, timing))
            statuses[status] = statuses.get(status, 0) + 1
            if not keep_alive:
                if closed is not None:
                    closed.append(1)
                writer.close()
                await writer.wait_closed()
                reader = writer = None
        if writer is not None:
            writer.close()
            await writer.wait_closed()


async def drive(port: int, phones: list[BenchPhone], bodies: dict[int, list[bytes]],
                burst: int = 10, server_pid: int | None = None):
    """Run the phones; returns (elapsed s, latencies, statuses, [(done, RSS kB)],
    CPU seconds of (server, PostgreSQL, this load generator))."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    memory: list[tuple[int, int]] = []
    timings: list = []
    closed: list = []
    started = time.perf_counter()

    async def sample_memory():
        while True:
            if server_pid:
                memory.append((len(latencies), rss_kb(server_pid)))
            await asyncio.sleep(5)

    server = _process_tree(server_pid) if server_pid else []
    cpu_before = cpu_seconds(server), cpu_seconds(postgres_pids()), time.process_time()
    sampler = asyncio.create_task(sample_memory())
    await asyncio.gather(*(run_phone(port, p, bodies[i], latencies, statuses, burst, timings,
                                     closed)
                           for i, p in enumerate(phones)))
    sampler.cancel()
    cpu = (cpu_since(cpu_before[0], server), cpu_since(cpu_before[1], postgres_pids()),
           time.process_time() - cpu_before[2])
    drive.timings = timings  # the last run's (latency ms, Server-Timing) pairs
    drive.closed = len(closed)  # answers that closed the connection (Connection: close)
    return time.perf_counter() - started, latencies, statuses, memory, cpu


PHASES = ("outside", "read", "queue", "write", "wake")


def latency_breakdown(timings: list) -> dict[str, dict[str, float]]:
    """Mean milliseconds per phase for all POSTs and for the slowest 1 %: `outside` is
    what the client measured beyond the handler's `total` (connection, uvicorn, the
    event loop before the handler ran); `group` is the writer group's size, `held` the
    units the worker held when the submission was queued (its 90th percentile and
    largest under `all`: how evenly the phones were spread over the workers)."""
    def mean(rows, name):
        values = [t.get(name, 0.0) for _, t in rows]
        return sum(values) / max(len(values), 1)

    rows = [(latency, dict(t, outside=max(latency - t.get("total", latency), 0.0)))
            for latency, t in timings if t]
    rows.sort(key=lambda r: r[0])
    slowest = rows[int(len(rows) * 0.99):] or rows[-1:]
    out = {label: {name: mean(part, name) for name in (*PHASES, "group", "held")}
           for label, part in (("all", rows), ("p99+", slowest))}
    held = sorted(t.get("held", 0.0) for _, t in rows) or [0.0]
    out["all"]["held_p90"], out["all"]["held_max"] = held[int(len(held) * 0.9)], held[-1]
    return out


def count_processed(url: str) -> tuple[int, int, int]:
    from sqlalchemy import func
    from sqlmodel import Session, select

    from core.db import make_engine
    from models import Measurement, Submission

    engine = make_engine(url, pool_size=1)
    with Session(engine) as s:
        subs = s.exec(select(func.count()).select_from(Submission)).one()
        processed = s.exec(select(func.count()).select_from(Submission)
                           .where(Submission.status == "processed")).one()
        with_z = s.exec(select(func.count()).select_from(Measurement)
                        .where(Measurement.zwei.is_not(None))).one()
    engine.dispose()
    return subs, processed, with_z


DEFAULT_WORKERS = {"sqlite": 1, "postgres": 2}
TINY_HOUSEHOLDS = 20  # a registry's first days: what a stale ANALYZE saw


@dataclass
class Template:
    """A prepared database (phones, forms, preloaded registry) that each run copies."""

    backend: str
    persons: int
    url: str
    name: str  # PostgreSQL database name or SQLite file path
    form_xml: bytes
    phones: list[BenchPhone]
    preloaded: str


KEPT = ROOT / "var" / "bench-templates"  # --keep-templates: what each kept template holds


def _kept_key(backend: str, persons: int, args) -> str:
    return f"posyandu_benchtpl_{backend}_{persons}p_{args.months}m_{args.phones}ph_s{args.seed}"


def _save_kept(template: Template, key: str) -> None:
    import json

    from core.migrate import head_revision

    KEPT.mkdir(parents=True, exist_ok=True)
    (KEPT / f"{key}.json").write_text(json.dumps({
        "backend": template.backend, "persons": template.persons, "url": template.url,
        "name": template.name, "form_xml": template.form_xml.decode(),
        "phones": [vars(p) for p in template.phones], "preloaded": template.preloaded,
        "revision": head_revision()}))


def _exists(backend: str, name: str) -> bool:
    if backend == "sqlite":
        return Path(name).exists()
    from sqlalchemy import create_engine, text

    from core.db import normalise_url

    admin = create_engine(normalise_url(PG_SERVER))
    with admin.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                             {"n": name}).first()
    admin.dispose()
    return found is not None


def load_kept(backend: str, persons: int, args) -> Template | None:
    """A template an earlier `--keep-templates` run left, brought up to this code: its
    schema migrated to head and the current forms published (an upgrade of a registry
    of that size, as a deployment would run it)."""
    import json

    from core.migrate import head_revision

    key = _kept_key(backend, persons, args)
    path = KEPT / f"{key}.json"
    if not path.exists():
        return None
    kept = json.loads(path.read_text())
    if not _exists(backend, kept["name"]):
        path.unlink()
        return None
    template = Template(kept["backend"], kept["persons"], kept["url"], kept["name"],
                        kept["form_xml"].encode(), [BenchPhone(**p) for p in kept["phones"]],
                        kept["preloaded"])
    if kept["revision"] != head_revision():
        from sqlmodel import Session

        from core.db import make_engine
        from core.migrate import upgrade
        from sync.forms import current_forms, publish_builtin_forms

        started = time.perf_counter()
        if backend == "postgres":
            _admin_sql(f'ALTER DATABASE "{template.name}" WITH IS_TEMPLATE false')
        upgrade(template.url)
        engine = make_engine(template.url, pool_size=1)
        with Session(engine) as s:
            publish_builtin_forms(s)
            template.form_xml = next(f.xml for f in current_forms(s)
                                     if f.form_id == "anthropometry")
            s.commit()
        engine.dispose()
        if backend == "postgres":
            _admin_sql(f'ALTER DATABASE "{template.name}" WITH IS_TEMPLATE true')
        print(f"template {backend} {persons:,}: kept one migrated from {kept['revision']} "
              f"to {head_revision()} in {time.perf_counter() - started:.0f} s", flush=True)
        _save_kept(template, key)
    else:
        print(f"template {backend} {persons:,}: kept one reused ({template.preloaded})",
              flush=True)
    return template


def drop_kept() -> int:
    import json

    for path in sorted(KEPT.glob("*.json")) if KEPT.exists() else []:
        kept = json.loads(path.read_text())
        template = Template(kept["backend"], kept["persons"], kept["url"], kept["name"],
                            b"", [], kept["preloaded"])
        if _exists(template.backend, template.name):
            drop_template(template)
        path.unlink()
        print(f"dropped kept template {kept['name']}")
    return 0


def build_template(backend: str, persons: int, args, workdir: Path) -> Template:
    """Migrate, set up the phones, write the first households, ANALYZE while the tables
    are that small (autovacuum off), then preload the rest of `persons`. With
    `--keep-templates`, a kept template of the same shape is reused instead, and a new
    one is kept."""
    from bench.preload import preload

    if args.keep_templates:
        kept = load_kept(backend, persons, args)
        if kept is not None:
            return kept
    started = time.perf_counter()
    key = _kept_key(backend, persons, args)
    if backend == "sqlite":
        folder = KEPT if args.keep_templates else workdir
        folder.mkdir(parents=True, exist_ok=True)
        name = str(folder / (f"{key}.db" if args.keep_templates else f"template-{persons}.db"))
        Path(name).unlink(missing_ok=True)  # a build that failed half-way
        url = f"sqlite:///{name}"
    elif args.keep_templates:
        if _exists("postgres", key):  # a build that failed half-way
            _admin_sql(f'ALTER DATABASE "{key}" WITH IS_TEMPLATE false')
            _admin_sql(f'DROP DATABASE "{key}" WITH (FORCE)')
        _admin_sql(f'CREATE DATABASE "{key}"')
        from sqlalchemy.engine import make_url

        from core.db import normalise_url

        name = key
        url = make_url(normalise_url(PG_SERVER)).set(database=name).render_as_string(
            hide_password=False)
    else:
        url, _ = make_database("postgres", workdir)
        name = url.rsplit("/", 1)[1]
    form_xml, phones = prepare(url, args.phones)
    if persons:  # a province's registry spreads over the province's villages
        from core.db import make_engine
        from sync.wilayah import import_national

        engine = make_engine(url, pool_size=1)
        loaded = import_national(engine, provinces=["33"])
        engine.dispose()
        print(f"template {backend} {persons:,}: Jawa Tengah's regions loaded, "
              f"{loaded.total('kelurahan/desa'):,} villages",
              flush=True)
    stats = preload(url, persons=persons, months=args.months, seed=args.seed + 1000,
                    analyse_first=TINY_HOUSEHOLDS, progress=print)
    if backend == "postgres":
        _admin_sql(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE true')
    print(f"template {backend} {persons:,}: {stats.line()}; ready in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    template = Template(backend, persons, url, name, form_xml, phones, stats.line())
    if args.keep_templates:
        _save_kept(template, key)
    return template


def _admin_sql(sql: str) -> None:
    from sqlalchemy import create_engine, text

    from core.db import normalise_url

    admin = create_engine(normalise_url(PG_SERVER), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(sql))
    admin.dispose()


def copy_template(template: Template, workdir: Path) -> tuple[str, callable]:
    """A new database holding what the template holds."""
    if template.backend == "sqlite":
        import shutil

        path = workdir / f"run-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(template.name, path)
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    name = f"posyandu_bench_{uuid.uuid4().hex[:10]}"
    # FILE_COPY: a checkpoint and a file copy, seconds even for gigabytes.
    _admin_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template.name}" STRATEGY FILE_COPY')
    url = template.url.rsplit("/", 1)[0] + "/" + name
    return url, lambda: _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_template(template: Template) -> None:
    if template.backend == "sqlite":
        Path(template.name).unlink(missing_ok=True)
        return
    _admin_sql(f'ALTER DATABASE "{template.name}" WITH IS_TEMPLATE false')
    _admin_sql(f'DROP DATABASE IF EXISTS "{template.name}" WITH (FORCE)')


def python_loop_seconds(steps: int = 5_000_000) -> float:
    """The machine's phase: how long a fixed pure-Python loop takes right now."""
    started = time.perf_counter()
    total = 0
    for i in range(steps):
        total += i
    return time.perf_counter() - started


def bench_run(template: Template, statistics_state: str, args, workdir: Path) -> dict:
    """One measured run on a copy of `template`. `statistics_state` "fresh": ANALYZE
    (and autovacuum on) before the run; "stale": the statistics stay those of the
    template's first households and autovacuum stays off."""
    from bench.preload import analyse

    workers = args.workers or DEFAULT_WORKERS[template.backend]
    url, drop = copy_template(template, workdir)
    try:
        if statistics_state == "fresh":
            analyse(url, autovacuum=True)
        rng = random.Random(args.seed)
        per_phone = max(1, args.submissions // args.phones)
        from simulator.nik import NumberIssuer

        issuer = NumberIssuer()
        bodies = {i: submissions_for(template.form_xml, p, per_phone, rng, issuer)
                  for i, p in enumerate(template.phones)}
        before = count_processed(url)
        postgres = template.backend == "postgres"
        counters_before = database_counters(url) if postgres else None
        loop_s = python_loop_seconds()
        port = _free_port()
        server = start_server(url, port, workers, workdir / "server.log")
        try:
            elapsed, latencies, statuses, memory, cpu = asyncio.run(
                drive(port, template.phones, bodies, args.burst, server.pid))
            breakdown = latency_breakdown(drive.timings)
            closed = drive.closed
            memory.append((sum(statuses.values()), rss_kb(server.pid)))
        finally:
            server.terminate()
            server.wait(timeout=30)
        # Read the scan counters before counting rows (a count is a scan).
        counters = database_counters(url).since(counters_before) if postgres else None
        after = count_processed(url)
    finally:
        drop()
    subs, processed, with_z = (a - b for a, b in zip(after, before))
    latencies.sort()
    total = sum(statuses.values())
    return {
        "backend": template.backend, "preload": template.persons, "stats": statistics_state,
        "phones": args.phones, "workers": workers, "sent": total, "closed": closed,
        "statuses": statuses, "elapsed_s": elapsed,
        "accepted_per_s": statuses.get(201, 0) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "p90_ms": latencies[int(len(latencies) * 0.90) - 1] * 1000,
        "max_ms": latencies[-1] * 1000,
        "stored": subs, "processed": processed, "with_zscores": with_z,
        "memory": memory, "loop_s": loop_s, "breakdown": breakdown,
        "seq_scans": counters and counters.seq_scans,
        # per submission: shared-buffer hits and misses, full-page WAL images, WAL bytes
        "io": counters and tuple(n / max(total, 1) for n in counters.io),
        # CPU milliseconds per submission: server workers, PostgreSQL, load generator
        "cpu_ms": tuple(seconds * 1000 / max(total, 1) for seconds in cpu),
    }


INTAKE_TABLES = ("person", "household", "measurement", "submission", "change_log")


@dataclass(frozen=True)
class DatabaseCounters:
    """PostgreSQL's counters at one moment: sequential scans of the intake tables (since
    the database was made: the copy starts with zero), shared-buffer hits and misses of
    the database's tables and indexes, and the cluster's full-page images and bytes
    written to the WAL (pg_stat_wal is the cluster's: measure on a quiet server)."""

    seq_scans: dict[str, int]
    io: tuple[int, int, int, int]  # hits, misses, full-page images, WAL bytes

    def since(self, before: DatabaseCounters) -> DatabaseCounters:
        return DatabaseCounters(
            {t: n - before.seq_scans.get(t, 0) for t, n in self.seq_scans.items()},
            tuple(b - a for a, b in zip(before.io, self.io)))


def database_counters(url: str) -> DatabaseCounters:
    from sqlalchemy import text

    from core.db import make_engine

    time.sleep(1.0)  # backends that just ended report their counters within a second
    engine = make_engine(url, pool_size=1)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT relname, seq_scan FROM pg_stat_user_tables "
                                 "WHERE relname = ANY(:t)"), {"t": list(INTAKE_TABLES)})
        scans = {name: count for name, count in rows}
        hits, misses = conn.execute(text(
            "SELECT sum(coalesce(heap_blks_hit, 0) + coalesce(idx_blks_hit, 0) "
            "+ coalesce(toast_blks_hit, 0) + coalesce(tidx_blks_hit, 0)), "
            "sum(coalesce(heap_blks_read, 0) + coalesce(idx_blks_read, 0) "
            "+ coalesce(toast_blks_read, 0) + coalesce(tidx_blks_read, 0)) "
            "FROM pg_statio_user_tables")).one()
        fpi, wal_bytes = conn.execute(text("SELECT wal_fpi, wal_bytes FROM pg_stat_wal")).one()
    engine.dispose()
    return DatabaseCounters(scans, (int(hits or 0), int(misses or 0), int(fpi), int(wal_bytes)))


def memory_profile(memory: list[tuple[int, int]], sent: int) -> str:
    """Server RSS after ~10 %, ~50 % and 100 % of the submissions (MB)."""
    def at(share: float) -> float:
        target = sent * share
        return next((kb for done, kb in memory if done >= target), memory[-1][1]) / 1024
    return f"{at(0.1):.0f} / {at(0.5):.0f} / {at(1.0):.0f}"


def _numbers(text: str) -> list[int]:
    return [int(float(part.replace("_", ""))) for part in text.split(",") if part]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--phones", type=int, default=50)
    parser.add_argument("--submissions", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=None,
                        help="server worker processes (default: 1 on SQLite, whose writes are "
                        "one at a time; 2 on PostgreSQL: on 2 cores, a third adds contention "
                        "and a third queue, and the p99 grows)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--burst", type=int, default=10,
                        help="submissions a phone sends per sync (per connection)")
    parser.add_argument("--preload", type=_numbers, default=[0], metavar="N[,N...]",
                        help="persons in the registry before the run (e.g. 0,100000,1000000); "
                        "each size is built once and copied for every run")
    parser.add_argument("--months", type=int, default=12,
                        help="months of monthly measurements preloaded per child (default 12)")
    parser.add_argument("--statistics", default="fresh", metavar="fresh,stale",
                        help="statistics before each run: fresh (ANALYZE, autovacuum on) "
                        "and/or stale (ANALYZE ran when the tables were tiny, autovacuum off)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat every (size, statistics) run this many times, interleaved")
    parser.add_argument("--keep-templates", action="store_true",
                        help="keep each preloaded template (PostgreSQL database or SQLite file "
                        "under var/bench-templates) for later runs, and reuse one kept earlier, "
                        "migrated to the current schema; a 1,000,000-person template takes "
                        "minutes to build")
    parser.add_argument("--drop-kept-templates", action="store_true",
                        help="drop every kept template and exit")
    args = parser.parse_args()
    if args.drop_kept_templates:
        return drop_kept()
    states = [s for s in args.statistics.split(",") if s]
    if set(states) - {"fresh", "stale"}:
        parser.error("--statistics takes fresh and/or stale")
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    workdir = Path(tempfile.mkdtemp(prefix="posyandu-bench-"))
    templates = []
    try:
        for backend in backends:
            for persons in args.preload:
                templates.append(build_template(backend, persons, args, workdir))
        print(f"{'backend':9} {'preload':>9} {'stats':5} {'sent':>6} {'accepted/s':>10} "
              f"{'p50 ms':>7} {'p99 ms':>7} {'processed':>11}  "
              f"{'CPU ms/sub: server+db+load':>26}  {'loop s':>6}  server RSS MB at 10/50/100 %",
              flush=True)
        for _ in range(args.rounds):
            for template in templates:
                for state in states:
                    print_run(bench_run(template, state, args, workdir))
    finally:
        for template in templates:
            if not args.keep_templates:
                drop_template(template)
    return 0


def print_run(r: dict) -> None:
    print(f"{r['backend']:9} {r['preload']:>9,} {r['stats']:5} {r['sent']:>6} "
          f"{r['accepted_per_s']:>10.0f} {r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} "
          f"{r['processed']:>5}/{r['stored']:<5}  "
          f"{'{:.2f} + {:.2f} + {:.2f}'.format(*r['cpu_ms']):>26}  {r['loop_s']:>6.2f}  "
          f"{memory_profile(r['memory'], r['sent'])}")
    detail = (f"          {r['workers']} worker(s), p90 {r['p90_ms']:.1f} ms, "
              f"max {r['max_ms']:.1f} ms, {r['elapsed_s']:.1f} s, "
              f"{r['closed']} connections closed by the server")
    if r["seq_scans"] is not None:
        scans = sum(r["seq_scans"].values())
        detail += f", sequential scans of intake tables: {scans}"
        if scans:
            detail += f" {r['seq_scans']}"
    print(detail, flush=True)
    if r.get("io"):
        hits, misses, fpi, wal = r["io"]
        print(f"          per submission: {hits:.0f} buffer hits, {misses:.1f} misses, "
              f"{fpi:.1f} full-page WAL images, {wal / 1024:.1f} KB of WAL", flush=True)
    for label, phases in r["breakdown"].items():
        print(f"          {label:4} ms: " + ", ".join(f"{name} {phases[name]:.1f}" for name in PHASES)
              + f", group of {phases['group']:.1f}, held {phases['held']:.1f}"
              + (f" (p90 {phases['held_p90']:.0f}, max {phases['held_max']:.0f})"
                 if "held_p90" in phases else ""), flush=True)
    if set(r["statuses"]) - {201}:
        print(f"          statuses: {r['statuses']}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
