"""Identity resolution's SQL: the blocking lookups that find a claim's probable matches,
the decisions, duplicate pairs and merges.

Every blocking branch is one indexed lookup (see tests/integration/foundation/
test_query_plans.py): NIK; kelurahan with a birth-date window (ix_person_kelurahan_birth; the nearest
NEAREST_BORN on each side) and with the day/month swapped; the phonetic name key in the kecamatan with the birth
year (ix_person_block_kelurahan_birth); the mother (by id, by her NIK, by her normalised
name in the kelurahan: ix_person_mother); a newborn placeholder named after the mother
(ix_person_kelurahan_name); the household. UNION ALL rather than OR, as in
sync.queries.persons: a prepared statement's generic plan stays an index plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import bindparam, insert, select, union_all, update
from sqlmodel import Session

from core.statements import Branch, EachOf, Prepared, all_together, in_subquery
from models import DuplicatePair, Household, IdentityDecision, Person, RecordMerge

PERSON = Person.__table__
HOUSEHOLD = Household.__table__
DECISION = IdentityDecision.__table__
PAIR = DuplicatePair.__table__
MERGE = RecordMerge.__table__

_MOTHER = PERSON.alias("mother")
_MOTHERS_BY_NAME = PERSON.alias("named_mother")
_MOTHERS_BY_NIK = PERSON.alias("nik_mother")
_COLUMNS = (*PERSON.c, _MOTHER.c.name.label("mother_name"), _MOTHER.c.nik.label("mother_nik"),
            HOUSEHOLD.c.kk.label("household_kk"))
_FROM = PERSON.outerjoin(_MOTHER, _MOTHER.c.id == PERSON.c.mother_id).outerjoin(
    HOUSEHOLD, HOUSEHOLD.c.id == PERSON.c.household_id)
_LIVE = PERSON.c.merged_into_id.is_(None)
# What scoring a candidate reads of it (sync.identity.row_record), with its scope's
# columns and its age in the registry: few columns, since a claim reads hundreds.
# The name key and phonetic block too: sync.identity_ahead searches the rows it read as
# these branches search the table.
CANDIDATE_COLUMNS = tuple(PERSON.c[name] for name in (
    "id", "name", "sex", "birth_date", "birth_date_estimated", "nik", "kelurahan_code",
    "posyandu_id", "mother_id", "household_id", "created_at", "name_key", "name_block"))
_BRANCHES = (
    (PERSON.c.nik == bindparam("nik"),),
    (PERSON.c.kelurahan_code == bindparam("kelurahan"),
     PERSON.c.birth_date == bindparam("born_swapped")),
    (PERSON.c.name_block == bindparam("block"),
     PERSON.c.kelurahan_code > bindparam("kecamatan_from"),
     PERSON.c.kelurahan_code < bindparam("kecamatan_to"),
     PERSON.c.birth_date >= bindparam("year_from"), PERSON.c.birth_date <= bindparam("year_to")),
    (PERSON.c.mother_id == bindparam("mother_id"),),
    (in_subquery(PERSON.c.mother_id, select(_MOTHERS_BY_NIK.c.id).where(
        _MOTHERS_BY_NIK.c.nik == bindparam("mother_nik"))),),
    (in_subquery(PERSON.c.mother_id, select(_MOTHERS_BY_NAME.c.id).where(
        _MOTHERS_BY_NAME.c.kelurahan_code == bindparam("kelurahan"),
        _MOTHERS_BY_NAME.c.name_key == bindparam("mother_key"))),),
    (PERSON.c.kelurahan_code == bindparam("kelurahan"),
     PERSON.c.name_key == bindparam("mother_key")),
    (PERSON.c.household_id == bindparam("household_id"),),
)
# The person's own columns only: most candidates are ruled out without their mother's
# and household's (`with_family` reads those for the few that are not).
# The birth-date window in the kelurahan, as the NEAREST_BORN persons born nearest the
# claim on each side: in a village that is everyone in the window (a village of 1,300
# has about 20 children born within 45 days of any date), in a dense registry the
# nearest, so that a claim's cost does not grow with the kelurahan (issue #15: 100,000
# children in one kelurahan put 5,000 in every window). A match further off than those
# is still found by its name, NIK, mother or household branch.
NEAREST_BORN = 100
_WINDOW = tuple(
    select(*CANDIDATE_COLUMNS).where(_LIVE, PERSON.c.kelurahan_code == bindparam("kelurahan"),
                                     *side)
    .order_by(order).limit(NEAREST_BORN).subquery(f"born_{name}")
    for name, side, order in (
        ("before", (PERSON.c.birth_date >= bindparam("born_from"),
                    PERSON.c.birth_date <= bindparam("born")), PERSON.c.birth_date.desc()),
        ("after", (PERSON.c.birth_date > bindparam("born"),
                   PERSON.c.birth_date <= bindparam("born_to")), PERSON.c.birth_date.asc())))


def _blocking(*, ids_only: bool) -> Prepared:
    """The blocking statement: every branch and both sides of the window, their
    CANDIDATE_COLUMNS, or (`ids_only`) the ids of the same rows."""
    return Prepared(union_all(
        *(select(*((PERSON.c.id,) if ids_only else CANDIDATE_COLUMNS)).where(_LIVE, *branch)
          for branch in _BRANCHES),
        *(select(side.c.id if ids_only else side) for side in _WINDOW)))


_BLOCKING = _blocking(ids_only=False)
# A group's read ahead (sync.identity_ahead) takes each claim's ids, then every
# distinct row once: the 250 claims of a group in a growing village returned 22,904
# rows that were 382 persons (57,108 of 17,549 in the 100,000-person kelurahan), and
# fetching them was most of the read.
_BLOCKING_IDS = _blocking(ids_only=True)
_CANDIDATES_BY_ID = EachOf(Branch(lambda match: select(*CANDIDATE_COLUMNS).where(
    match(PERSON.c.id), _LIVE)))
_MOTHERS = EachOf(Branch(lambda match: select(PERSON.c.id, PERSON.c.name, PERSON.c.nik).where(
    match(PERSON.c.id))))
_KKS = EachOf(Branch(lambda match: select(HOUSEHOLD.c.id, HOUSEHOLD.c.kk).where(
    match(HOUSEHOLD.c.id))))
# The same, with the mother and household columns, for one person (a pair's side).
_MATCHABLE = Prepared(select(*_COLUMNS).select_from(_FROM).where(PERSON.c.id == bindparam("id")))

BIRTH_WINDOW_DAYS = 45


@dataclass(frozen=True)
class Blocking:
    """What a claim is blocked on (None: not on that)."""

    kelurahan_code: str
    nik: str | None = None
    birth_date: date | None = None
    block: str | None = None  # phonetic name key
    mother_id: str | None = None
    mother_nik: str | None = None
    mother_key: str | None = None  # the mother's normalised name
    household_id: str | None = None


def _kecamatan_range(kelurahan_code: str) -> tuple[str, str]:
    prefix = ".".join(kelurahan_code.split(".")[:3])
    return prefix + ".", prefix + "/"  # '/' follows '.' in ASCII: every code under the prefix


def blocking_params(blocking: Blocking) -> dict:
    """The blocking statement's parameters for one claim."""
    born = blocking.birth_date
    swapped = None
    if born is not None and born.day <= 12 and born.day != born.month:
        try:
            swapped = date(born.year, born.day, born.month)
        except ValueError:
            swapped = None
    kec_from, kec_to = _kecamatan_range(blocking.kelurahan_code)
    params = {
        "nik": blocking.nik, "kelurahan": blocking.kelurahan_code, "born": born,
        "born_from": born and born - timedelta(days=BIRTH_WINDOW_DAYS),
        "born_to": born and born + timedelta(days=BIRTH_WINDOW_DAYS),
        "born_swapped": swapped, "block": blocking.block if born is not None else None,
        "kecamatan_from": kec_from, "kecamatan_to": kec_to,
        "year_from": born and date(born.year, 1, 1), "year_to": born and date(born.year, 12, 31),
        "mother_id": blocking.mother_id, "mother_nik": blocking.mother_nik,
        "mother_key": blocking.mother_key, "household_id": blocking.household_id,
    }
    return params


