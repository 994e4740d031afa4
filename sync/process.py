"""Stored submission -> typed record (measurement, pregnancy screening, sanitation check),
with indicators computed once and stored, attached to the right person or household.

Idempotent: a submission that already has its record is left alone, so `reprocess` can
be run any number of times. An edit (`deprecatedID`) supersedes the record it replaces,
whichever of the two arrives first.

Every submission passes through here, so it speaks SQLAlchemy Core.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlmodel import Session

from core.errors import Conflict, NotFound
from indicators.anthro import SEX_FEMALE, SEX_MALE, age_in_days
from indicators.child import assess_child
from indicators.maternal import screen_woman
from indicators.plausibility import GrowthPoint, check_series
from indicators.sanitation import SANITATION_CHOICES, SanitationAnswers, assess_sanitation
from models.base import utcnow
from sync import entities, touched
from sync.accounts import scope_of_user_id
from sync.apply import Provenance
from sync.entities import EntityBlock
from sync.fields import Answers, ProcessingError, flatten_answers
from sync.identity import (
    HouseholdClaim,
    PersonClaim,
    identify_person,
    person_candidates,
    resolve_household,
    resolve_person,
    settle_identity,
    settle_person,
)
from sync.names import nik_agrees
from sync.queries import records, submissions
from sync.queries.changes import add_change
from sync.queries.records import MEASUREMENT_COLUMNS
from sync.queries.submissions import IntakeContext, PlaceFacts
from sync.scope import Scope
from sync.submission_xml import flatten_leaves, safe_parse

log = logging.getLogger("posyandu.process")

_SEX_CODES = {"male": SEX_MALE, "female": SEX_FEMALE}  # the forms' values -> WHO codes
_WHO_MEASURE = {"lying": "L", "standing": "H"}
PREGNANCY_MAX_DAYS = 300  # an "ongoing" pregnancy first seen longer ago than this has ended
_SANITATION_FIELDS = ("latrine_access", "latrine_type", "waste_disposal", "handwashing_soap",
                      "drinking_water_source", "water_treated", "waste_bin", "wastewater_drain")


@dataclass
class SubmissionRef:
    """The columns of a stored submission that processing needs."""

    id: int
    form_id: str
    form_version: str
    instance_id: str
    deprecated_id: str | None
    submitter_id: int | None
    content_type: str
    content: bytes
    received_at: datetime
    attempts: int

    @classmethod
    def load(cls, session: Session, submission_id: int) -> SubmissionRef | None:
        row = submissions.load(session, submission_id)
        return cls(**{name: row[name] for name in cls.__dataclass_fields__}) if row else None


def answers_of(submission: SubmissionRef) -> Answers:
    if submission.content_type == "application/json":
        return Answers(flatten_answers(json.loads(submission.content)))
    return Answers(flatten_leaves(safe_parse(submission.content)))


def _place(session: Session, answers: Answers, known: PlaceFacts) -> tuple[str, int | None]:
    """The kelurahan and posyandu a record belongs to, checked (`known`: the facts the
    submission's context holds, looked up again only if these answers name another)."""
    code = answers.kelurahan_code()
    posyandu_id = answers.record_id("posyandu_id")
    if (known.kelurahan_code, known.posyandu_id) != (code, posyandu_id):
        known = submissions.place_facts(session, code, posyandu_id)
    level, posyandu_kelurahan = known.level, known.posyandu_kelurahan
    if level not in ("kelurahan", "desa"):
        raise ProcessingError(f"Unknown kelurahan code {code}.", code="submission.unknown_kelurahan")
    if posyandu_id is not None and not posyandu_kelurahan:
        raise ProcessingError(f"Unknown posyandu id {posyandu_id}.", code="submission.unknown_posyandu")
    if posyandu_id is not None and posyandu_kelurahan != code:
        raise ProcessingError(f"Posyandu {posyandu_id} is in kelurahan {posyandu_kelurahan}, "
                              f"not {code}.", code="submission.posyandu_elsewhere")
    return code, posyandu_id


def _not_after(day: date | None, limit: date, name: str) -> None:
    if day is not None and day > limit:
        raise ProcessingError(f"'{name}' ({day}) is in the future.", code="submission.future_date")


def _household_by_kk(session, a: Answers, kelurahan: str, provenance) -> dict | None:
    kk = a.household_kk()
    if not kk:
        return None
    return resolve_household(session, HouseholdClaim(registry_id=None, kk=kk,
                                                     kelurahan_code=kelurahan), provenance)


def _entity_ids(session: Session, entity: EntityBlock | None, dataset: str,
                registry_id: str | None) -> tuple[str | None, str | None, bool]:
    """(registry id, new id, versioned) of a form's subject with its ODK entity block:
    an update names the record (its fields were applied already, sync.entities); a
    create gives the id a new record gets (unless identity finds it registered)."""
    if entity is None or entity.dataset != dataset:
        return registry_id, None, False
    if entity.update and (not entity.create or entities.exists(session, entity)):
        return registry_id or entity.id, None, True
    if entities.exists(session, entity):  # the same create again (another instance)
        return entity.id, None, False
    return registry_id, entity.id, False


def _anthropometry(session: Session, submission: SubmissionRef, a: Answers,
                   provenance: Provenance, place: PlaceFacts,
                   entity: EntityBlock | None = None) -> dict:
    kelurahan, posyandu_id = _place(session, a, place)
    measured_on = a.day("measured_on", required=True)
    birth_date = a.day("child_birth_date")
    _not_after(measured_on, submission.received_at.date(), "measured_on")
    if birth_date and birth_date > measured_on:
        raise ProcessingError("The birth date is after the measurement date.",
                              code="submission.birth_after_measurement")
    household = _household_by_kk(session, a, kelurahan, provenance)
    household_id = household["id"] if household else None
    flags = []
    mother_name, mother_nik = a.text("mother_name"), a.nik("mother_nik")
    if mother_nik and not nik_agrees(mother_nik, sex="female"):
        mother_nik = None
        flags.append("mother_nik_inconsistent")
    child_sex = a.choice("child_sex", ("male", "female"))
    child_nik = a.nik("child_nik")
    if child_nik and not nik_agrees(child_nik, birth_date=birth_date, sex=child_sex):
        child_nik = None  # e.g. the mother's NIK typed for the child: not identity evidence
        flags.append("child_nik_inconsistent")
    registry_id, new_id, versioned = _entity_ids(session, entity, "children",
                                                 a.text("child_id", max_length=36))
    child_claim = PersonClaim(
        registry_id=registry_id, nik=child_nik,
        name=a.text("child_name", required=True), kelurahan_code=kelurahan,
        sex=child_sex, birth_date=birth_date, posyandu_id=posyandu_id, household_id=household_id,
        mother_name=mother_name, mother_nik=mother_nik, household_kk=household and household["kk"],
        new_id=new_id, versioned=versioned)
    mother_claim = PersonClaim(
        registry_id=None, nik=mother_nik, name=mother_name or "", kelurahan_code=kelurahan,
        sex="female", posyandu_id=posyandu_id, household_id=household_id)
    # Child and mother candidates in one query (the mother is looked up only when her
    # NIK is given).
    scope = provenance.scope
    candidates = person_candidates(session, child_claim, mother_claim if mother_nik else None)
    mother = None
    if mother_nik:
        mother = settle_identity(session, identify_person(session, mother_claim, scope, candidates,
                                                          score=False),
                                 mother_claim, provenance, role="mother").person
    found = identify_person(session, replace(child_claim, mother_id=mother and mother["id"]),
                            scope, candidates)
    if mother is None and found.target is not None and found.target["mother_id"]:
        mother_id = found.target["mother_id"]  # the mother the registry already knows
    elif mother is not None:
        mother_id = mother["id"]
    elif mother_name:
        mother_id = settle_person(session, None, mother_claim, provenance)["id"]
    else:
        mother_id = None
    resolution = settle_identity(session, found, replace(child_claim, mother_id=mother_id),
                                 provenance, role="child")
    child, known_child = resolution.person, resolution.known
    weight = a.number("weight_kg", low=0.5, high=40)
    lenhei = a.number("length_height_cm", low=38, high=130)
    method = a.choice("measure_method", ("lying", "standing"))
    muac = a.number("muac_cm", low=5, high=40)
    oedema = bool(a.yes_no("oedema"))
    birth = child["birth_date"] or birth_date
    age = age_in_days(birth, measured_on) if birth else None
    assessment = assess_child(_SEX_CODES.get(child["sex"] or ""), age, weight, lenhei,
                              _WHO_MEASURE.get(method or ""), oedema, muac)
    history = candidates.growth_history(session, child["id"]) if known_child else []
    # (a child registered just now has no earlier measurements)
    flags += _series_flags(history, measured_on, weight, assessment.clenhei)
    values = {k: (v.value if hasattr(v, "value") else v)
              for k, v in assessment.as_dict().items() if k in MEASUREMENT_COLUMNS}
    values.update(
        submission_id=submission.id, person_id=child["id"], kelurahan_code=kelurahan,
        posyandu_id=posyandu_id, measured_on=measured_on, age_days=age, weight_kg=weight,
        length_height_cm=lenhei, measure_method=method, muac_cm=muac, oedema=oedema,
        plausibility_flags=";".join(flags), is_current=True, created_at=utcnow())
    if any(day == measured_on for day, _, _ in history):
        _same_day(session, submission, values, provenance)
    return values


def _series_flags(history: list, measured_on: date, weight: float | None,
                  clenhei: float | None) -> list[str]:
    """Longitudinal plausibility against the child's other current measurements
    ((measured_on, weight_kg, clenhei) each: length/height drop, implausible weight
    change). Stored as flags, never corrected."""
    if not history:
        return []
    points = [GrowthPoint(day.toordinal(), w, c) for day, w, c in history]
    points.append(GrowthPoint(measured_on.toordinal(), weight, clenhei))
    new = len(points) - 1
    return sorted({flag.code for flag in check_series(points) if flag.index == new})


def _pregnancy_id(session: Session, woman_id: str, kelurahan: str, screened_on: date,
                  weeks: int | None) -> int:
    """The woman's ongoing pregnancy, or a new one (conception estimated from weeks)."""
    since = screened_on - timedelta(days=PREGNANCY_MAX_DAYS)
    existing = records.ongoing_pregnancy(session, woman_id, since)
    if existing is not None:
        return existing
    return records.add_pregnancy(session, {
        "woman_id": woman_id, "kelurahan_code": kelurahan, "first_seen_on": screened_on,
        "estimated_conception_on": screened_on - timedelta(weeks=weeks) if weeks else None,
        "status": "ongoing", "created_at": utcnow()})


def _pregnancy_screening(session: Session, submission: SubmissionRef, a: Answers,
                         provenance: Provenance, place: PlaceFacts,
                         entity: EntityBlock | None = None) -> dict:
    kelurahan, posyandu_id = _place(session, a, place)
    screened_on = a.day("screened_on", required=True)
    _not_after(screened_on, submission.received_at.date(), "screened_on")
    household = _household_by_kk(session, a, kelurahan, provenance)
    birth_date = a.day("woman_birth_date")
    woman_nik = a.nik("woman_nik")
    if woman_nik and not nik_agrees(woman_nik, birth_date=birth_date, sex="female"):
        woman_nik = None
    registry_id, new_id, versioned = _entity_ids(session, entity, "women",
                                                 a.text("woman_id", max_length=36))
    woman = resolve_person(session, PersonClaim(
        registry_id=registry_id, nik=woman_nik,
        name=a.text("woman_name", required=True), kelurahan_code=kelurahan, sex="female",
        birth_date=birth_date, posyandu_id=posyandu_id,
        household_id=household["id"] if household else None,
        household_kk=household and household["kk"], new_id=new_id, versioned=versioned),
        provenance, role="woman")
    pregnant = bool(a.yes_no("pregnant"))
    born = woman["birth_date"] or birth_date
    age_years = None if born is None else (screened_on - born).days / 365.25
    values = dict(
        gestational_age_weeks=a.integer("gestational_age_weeks", low=1, high=45) if pregnant else None,
        muac_cm=a.number("muac_cm", low=10, high=50), hb_g_dl=a.number("hb_g_dl", low=3, high=20),
        height_cm=a.number("height_cm", low=100, high=200),
        weight_kg=a.number("weight_kg", low=20, high=200))
    result = screen_woman(pregnant=pregnant, age_years=age_years, height_cm=values["height_cm"],
                          weight_kg=values["weight_kg"], lila_cm=values["muac_cm"],
                          hb_g_dl=values["hb_g_dl"])
    values.update(
        pregnancy_id=_pregnancy_id(session, woman["id"], kelurahan, screened_on,
                                   values["gestational_age_weeks"]) if pregnant else None,
        submission_id=submission.id, woman_id=woman["id"], kelurahan_code=kelurahan,
        posyandu_id=posyandu_id, screened_on=screened_on, pregnant=pregnant,
        age_years=None if age_years is None else int(age_years), bmi=result.bmi,
        kek=result.kek, anaemia=result.anaemic,
        anaemia_severity=None if result.anaemia is None else str(result.anaemia.value),
        risk_age_under_20=result.too_young, risk_age_over_35=result.too_old,
        risk_short_stature=result.short_stature, risk_low_bmi=result.low_bmi,
        catin=None if pregnant else a.yes_no("catin"),
        planned_marriage_date=None if pregnant else a.day("planned_marriage_date"),
        is_current=True, created_at=utcnow())
    return values


def _sanitation_check(session: Session, submission: SubmissionRef, a: Answers,
                      provenance: Provenance, place: PlaceFacts,
                      entity: EntityBlock | None = None) -> dict:
    kelurahan, _ = _place(session, a, place)
    checked_on = a.day("checked_on", required=True)
    _not_after(checked_on, submission.received_at.date(), "checked_on")
    registry_id, new_id, versioned = _entity_ids(session, entity, "households",
                                                 a.text("household_id", max_length=36))
    household = resolve_household(session, HouseholdClaim(
        registry_id=registry_id, kk=a.household_kk(),
        kelurahan_code=kelurahan, head_name=a.text("head_name"), address=a.text("address"),
        rt=a.text("rt", max_length=8), rw=a.text("rw", max_length=8), new_id=new_id,
        versioned=versioned), provenance)
    answers = {name: a.choice(name, list(SANITATION_CHOICES[name])) for name in _SANITATION_FIELDS}
    result = assess_sanitation(SanitationAnswers(**answers),
                               rural=kelurahan.split(".")[-1].startswith("2"))
    return dict(
        submission_id=submission.id, household_id=household["id"], kelurahan_code=kelurahan,
        checked_on=checked_on, latrine_access=answers["latrine_access"],
        latrine_type=answers["latrine_type"], waste_disposal=answers["waste_disposal"],
        handwashing_soap=a.yes_no("handwashing_soap"),
        drinking_water_source=answers["drinking_water_source"],
        water_treated=answers["water_treated"], waste_bin=a.yes_no("waste_bin"),
        wastewater_drain=answers["wastewater_drain"], stop_babs=result.stop_babs,
        ctps=result.ctps, pamm_rt=result.pamm_rt, ps_rt=result.ps_rt, plc_rt=result.plc_rt,
        jamban_sehat=result.jamban_sehat, sanitasi_layak=result.sanitasi_layak,
        air_minum_layak=result.improved_drinking_water, is_current=True, created_at=utcnow())


# The registry subject of each form's record (what its entity block is about).
PROCESSORS: dict[str, Callable[..., dict]] = {
    "anthropometry": _anthropometry,
    "pregnancy_screening": _pregnancy_screening,
    "sanitation_check": _sanitation_check,
}


def _touch(session: Session, form_id: str, subject_id: str | None) -> None:
    """The caseloads follow the person or household a record belongs to (sync.touched)."""
    kind = "households" if records.SUBJECT_COLUMN[form_id] == "household_id" else "persons"
    touched.mark(session, **{kind: [subject_id]})


def record_change(session: Session, form_id: str, submission_id: int, *, version: int,
                  op: str = "upsert", place: tuple[str, int | None] | None = None) -> None:
    """A change-log row for a submission's record (its feed id is the submission's id):
    phones and integrations pull measurements, screenings and sanitation checks through
    the same feed as the registry (sync.offline). `op` delete: it no longer counts."""
    if place is None:
        place = records.place_of(session, form_id, submission_id)
        if place is None:
            return
    add_change(session, dict(entity_type=records.RECORD_ENTITIES[form_id],
                             entity_id=str(submission_id), version=version, op=op,
                             kelurahan_code=place[0], posyandu_id=place[1], changed_at=utcnow()))


def _mark_superseded(session: Session, form_id: str, submission_id: int) -> None:
    _touch(session, form_id, records.subject_id_of(session, form_id, submission_id))
    records.mark_not_current(session, form_id, submission_id)
    submissions.set_values(session, submission_id, status="superseded")
    record_change(session, form_id, submission_id, version=2, op="delete")


def _supersede_edited(session: Session, submission: SubmissionRef) -> int | None:
    """This submission edits `deprecated_id`: that one's record is no longer current.

    Only the account that sent a submission can supersede it (Collect edits on the
    phone that sent the form); an edit naming someone else's submission fails."""
    old = submissions.sender_of(session, submission.form_id, submission.deprecated_id)
    if old is None:
        return None  # the original has not arrived yet; it is superseded when it does
    if old.submitter_id != submission.submitter_id:
        raise ProcessingError(f"deprecatedID {submission.deprecated_id} is a submission sent by "
                              "another account; only its sender can edit it.",
                              code="submission.edit_not_yours")
    _mark_superseded(session, submission.form_id, old.id)
    return old.id


def _correct_by_edit(session: Session, submission: SubmissionRef, answers: Answers,
                     edited: int, provenance: Provenance) -> EntityBlock | None:
    """An edit's corrections of its subject, through the versioned write
    (sync.entities.apply_edit); None when the replaced submission has no record."""
    subject = records.subject_id_of(session, submission.form_id, edited)
    old = SubmissionRef.load(session, edited)
    if subject is None or old is None:
        return None
    return entities.apply_edit(session, form_id=submission.form_id, subject_id=subject,
                               old_answers=answers_of(old), answers=answers,
                               edited_id=edited, edited_at=old.received_at, provenance=provenance,
                               submission_id=submission.id)


def process_stored(session: Session, submission: SubmissionRef, answers: Answers, *,
                   scope: Scope, context: IntakeContext, fresh: bool = True) -> str:
    """The record of a stored submission, the edit it makes, and whether a later edit
    already replaced it; returns the submission's status ("processed" or "superseded").

    `context`: what was known of the submission when it was stored (or reprocessed);
    `fresh`: stored in this transaction, so it has no record yet (reprocessing looks).
    No savepoint: if it raises, the unit of work rolls the transaction back and keeps
    the submission as failed (sync.unit_of_work), so the registry is never half-written.
    """
    form_id = submission.form_id
    if form_id not in PROCESSORS:
        raise ProcessingError(f"No processor for form {form_id}.", code="submission.no_processor")
    edited = None
    if submission.deprecated_id:
        # First, so that the record being replaced is not the edit's growth history.
        edited = _supersede_edited(session, submission)
    if fresh or not records.has_record(session, form_id, submission.id):
        provenance = Provenance(actor_id=submission.submitter_id, submission_id=submission.id,
                                reason=f"submission:{form_id}", scope=scope)
        entity = entities.entity_block(submission.content, submission.content_type)
        if entity is not None and entity.update and (not entity.create
                                                      or entities.exists(session, entity)):
            try:
                entities.apply_update(session, submission_id=submission.id, form_id=form_id,
                                      form_version=submission.form_version, answers=answers,
                                      block=entity, provenance=provenance,
                                      device_id=context_device(submission))
            except entities.Held as held:
                # Kept, visible, and applied when its predecessor arrives (in order).
                submissions.set_values(session, submission.id, status="held",
                                       error=f"waiting: {held}", processed_at=None)
                return "held"
            entity = replace(entity, create=False)
        elif edited is not None and entity is None:
            entity = _correct_by_edit(session, submission, answers, edited, provenance)
        values = PROCESSORS[form_id](session, submission, answers, provenance, context.place,
                                     entity=entity)
        records.add_record(session, form_id, values)
        subject = values[records.SUBJECT_COLUMN[form_id]]
        _touch(session, form_id, subject)
        record_change(session, form_id, submission.id, version=1,
                      place=(values["kelurahan_code"], values.get("posyandu_id")))
        if entity is not None:
            if entity.create:
                entities.record_create(session, submission_id=submission.id, form_id=form_id,
                                       form_version=submission.form_version, answers=answers,
                                       block=entity, subject_id=subject, provenance=provenance)
            _release_held(session, entity.id, skip=submission.id)
    if context.edited_by is not None:  # the edit arrived before the original
        _mark_superseded(session, form_id, submission.id)
        return "superseded"
    return "processed"


_MEASURED = ("weight_kg", "length_height_cm", "muac_cm", "oedema", "measure_method")


def _same_day(session: Session, submission: SubmissionRef, values: dict,
              provenance: Provenance) -> None:
    """Another submission measured the same child on the same day. The same values
    again: one measurement sent twice, counted once (this one is kept, not current,
    flagged). Different values: a conflict a person resolves (which one is right);
    until then both carry its id and the caseloads count neither. Asked only when the
    child's current measurements (read for the plausibility checks) include that day."""
    from sync.offline import open_measurement_conflict

    others = records.same_day_measurements(session, values["person_id"], values["measured_on"],
                                           submission.id)
    if not others:
        return
    first = others[0]
    mine = tuple(values.get(name) for name in _MEASURED)
    theirs = (first.weight_kg, first.length_height_cm, first.muac_cm, bool(first.oedema),
              first.measure_method)
    if mine == theirs and first.conflict_id is None:
        values["is_current"] = False
        values["plausibility_flags"] = ";".join(
            filter(None, [values.get("plausibility_flags"), "same_day_duplicate"]))
        return
    conflict_id = open_measurement_conflict(
        session, person_id=values["person_id"], kelurahan_code=values["kelurahan_code"],
        posyandu_id=values.get("posyandu_id"), current_submission=first.submission_id,
        current=dict(zip(_MEASURED, theirs, strict=True)), incoming_submission=submission.id,
        incoming=dict(zip(_MEASURED, mine, strict=True)), incoming_by=provenance.actor_id)
    values["conflict_id"] = conflict_id
    if first.conflict_id is None:
        records.set_measurement_conflict(session, [first.submission_id], conflict_id)
        record_change(session, "anthropometry", first.submission_id, version=2)
    touched.mark(session, persons=[values["person_id"]])


def context_device(submission: SubmissionRef) -> str | None:
    return getattr(submission, "device_id", None)


def _release_held(session: Session, entity_id: str, *, skip: int) -> None:
    """Process the submissions held for this entity whose predecessor has now arrived,
    oldest base first; each that applies may release the next (branch order)."""
    tried = {skip}
    while True:
        # Asked again each time: one released may have released others in its turn.
        waiting = [i for i in entities.held_waiting_on(session, entity_id) if i not in tried]
        if not waiting:
            return
        submission_id = waiting[0]
        tried.add(submission_id)
        held = SubmissionRef.load(session, submission_id)
        answers = answers_of(held)
        context = submissions.intake_context(
            session, form_id=held.form_id, version=held.form_version,
            instance_id=held.instance_id, submitter_id=held.submitter_id,
            kelurahan_code=answers.text("kelurahan_code", max_length=13),
            posyandu_id=answers.record_id("posyandu_id"))
        if context is None:
            continue
        status = process_stored(session, held, answers,
                                scope=scope_of_user_id(session, held.submitter_id),
                                context=context, fresh=True)
        if status != "held":
            submissions.set_values(session, submission_id, status=status, error=None,
                                   processed_at=utcnow())


@dataclass
class ReprocessSubmission:
    """A unit of work (sync.unit_of_work): turn an already stored submission into its
    record again (idempotent: one that has its record keeps it). If that fails, the
    submission is marked failed with the reason; it stays stored.

    Registry ids typed on the phone count only for persons and households the submitter
    may see, so the submitter's scope is looked up. `visible`: checked first with the
    transaction's session (e.g. the caller's scope), raising if it may not be touched."""

    submission_id: int
    visible: Callable[[Session, int], object] | None = None
    device_token: str | None = None

    def store(self, tx) -> _Reprocessing:
        if self.visible is not None:
            self.visible(tx.session, self.submission_id)
        submission = SubmissionRef.load(tx.session, self.submission_id)
        if submission is None:
            raise NotFound(f"No submission {self.submission_id}.", code="submission.not_found")
        if not submission.content:  # purged after its retention period (sync.retention)
            raise Conflict(f"Submission {self.submission_id}'s raw content was purged; its "
                           "records stay as they are.", code="submission.purged")
        return _Reprocessing(submission)


@dataclass
class _Reprocessing:
    submission: SubmissionRef

    def process(self, tx) -> str:
        session, submission = tx.session, self.submission
        answers = answers_of(submission)
        context = submissions.intake_context(
            session, form_id=submission.form_id, version=submission.form_version,
            instance_id=submission.instance_id, submitter_id=submission.submitter_id,
            kelurahan_code=answers.text("kelurahan_code", max_length=13),
            posyandu_id=answers.record_id("posyandu_id"))
        if context is None:
            raise ProcessingError(f"Form {submission.form_id} version {submission.form_version} "
                                  "is no longer on this server.", code="submission.no_form")
        status = process_stored(session, submission, answers,
                                scope=scope_of_user_id(session, submission.submitter_id),
                                context=context, fresh=False)
        self._mark(session, status, None)
        return status

    def failed(self, tx, message: str) -> str:
        self._mark(tx.session, "failed", message)
        return "failed"

    def _mark(self, session: Session, status: str, error: str | None) -> None:
        submissions.set_values(session, self.submission.id, status=status, error=error,
                               attempts=self.submission.attempts + 1, processed_at=utcnow())


def reprocess(engine, *, statuses: tuple[str, ...] = ("failed", "received"),
              ids: list[int] | None = None, limit: int | None = None,
              group: int = 16) -> dict[str, int]:
    """Retry stored submissions that are not processed yet, `group` per transaction
    (sync.unit_of_work). Idempotent. Returns {status: count}."""
    from sync.unit_of_work import UnitOfWork

    unit_of_work = UnitOfWork(engine)
    chosen = unit_of_work.read(lambda session: submissions.ids_to_reprocess(
        session, statuses=statuses, ids=ids, limit=limit))
    counts: dict[str, int] = {}
    for start in range(0, len(chosen), group):
        batch = [ReprocessSubmission(submission_id) for submission_id in chosen[start:start + group]]
        for status, error in unit_of_work.run(batch):
            if getattr(error, "code", None) == "submission.purged":
                status, error = "purged", None  # past its retention period: left as it is
            if error is not None:
                raise error
            counts[status] = counts.get(status, 0) + 1
    return counts
