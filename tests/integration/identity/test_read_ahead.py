"""A push's creates read their identity candidates ahead, as a group
(sync.identity_ahead), and resolve exactly as they would reading them one by one.

Two copies of one registry, in two kecamatan (NIKs carry their kecamatan, so the copies
never meet), get the same push: one with the read-ahead, one without. A dense
registry (birth-date windows full on one side), creates that repeat registry persons,
repeat or vary each other within the push, updates that move persons in and out of the
windows, and mothers and households: every result, person, decision and duplicate
pair must be the same in both.
"""

from __future__ import annotations

import logging
import random
from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from models import DuplicatePair, IdentityDecision, Person
from sync import identity_ahead, offline
from sync.accounts import Principal
from sync.apply import Provenance, create_household, create_person
from sync.offline import push_units
from sync.scope import Scope
from sync.unit_of_work import UnitOfWork
from tests.support import KELURAHAN, OTHER_KELURAHAN

EVERYTHING = Scope(everything=True)
_GIVEN = ("Sekar Ayu", "Wulan Dari", "Tirta Jaya", "Bagus Wicaksono", "Citra Kirana",
          "Dimas Anggara", "Rizky Pratama", "Muhammad Rizki Pratama", "Nur Aisyah", "Nuraisyah",
          "Siti Aminah", "Aisyah Putri", "Annisa Putri", "Abdoel Rachman", "Abdul Rahman",
          "Djoko Susilo", "Joko Susilo", "Fauziah", "Fausia", "Putri Lestari")
_START = date(2024, 1, 1)


def _nik(kecamatan: str, born: date, sex: str, serial: int) -> str:
    day = born.day + (40 if sex == "female" else 0)
    return f"{kecamatan}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"


def _scenario(seed: int) -> tuple[list[dict], list[dict], list[dict]]:
    """(households, persons, mutations) with ids and NIK regions as placeholders: `{K}`
    the kelurahan, `{P}` the id prefix, `{D}` the kecamatan digits."""
    rng = random.Random(seed)
    households = [{"id": f"{{P}}-h{i}", "kk": f"{{D}}0101200{i:03d}", "head_name": f"Kepala {i}"}
                  for i in range(12)]
    persons = []
    for i in range(14):  # mothers
        persons.append({"id": f"{{P}}-m{i}", "name": rng.choice(("Siti", "Rina", "Tri", "Dewi"))
                        + f" {rng.choice(_GIVEN).split()[0]}", "sex": "female",
                        "birth_date": date(1994, 1, 1) + timedelta(days=rng.randrange(3000)),
                        "household_id": rng.choice(households)["id"]})
    for i in range(150):  # children, born within 60 days: windows of 100 fill up
        born = _START + timedelta(days=rng.randrange(60))
        sex = rng.choice(("male", "female"))
        persons.append({
            "id": f"{{P}}-c{i}", "name": rng.choice(_GIVEN), "sex": sex, "birth_date": born,
            "nik": _nik("{D}", born, sex, 100 + i) if rng.random() < 0.3 else None,
            "mother_id": f"{{P}}-m{rng.randrange(14)}" if rng.random() < 0.4 else None,
            "household_id": rng.choice(households)["id"] if rng.random() < 0.4 else None})
    children = [p for p in persons if "-c" in p["id"]]
    mutations, created = [], []

    def add(op, pid, base, **changes):
        mutations.append({"mutation_id": f"{{P}}-x{len(mutations)}", "entity": "person",
                          "id": pid, "op": op, "base_version": base, "changes": changes})
    for n in range(90):
        roll = rng.random()
        if roll < 0.62:
            sex = rng.choice(("male", "female"))
            born = _START + timedelta(days=rng.randrange(-20, 80))
            name = rng.choice(_GIVEN)
            source = rng.random()
            if source < 0.25:  # someone in the registry again, exactly or nearly
                other = rng.choice(children)
                name, sex = other["name"], other["sex"]
                born = other["birth_date"] + timedelta(days=rng.choice((0, 0, 1, -2, 30)))
            elif source < 0.4 and created:  # someone created earlier in this push
                other = rng.choice(created)
                name, sex, born = other["name"], other["sex"], other["birth_date"]
            changes = {"name": name, "sex": sex, "birth_date": born, "kelurahan_code": "{K}"}
            if rng.random() < 0.3:
                changes["mother_id"] = f"{{P}}-m{rng.randrange(14)}"
            if rng.random() < 0.3:
                changes["household_id"] = rng.choice(households)["id"]
            if rng.random() < 0.15:
                changes["nik"] = _nik("{D}", born, sex, 5000 + n)
            pid = f"{{P}}-n{n}"
            add("create", pid, 0, **changes)
            created.append({"id": pid, **changes})
        elif roll < 0.9:  # a registry child renamed or re-dated: in and out of windows
            other = rng.choice(children)
            if rng.random() < 0.5:
                add("update", other["id"], None, name=rng.choice(_GIVEN))
            else:
                add("update", other["id"], None, birth_date=_START + timedelta(
                    days=rng.choice((-200, 150, rng.randrange(60)))))
        elif created:  # one of this push's own, changed before the push ends
            add("update", rng.choice(created)["id"], None, name=rng.choice(_GIVEN))
    return households, persons, mutations