def blocking_candidates(session: Session, blocking: Blocking) -> list[dict]:
    """Live persons sharing a blocking key with the claim (each once): CANDIDATE_COLUMNS
    of them (`with_family` adds the mother's and household's)."""
    rows: dict[str, dict] = {}
    for row in _BLOCKING.mappings(session, blocking_params(blocking)):
        rows.setdefault(row["id"], row)
    return sorted(rows.values(), key=lambda row: (row["created_at"], row["id"]))


def blocking_id_reads(params: list[dict]) -> list[tuple[Prepared, dict]]:
    """The blocking statement per claim (`blocking_params` of each), the ids of its rows
    alone, for core.statements.all_together (sync.identity_ahead reads a group's in one
    round trip, then their rows with `candidates_read`)."""
    return [(_BLOCKING_IDS, one) for one in params]


def candidates_read(ids: list[str]) -> tuple[EachOf, dict]:
    """The live persons of these ids, CANDIDATE_COLUMNS of them (for all_together)."""
    return _CANDIDATES_BY_ID, {"ids": ids}


def family_reads(mother_ids: list[str], household_ids: list[str]) -> list[tuple]:
    """`with_family`'s two reads: mothers (id, name, nik) and households (id, kk)."""
    return [(_MOTHERS, {"ids": mother_ids}), (_KKS, {"ids": household_ids})]


