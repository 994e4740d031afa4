"""The console's heaviest pages on a simulated city: the dashboard (this month's
figures per kelurahan, their caseloads and the queues) and a child's page (three
growth charts drawn on the WHO curves, the measurement table), plus a registry search
and the submissions list, served by uvicorn over real HTTP to a signed-in session, one
request at a time.

Builds a scratch database with the field simulator's people (bench/preload.py: whole
cities laid over Jawa Tengah's villages, a measurement a month per child under five
for `--months` months; the caseload figures built from them with `caseloads
rebuild`), signs in as an admin (everything) and as a supervisor of the
busiest kabupaten/kota, and prints p50/p95/max per page.

    python bench/console.py [--backend sqlite|postgres] [--persons 20000] [--requests 100]

Timings on a shared machine are noisy: read them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.intake import make_database  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-password-1"


def _serve(app):
    import socket

    import uvicorn
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on",
                                           date_header=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{sock.getsockname()[1]}"


def _sign_in(http, username: str) -> None:
    page = http.get("/admin/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = http.post("/admin/login", data={"username": username, "password": PASSWORD,
                                             "csrf_token": csrf})
    assert answer.status_code == 200, answer.text[:300]


def _time(http, paths: list[str]) -> list[float]:
    out = []
    for path in paths:
        started = time.perf_counter()
        answer = http.get(path)
        out.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    return out


def _line(name: str, times: list[float]) -> str:
    times = sorted(times)
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return (f"  {name:<34} n={len(times):>4}  p50 {statistics.median(times):7.1f} ms  "
            f"p95 {p95:7.1f} ms  max {times[-1]:7.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args(argv)

    import httpx
    from sqlalchemy import text
    from sqlmodel import Session

    from api.app import create_app, warm_up
    from bench.preload import preload
    from core.db import make_engine
    from core.migrate import upgrade
    from sync import accounts, caseloads
    from sync.forms import publish_builtin_forms
    from sync.wilayah import import_national

    url, drop = make_database(args.backend, Path(tempfile.mkdtemp()))
    try:
        upgrade(url)
        engine = make_engine(url)
        with Session(engine) as s:
            publish_builtin_forms(s)
            s.commit()
        import_national(engine, provinces=["33"])
        stats = preload(url, persons=args.persons, months=args.months, progress=None)
        print(f"console bench ({args.backend}): {stats.line()}")
        with Session(engine) as s:  # the dashboard's caseload section reads real figures
            started = time.perf_counter()
            built = caseloads.rebuild(s)
            s.commit()
            print(f"  caseloads rebuild: {built.aggregate_rows:,} aggregate rows in "
                  f"{time.perf_counter() - started:.0f} s")
        # As autovacuum leaves a database that has been running a while: statistics, and
        # the visibility map that lets the dashboard's year of measurements be read from
        # its covering index alone (ix_measurement_day) instead of the table.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE" if args.backend == "postgres" else "ANALYZE"))
        with engine.connect() as conn:
            busiest = conn.execute(text(
                "SELECT kelurahan_code FROM measurement GROUP BY kelurahan_code "
                "ORDER BY COUNT(*) DESC LIMIT 1")).scalar()
            children = [row[0] for row in conn.execute(text(
                "SELECT person_id FROM measurement WHERE kelurahan_code LIKE :k "
                "GROUP BY person_id ORDER BY COUNT(*) DESC, person_id LIMIT :n"),
                {"k": busiest[:5] + "%", "n": args.requests})]
            kelurahan = conn.execute(text(
                "SELECT COUNT(DISTINCT kelurahan_code) FROM measurement")).scalar()
        with Session(engine) as s:
            accounts.create_user(s, username="bench-admin", password=PASSWORD, role="admin")
            accounts.create_user(s, username="bench-spv", password=PASSWORD, role="supervisor",
                                 scopes=[busiest[:5]])
            s.commit()
        app = create_app(engine)
        warm_up(app)
        server, thread, base = _serve(app)
        print(f"  {kelurahan} kelurahan with measurements; supervisor scope {busiest[:5]}; "
              f"children with {args.months} monthly measurements each")
        try:
            n = args.requests
            for username in ("bench-admin", "bench-spv"):
                with httpx.Client(base_url=base, timeout=60, follow_redirects=True) as http:
                    _sign_in(http, username)
                    _time(http, ["/admin", f"/admin/persons/{children[0]}"])  # first touches
                    print(f"  as {username}:")
                    print(_line("dashboard /admin", _time(http, ["/admin"] * n)))
                    print(_line("child's page (3 growth charts)",
                                _time(http, [f"/admin/persons/{c}" for c in
                                             (children * n)[:n]])))
                    print(_line("registry search ?q=siti", _time(
                        http, ["/admin/registry?q=siti"] * max(10, n // 4))))
                    print(_line("submissions list", _time(
                        http, ["/admin/submissions"] * max(10, n // 4))))
        finally:
            server.should_exit = True
            thread.join(timeout=20)
            engine.dispose()
    finally:
        drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