def _placed(value, kelurahan: str, prefix: str):
    if isinstance(value, str):
        return (value.replace("{K}", kelurahan).replace("{P}", prefix)
                .replace("{D}", kelurahan.replace(".", "")[:6]))
    if isinstance(value, dict):
        return {k: _placed(v, kelurahan, prefix) for k, v in value.items()}
    if isinstance(value, list):
        return [_placed(v, kelurahan, prefix) for v in value]
    return value


def _load(db, households: list[dict], persons: list[dict], kelurahan: str) -> None:
    provenance = Provenance(actor_id=None, submission_id=None, reason="test")
    with Session(db) as s:
        for h in households:
            create_household(s, data={**h, "kelurahan_code": kelurahan}, provenance=provenance,
                             entity_id=h["id"])
        for p in persons:
            create_person(s, data={**p, "kelurahan_code": kelurahan}, provenance=provenance,
                          entity_id=p["id"])
        s.commit()


def _plain(value, kelurahan: str, prefix: str):
    """Ids, kelurahan and NIK regions of one copy written as the other's would be."""
    if isinstance(value, str):
        value = value.replace(f"{prefix}-", "P-").replace(kelurahan, "K")
        if len(value) == 16 and value.isdigit():
            value = "D" + value[6:]
        return value
    if isinstance(value, dict):
        return {k: _plain(v, kelurahan, prefix) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, kelurahan, prefix) for v in value]
    return value


