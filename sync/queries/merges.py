"""The records a merge moves from the absorbed person or household to the survivor,
and back on unmerge (measurements, screenings, pregnancies, sanitation checks)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlmodel import Session

from models import Measurement, Person, Pregnancy, PregnancyScreening, SanitationCheck

PERSON = Person.__table__
# (table, the column naming the subject) of the records each entity owns.
OWNED = {
    "person": ((Measurement.__table__, "person_id"), (PregnancyScreening.__table__, "woman_id"),
               (Pregnancy.__table__, "woman_id")),
    "household": ((SanitationCheck.__table__, "household_id"),),
}
# Registry rows that link to the entity (changed through sync.apply, with versions).
LINKED = {"person": "mother_id", "household": "household_id"}
_BY_SUBMISSION = {"measurement", "pregnancy_screening", "sanitation_check"}


def owned_ids(session: Session, entity: str, subject_id: str) -> dict[str, list[int]]:
    out = {}
    for table, column in OWNED[entity]:
        ids = session.execute(select(table.c.id).where(table.c[column] == subject_id)
                              .order_by(table.c.id)).scalars().all()
        out[table.name] = list(ids)
    return out


def move(session: Session, entity: str, ids: dict[str, list[int]], *, to: str,
         only_from: str | None = None) -> dict[str, list[int]]:
    """Point these records at `to` (only those still at `only_from`, if given); returns
    the ids moved."""
    moved = {}
    for table, column in OWNED[entity]:
        wanted = ids.get(table.name) or []
        if not wanted:
            moved[table.name] = []
            continue
        condition = [table.c.id.in_(wanted)]
        if only_from is not None:
            condition.append(table.c[column] == only_from)
        present = session.execute(select(table.c.id).where(*condition)).scalars().all()
        if present:
            session.execute(update(table).where(table.c.id.in_(present)).values({column: to}))
        moved[table.name] = sorted(present)
    return moved


def records_of_submissions(session: Session, entity: str, submission_ids: list[int]
                           ) -> dict[str, list[int]]:
    """The records (of the tables a submission makes) that these submissions made."""
    out = {}
    for table, _ in OWNED[entity]:
        if table.name in _BY_SUBMISSION and submission_ids:
            out[table.name] = list(session.execute(select(table.c.id).where(
                table.c.submission_id.in_(submission_ids))).scalars().all())
    return out


def linked_persons(session: Session, entity: str, subject_id: str) -> list[dict]:
    """Live persons that link to the subject (children of a mother, household members)."""
    column = PERSON.c[LINKED[entity]]
    return [dict(r) for r in session.execute(select(PERSON).where(
        column == subject_id, PERSON.c.merged_into_id.is_(None)).order_by(PERSON.c.id)).mappings()]


def persons_by_id(session: Session, ids: list[str]) -> list[dict]:
    if not ids:
        return []
    return [dict(r) for r in session.execute(select(PERSON).where(PERSON.c.id.in_(ids))
                                             .order_by(PERSON.c.id)).mappings()]