def with_family(session: Session, rows: list[dict]) -> list[dict]:
    """The rows with their mother's name and NIK and their household's No. KK (None
    where they have none), in one round trip of index lookups."""
    mother_ids = sorted({row["mother_id"] for row in rows if row["mother_id"]})
    household_ids = sorted({row["household_id"] for row in rows if row["household_id"]})
    mothers, kks = {}, {}
    if mother_ids or household_ids:
        found_mothers, found_kks = all_together(session, family_reads(mother_ids,
                                                                      household_ids))
        mothers = {m.id: m for m in found_mothers}
        kks = {h.id: h.kk for h in found_kks}
    out = []
    for row in rows:
        mother = mothers.get(row["mother_id"])
        out.append({**row, "mother_name": mother.name if mother else None,
                    "mother_nik": mother.nik if mother else None,
                    "household_kk": kks.get(row["household_id"])})
    return out


def matchable_person(session: Session, person_id: str) -> dict | None:
    """A person with the mother's name/NIK and household's No. KK (for comparing)."""
    return _MATCHABLE.mapping(session, {"id": person_id})


def live_persons_for_matching(session: Session):
    """Every live person (oldest first) with the columns matching compares, streamed."""
    statement = select(*_COLUMNS).select_from(_FROM).where(_LIVE).order_by(
        PERSON.c.created_at, PERSON.c.id)
    for row in session.execute(statement.execution_options(yield_per=5000)).mappings():
        yield dict(row)


# ---------------------------------------------------------------- decisions

_INSERT_DECISION = Prepared(insert(DECISION).inline())
_DECISIONS_OF = Prepared(select(DECISION).where(DECISION.c.submission_id == bindparam("sid"))
                         .order_by(DECISION.c.id))


def add_decision(session: Session, values: dict) -> None:
    """Queued (nothing reads it back in the transaction)."""
    _INSERT_DECISION.defer(session, values)


def decisions_of_submission(session: Session, submission_id: int) -> list[dict]:
    return _DECISIONS_OF.mappings(session, {"sid": submission_id})


# ---------------------------------------------------------------- pairs

_PAIR = Prepared(select(PAIR).where(PAIR.c.entity == bindparam("entity"),
                                    PAIR.c.a_id == bindparam("a_id"),
                                    PAIR.c.b_id == bindparam("b_id")))
_INSERT_PAIR = Prepared(insert(PAIR).returning(PAIR.c.id))


def ordered(x: str, y: str) -> tuple[str, str]:
    return (x, y) if x < y else (y, x)


def pair_between(session: Session, entity: str, x: str, y: str) -> dict | None:
    a_id, b_id = ordered(x, y)
    return _PAIR.mapping(session, {"entity": entity, "a_id": a_id, "b_id": b_id})


def insert_pair(session: Session, values: dict) -> int:
    return _INSERT_PAIR.scalar(session, values)


_QUEUE_PAIR = Prepared(insert(PAIR).inline())


def queue_pair(session: Session, values: dict) -> None:
    """Queued with the transaction's other writes (nothing reads its id back)."""
    _QUEUE_PAIR.defer(session, values)


def dismissed_pairs(session: Session, entity: str) -> set[tuple[str, str]]:
    """Every dismissed pair of this entity (the batch scan never proposes them again)."""
    rows = session.execute(select(PAIR.c.a_id, PAIR.c.b_id).where(
        PAIR.c.entity == entity, PAIR.c.status == "dismissed")).all()
    return {(a, b) for a, b in rows}


def existing_pairs(session: Session, entity: str) -> set[tuple[str, str]]:
    rows = session.execute(select(PAIR.c.a_id, PAIR.c.b_id).where(PAIR.c.entity == entity)).all()
    return {(a, b) for a, b in rows}


def set_pair(session: Session, pair_id: int, **values) -> None:
    session.execute(update(PAIR).where(PAIR.c.id == pair_id).values(**values))


def get_pair(session: Session, pair_id: int) -> dict | None:
    row = session.execute(select(PAIR).where(PAIR.c.id == pair_id)).mappings().first()
    return dict(row) if row else None


# ---------------------------------------------------------------- merges

def add_merge(session: Session, values: dict) -> int:
    return session.execute(insert(MERGE).returning(MERGE.c.id), values).scalar_one()


def active_merge_of(session: Session, entity: str, absorbed_id: str) -> dict | None:
    """The merge that made `absorbed_id` a tombstone (not undone), if any."""
    row = session.execute(select(MERGE).where(
        MERGE.c.entity == entity, MERGE.c.absorbed_id == absorbed_id,
        MERGE.c.status == "merged").order_by(MERGE.c.id.desc()).limit(1)).mappings().first()
    return dict(row) if row else None


def set_merge(session: Session, merge_id: int, **values) -> None:
    session.execute(update(MERGE).where(MERGE.c.id == merge_id).values(**values))


def later_merges_into(session: Session, entity: str, survivor_id: str) -> list[dict]:
    return [dict(r) for r in session.execute(select(MERGE).where(
        MERGE.c.entity == entity, MERGE.c.survivor_id == survivor_id,
        MERGE.c.status == "merged")).mappings()]


