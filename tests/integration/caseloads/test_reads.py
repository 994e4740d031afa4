"""The caseload read path (#16, #17) on stored aggregate rows: every figure of an entry,
a list, a rollup and a series equals the sums of the rows under the region (a code
equal to it or beginning with it and a dot), and a request issues the same number of
statements whatever the number of regions or months it covers."""

from __future__ import annotations

import random
from contextlib import contextmanager

import pytest
from sqlalchemy import event, insert, select
from sqlmodel import Session

from indicators.caseload import (
    BADUTA_MONTHS,
    BALITA_MONTHS,
    METRICS,
    children_figures,
    period_from_index,
    period_index,
    registered_window,
    section_figures,
)
from models import CASELOAD_AGGREGATE, Wilayah
from sync import caseloads
from sync.scope import Scope
from tests.support import KELURAHAN, OTHER_KELURAHAN

KOTA, KECAMATAN = "33.75", KELURAHAN[:8]
PERIOD = "2026-11"
# Rows a region's sums must take or leave exactly as `code = p OR code LIKE 'p.%'` does:
# one coded as the kota itself, one whose code only begins with the kota's characters.
ODD_CODES = (KOTA, "33.751.0.1234")
EVERYTHING = Scope(everything=True)


@pytest.fixture
def rows(db):
    """Random aggregate rows for every kelurahan of the kota (and the odd codes), in
    months around the period and across the 60 months of birth windows."""
    rng = random.Random(16)
    months = [period_from_index(i) for i in range(period_index("2021-06"), period_index("2027-01"))]
    with Session(db) as s:
        codes = list(s.execute(select(Wilayah.code).where(
            Wilayah.code.like(KOTA + ".%"), Wilayah.level.in_(("kelurahan", "desa")))).scalars())
        assert len(codes) > 20
        out = [{"kelurahan_code": code, "period": period,
                **{m: rng.randint(0, 3) for m in METRICS}}
               for code in codes + list(ODD_CODES)
               for period in rng.sample([m for m in months if m != PERIOD], 25) + [PERIOD]]
        s.execute(insert(CASELOAD_AGGREGATE), out)
        s.commit()
    return out


def _totals(rows: list[dict], code: str, period: str) -> dict[str, int]:
    under = [r for r in rows if r["kelurahan_code"] == code or r["kelurahan_code"].startswith(code + ".")]
    totals = {m: sum(r[m] for r in under if r["period"] == period) for m in METRICS if m != "born"}
    for group, months in (("0_23m", BADUTA_MONTHS), ("0_59m", BALITA_MONTHS)):
        first, last = registered_window(period, months)
        totals[f"registered_{group}"] = sum(r["born"] for r in under if first <= r["period"] <= last)
    return totals


def _assert_figures(entry: dict, rows: list[dict]) -> None:
    totals = _totals(rows, entry["wilayah"]["code"], entry["period"])
    registered = {g: totals[f"registered_{g}"] for g in ("0_23m", "0_59m")}
    assert entry["children"] == children_figures(totals, registered), entry["wilayah"]
    sections = section_figures(totals)
    for name in ("pregnancies", "women", "households", "coverage"):
        assert entry[name] == sections[name], (entry["wilayah"], name)


def test_rollups_lists_and_series_are_the_sums_of_the_rows_under_each_region(db, rows):
    with Session(db) as s:
        province = caseloads.entry(s, scope=EVERYTHING, code="33", period=PERIOD)
        kota = caseloads.entry(s, scope=EVERYTHING, code=KOTA, period=PERIOD)
        kecamatan = caseloads.entry(s, scope=EVERYTHING, code=KECAMATAN, period=PERIOD)
        listed, total = caseloads.entries(s, scope=EVERYTHING, period=PERIOD, level="kelurahan",
                                          parent=KOTA, limit=100, offset=0)
        scoped, _ = caseloads.entries(s, scope=Scope(wilayah_codes=(KELURAHAN, OTHER_KELURAHAN[:8])),
                                      period=PERIOD, level="kelurahan", parent=None, limit=100,
                                      offset=0)
        months = caseloads.series(s, scope=EVERYTHING, code=KELURAHAN, first="2025-12", last=PERIOD)
        kota_months = caseloads.series(s, scope=EVERYTHING, code=KOTA, first="2021-01", last=PERIOD)
    assert total == len(listed) > 20
    assert KELURAHAN in {e["wilayah"]["code"] for e in scoped}
    assert all(e["wilayah"]["code"] == KELURAHAN or e["wilayah"]["code"].startswith(OTHER_KELURAHAN[:9])
               for e in scoped)
    assert [m["period"] for m in months] == [period_from_index(i) for i in range(
        period_index("2025-12"), period_index(PERIOD) + 1)]
    for entry in [province, kota, kecamatan, *kota["children_regions"],
                  *kecamatan["children_regions"], *province["children_regions"], *listed,
                  *scoped, *months, *kota_months]:
        _assert_figures(entry, rows)
    # The odd rows: the kota's own code counts for it, the look-alike only for the province.
    assert _totals(rows, KOTA, PERIOD) != _totals(
        [r for r in rows if r["kelurahan_code"] != KOTA], KOTA, PERIOD)


