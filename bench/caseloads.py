"""Caseload benchmark (issue #16) on PostgreSQL: a province-sized synthetic registry,
the aggregates built from it, and how fast caseloads are served and kept.

It migrates a fresh database, loads Jawa Tengah's villages (the shipped national list),
fills the registry with bench/preload.py (the field simulator's cities laid over the
province's villages: children with one measurement a month for `--months` months,
their mothers and households, with WHO z-scores and Permenkes categories), builds every
caseload figure with `caseloads rebuild` (the full recompute, timed), checks it with
`verify` when small enough, then prints p50/p95 of (in-process, through the same
sync.caseloads functions the API handlers call, JSON-encoded):
- one kelurahan's caseload,
- one city's kelurahan list (every kelurahan of the kabkota with the most children),
- the province rollup (provinsi 33 with its kabkota as children_regions),
- a case list of 10,000 cases (nutrition, the province, as JSON and as XLSX),
and the write overhead the aggregates add per submission: groups of 13 new
measurements through the unit of work, with the caseload refresh on and off.

    python bench/caseloads.py --persons 50000 [--months 12] [--repeat 20]

Timings on a shared machine are noisy; the sizes reached are printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"p50 {statistics.median(ms):8.1f} ms   p95 {p95:8.1f} ms   (n={len(ms)})"


def _time(repeat: int, run) -> tuple[list[float], object]:
    samples, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        samples.append(time.perf_counter() - started)
    return samples, result


def write_overhead(engine, groups: int, period_day: date) -> dict[str, float]:
    """Seconds (wall, CPU) per submission of new child measurements in groups of 13,
    with the caseload refresh and without it (sync.touched's consumer switched off)."""
    from sqlmodel import Session

    from sync import accounts, caseloads
    from sync.forms import current_forms
    from sync.intake import store_json
    from sync.unit_of_work import UnitOfWork

    with Session(engine, expire_on_commit=False) as s:
        from models import Posyandu
        kel = s.execute(__import__("sqlalchemy").text(
            "SELECT code FROM wilayah WHERE level = 'kelurahan' AND code LIKE '33.%' "
            "ORDER BY code LIMIT 1")).scalar_one()
        posyandu = Posyandu(kelurahan_code=kel, name=f"Bench caseloads {uuid.uuid4().hex[:6]}")
        s.add(posyandu)
        s.flush()
        user = accounts.create_user(s, username=f"bench-{uuid.uuid4().hex[:8]}",
                                    password="password-123", role="kader",
                                    scopes=[f"posyandu:{posyandu.id}"])
        s.commit()
        principal = accounts.principal_for(s, user)
        version = {f.form_id: f.version for f in current_forms(s)}["anthropometry"]
    uow = UnitOfWork(engine)
    counter = [0]

    def unit():
        counter[0] += 1
        i = counter[0]
        answers = {"is_new_child": "yes", "child_name": f"Anak Bench {i}", "child_sex": "male",
                   "child_birth_date": f"2025-{1 + i % 12:02d}-{1 + i % 27:02d}",
                   "mother_name": f"Ibu Bench {i}", "kelurahan_code": kel,
                   "posyandu_id": str(posyandu.id), "measured_on": period_day.isoformat(),
                   "weight_kg": "8.1", "length_height_cm": "71.0", "measure_method": "lying",
                   "oedema": "no", "household_kk": f"3301{i:012d}"[:16]}
        instance_id = f"uuid:{uuid.uuid4()}"
        return lambda tx: store_json(tx.session, principal=principal, form_id="anthropometry",
                                     form_version=version, instance_id=instance_id,
                                     answers=answers, source="kobo")

    out = {}
    real = caseloads.refresh
    for label in ("on", "off", "on"):  # on twice: the first pays for warm-up
        caseloads.refresh = real if label == "on" else (lambda *a, **k: 0)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(groups):
            for _, error in uow.run([unit() for _ in range(13)]):
                assert error is None, error
        n = groups * 13
        out[label] = ((time.perf_counter() - wall) / n, (time.process_time() - cpu) / n)
    caseloads.refresh = real
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--groups", type=int, default=20, help="write overhead: groups of 13")
    parser.add_argument("--verify-below", type=int, default=60_000,
                        help="run caseloads verify when the registry has fewer persons")
    parser.add_argument("--database", help="read an existing database this bench built "
                        "(and keep it): no loading, no rebuild; with --groups 0 nothing is written")
    parser.add_argument("--keep", action="store_true",
                        help="keep the database this run builds and print its URL (read it again "
                        "with --database URL; drop it with dropdb)")
    args = parser.parse_args()

    from intake import make_database
    from preload import preload
    from sqlalchemy import text
    from sqlmodel import Session

    from core.db import make_engine
    from core.migrate import upgrade
    from sync import caseloads, interventions
    from sync.accounts import Principal
    from sync.forms import publish_builtin_forms
    from sync.scope import Scope
    from sync.wilayah import import_national

    url, drop = (args.database, lambda: None) if args.database else make_database("postgres", Path("/tmp"))
    if args.keep and not args.database:
        print(f"database kept: {url}", flush=True)
        drop = lambda: None  # noqa: E731
    engine = None
    try:
        started = time.perf_counter()
        if not args.database:
            upgrade(url)
        engine = make_engine(url, pool_size=4)
        if not args.database:
            import_national(engine, provinces=["33"])
            with Session(engine) as s:
                publish_builtin_forms(s)
                s.commit()
            stats = preload(url, persons=args.persons, months=args.months)
            print(f"registry: {stats.line()} (load {time.perf_counter() - started:.0f} s)")
        with Session(engine) as s:
            persons = s.execute(text("SELECT count(*) FROM person")).scalar_one()
            if not args.database:
                t = time.perf_counter()
                report = caseloads.rebuild(s)
                s.commit()
                print(f"caseloads rebuild: {report.subjects:,} subjects, {report.contributions:,} "
                      f"contributions, {report.aggregate_rows:,} aggregate rows in "
                      f"{time.perf_counter() - t:.0f} s")
                s.execute(text("ANALYZE"))
                s.commit()
            else:
                print(f"database {args.database}: {persons:,} persons")
            if persons < args.verify_below:
                t = time.perf_counter()
                checked = caseloads.verify(s)
                print(f"caseloads verify: {'no difference' if checked.ok else checked.differences[:3]}"
                      f" ({time.perf_counter() - t:.0f} s)")
            period = s.execute(text("SELECT max(period) FROM caseload_aggregate WHERE c59_measured > 0"
                                    )).scalar_one()
            counts = s.execute(text(
                "SELECT substr(kelurahan_code, 1, 5) AS city, sum(c59_measured) AS n FROM "
                "caseload_aggregate WHERE period = :p GROUP BY 1 ORDER BY 2 DESC"), {"p": period}).all()
            city = counts[0][0]
            kelurahan = s.execute(text(
                "SELECT kelurahan_code FROM caseload_aggregate WHERE period = :p "
                "ORDER BY c59_measured DESC LIMIT 1"), {"p": period}).scalar_one()
            children = s.execute(text("SELECT sum(c59_measured) FROM caseload_aggregate WHERE "
                                      "period = :p"), {"p": period}).scalar_one()
        print(f"period {period}: {children:,} children measured in the province; city {city}, "
              f"kelurahan {kelurahan}")
        everything = Scope(everything=True)
        admin = Principal(user_id=0, username="bench", role="admin", scope=everything)

        def read(fn):
            def run():
                with Session(engine) as s:
                    body = json.dumps(fn(s), default=str)
                    s.rollback()
                return body
            return run

        rows = [
            ("one kelurahan", read(lambda s: caseloads.entry(s, scope=everything, code=kelurahan,
                                                             period=period))),
            ("a city's kelurahan list", read(lambda s: caseloads.entries(
                s, scope=everything, period=period, level="kelurahan", parent=city, limit=1000,
                offset=0))),
            ("province rollup (33)", read(lambda s: caseloads.entry(s, scope=everything, code="33",
                                                                    period=period))),
        ]
        for label, run in rows:
            samples, body = _time(args.repeat, run)
            print(f"{label:28} {_percentiles(samples)}  {len(body):,} bytes")
        listed = {}

        def case_list(fmt):
            def run():
                with Session(engine) as s:
                    found, _ = caseloads.cases(s, principal=admin, code="33", program="nutrition",
                                               period=period, limit=10_000)
                    listed["n"] = len(found)
                    body = (json.dumps(found) if fmt == "json"
                            else caseloads.as_xlsx("nutrition", found))
                    s.rollback()
                return body
            return run

        for fmt in ("json", "xlsx"):
            samples, body = _time(max(3, args.repeat // 4), case_list(fmt))
            print(f"{'case list ' + fmt:28} {_percentiles(samples)}  {listed['n']:,} cases, "
                  f"{len(body):,} bytes")
        _ = interventions
        if args.groups <= 0:
            return 0
        overhead = write_overhead(engine, args.groups, date.fromisoformat(period + "-15"))
        on, off = overhead["on"], overhead["off"]
        print(f"write overhead per submission (groups of 13 new children with mother and household): "
              f"with aggregates {on[0] * 1000:.2f} ms wall / {on[1] * 1000:.2f} ms CPU, without "
              f"{off[0] * 1000:.2f} ms / {off[1] * 1000:.2f} ms: +{(on[0] - off[0]) * 1000:.2f} ms "
              f"wall, +{(on[1] - off[1]) * 1000:.2f} ms CPU in this process")
        return 0
    finally:
        if engine is not None:
            engine.dispose()
        drop()


if __name__ == "__main__":
    sys.exit(main())
