"""The offline sync API at a kader's scope of 100,000 people, on PostgreSQL (or SQLite).

Builds a scratch database with one posyandu holding `--people` persons (rows, first
versions and change-log rows), then prints:
- a changes page of 10,000 (GET /api/v1/sync/changes?limit=5000, two pages, and the
  domain function alone for one page of 10,000 rows read in two calls);
- push throughput: batches of 500 mutations (creates, then updates of them) through
  POST /api/v1/sync/push, each mutation its own unit of work; the same again by a
  second kader whose village holds `--village` persons (a kelurahan's real size);
- the size and time of the kader's children pick list (children.csv) and of the full
  JSON snapshot at that scope;
- the bytes a phone downloads after one change: the feed delta vs the whole snapshot.

    python bench/sync.py --backend postgres --people 100000
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.intake import make_database  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
KELURAHAN = "33.75.01.1002"
VILLAGE = "33.75.01.1003"  # --village: a second kader's posyandu, a village's size
LOADED_NAMES = 20_000_000  # distinct_name offset of the loaded persons (pushes use 0...)
_SYLLABLES = ("ba", "ci", "du", "fe", "go", "hi", "ja", "ke", "lu", "ma", "ni", "po",
              "ra", "si", "tu", "wa", "ye", "zo", "ri", "na")


def distinct_name(n: int) -> str:
    """A name of its own for each n: pushed creates resolve identity (sync.identity),
    and names that differ only by digits ("Baru 0-1", "Baru 0-2") have one name key,
    so a batch of them auto-linked into its first person, and the updates that follow
    were conflicts on the survivor rather than the pushes the benchmark means."""
    n = (n * 7_919 + 12_345) % len(_SYLLABLES) ** 6  # neighbours far apart
    parts = []
    for _ in range(2):
        word = ""
        for _ in range(3):
            n, digit = divmod(n, len(_SYLLABLES))
            word += _SYLLABLES[digit]
        parts.append(word.capitalize())
    return " ".join(parts)


def _load(engine, posyandu_id: int, people: int, kelurahan: str = KELURAHAN,
          first: int = 0) -> None:
    from sqlalchemy import insert

    from models import ChangeLog, Person, PersonVersion
    from models.base import utcnow
    from sync.apply import ENTITIES
    now = utcnow()
    today = date.today()
    for start in range(first, first + people, 10_000):
        persons, versions, changes = [], [], []
        for i in range(start, min(first + people, start + 10_000)):
            pid = str(uuid.UUID(int=i + 1))
            # Names of their own (far from the pushed ones' numbers), with the name key
            # and phonetic block the app derives: a registry whose blocks were all empty
            # made PostgreSQL read the name-block branch through the birth-date index.
            name = distinct_name(LOADED_NAMES + i)
            born = today - timedelta(days=30 + i % 1800)
            persons.append(dict(id=pid, name=name, sex="male" if i % 2 else "female",
                                **ENTITIES["person"].derived({"name": name}),
                                birth_date=born, birth_date_estimated=False,
                                kelurahan_code=kelurahan, posyandu_id=posyandu_id, version=1,
                                created_at=now, updated_at=now))
            versions.append(dict(person_id=pid, version=1, changed_at=now, reason="bench", data={
                "name": name, "sex": persons[-1]["sex"], "birth_date": born.isoformat(), "nik": None,
                "mother_id": None, "household_id": None, "kelurahan_code": kelurahan,
                "posyandu_id": posyandu_id, "birth_date_estimated": False}))
            changes.append(dict(entity_type="person", entity_id=pid, version=1, op="upsert",
                                kelurahan_code=kelurahan, posyandu_id=posyandu_id, changed_at=now))
        with engine.begin() as conn:
            conn.execute(insert(Person.__table__), persons)
            conn.execute(insert(PersonVersion.__table__), versions)
            conn.execute(insert(ChangeLog.__table__), changes)


def push_rates(client, headers, kelurahan: str, batches: int, posyandu_id: int | None = None
               ) -> tuple[list[float], list[float]]:
    """POST /api/v1/sync/push of 500 person creates, then 500 updates of them, in turn:
    mutations/s of each push (creates, updates)."""
    created, create_rates, update_rates = [], [], []
    place = {"kelurahan_code": kelurahan,
             **({"posyandu_id": posyandu_id} if posyandu_id is not None else {})}
    for batch in range(batches):
        ids = [str(uuid.uuid4()) for _ in range(500)]
        mutations = [{"mutation_id": str(uuid.uuid4()), "entity": "person", "id": pid,
                      "op": "create", "base_version": 0,
                      "changes": {"name": distinct_name(batch * 500 + i), "sex": "female",
                                  "birth_date": (date(2021, 1, 1) + timedelta(
                                      days=(batch * 500 + i) % 1800)).isoformat(), **place}}
                     for i, pid in enumerate(ids)]
        if created:  # every other batch: updates of the last batch
            mutations = [{"mutation_id": str(uuid.uuid4()), "entity": "person", "id": pid,
                          "op": "update", "base_version": 1,
                          "changes": {"name": distinct_name(7_000_000 + batch * 500 + i)}}
                         for i, pid in enumerate(created)]
        t = time.perf_counter()
        answer = client.post("/api/v1/sync/push", headers=headers,
                             json={"device_id": "bench", "mutations": mutations})
        elapsed = time.perf_counter() - t
        assert answer.status_code == 200, answer.text
        statuses = {r["status"] for r in answer.json()["results"]}
        assert statuses == {"applied"}, statuses
        (update_rates if created else create_rates).append(500 / elapsed)
        created = [] if created else ids
    return create_rates, update_rates


def run(args) -> None:
    from fastapi.testclient import TestClient
    from sqlmodel import Session

    from api.app import create_app, freeze_startup
    from core.db import make_engine
    from core.migrate import upgrade
    from models import Posyandu
    from sync import accounts, picklists
    from sync.accounts import Principal
    from sync.changes import ChangeCursor
    from sync.forms import publish_builtin_forms
    from sync.offline import encode_cursor, feed
    from sync.scope import Scope

    url, drop = make_database(args.backend, Path(tempfile.mkdtemp()))
    try:
        upgrade(url)
        engine = make_engine(url)
        with Session(engine, expire_on_commit=False) as s:
            posyandu = Posyandu(kelurahan_code=KELURAHAN, name="Melati Bench")
            s.add(posyandu)
            s.commit()
            accounts.create_user(s, username="sri", password="password-123", role="kader",
                                 scopes=[f"posyandu:{posyandu.id}"])
            village = Posyandu(kelurahan_code=VILLAGE, name="Mawar Bench")
            s.add(village)
            s.commit()
            accounts.create_user(s, username="ani", password="password-123", role="kader",
                                 scopes=[f"posyandu:{village.id}"])
            s.commit()
        t = time.perf_counter()
        _load(engine, posyandu.id, args.people)
        _load(engine, village.id, args.village, VILLAGE, first=args.people)
        if args.backend == "postgres":
            with engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
        print(f"backend {args.backend}: loaded {args.people:,} persons in {time.perf_counter() - t:.1f} s")
        scope = Scope(posyandu_ids=(posyandu.id,), posyandu_kelurahan_codes=(KELURAHAN,))
        with TestClient(create_app(engine)) as client:
            freeze_startup()  # as a uvicorn worker does (api.main)
            token = client.post("/api/v1/auth/token", data={"username": "sri",
                                                            "password": "password-123"}).json()
            h = {"Authorization": f"Bearer {token['access_token']}"}

            # 1. a changes page of 10,000
            http, domain = [], []
            for _ in range(args.rounds):
                t = time.perf_counter()
                since, got = None, 0
                more = True
                while more and got < 10_000:  # fewer than 10,000 in scope: what there is
                    body = client.get("/api/v1/sync/changes", headers=h, params={
                        "limit": 5000, **({"since": since} if since else {})}).json()
                    got += len(body["changes"])
                    since, more = body["next_cursor"], body["more"]
                http.append(time.perf_counter() - t)
                t = time.perf_counter()
                with Session(engine) as s:
                    page = feed(s, scope=scope, since=None, limit=5000)
                    feed(s, scope=scope, since=page.next_cursor, limit=5000)
                    s.commit()
                domain.append(time.perf_counter() - t)
            print(f"changes page of {got:,}: HTTP (pages of 5,000, JSON) median "
                  f"{statistics.median(http) * 1000:.0f} ms (min {min(http) * 1000:.0f}); "
                  f"query + data alone {statistics.median(domain) * 1000:.0f} ms")
            # 2. push throughput, batches of 500
            creates, updates = push_rates(client, h, KELURAHAN, args.batches)
            rates = creates + updates
            print(f"push, batches of 500 (creates and updates alternating), {args.batches} batches, "
                  f"{args.people:,} persons in the kelurahan: median {statistics.median(rates):,.0f} "
                  f"mutations/s (min {min(rates):,.0f}, max {max(rates):,.0f}); creates "
                  f"{' / '.join(f'{r:,.0f}' for r in creates)}, updates "
                  f"{' / '.join(f'{r:,.0f}' for r in updates)}")
            if args.village:
                token = client.post("/api/v1/auth/token", data={
                    "username": "ani", "password": "password-123"}).json()
                creates, updates = push_rates(
                    client, {"Authorization": f"Bearer {token['access_token']}"}, VILLAGE,
                    args.batches, posyandu_id=village.id)
                rates = creates + updates
                print(f"push, the same, by a kader of a village of {args.village:,} persons: "
                      f"median {statistics.median(rates):,.0f} mutations/s; creates "
                      f"{' / '.join(f'{r:,.0f}' for r in creates)}, updates "
                      f"{' / '.join(f'{r:,.0f}' for r in updates)}")
            # 3. the kader's pick list and snapshot at this scope
            principal = Principal(user_id=0, username="sri", role="kader", scope=scope)
            t = time.perf_counter()
            with Session(engine) as s:
                csv_bytes = picklists.render_media(s, principal=principal, name="children.csv")
                s.commit()
            csv_time = time.perf_counter() - t
            t = time.perf_counter()
            snapshot_bytes, page = 0, None
            while True:
                answer = client.get("/api/v1/sync/snapshot", headers=h, params={
                    "limit": 5000, **({"page": page} if page else {})})
                snapshot_bytes += len(answer.content)
                body = answer.json()
                page = body["next_page"]
                if page is None:
                    break
            snapshot_time = time.perf_counter() - t
            print(f"children.csv pick list at {args.people:,} in scope: {len(csv_bytes) / 1e6:.1f} MB "
                  f"in {csv_time:.2f} s; full JSON snapshot {snapshot_bytes / 1e6:.1f} MB in "
                  f"{snapshot_time:.2f} s")
            # 3b. the ODK entity list (what Collect downloads), its ETag, and the 304
            with Session(engine) as s:
                publish_builtin_forms(s)
                s.commit()
            basic = {"Authorization": "Basic " + base64.b64encode(b"sri:password-123").decode(),
                     "X-OpenRosa-Version": "1.0"}
            client.get("/formList", headers=basic)  # the Basic-auth cache, warm
            times, listed = [], None
            for _ in range(args.rounds):
                t = time.perf_counter()
                listed = client.get("/forms/anthropometry/media/children.csv", headers=basic)
                times.append(time.perf_counter() - t)
            etag = listed.headers["ETag"]
            manifest_times, not_modified = [], []
            for _ in range(args.rounds):
                t = time.perf_counter()
                client.get("/forms/anthropometry/manifest", headers=basic)
                manifest_times.append(time.perf_counter() - t)
                t = time.perf_counter()
                again = client.get("/forms/anthropometry/media/children.csv",
                                   headers={**basic, "If-None-Match": etag})
                not_modified.append(time.perf_counter() - t)
            assert again.status_code == 304, again.status_code
            print(f"ODK entity list children.csv at {args.people:,} in scope (HTTP, OpenRosa): "
                  f"{len(listed.content) / 1e6:.1f} MB in median {statistics.median(times):.2f} s; "
                  f"manifest (ETag, no rendering) {statistics.median(manifest_times) * 1000:.0f} ms; "
                  f"If-None-Match -> 304 in {statistics.median(not_modified) * 1000:.0f} ms")
            # 4. one change: what a phone downloads
            cursor = body["cursor"]
            while True:
                page_body = client.get("/api/v1/sync/changes", headers=h,
                                       params={"since": cursor, "limit": 5000}).json()
                cursor = page_body["next_cursor"]
                if not page_body["more"]:
                    break
            client.post("/api/v1/sync/push", headers=h, json={"device_id": "bench", "mutations": [{
                "mutation_id": str(uuid.uuid4()), "entity": "person", "id": str(uuid.UUID(int=1)),
                "op": "update", "base_version": 1, "changes": {"name": "Anak Satu"}}]})
            t = time.perf_counter()
            delta = client.get("/api/v1/sync/changes", headers=h, params={"since": cursor})
            print(f"after one change: the feed delta is {len(delta.content):,} bytes "
                  f"({len(delta.json()['changes'])} change, {(time.perf_counter() - t) * 1000:.0f} ms) "
                  f"vs {len(csv_bytes):,} bytes of pick list / {snapshot_bytes:,} of snapshot")
            print(json.dumps({"encode_cursor_example": encode_cursor(ChangeCursor(1, 2), scope)}))
        engine.dispose()
    finally:
        drop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--village", type=int, default=1300,
                        help="persons of a second kader's village, pushed to like the first "
                             "(0: not measured); a kelurahan of Kota Pekalongan has about 1,300")
    parser.add_argument("--rounds", type=int, default=3)
    run(parser.parse_args())