@contextmanager
def _statements(engine):
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_request_issues_the_same_statements_for_one_region_or_many_and_one_month_or_many(db, rows):
    counts = {}
    with Session(db) as s:
        s.execute(select(1))  # the connection's own set-up statements are not the read's
        for label, read in (
                ("one kecamatan's kelurahan", lambda: caseloads.entries(
                    s, scope=EVERYTHING, period=PERIOD, level="kelurahan", parent=KECAMATAN,
                    limit=100, offset=0)),
                ("the kota's kelurahan", lambda: caseloads.entries(
                    s, scope=EVERYTHING, period=PERIOD, level="kelurahan", parent=KOTA,
                    limit=100, offset=0)),
                ("scope of many codes", lambda: caseloads.entries(
                    s, scope=Scope(wilayah_codes=tuple(r["kelurahan_code"] for r in rows[::25])),
                    period=PERIOD, level="kelurahan", parent=None, limit=100, offset=0)),
                ("a month", lambda: caseloads.series(s, scope=EVERYTHING, code=KELURAHAN,
                                                     first=PERIOD, last=PERIOD)),
                ("ten years", lambda: caseloads.series(s, scope=EVERYTHING, code=KELURAHAN,
                                                       first="2016-12", last=PERIOD)),
                ("a kelurahan", lambda: caseloads.entry(s, scope=EVERYTHING, code=KELURAHAN,
                                                        period=PERIOD)),
                ("the province with its kabkota", lambda: caseloads.entry(
                    s, scope=EVERYTHING, code="33", period=PERIOD))):
            with _statements(db) as seen:
                read()
            counts[label] = len(seen)
    assert counts["one kecamatan's kelurahan"] == counts["the kota's kelurahan"] \
        == counts["scope of many codes"] == 5, counts  # regions, count, sums, births, targets
    assert counts["a month"] == counts["ten years"] == 4, counts  # region, sums, births, targets
    assert counts["a kelurahan"] == 4 and counts["the province with its kabkota"] == 5, counts


def test_a_case_list_page_carries_its_subjects_interventions_and_those_of_persons_merged_into_them(db):
    """A child's own interventions, those of a duplicate merged into it, a household's;
    not withdrawn ones, other programmes', nor those of subjects on another page."""
    from datetime import date, datetime

    from models import CaseloadCase, Household, Intervention, Person
    from sync.accounts import Principal

    admin = Principal(user_id=0, username="admin", role="admin", scope=EVERYTHING)
    with Session(db, expire_on_commit=False) as s:
        home = Household(kk="3375010101200099", head_name="Budi", kelurahan_code=KELURAHAN)
        s.add(home)
        s.flush()
        children = [Person(name=f"Anak {i}", name_key=f"anak {i}", kelurahan_code=KELURAHAN,
                           household_id=home.id) for i in range(3)]
        s.add_all(children)
        s.flush()
        twin = Person(name="Anak 0", name_key="anak 0", kelurahan_code=KELURAHAN,
                      merged_into_id=children[0].id)
        s.add(twin)
        s.flush()
        for subject, kind in [(c.id, "person") for c in children] + [(home.id, "household")]:
            program = "nutrition" if kind == "person" else "sanitation"
            s.add(CaseloadCase(program=program, period=PERIOD, subject_kind=kind, subject_id=subject,
                               kelurahan_code=KELURAHAN, reasons="stunted", detail={}, covered=True))

        def given(kind, program="nutrition", withdrawn=False, **subject):
            row = Intervention(program=program, type=kind, delivered_on=date(2026, 11, 20),
                               kelurahan_code=KELURAHAN, **subject,
                               deleted_at=datetime(2026, 11, 21) if withdrawn else None)
            s.add(row)
            return row

        own = given("pmt", person_id=children[0].id)
        merged = given("referral", person_id=twin.id)
        given("ttd", withdrawn=True, person_id=children[0].id)
        given("counselling", program="antenatal", person_id=children[0].id)
        latrine = given("latrine", program="sanitation", household_id=home.id)
        s.commit()
        first = sorted(c.id for c in children)
        pages = {}
        for program in ("nutrition", "sanitation"):
            rows, after = caseloads.cases(s, principal=admin, code=KECAMATAN, program=program,
                                          period=PERIOD, limit=2)
            while after:
                more, after = caseloads.cases(s, principal=admin, code=KECAMATAN, program=program,
                                              period=PERIOD, cursor=after, limit=2)
                rows += more
            pages[program] = {r["person_id"] or r["household_id"]: [i["id"] for i in r["interventions"]]
                              for r in rows}
    assert pages["nutrition"] == {**{c: [] for c in first},
                                  children[0].id: sorted([own.id, merged.id])}
    assert pages["sanitation"] == {home.id: [latrine.id]}
