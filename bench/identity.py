"""Identity resolution benchmark: quality on labelled data, online latency against a
large registry, and the batch scan's run time.

1. Quality, on the field simulator's registrations (every anthropometry registration
   its kader type as new: second kaders, misspelled and "By. Ny." names, missing,
   mistyped and mother's NIKs, twins, siblings, families moving), whose true child is
   known. Two linkers are measured: the batch linker (matching.batch, what `dedup` runs)
   and the online path itself (sync.identity, each registration resolved in order
   against a SQLite registry as intake does: household by KK, mother by NIK, child).
   Pairwise precision/recall of the auto-link band, recall of auto-link + review,
   false pairs per 1,000 registrations, twin pairs auto-linked.
2. Online latency: a registry preloaded with N persons (bench/preload.py), then one
   claim at a time (half name variants of registered children, half new children)
   identified and written (identify_person + settle_identity, flushed) on the submission
   writer's connection, each in its own transaction; p50/p95/p99 per record.
3. Batch: `scan_registry` over the same registry (reads every live person, blocks,
   compares, opens pairs).

    .venv/bin/python bench/identity.py --quality
    .venv/bin/python bench/identity.py --backend both --persons 100000 --claims 500

Timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from bench.intake import make_database  # noqa: E402

# ---------------------------------------------------------------- quality

def _registrations(seed: int, months: int):
    from simulator.fieldwork import FORM_ANTHROPOMETRY
    from simulator.run import SimulationConfig, build_plan

    plan = build_plan(SimulationConfig(seed=seed, months=months, start=date(2025, 1, 1)))
    out = [s for s in plan.submissions
           if s.form_id == FORM_ANTHROPOMETRY and s.expect_new and not s.is_edit]
    twins = {(p.id, p.twin_of) for p in plan.city.persons.values() if p.twin_of}
    return out, twins


def _twin_links(truth, labels, twins) -> int:
    clusters_of: dict[str, set] = {}
    for i, person in enumerate(truth):
        clusters_of.setdefault(person, set()).add(labels[i])
    return sum(1 for a, b in twins if a < b and clusters_of.get(a, set()) & clusters_of.get(b, set()))


def _report(name, truth, auto, review, twins, seconds) -> None:
    from matching.evaluate import pair_scores

    a, r = pair_scores(truth, auto), pair_scores(truth, review)
    print(f"{name}: auto-link precision {a.precision:.4f} recall {a.recall:.4f} "
          f"(false pairs {a.false_pairs}); auto-link + review recall {r.recall:.4f}, "
          f"precision {r.precision:.4f}, false pairs per 1,000 registrations "
          f"{1000 * r.false_pairs / len(truth):.2f}; twin pairs auto-linked "
          f"{_twin_links(truth, auto, twins)} of {len(twins) // 2}; {seconds:.1f} s", flush=True)


def quality(seed: int, months: int) -> None:
    from matching.batch import link
    from sync.dedup import csv_records

    subs, twins = _registrations(seed, months)
    truth = [s.true_id for s in subs]
    print(f"generated set: {len(subs):,} registrations of {len(set(truth)):,} children "
          f"(seed {seed}, {months} months), {len(twins) // 2} twin pairs", flush=True)
    rows = [{"record_id": s.instance_id, **{k: s.typed.get(k) for k in (
        "child_nik", "child_name", "child_sex", "child_birth_date", "mother_name", "mother_nik",
        "household_kk", "kelurahan_code")}} for s in subs]
    records = csv_records(rows)
    started = time.perf_counter()
    linkage = link(records)
    _report("batch (matching.batch)", truth, linkage.cluster, linkage.review_cluster, twins,
            time.perf_counter() - started)
    started = time.perf_counter()
    auto, review = _online(subs)
    _report("online (sync.identity)", truth, auto, review, twins, time.perf_counter() - started)


def _online(subs) -> tuple[list, list]:
    """Resolve each registration in order through sync.identity on a fresh SQLite
    registry, as intake does; the clusters are the final (survivor) person of each, and
    the same joined through open review pairs."""
    from core.db import make_engine
    from core.migrate import upgrade
    from models import DuplicatePair, Person
    from sync.apply import Provenance
    from sync.identity import (
        HouseholdClaim,
        PersonClaim,
        identify_person,
        resolve_household,
        settle_identity,
        settle_person,
    )
    from sync.names import nik_agrees
    from sync.scope import Scope

    workdir = Path(tempfile.mkdtemp())
    url = f"sqlite:///{workdir / 'quality.db'}"
    upgrade(url)
    engine = make_engine(url, pool_size=1)
    scope = Scope(everything=True)
    provenance = Provenance(actor_id=None, submission_id=None, reason="bench", scope=scope)
    resolved = []
    with Session(engine) as session:
        for s in subs:
            t = s.typed
            born = date.fromisoformat(t["child_birth_date"]) if t.get("child_birth_date") else None
            kel = t["kelurahan_code"]
            posyandu = None
            household = None
            if t.get("household_kk"):
                household = resolve_household(session, HouseholdClaim(
                    registry_id=None, kk=t["household_kk"], kelurahan_code=kel), provenance)
            mother_nik = t.get("mother_nik") or None
            if mother_nik and not nik_agrees(mother_nik, sex="female"):
                mother_nik = None
            child_nik = t.get("child_nik") or None
            if child_nik and not nik_agrees(child_nik, birth_date=born, sex=t.get("child_sex")):
                child_nik = None
            hid = household and household["id"]
            claim = PersonClaim(
                registry_id=None, nik=child_nik, name=t.get("child_name") or "",
                kelurahan_code=kel, sex=t.get("child_sex"), birth_date=born,
                posyandu_id=posyandu, household_id=hid, mother_name=t.get("mother_name"),
                mother_nik=mother_nik, household_kk=household and household["kk"])
            mother_claim = PersonClaim(registry_id=None, nik=mother_nik,
                                       name=t.get("mother_name") or "", kelurahan_code=kel,
                                       sex="female", household_id=hid)
            mother = None
            if mother_nik:
                mother = settle_identity(session, identify_person(session, mother_claim, scope,
                                                                  score=False),
                                         mother_claim, provenance, role="mother").person
            found = identify_person(session, replace(claim, mother_id=mother and mother["id"]),
                                    scope)
            if mother is None and found.target is not None and found.target["mother_id"]:
                mother_id = found.target["mother_id"]
            elif mother is not None:
                mother_id = mother["id"]
            elif t.get("mother_name"):
                mother_id = settle_person(session, None, mother_claim, provenance)["id"]
            else:
                mother_id = None
            child = settle_identity(session, found, replace(claim, mother_id=mother_id),
                                    provenance, role="child").person
            resolved.append(child["id"])
        session.flush()
        merged = dict(session.exec(select(Person.id, Person.merged_into_id)
                                   .where(Person.merged_into_id.is_not(None))).all())
        pairs = session.exec(select(DuplicatePair.a_id, DuplicatePair.b_id)
                             .where(DuplicatePair.status == "open")).all()
        session.commit()
    engine.dispose()

    def final(pid):
        while pid in merged:
            pid = merged[pid]
        return pid

    auto = [final(p) for p in resolved]
    parent = {p: p for p in set(auto)}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(final(a)), find(final(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return auto, [find(p) for p in auto]


# ---------------------------------------------------------------- latency and batch

def _variant(name: str, rng: random.Random) -> str:
    words = name.split()
    choice = rng.randrange(4)
    if choice == 0:
        return name.upper()
    if choice == 1 and len(words) > 1:
        return " ".join(words[:-1])  # the last name left out
    if choice == 2:
        return name.replace("y", "i").replace("Muhammad", "M.")
    return name + "."


def latency_and_batch(backend: str, persons: int, claims: int, seed: int, batch: bool,
                      database: str | None = None) -> None:
    from bench.preload import analyse, preload
    from core.db import make_engine, writer_engine
    from core.migrate import upgrade
    from models import Person
    from sync.apply import Provenance
    from sync.forms import publish_builtin_forms
    from sync.identity import PersonClaim, identify_person, settle_identity
    from sync.scope import Scope
    from sync.wilayah import import_national

    if database is None:
        workdir = Path(tempfile.mkdtemp())
        url, drop = make_database(backend, workdir)
    else:  # kept between runs: preloaded only the first time
        url, drop = database, lambda: None
    try:
        upgrade(url)
        engine = make_engine(url, pool_size=2)
        with Session(engine) as s:
            registered = s.exec(select(func.count()).select_from(Person)).one()
        if not registered:
            with Session(engine) as s:
                publish_builtin_forms(s)
                s.commit()
            import_national(engine, provinces=["33"])
            started = time.perf_counter()
            stats = preload(url, persons=persons, months=1, seed=seed, progress=None)
            analyse(url)
            registered = stats.persons
            print(f"{backend}: registry of {stats.persons:,} persons preloaded in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
        rng = random.Random(seed)
        with Session(engine) as s:
            count = s.exec(select(Person.id).where(Person.birth_date > date.today()
                                                   - timedelta(days=1826))).all()
            sample_ids = rng.sample(count, min(claims // 2, len(count)))
            children = [s.get(Person, pid) for pid in sample_ids]
            kelurahan = [c.kelurahan_code for c in children]
        scope = Scope(everything=True)
        provenance = Provenance(actor_id=None, submission_id=None, reason="bench", scope=scope)
        todo = []
        for child in children:
            todo.append(PersonClaim(registry_id=None, nik=None,
                                    name=_variant(child.name, rng), kelurahan_code=child.kelurahan_code,
                                    sex=child.sex, birth_date=child.birth_date))
        for i in range(claims - len(todo)):
            todo.append(PersonClaim(registry_id=None, nik=None, name=f"Anak Baru {i}",
                                    kelurahan_code=rng.choice(kelurahan), sex="female",
                                    birth_date=date.today() - timedelta(days=rng.randint(30, 1700))))
        rng.shuffle(todo)
        # As intake runs it: the submission writer's connection (core.db.writer_engine:
        # generic plans, statements kept prepared), each record its own transaction,
        # committed (a rollback would make psycopg forget every prepared statement);
        # the commit is outside the timing (intake shares one among a group).
        writer = writer_engine(engine) if backend == "postgres" else engine
        times, outcomes = [], {}
        for claim in todo[:20]:  # warm-up: statements prepared, name caches filled
            with Session(writer) as s:
                settle_identity(s, identify_person(s, claim, scope), claim, provenance,
                                role="child")
                s.commit()
        for claim in todo[20:]:
            with Session(writer) as s:
                t0 = time.perf_counter()
                found = identify_person(s, claim, scope)
                settle_identity(s, found, claim, provenance, role="child")
                s.flush()
                times.append(time.perf_counter() - t0)
                outcomes[found.outcome] = outcomes.get(found.outcome, 0) + 1
                s.commit()
        times.sort()
        q = statistics.quantiles(times, n=100)
        print(f"{backend}: online resolution of {len(times)} records against {registered:,} "
              f"persons: p50 {1000 * q[49]:.1f} ms, p95 {1000 * q[94]:.1f} ms, p99 "
              f"{1000 * q[98]:.1f} ms; outcomes {outcomes}", flush=True)
        if batch:
            from sync.dedup import scan_registry

            summary = scan_registry(engine)
            print(f"{backend}: batch scan of {summary.persons:,} persons in {summary.seconds:.0f} s: "
                  f"{summary.pairs_found:,} candidate pairs, {summary.opened:,} opened", flush=True)
        engine.dispose()
    finally:
        drop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quality", action="store_true", help="precision/recall only")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--claims", type=int, default=500)
    parser.add_argument("--no-batch", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", help="a database URL to use and keep (preloaded "
                        "with --persons the first time; one backend)")
    parser.add_argument("--months", type=int, default=12)
    args = parser.parse_args()
    if args.quality:
        quality(args.seed, args.months)
        return
    if args.database:
        backend = "sqlite" if args.database.startswith("sqlite") else "postgres"
        latency_and_batch(backend, args.persons, args.claims, args.seed, not args.no_batch,
                          args.database)
        return
    for backend in (("sqlite", "postgres") if args.backend == "both" else (args.backend,)):
        latency_and_batch(backend, args.persons, args.claims, args.seed, not args.no_batch)


if __name__ == "__main__":
    main()
