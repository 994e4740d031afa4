"""`make demo`: the service on a fresh embedded database, a short simulated city synced to
it over HTTP, where to look afterwards, and what the server stored, read back from its
API as the demo admin (simulator/server_report.py). Keeps serving until Ctrl-C (or exits
at once with `--exit`).

    python -m simulator.demo [--months 3] [--phones 27] [--scale 0.4] [--port 8765] [--exit]

Everything goes through the public command line (`posyandu-sync migrate`, `create-user`,
`bootstrap`, `serve`, `simulate`), as a newcomer would type it.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from simulator.admin import AdminApiError, AdminClient
from simulator.caseload_report import render_caseloads
from simulator.server_report import collect, render

DEMO_DIR = Path("var/demo")


def _cli(*args: str, env: dict[str, str], check: bool = True,
         stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env=env, check=check,
                          text=True, capture_output=True, input=stdin)


def _wait_ready(base: str, server: subprocess.Popen, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped (exit {server.returncode}); see "
                             f"{DEMO_DIR / 'server.log'}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the server did not become ready in {seconds:.0f} s")


def server_summary(base: str, username: str, password: str,
                   client: httpx.Client | None = None) -> str:
    """What the server stored, from its API; a refusal or a network error is reported as
    a line of text, not raised (the demo has run by then)."""
    http = client or httpx.Client(timeout=30.0)
    try:
        return render(collect(AdminClient(base, http, username, password)))
    except (AdminApiError, httpx.HTTPError) as error:
        return f"could not read the server's results: {error}"
    finally:
        if client is None:
            http.close()


def caseload_summary(base: str, username: str, password: str, truth: Path,
                     client: httpx.Client | None = None) -> str:
    """Kota Pekalongan's caseload for the latest simulated month and one kelurahan's
    case list, from the caseload API; a refusal is a line of text, not raised."""
    http = client or httpx.Client(timeout=60.0)
    try:
        summary = json.loads((truth / "summary.json").read_text())
        start = summary["start"][:7]
        year, month = int(start[:4]), int(start[5:7]) + int(summary["months"]) - 1
        last = f"{year + (month - 1) // 12:04d}-{(month - 1) % 12 + 1:02d}"
        return render_caseloads(AdminClient(base, http, username, password), start, last)
    except (AdminApiError, httpx.HTTPError, OSError, KeyError, ValueError) as error:
        return f"could not read the caseloads: {error}"
    finally:
        if client is None:
            http.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--phones", type=int, default=27, help="27 = one per kelurahan")
    parser.add_argument("--scale", type=float, default=0.4, help="households per posyandu x")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", help="first month YYYY-MM (default: the months before "
                        "this one)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--exit", action="store_true", help="stop the server when done")
    args = parser.parse_args(argv)
    # `timeout`, CI and `kill` send SIGTERM: leave through `finally`, which stops the server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    DEMO_DIR.mkdir(parents=True)
    base = f"http://127.0.0.1:{args.port}"
    password = secrets.token_urlsafe(12)
    env = {**os.environ, "POSYANDU_DATABASE_URL": f"sqlite:///{DEMO_DIR / 'demo.db'}",
           "POSYANDU_BASE_URL": base, "POSYANDU_ADMIN_USER": "demo-admin",
           "POSYANDU_ADMIN_PASSWORD": password}
    started = time.monotonic()
    print(f"demo: fresh database {DEMO_DIR / 'demo.db'}")
    _cli("migrate", env=env)
    _cli("create-user", "--username", "demo-admin", "--password-stdin", "--role", "admin",
         env=env, stdin=password + "\n")
    _cli("bootstrap", env=env)
    log = (DEMO_DIR / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--port", str(args.port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_ready(base, server)
        print(f"demo: service on {base}; simulating {args.phones} phones for {args.months} "
              "months ...")
        truth = DEMO_DIR / "truth"
        code = subprocess.call(
            [sys.executable, "-m", "cli.main", "simulate", "--server", base,
             "--phones", str(args.phones), "--months", str(args.months),
             "--seed", str(args.seed), "--scale", str(args.scale), "--concurrency", "4",
             "--out", str(truth), *(["--start", args.start] if args.start else [])], env=env)
        took = time.monotonic() - started
        print(f"""
demo: done in {took:.0f} s (simulate exit code {code}). Where to look:
  API docs              {base}/docs
  sign in               user demo-admin, password {password}
                        curl -s -d username=demo-admin -d password={password} \\
                             {base}/api/v1/auth/token
  ground truth          {truth}/  (persons, submissions, measurements, caseload ...;
                        see simulator/README.md), what the server answered: {truth}/run.csv
  server log            {DEMO_DIR / 'server.log'}
""")
        print(server_summary(base, "demo-admin", password))
        print()
        print(caseload_summary(base, "demo-admin", password, truth))
        if args.exit:
            return code
        print("demo: serving until Ctrl-C")
        server.wait()
        return code
    except KeyboardInterrupt:
        return 0
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        log.close()


if __name__ == "__main__":
    sys.exit(main())