def _outcome(db, results: list, kelurahan: str, prefix: str) -> dict:
    with Session(db) as s:
        persons = s.exec(select(Person).where(Person.id.like(f"{prefix}-%"))
                         .order_by(Person.id)).all()
        ids = {p.id for p in persons}
        decisions = [d for d in s.exec(select(IdentityDecision).order_by(IdentityDecision.id))
                     if d.subject_id in ids]
        pairs = [p for p in s.exec(select(DuplicatePair).order_by(DuplicatePair.id))
                 if p.a_id in ids or p.b_id in ids]
        return _plain({
            "results": [{k: v for k, v in r.items() if k != "conflict_id"} for r in results],
            "persons": [(p.id, p.name, p.sex, p.birth_date.isoformat() if p.birth_date else None,
                         p.nik, p.mother_id, p.household_id, p.version, p.merged_into_id)
                        for p in persons],
            "decisions": [(d.role, d.outcome, d.rule, d.subject_id, d.candidate_id, d.score,
                           d.cross_scope) for d in decisions],
            "pairs": sorted((p.a_id, p.b_id, p.score, p.band, p.status, p.cross_scope)
                            for p in pairs)}, kelurahan, prefix)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_group_read_ahead_resolves_as_its_creates_would_one_by_one(db, make_user, caplog,
                                                                     monkeypatch, seed):
    user = make_user(f"ahead-{seed}", "admin", [])
    principal = Principal(user_id=user.id, username=user.username, role="admin",
                          scope=EVERYTHING)
    households, persons, mutations = _scenario(seed)
    work = UnitOfWork(db)
    caplog.set_level(logging.DEBUG, logger="posyandu.unit_of_work")
    used = {"pool": 0, "fallback": 0}
    blocking_rows = identity_ahead.Pool.blocking_rows

    def counted(pool, read):
        rows = blocking_rows(pool, read)
        used["pool" if rows is not None else "fallback"] += 1
        return rows
    monkeypatch.setattr(identity_ahead.Pool, "blocking_rows", counted)

    outcomes = {}
    for kelurahan, prefix, ahead in ((KELURAHAN, "A", True), (OTHER_KELURAHAN, "B", False)):
        _load(db, _placed(households, kelurahan, prefix), _placed(persons, kelurahan, prefix),
              kelurahan)
        if not ahead:
            monkeypatch.setattr(offline, "read_ahead", lambda session, claims: None)
        units = push_units(principal, "hp-1", _placed(mutations, kelurahan, prefix),
                           stored={}, existing=set())
        ran = work.run(units)
        assert all(error is None for _, error in ran), ran
        outcomes[prefix] = _outcome(db, [result for result, _ in ran], kelurahan, prefix)
    assert not [r for r in caplog.records if "redone one by one" in r.getMessage()]
    assert used["pool"] > 20, used  # the read-ahead answered most creates
    a, b = outcomes["A"], outcomes["B"]
    assert {r["status"] for r in a["results"]} >= {"applied"}
    assert any(d[1] != "new" for d in a["decisions"])  # matches happened, not only new persons
    for part in ("results", "persons", "decisions", "pairs"):
        assert a[part] == b[part], part


def test_a_full_window_that_lost_rows_is_read_again(db, make_user, monkeypatch):
    """A claim's earlier birth-date side held the 100 nearest when read; the group then
    moves 30 of them away, so the person born 40 days before, never read, is now among
    the nearest: the claim must meet her (the pool alone would not have)."""
    user = make_user("ahead-window", "admin", [])
    principal = Principal(user_id=user.id, username=user.username, role="admin",
                          scope=EVERYTHING)
    born = date(2024, 6, 30)
    persons = [{"id": f"w-{i}", "name": "Anak Tetangga", "sex": "male",
                "birth_date": born - timedelta(days=i % 10)} for i in range(120)]
    persons.append({"id": "w-kirana", "name": "Kirana Larasati", "sex": "female",
                    "birth_date": born - timedelta(days=40)})
    _load(db, [], persons, KELURAHAN)
    moved = [{"mutation_id": f"w-move-{i}", "entity": "person", "id": f"w-{i}", "op": "update",
              "base_version": 1, "changes": {"birth_date": date(2020, 1, 1)}} for i in range(30)]
    create = {"mutation_id": "w-create", "entity": "person", "id": "w-new", "op": "create",
              "base_version": 0, "changes": {"name": "Kirana Larasati", "sex": "female",
                                             "birth_date": born, "kelurahan_code": KELURAHAN}}
    fallbacks = []
    blocking_rows = identity_ahead.Pool.blocking_rows

    def counted(pool, read):
        rows = blocking_rows(pool, read)
        fallbacks.append(rows is None)
        return rows
    monkeypatch.setattr(identity_ahead.Pool, "blocking_rows", counted)
    ran = UnitOfWork(db).run(push_units(principal, "hp-1", [*moved, create], stored={},
                                        existing=set()))
    assert all(error is None for _, error in ran), ran
    assert fallbacks == [True]
    with Session(db) as s:
        pairs = s.exec(select(DuplicatePair)).all()
    assert [(p.a_id, p.b_id, p.band) for p in pairs] == [("w-kirana", "w-new", "review")]
