"""The aggregates are maintained in the transaction that changes the records, and
always equal a full recompute from the raw records (sync.caseloads.verify)."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlmodel import Session

from models import CASELOAD_AGGREGATE, Household, Measurement, Person
from sync import caseloads
from tests.integration.caseloads.intake import CHILDREN, HOUSEHOLDS, WOMEN, make_field
from tests.support import KELURAHAN

MONTHS = ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]


def _verify(engine) -> caseloads.VerifyReport:
    with Session(engine) as s:
        report = caseloads.verify(s)
        s.rollback()
    return report


def _aggregate(engine, period: str) -> dict:
    with Session(engine) as s:
        row = s.execute(select(CASELOAD_AGGREGATE).where(
            CASELOAD_AGGREGATE.c.kelurahan_code == KELURAHAN,
            CASELOAD_AGGREGATE.c.period == period)).mappings().first()
        return dict(row) if row else {}


@pytest.fixture
def field(db):
    return make_field(db)


def test_a_stunted_measurement_counts_at_once_and_its_correction_replaces_it(field, db):
    first = field.child(0, "2026-11-03", weight=8.0, height=70.0)  # 21 months, short
    row = _aggregate(db, "2026-11")
    assert row["c23_measured"] == 1 and row["c59_measured"] == 1
    assert row["c59_stunted"] == 1 and row["nutrition_cases"] == 1
    field.child(0, "2026-11-03", weight=11.0, height=84.0, deprecated_id=first)  # corrected
    row = _aggregate(db, "2026-11")
    assert row["c59_measured"] == 1 and row["c59_stunted"] == 0 and row["nutrition_cases"] == 0
    assert _verify(db).ok, _verify(db).differences


def test_born_counts_by_birth_month_and_skdn_follows_weights(field, db):
    field.child(1, "2026-09-10", weight=9.0, height=80.0)
    field.child(1, "2026-10-10", weight=9.4, height=81.0)
    field.child(1, "2026-11-10", weight=9.4, height=81.5)
    assert _aggregate(db, "2024-03")["born"] == 1
    assert _aggregate(db, "2026-10")["c59_n"] == 1
    nov = _aggregate(db, "2026-11")
    assert nov["c59_d"] == 1 and nov["c59_n"] == 0 and nov["c59_not_gained_twice"] == 0
    assert _verify(db).ok


def test_rebuild_rewrites_what_verify_finds_wrong(field, db):
    field.child(0, "2026-11-03", weight=8.0, height=70.0)
    with Session(db) as s:
        s.execute(CASELOAD_AGGREGATE.update().values(c59_measured=7))
        s.commit()
    report = _verify(db)
    assert not report.ok and "c59_measured" in report.differences[0]
    with Session(db) as s:
        caseloads.rebuild(s)
        s.commit()
    assert _verify(db).ok and _aggregate(db, "2026-11")["c59_measured"] == 1


# ---------------------------------------------------------------- property: random histories
# One operation = one real submission (or a correction of an earlier one), or a merge or
# an unmerge of registry records (sync.merge, #14), each in a transaction of its own.

child_op = st.tuples(st.just("child"), st.integers(0, len(CHILDREN) - 1), st.sampled_from(MONTHS),
                     st.integers(1, 28), st.floats(6.0, 16.0), st.floats(60.0, 105.0),
                     st.booleans(), st.one_of(st.none(), st.integers(0, len(HOUSEHOLDS) - 1)))
woman_op = st.tuples(st.just("woman"), st.integers(0, len(WOMEN) - 1), st.sampled_from(MONTHS),
                     st.integers(1, 28), st.booleans(), st.floats(19.0, 30.0),
                     st.one_of(st.none(), st.floats(8.0, 14.0)), st.booleans())
household_op = st.tuples(st.just("household"), st.integers(0, len(HOUSEHOLDS) - 1),
                         st.sampled_from(MONTHS), st.integers(1, 28), st.booleans())
correct_op = st.tuples(st.just("correct"), st.integers(0, 50), st.booleans())
merge_op = st.tuples(st.just("merge"), st.sampled_from(["person", "person", "household"]),
                     st.integers(0, 50), st.integers(0, 50))
unmerge_op = st.tuples(st.just("unmerge"), st.integers(0, 50))
operations = st.lists(st.one_of(child_op, child_op, woman_op, household_op, correct_op,
                                merge_op, unmerge_op), min_size=1, max_size=12)


def _index(people, name: str) -> int:
    return [p[0] for p in people].index(name)


def _merge_step(engine, op) -> None:
    """A supervisor's merge of two live records (picked by the drawn indexes), or the
    unmerge of an active merge; refused ones (the survivor merged again since) change
    nothing, as over the API."""
    from core.errors import AppError
    from models import RecordMerge
    from sync.apply import Provenance
    from sync.merge import merge, unmerge
    from sync.scope import Scope

    provenance = Provenance(actor_id=None, submission_id=None, reason=op[0],
                            scope=Scope(everything=True))
    with Session(engine) as s:
        if op[0] == "merge":
            _, entity, i, j = op
            table = Person.__table__ if entity == "person" else Household.__table__
            live = list(s.execute(select(table.c.id).where(table.c.merged_into_id.is_(None))
                                  .order_by(table.c.id)).scalars())
            if len(live) < 2 or i % len(live) == j % len(live):
                return
            survivor, absorbed = live[i % len(live)], live[j % len(live)]
            merge(s, entity=entity, survivor_id=survivor, absorbed_id=absorbed,
                  provenance=provenance)
        else:
            active = list(s.execute(select(RecordMerge.entity, RecordMerge.absorbed_id).where(
                RecordMerge.status == "merged").order_by(RecordMerge.id)).all())
            if not active:
                return
            entity, absorbed = active[op[1] % len(active)]
            try:
                unmerge(s, entity=entity, absorbed_id=absorbed, provenance=provenance)
            except AppError:
                s.rollback()
                return
        s.commit()


def _run(field, op) -> None:
    kind = op[0]
    if kind in ("merge", "unmerge"):
        _merge_step(field.engine, op)
    elif kind == "child":
        _, i, month, day, weight, height, oedema, household = op
        field.child(i, f"{month}-{day:02d}", weight, height, oedema, household=household)
    elif kind == "woman":
        _, i, month, day, pregnant, muac, hb, catin = op
        field.woman(i, f"{month}-{day:02d}", pregnant=pregnant, muac=muac, hb=hb, catin=catin)
    elif kind == "household":
        _, i, month, day, good = op
        field.household(i, f"{month}-{day:02d}", good=good)
    elif kind == "correct" and field.sent:
        form_id, instance_id, answers = field.sent[op[1] % len(field.sent)]
        changed = dict(answers)
        other = op[2]  # the correction names another child / woman (a kader picked wrongly)
        if form_id == "anthropometry":
            changed["length_height_cm"] = f"{float(answers['length_height_cm']) - 6:.1f}"
            if other:
                name, sex, birth = CHILDREN[(_index(CHILDREN, answers["child_name"]) + 1) % len(CHILDREN)]
                changed.update(child_name=name, child_sex=sex, child_birth_date=birth)
        elif form_id == "pregnancy_screening":
            changed["muac_cm"] = "21.0"
            if other:
                name, birth = WOMEN[(_index(WOMEN, answers["woman_name"]) + 1) % len(WOMEN)]
                changed.update(woman_name=name, woman_birth_date=birth)
        else:
            changed.update(handwashing_soap="no" if answers["handwashing_soap"] == "yes" else "yes")
        field.send(form_id, changed, deprecated_id=instance_id)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_aggregates_equal_a_full_recompute_after_any_history(db, data):
    field = make_field(db, username=f"kader-{uuid.uuid4().hex[:10]}")
    for op in data.draw(operations):
        _run(field, op)
        report = _verify(db)
        assert report.ok, (op, report.differences)
    with Session(db) as s:
        assert s.execute(select(Measurement.id)).first() is None or \
            s.execute(select(CASELOAD_AGGREGATE)).first() is not None
