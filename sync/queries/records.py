"""Typed records made from submissions: measurements, pregnancy screenings (and the
pregnancies they belong to), sanitation checks."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from core.statements import Prepared
from models import Measurement, Pregnancy, PregnancyScreening, SanitationCheck

MEASUREMENT = Measurement.__table__
PREGNANCY = Pregnancy.__table__
# The record table of each form.
RECORD_TABLES = {
    "anthropometry": MEASUREMENT,
    "pregnancy_screening": PregnancyScreening.__table__,
    "sanitation_check": SanitationCheck.__table__,
}
MEASUREMENT_COLUMNS = frozenset(MEASUREMENT.c.keys())


class GrowthRecord(NamedTuple):
    """One current measurement of a person, as plausibility checks read it."""

    measured_on: date
    weight_kg: float | None
    clenhei: float | None


_RECORD_FOR = {form: Prepared(select(t.c.id).where(t.c.submission_id == bindparam("submission_id")))
               for form, t in RECORD_TABLES.items()}
_INSERT_RECORD = {form: Prepared(insert(t).inline()) for form, t in RECORD_TABLES.items()}
_NOT_CURRENT = {form: Prepared(update(t).where(t.c.submission_id == bindparam("_submission_id"))
                               .values(is_current=False)) for form, t in RECORD_TABLES.items()}
_SUBJECT_COLUMNS = {"anthropometry": ("person_id",), "pregnancy_screening": ("woman_id",),
                    "sanitation_check": ("household_id",)}
_SUBJECT_OF = {form: Prepared(select(*(t.c[name] for name in _SUBJECT_COLUMNS[form])).where(
    t.c.submission_id == bindparam("submission_id"))) for form, t in RECORD_TABLES.items()}
_HISTORY = Prepared(select(MEASUREMENT.c.measured_on, MEASUREMENT.c.weight_kg,
                           MEASUREMENT.c.clenhei).where(
    MEASUREMENT.c.person_id == bindparam("person_id"), MEASUREMENT.c.is_current))
_ONGOING_PREGNANCY = Prepared(select(PREGNANCY.c.id).where(
    PREGNANCY.c.woman_id == bindparam("woman_id"), PREGNANCY.c.status == "ongoing",
    PREGNANCY.c.first_seen_on >= bindparam("since")).order_by(PREGNANCY.c.id.desc()).limit(1))
_INSERT_PREGNANCY = Prepared(insert(PREGNANCY).returning(PREGNANCY.c.id))


def has_record(session: Session, form_id: str, submission_id: int) -> bool:
    return _RECORD_FOR[form_id].first(session, {"submission_id": submission_id}) is not None


def add_record(session: Session, form_id: str, values: dict) -> None:
    """Queued (nothing reads its outcome): sent with the next statement that must see it."""
    _INSERT_RECORD[form_id].defer(session, values)


def mark_not_current(session: Session, form_id: str, submission_id: int) -> None:
    _NOT_CURRENT[form_id].run(session, {"_submission_id": submission_id})


def subject_of(session: Session, form_id: str, submission_id: int) -> dict | None:
    """The person or household of a submission's record ({"person_id": ...}), or None."""
    return _SUBJECT_OF[form_id].mapping(session, {"submission_id": submission_id})


def growth_history(session: Session, person_id: str) -> list[GrowthRecord]:
    """The person's current measurements."""
    return [GrowthRecord(*row) for row in _HISTORY.all(session, {"person_id": person_id})]


def ongoing_pregnancy(session: Session, woman_id: str, since: date) -> int | None:
    """The latest pregnancy of the woman still ongoing and first seen on or after `since`."""
    return _ONGOING_PREGNANCY.scalar(session, {"woman_id": woman_id, "since": since})


def add_pregnancy(session: Session, values: dict) -> int:
    return _INSERT_PREGNANCY.scalar(session, values)
