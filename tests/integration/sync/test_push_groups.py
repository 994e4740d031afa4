"""A push's mutations share transactions (sync.writer.store_all, groups of
offline.PUSH_GROUP) with their rows locked ahead and their writes batched: every
result, record, version and change-log row is what the same mutations give one at a
time, and a repeat inside one push does not fail its group."""

from __future__ import annotations

import logging
import uuid

from sqlmodel import Session, select

from models import ChangeLog, Person, PersonVersion
from sync.accounts import Principal
from sync.offline import PushMutation, feed, push_units, subjects_of
from sync.scope import Scope
from sync.unit_of_work import UnitOfWork
from tests.support import KELURAHAN, add_posyandu, bearer

EVERYTHING = Scope(everything=True)


def _principal(db, make_user) -> Principal:
    user = make_user(f"push-{uuid.uuid4().hex[:6]}", "admin", [])
    return Principal(user_id=user.id, username=user.username, role="admin", scope=EVERYTHING)


def _mutations(tag: str, years: int = 0) -> list[dict]:
    """Creates, then updates of them: one record updated twice (the second on a stale
    base: merged), one update in conflict with another, a mutation sent twice and one
    id created twice, all in one push. `years` earlier births: another run's children
    are other children (identity resolution would link the same name and birth date)."""
    a, b, c = (f"{tag}-{n}" for n in "abc")

    def born(day: str) -> str:
        return f"{int(day[:4]) - years}{day[4:]}"

    def m(mid, pid, op, base, **changes):
        return {"mutation_id": f"{tag}-{mid}", "entity": "person", "id": pid, "op": op,
                "base_version": base, "changes": changes}
    birth = {"sex": "female", "kelurahan_code": KELURAHAN}
    return [
        m("c1", a, "create", 0, name="Sekar Ayu", birth_date=born("2023-03-04"), **birth),
        m("c2", b, "create", 0, name="Wulan Dari", birth_date=born("2022-07-19"), **birth),
        m("u1", a, "update", 1, name="Sekar Ayu Lestari"),
        m("u2", a, "update", 1, nik="3375014403230001"),  # stale base, no overlap: merged
        m("u3", b, "update", 1, name="Wulan Sari"),
        m("u4", b, "update", 1, name="Wulan Asih"),  # the same field since version 1: conflict
        m("u1", a, "update", 1, name="Sekar Ayu Lestari"),  # sent twice: its stored result
        m("c3", c, "create", 0, name="Tirta Jaya", birth_date=born("2021-11-30"),
          **{**birth, "sex": "male"}),
        m("c4", c, "create", 0, name="Tirta Jaya", birth_date=born("2021-11-30"),
          **{**birth, "sex": "male"}),  # the id exists already: rejected
        m("u5", c, "update", 1, sex="female"),
    ]


def _outcome(db, tag: str, results: list[dict]) -> dict:
    """Everything the push left, with the tag taken out of ids."""
    def plain(value):
        return value.replace(tag, "T") if isinstance(value, str) else value
    with Session(db) as s:
        persons = s.exec(select(Person).where(Person.id.like(f"{tag}-%")).order_by(Person.id)).all()
        versions = s.exec(select(PersonVersion).where(PersonVersion.person_id.like(f"{tag}-%"))
                          .order_by(PersonVersion.person_id, PersonVersion.version)).all()
        changes = s.exec(select(ChangeLog).where(ChangeLog.entity_id.like(f"{tag}-%"))
                         .order_by(ChangeLog.txid, ChangeLog.seq)).all()
        return {
            "results": [{k: plain(v) for k, v in r.items() if k != "conflict_id"} | {
                "conflict": r["conflict_id"] is not None} for r in results],
            "persons": [(plain(p.id), p.name, p.sex, p.nik, p.version) for p in persons],
            "versions": [(plain(v.person_id), v.version,
                          {k: plain(x) for k, x in v.data.items() if k != "birth_date"}, v.reason)
                         for v in versions],
            "changes": [(plain(c.entity_id), c.version, c.op) for c in changes]}


