"""The submission writer alone, in process, on PostgreSQL: what one submission costs
once HTTP is out of the way.

The same workload as bench/intake.py (its phones, children and XForms), handed to one
sync.writer.SubmissionWriter all at once, so that it works in full groups.
Prints wall time, this process's CPU and the writer's PostgreSQL backend's CPU per
submission, and with --strace the round trips (recvfrom calls of the writer's
connection; needs strace).

    python bench/writer.py --phones 50 --submissions 10000 --group 12 --strace
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import intake as workload  # noqa: E402 - bench/intake.py: the same phones and submissions


def _backend_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(args) -> None:
    from sqlalchemy import text

    from core.db import make_engine
    from simulator.nik import NumberIssuer
    from sync.intake import OpenRosaSubmission
    from sync.writer import SubmissionWriter

    url, drop = workload.make_database("postgres", Path(tempfile.mkdtemp()))
    try:
        form_xml, phones = workload.prepare(url, args.phones)
        rng, issuer = random.Random(args.seed), NumberIssuer()
        per_phone = max(1, args.submissions // args.phones)
        bodies = [workload.submissions_for(form_xml, p, per_phone, rng, issuer) for p in phones]
        # Phones take turns, as they do against the server.
        jobs = [(phone.token, bodies[i][n]) for n in range(per_phone) for i, phone in enumerate(phones)]

        def submit(token: str, xml: bytes):
            return OpenRosaSubmission(xml, [], device_token=token)

        def backend_and_thread(tx):
            return (tx.session.execute(text("SELECT pg_backend_pid()")).scalar(),
                    threading.get_native_id())

        engine = make_engine(url, pool_size=1)
        writer = SubmissionWriter(engine, max_batch=args.group)

        async def everything():
            pid, thread = await writer.store(backend_and_thread)
            tracer = _start_strace(thread) if args.strace else None
            started, cpu, backend = time.perf_counter(), time.process_time(), _backend_cpu_seconds(pid)
            results = await asyncio.gather(*(writer.store(submit(token, xml))
                                             for token, xml in jobs))
            measured = (time.perf_counter() - started, time.process_time() - cpu,
                        _backend_cpu_seconds(pid) - backend)
            return results, measured, _stop_strace(tracer)

        try:
            results, (wall, cpu, backend), round_trips = asyncio.run(everything())
        finally:
            writer.close()
            engine.dispose()
        processed = sum(r.status == "processed" for r in results)
        n = len(jobs)
        print(f"{n} submissions ({processed} processed), groups of up to {args.group}: "
              f"{wall * 1000 / n:.2f} ms wall, {cpu * 1000 / n:.2f} ms this process's CPU, "
              f"{backend * 1000 / n:.2f} ms PostgreSQL CPU per submission")
        if round_trips is not None:
            print(f"round trips per submission (recvfrom on the writer's connection): "
                  f"{round_trips / n:.2f}")
    finally:
        drop()


def _start_strace(thread_id: int):
    """strace the writer thread's reads: its answers from PostgreSQL (the event loop's
    wake-ups are another thread's)."""
    if shutil.which("strace") is None:
        raise SystemExit("--strace needs strace (apt-get install strace)")
    output = tempfile.NamedTemporaryFile(suffix=".strace", delete=False)
    tracer = subprocess.Popen(["strace", "-c", "-e", "trace=recvfrom", "-o", output.name,
                               "-p", str(thread_id)], stderr=subprocess.DEVNULL)
    time.sleep(1)  # attached
    return tracer, output.name


def _stop_strace(tracer) -> int | None:
    if tracer is None:
        return None
    process, path = tracer
    process.terminate()
    process.wait(timeout=30)
    report = Path(path).read_text()
    Path(path).unlink()
    match = re.search(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?recvfrom$", report, re.M)
    return int(match[1]) if match else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=50)
    parser.add_argument("--submissions", type=int, default=10_000)
    parser.add_argument("--group", type=int, default=12, help="the writer's max_batch")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--strace", action="store_true", help="count round trips with strace")
    run(parser.parse_args())
    return 0


if __name__ == "__main__":
    sys.exit(main())
