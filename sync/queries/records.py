"""Typed records made from submissions: measurements, pregnancy screenings (and the
pregnancies they belong to), sanitation checks."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from sqlalchemy import bindparam, insert, null, select, update
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
#: the column naming the person or household each form's record is about
SUBJECT_COLUMN = {"anthropometry": "person_id", "pregnancy_screening": "woman_id",
                  "sanitation_check": "household_id"}
_SUBJECT_OF = {form: Prepared(select(t.c[SUBJECT_COLUMN[form]]).where(
    t.c.submission_id == bindparam("submission_id"))) for form, t in RECORD_TABLES.items()}
_HISTORY = Prepared(select(MEASUREMENT.c.measured_on, MEASUREMENT.c.weight_kg,
                           MEASUREMENT.c.clenhei).where(
    MEASUREMENT.c.person_id == bindparam("person_id"), MEASUREMENT.c.is_current))
_ONGOING_PREGNANCY = Prepared(select(PREGNANCY.c.id).where(
    PREGNANCY.c.woman_id == bindparam("woman_id"), PREGNANCY.c.status == "ongoing",
    PREGNANCY.c.first_seen_on >= bindparam("since")).order_by(PREGNANCY.c.id.desc()).limit(1))
_INSERT_PREGNANCY = Prepared(insert(PREGNANCY).returning(PREGNANCY.c.id))


# The change log's entity type of each form's record (the sync feed's `entity`).
RECORD_ENTITIES = {"anthropometry": "measurement", "pregnancy_screening": "pregnancy_screening",
                   "sanitation_check": "sanitation_check"}
ENTITY_TABLES = {RECORD_ENTITIES[form]: table for form, table in RECORD_TABLES.items()}
_PLACE_OF = {form: Prepared(select(t.c.kelurahan_code,
                                   t.c.posyandu_id if "posyandu_id" in t.c
                                   else null().label("posyandu_id"))
                            .where(t.c.submission_id == bindparam("submission_id")))
             for form, t in RECORD_TABLES.items()}
_SAME_DAY = Prepared(select(MEASUREMENT.c.submission_id, MEASUREMENT.c.weight_kg,
                            MEASUREMENT.c.length_height_cm, MEASUREMENT.c.muac_cm,
                            MEASUREMENT.c.oedema, MEASUREMENT.c.measure_method,
                            MEASUREMENT.c.conflict_id).where(
    MEASUREMENT.c.person_id == bindparam("person_id"),
    MEASUREMENT.c.measured_on == bindparam("measured_on"), MEASUREMENT.c.is_current,
    MEASUREMENT.c.submission_id != bindparam("submission_id")).order_by(MEASUREMENT.c.id))


def subject_id_of(session: Session, form_id: str, submission_id: int) -> str | None:
    """The id of the person or household a submission's record is about."""
    return _SUBJECT_OF[form_id].scalar(session, {"submission_id": submission_id})


def place_of(session: Session, form_id: str, submission_id: int) -> tuple[str, int | None] | None:
    """(kelurahan_code, posyandu_id) of a submission's record, or None."""
    row = _PLACE_OF[form_id].first(session, {"submission_id": submission_id})
    return None if row is None else (row[0], row[1])


def same_day_measurements(session: Session, person_id: str, measured_on: date,
                          submission_id: int) -> list:
    """The person's other current measurements of that day (oldest first)."""
    return _SAME_DAY.all(session, {"person_id": person_id, "measured_on": measured_on,
                                   "submission_id": submission_id})


def set_measurement_conflict(session: Session, submission_ids: list[int],
                             conflict_id: int | None) -> None:
    session.execute(update(MEASUREMENT).where(MEASUREMENT.c.submission_id.in_(submission_ids))
                    .values(conflict_id=conflict_id))


def has_record(session: Session, form_id: str, submission_id: int) -> bool:
    return _RECORD_FOR[form_id].first(session, {"submission_id": submission_id}) is not None


def add_record(session: Session, form_id: str, values: dict) -> None:
    """Queued (nothing reads its outcome): sent with the next statement that must see it."""
    _INSERT_RECORD[form_id].defer(session, values)


def mark_not_current(session: Session, form_id: str, submission_id: int) -> None:
    _NOT_CURRENT[form_id].run(session, {"_submission_id": submission_id})


def growth_history(session: Session, person_id: str) -> list[GrowthRecord]:
    """The person's current measurements."""
    return [GrowthRecord(*row) for row in _HISTORY.all(session, {"person_id": person_id})]


def ongoing_pregnancy(session: Session, woman_id: str, since: date) -> int | None:
    """The latest pregnancy of the woman still ongoing and first seen on or after `since`."""
    return _ONGOING_PREGNANCY.scalar(session, {"woman_id": woman_id, "since": since})


def add_pregnancy(session: Session, values: dict) -> int:
    return _INSERT_PREGNANCY.scalar(session, values)
