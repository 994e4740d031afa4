"""Properties of pushes (hypothesis): the order in which devices' pushes arrive, and
replays among them, change neither which fields end in conflict nor the value of any
uncontested field; no mutation is applied twice; no incoming value is lost (it is the
record's value or in a conflict). And a client pulling while others push never misses
a change and never sees one twice."""

from __future__ import annotations

import threading
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from models import Person, PersonVersion
from models.offline import SyncConflict
from sync.accounts import Principal
from sync.changes import ChangeCursor
from sync.offline import PushMutation, encode_cursor, feed
from sync.scope import Scope
from sync.unit_of_work import UnitOfWork
from tests.support import KELURAHAN

EVERYTHING = Scope(everything=True)
FIELDS = ("name", "sex", "nik")
VALUES = {"name": ["Ani B", "Ani C", "Ani D"], "sex": ["male"],
          "nik": ["3375014105240001", "3375014105240002"]}
BASE = {"name": "Ani A", "sex": "female", "nik": None}

# Each device edits some fields of the same record, all from version 1.
edits = st.lists(
    st.dictionaries(st.sampled_from(FIELDS), st.integers(0, 2), min_size=1),
    min_size=2, max_size=4)


def _principal(db, username="sync-prop") -> Principal:
    from models import User
    from sync import accounts
    with Session(db, expire_on_commit=False) as s:
        user = s.exec(select(User).where(User.username == username)).first()
        if user is None:
            user = accounts.create_user(s, username=username, password="password-123",
                                        role="admin", scopes=[])
            s.commit()
        return Principal(user_id=user.id, username=username, role="admin", scope=EVERYTHING)


def _run(db, principal, pid, mutations) -> tuple[dict, set, list]:
    work = UnitOfWork(db)
    create = {"mutation_id": f"{pid}-create", "entity": "person", "id": pid, "op": "create",
              "base_version": 0, "changes": {**BASE, "kelurahan_code": KELURAHAN}}
    work.run_one(PushMutation(principal, "dev-0", create))
    results = [work.run_one(PushMutation(principal, device, m)) for device, m in mutations]
    with Session(db) as s:
        person = s.get(Person, pid)
        final = {f: getattr(person, f) for f in FIELDS} | {"version": person.version}
        conflicts = s.exec(select(SyncConflict).where(SyncConflict.entity_id == pid)).all()
    return final, {f for c in conflicts for f in c.fields}, [results, conflicts]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=edits, order=st.randoms(use_true_random=False), replays=st.integers(0, 3))
def test_any_interleaving_gives_the_same_conflicts_and_uncontested_values(db, edits, order, replays):
    principal = _principal(db)
    run = uuid.uuid4().hex[:8]

    def mutations(pid):
        out = [(f"dev-{i}", {"mutation_id": f"{pid}-m{i}", "entity": "person", "id": pid,
                             "op": "update", "base_version": 1,
                             "changes": {f: VALUES[f][v % len(VALUES[f])] for f, v in e.items()}})
               for i, e in enumerate(edits)]
        return out

    first = mutations(f"{run}-a")
    final_a, contested_a, _ = _run(db, principal, f"{run}-a", first)
    shuffled = mutations(f"{run}-b")
    order.shuffle(shuffled)
    shuffled += [order.choice(shuffled) for _ in range(replays)]  # replays, anywhere after
    final_b, contested_b, (results_b, conflicts_b) = _run(db, principal, f"{run}-b", shuffled)

    wanted: dict[str, set] = {}
    for e in edits:
        for f, v in e.items():
            wanted.setdefault(f, set()).add(VALUES[f][v % len(VALUES[f])])
    contested = {f for f, values in wanted.items() if len(values) > 1}
    assert contested_a == contested_b == contested
    for f in set(wanted) - contested:  # uncontested: the one incoming value, in any order
        assert final_a[f] == final_b[f] == next(iter(wanted[f]))
    for f in contested:  # contested: the first arrival stays; every other value is in a conflict
        kept = {final_b[f]} | {c.fields[f]["incoming"] for c in conflicts_b if f in c.fields}
        assert kept == wanted[f]
    # Applied once: a version per distinct mutation that changed something, replays none.
    changed = {r["mutation_id"] for r in results_b if r["status"] in ("applied", "merged")
               or (r["status"] == "conflict" and r["version"] > 1)}
    assert final_b["version"] <= 1 + len(changed)
    distinct = {r["mutation_id"]: r for r in results_b}
    for r in results_b:
        assert r == distinct[r["mutation_id"]]  # a replay answers the stored result
    with Session(db) as s:
        versions = s.exec(select(PersonVersion.version).where(
            PersonVersion.person_id == f"{run}-b")).all()
        assert sorted(versions) == list(range(1, final_b["version"] + 1))


def test_a_puller_never_misses_a_change_nor_sees_one_twice_while_others_push(db):
    principal = _principal(db)
    work = UnitOfWork(db)
    stop = threading.Event()
    pushed: list[str] = []
    errors: list[BaseException] = []

    def pusher(n: int):
        try:
            for i in range(40):
                pid = f"p{n}-{i}-{uuid.uuid4().hex[:6]}"
                work.run_one(PushMutation(principal, f"dev-{n}", {
                    "mutation_id": pid, "entity": "person", "id": pid, "op": "create",
                    "base_version": 0, "changes": {"name": f"Anak {i}", "kelurahan_code": KELURAHAN}}))
                work.run_one(PushMutation(principal, f"dev-{n}", {
                    "mutation_id": pid + "-u", "entity": "person", "id": pid, "op": "update",
                    "base_version": 1, "changes": {"name": f"Anak {i} B"}}))
                pushed.append(pid)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    seen: list[tuple[str, int]] = []
    cursor = encode_cursor(ChangeCursor(), EVERYTHING)
    threads = [threading.Thread(target=pusher, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()

    def pull():
        nonlocal cursor
        with Session(db) as s:
            page = feed(s, scope=EVERYTHING, since=cursor, limit=7)
            s.commit()
        seen.extend((c["id"], c["version"]) for c in page.changes)
        cursor = page.next_cursor
        return page.more

    while any(t.is_alive() for t in threads):
        pull()
    for t in threads:
        t.join()
    stop.set()
    while pull():
        pass
    pull()
    assert not errors, errors
    assert len(seen) == len(set(seen)), "a change was seen twice"
    assert set(seen) == {(pid, v) for pid in pushed for v in (1, 2)}
