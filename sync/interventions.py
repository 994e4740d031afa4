"""What agencies deliver (issue #16): interventions recorded against a person or a
household, in the recorder's scope and programmes, audited, correctable (PATCH) and
withdrawable (DELETE keeps a tombstone); and the programmes an admin grants to agency
accounts. Every change marks its subject (sync.touched), so the caseload's coverage
follows in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, or_, select
from sqlmodel import Session

from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from indicators.caseload import PROGRAMS
from models import Household, Intervention, Person, User, UserProgram
from models.base import utcnow
from sync import touched
from sync.accounts import Principal, record_audit
from sync.queries import caseloads as q
from sync.scope import Scope, scope_filter

TYPES = ("pmt", "fish_aid", "food_aid", "latrine", "counselling", "rumah_singgah_gizi", "ttd",
         "handwashing", "water", "referral", "other")
RECORDING_ROLES = ("agency", "supervisor", "admin")
FIELDS = ("program", "type", "delivered_on", "person_id", "household_id", "quantity", "unit",
          "notes")


# ---------------------------------------------------------------- programmes of accounts

def programs_of(session: Session, principal: Principal) -> tuple[str, ...]:
    """The programmes whose named cases the caller may read and act on: an agency
    account the ones an admin granted it; every other role all of them (kader and
    supervisor see their posyandu's registry anyway; admins see everything)."""
    if principal.role != "agency":
        return PROGRAMS
    return tuple(q.programs_of(session, principal.user_id))


def require_program(session: Session, principal: Principal, program: str) -> None:
    if program not in PROGRAMS:
        raise InvalidInput(f"program is one of {', '.join(PROGRAMS)} (got {program!r}).",
                           code="caseload.bad_program")
    if program not in programs_of(session, principal):
        raise Forbidden(f"Your account is not granted the programme {program!r}; an admin "
                        "grants programmes to agency accounts.", code="caseload.program_not_granted")


def grant_programs(session: Session, *, user: User, programs: list[str], actor_id: int | None) -> list[str]:
    """Set the programmes of an agency account (replaces the earlier grant); audited."""
    unknown = sorted(set(programs) - set(PROGRAMS))
    if unknown:
        raise InvalidInput(f"Unknown programme(s) {', '.join(unknown)}; programmes are "
                           f"{', '.join(PROGRAMS)}.", code="caseload.bad_program")
    if user.role != "agency":
        raise InvalidInput("Programmes are granted to agency accounts (other roles see every "
                           "programme of their scope).", code="caseload.bad_program")
    before = q.programs_of(session, user.id)
    session.execute(delete(UserProgram).where(UserProgram.user_id == user.id))
    chosen = sorted(set(programs))
    for program in chosen:
        session.add(UserProgram(user_id=user.id, program=program))
    session.flush()
    record_audit(session, actor_id=actor_id, action="user.programs", entity_type="user",
                 entity_id=str(user.id), detail={"before": before, "after": chosen})
    return chosen


# ---------------------------------------------------------------- interventions

def as_dict(row: Intervention) -> dict:
    return {"id": row.id, "program": row.program, "type": row.type,
            "delivered_on": row.delivered_on.isoformat(), "person_id": row.person_id,
            "household_id": row.household_id, "kelurahan_code": row.kelurahan_code,
            "quantity": row.quantity, "unit": row.unit, "notes": row.notes, "agency": row.agency,
            "recorded_by": row.recorded_by, "version": row.version,
            "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat(),
            "withdrawn": row.deleted_at is not None,
            "deleted_at": row.deleted_at.isoformat() if row.deleted_at else None}


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(message, code="intervention.invalid")


def _subject(session: Session, scope: Scope, person_id: str | None,
             household_id: str | None) -> tuple[str | None, str | None, str]:
    """The (survivor of the) person or household, in the caller's scope, and its kelurahan."""
    if (person_id is None) == (household_id is None):
        raise _invalid("Give exactly one of person_id and household_id.")
    model = Person if person_id else Household
    row = session.get(model, person_id or household_id)
    for _ in range(10):  # follow merges to the survivor
        if row is None or not row.merged_into_id:
            break
        row = session.get(model, row.merged_into_id)
    posyandu = row.posyandu_id if row is not None and model is Person else None
    if row is None or row.merged_into_id or not scope.covers_kelurahan(row.kelurahan_code, posyandu):
        raise NotFound(f"No {'person' if person_id else 'household'} "
                       f"{person_id or household_id} in your scope.",
                       code="intervention.subject_not_found")
    return (row.id, None, row.kelurahan_code) if person_id else (None, row.id, row.kelurahan_code)


def _check_values(values: dict) -> None:
    if values.get("type") not in TYPES:
        raise _invalid(f"type is one of {', '.join(TYPES)}.")
    day = values.get("delivered_on")
    if not isinstance(day, date):
        raise _invalid("delivered_on is a date (YYYY-MM-DD).")
    if day > date.today():
        raise _invalid("delivered_on is in the future.")
    quantity = values.get("quantity")
    if quantity is not None and (not isinstance(quantity, (int, float)) or quantity < 0
                                 or quantity > 1e6):
        raise _invalid("quantity is a number from 0 to 1,000,000.")
    for name, limit in (("unit", 32), ("notes", 1000)):
        text = values.get(name)
        if text is not None and (not isinstance(text, str) or len(text) > limit or "\x00" in text):
            raise _invalid(f"{name} is text of at most {limit} characters.")


def _may_record(principal: Principal) -> None:
    if principal.role not in RECORDING_ROLES:
        raise Forbidden("Interventions are recorded by agency, supervisor and admin accounts.",
                        code="auth.role")


def _touch(session: Session, row: Intervention) -> None:
    touched.mark(session, persons=[row.person_id], households=[row.household_id])


def record(session: Session, *, principal: Principal, values: dict) -> Intervention:
    _may_record(principal)
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise _invalid(f"Unknown field(s): {', '.join(unknown)}.")
    require_program(session, principal, values.get("program"))
    _check_values(values)
    person_id, household_id, kelurahan = _subject(session, principal.scope,
                                                  values.get("person_id"), values.get("household_id"))
    now = utcnow()
    row = Intervention(program=values["program"], type=values["type"],
                       delivered_on=values["delivered_on"], person_id=person_id,
                       household_id=household_id, kelurahan_code=kelurahan,
                       quantity=values.get("quantity"), unit=values.get("unit"),
                       notes=values.get("notes"), agency=principal.agency,
                       recorded_by=principal.user_id, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    record_audit(session, actor_id=principal.user_id, action="intervention.create",
                 entity_type="intervention", entity_id=str(row.id), detail=as_dict(row))
    _touch(session, row)
    return row


def _visible_query(session: Session, principal: Principal):
    where = [scope_filter(principal.scope, Intervention.kelurahan_code)]
    if principal.role == "agency":
        where.append(Intervention.program.in_(programs_of(session, principal) or ("",)))
    return where


def get_or_raise(session: Session, *, principal: Principal, intervention_id: int) -> Intervention:
    row = session.execute(select(Intervention).where(
        Intervention.id == intervention_id, *_visible_query(session, principal))).scalars().first()
    if row is None:
        raise NotFound(f"No intervention {intervention_id} in your scope.",
                       code="intervention.not_found")
    return row


@dataclass(frozen=True)
class Filters:
    program: str | None = None
    person_id: str | None = None
    household_id: str | None = None
    kelurahan_code: str | None = None
    delivered_from: date | None = None
    delivered_to: date | None = None
    include_withdrawn: bool = False


def list_interventions(session: Session, *, principal: Principal, filters: Filters, limit: int,
                       offset: int) -> tuple[list[Intervention], int]:
    from sqlalchemy import func

    where = _visible_query(session, principal)
    f = filters
    if f.program:
        where.append(Intervention.program == f.program)
    if f.person_id:
        where.append(Intervention.person_id == f.person_id)
    if f.household_id:
        where.append(Intervention.household_id == f.household_id)
    if f.kelurahan_code:
        where.append(or_(Intervention.kelurahan_code == f.kelurahan_code,
                         Intervention.kelurahan_code.startswith(f.kelurahan_code + ".")))
    if f.delivered_from:
        where.append(Intervention.delivered_on >= f.delivered_from)
    if f.delivered_to:
        where.append(Intervention.delivered_on <= f.delivered_to)
    if not f.include_withdrawn:
        where.append(Intervention.deleted_at.is_(None))
    total = session.execute(select(func.count()).select_from(Intervention).where(*where)).scalar_one()
    rows = session.execute(select(Intervention).where(*where).order_by(Intervention.id)
                           .limit(limit).offset(offset)).scalars().all()
    return list(rows), total


def _may_change(principal: Principal, row: Intervention) -> None:
    _may_record(principal)
    if principal.role == "agency" and row.agency != principal.agency:
        raise Forbidden("Only the agency that recorded an intervention (or an admin) changes it.",
                        code="auth.role")
    if row.deleted_at is not None:
        raise Conflict(f"Intervention {row.id} was withdrawn.", code="intervention.withdrawn")


def correct(session: Session, *, principal: Principal, intervention_id: int, changes: dict) -> Intervention:
    row = get_or_raise(session, principal=principal, intervention_id=intervention_id)
    _may_change(principal, row)
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise _invalid(f"Unknown field(s): {', '.join(unknown)}.")
    before = as_dict(row)
    values = {name: getattr(row, name) for name in FIELDS}
    values.update(changes)
    if "person_id" in changes or "household_id" in changes:
        if "person_id" in changes and "household_id" not in changes:
            values["household_id"] = None
        if "household_id" in changes and "person_id" not in changes:
            values["person_id"] = None
    require_program(session, principal, values["program"])
    _check_values(values)
    person_id, household_id, kelurahan = _subject(session, principal.scope, values["person_id"],
                                                  values["household_id"])
    _touch(session, row)  # the subject it leaves, if it changes
    for name in ("program", "type", "delivered_on", "quantity", "unit", "notes"):
        setattr(row, name, values[name])
    row.person_id, row.household_id, row.kelurahan_code = person_id, household_id, kelurahan
    row.version += 1
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    record_audit(session, actor_id=principal.user_id, action="intervention.update",
                 entity_type="intervention", entity_id=str(row.id),
                 detail={"before": before, "after": as_dict(row)})
    _touch(session, row)
    return row


def withdraw(session: Session, *, principal: Principal, intervention_id: int) -> Intervention:
    row = get_or_raise(session, principal=principal, intervention_id=intervention_id)
    _may_change(principal, row)
    row.deleted_at = utcnow()
    row.deleted_by = principal.user_id
    row.version += 1
    row.updated_at = row.deleted_at
    session.add(row)
    session.flush()
    record_audit(session, actor_id=principal.user_id, action="intervention.withdraw",
                 entity_type="intervention", entity_id=str(row.id), detail=as_dict(row))
    _touch(session, row)
    return row