def test_a_push_in_one_group_gives_what_its_mutations_give_one_at_a_time(db, make_user, caplog):
    principal = _principal(db, make_user)
    work = UnitOfWork(db)
    alone = "alone-" + uuid.uuid4().hex[:6]
    results = [work.run_one(PushMutation(principal, "hp-1", m)) for m in _mutations(alone)]
    expected = _outcome(db, alone, results)
    assert [r["status"] for r in expected["results"]] == [
        "applied", "applied", "applied", "merged", "applied", "conflict", "applied",
        "applied", "rejected", "applied"]

    grouped = "group-" + uuid.uuid4().hex[:6]
    mutations = _mutations(grouped, years=5)
    units = push_units(principal, "hp-1", mutations, stored={}, existing=set())
    caplog.set_level(logging.DEBUG, logger="posyandu.unit_of_work")
    outcomes = work.run(units)
    assert all(error is None for _, error in outcomes), outcomes
    # One transaction: the repeats looked up what the first ones wrote.
    assert not [r for r in caplog.records if "redone one by one" in r.getMessage()]
    assert _outcome(db, grouped, [result for result, _ in outcomes]) == expected


def test_repeats_inside_a_push_are_looked_up_not_assumed_new():
    principal = Principal(user_id=1, username="x", role="admin", scope=EVERYTHING)
    mutations = _mutations("t")
    units = push_units(principal, "hp-1", mutations, stored={"t-u3": {"status": "applied"}},
                       existing={("person", "t-b")})
    assert units[4] is None  # stored: a replay, not a unit
    known = [u.known_new for u in units if u is not None]
    # t-b exists (so c2 and u4 look it up); the second u1 and the second create of
    # t-c repeat the first ones.
    assert known == [True, False, True, True, False, False, True, False, True]


def test_a_push_larger_than_a_group_answers_every_mutation_in_order(client, make_user, db,
                                                                    monkeypatch):
    from sync import offline

    monkeypatch.setattr(offline, "PUSH_GROUP", 3)
    mine = add_posyandu(db, KELURAHAN, "Melati Grup")
    make_user("sekar", "kader", [f"posyandu:{mine}"])
    headers = bearer(client, "sekar", "password-123")
    ids = [str(uuid.uuid4()) for _ in range(4)]
    names = ["Ayu Lestari", "Bagus Wicaksono", "Citra Kirana", "Dimas Anggara"]
    creates = [{"mutation_id": str(uuid.uuid4()), "entity": "person", "id": pid, "op": "create",
                "base_version": 0, "changes": {"name": name, "sex": "female",
                                               "birth_date": f"202{i}-0{i + 1}-1{i}",
                                               "kelurahan_code": KELURAHAN}}
               for i, (pid, name) in enumerate(zip(ids, names))]
    updates = [{"mutation_id": str(uuid.uuid4()), "entity": "person", "id": pid, "op": "update",
                "base_version": 1, "changes": {"nik": f"33750141052400{i:02d}"}}
               for i, pid in enumerate(ids)]
    bad = {"mutation_id": str(uuid.uuid4()), "entity": "person", "id": "nobody",
           "op": "update", "base_version": 1, "changes": {"name": "X"}}
    body = {"device_id": "hp-9", "mutations": creates + [bad] + updates + [creates[0]]}
    answer = client.post("/api/v1/sync/push", headers=headers, json=body)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["mutation_id"] for r in results] == [m["mutation_id"] for m in body["mutations"]]
    assert [r["status"] for r in results] == ["applied"] * 4 + ["rejected"] + ["applied"] * 5
    assert [r["version"] for r in results] == [1] * 4 + [None] + [2] * 4 + [1]
    assert results[-1] == results[0]  # sent again: the stored result
    # The feed shows them in the push's order, and the page's subjects are its records.
    with Session(db) as s:
        page = feed(s, scope=Scope(posyandu_ids=(mine,), posyandu_kelurahan_codes=(KELURAHAN,)),
                    since=None, limit=100)
        s.commit()
    assert [(c["id"], c["version"]) for c in page.changes] == (
        [(pid, 1) for pid in ids] + [(pid, 2) for pid in ids])
    assert (page.persons, page.households) == subjects_of(page.changes)
