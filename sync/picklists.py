"""Per-kader pick lists (form media): children.csv, women.csv, households.csv, and the
kader's own place, context.csv.

Generated from the registry, restricted to the caller's scope in the query. The column
lists are the forms' contract (`clients.kobo_forms.build.MEDIA_COLUMNS`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from clients.kobo_forms.build import MEDIA_COLUMNS
from core.errors import NotFound
from models import Household, Person, Posyandu, PregnancyScreening, Wilayah
from models.base import utcnow
from sync.accounts import Principal
from sync.minimise import minimise_all
from sync.scope import scope_filter

CHILD_MAX_AGE_DAYS = 6 * 366  # under-fives plus a margin for late measurements


def _csv(name: str, rows: list[dict], *, entity_list: bool = False) -> bytes:
    """The CSV of a pick list; as an ODK entity list it also has `__version` (the
    registry version: Collect drops a list without it)."""
    out = io.StringIO()
    columns = MEDIA_COLUMNS[name]
    if entity_list:
        columns = columns[:2] + ["__version"] + columns[2:]
    # extrasaction: rows carry the registry ids in them (_persons, _households) for the
    # access log, which are not columns
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue().encode()


def _children(session: Session, principal: Principal) -> list[dict]:
    # Columns, not ORM objects: a kader's list can hold 100,000 children.
    child, mom, household = (Person.__table__.c, aliased(Person.__table__).c,
                             Household.__table__.c)
    cutoff = utcnow().date() - timedelta(days=CHILD_MAX_AGE_DAYS)
    query = (select(child.id, child.name, child.version, child.nik, child.sex, child.birth_date,
                    child.kelurahan_code, child.posyandu_id, mom.name.label("mother_name"),
                    mom.nik.label("mother_nik"), mom.id.label("mother_id"), household.kk,
                    household.id.label("household_id"))
             .select_from(Person.__table__
                          .outerjoin(mom.id.table, child.mother_id == mom.id)
                          .outerjoin(Household.__table__, child.household_id == household.id))
             .where(child.merged_into_id.is_(None), child.birth_date.is_not(None),
                    child.birth_date >= cutoff,
                    scope_filter(principal.scope, child.kelurahan_code, child.posyandu_id))
             .order_by(child.name_key, child.id))
    rows = []
    for r in session.execute(query).all():
        born = r.birth_date.strftime("%d-%m-%Y")
        label = f"{r.name} ({born})" + (f" - {r.mother_name}" if r.mother_name else "")
        rows.append({
            "name": r.id, "label": label, "__version": r.version, "nik": r.nik,
            "full_name": r.name, "sex": r.sex, "birth_date": r.birth_date.isoformat(),
            "mother_name": r.mother_name, "mother_nik": r.mother_nik, "household_kk": r.kk,
            "kelurahan_code": r.kelurahan_code, "posyandu_id": r.posyandu_id,
            "_persons": [r.id] + ([r.mother_id] if r.mother_id else []),
            "_households": [r.household_id] if r.household_id else [],
        })
    return rows


def _women(session: Session, principal: Principal) -> list[dict]:
    child = aliased(Person)
    is_mother = select(child.id).where(child.mother_id == Person.id).exists()
    was_screened = select(PregnancyScreening.id).where(PregnancyScreening.woman_id == Person.id).exists()
    query = (select(Person, Household)
             .join(Household, Person.household_id == Household.id, isouter=True)
             .where(Person.merged_into_id.is_(None), Person.sex == "female",
                    or_(is_mother, was_screened),
                    scope_filter(principal.scope, Person.kelurahan_code, Person.posyandu_id))
             .order_by(Person.name_key, Person.id))
    return [{
        "name": w.id, "label": w.name + (f" (KK {h.kk})" if h and h.kk else ""),
        "__version": w.version, "nik": w.nik,
        "full_name": w.name, "birth_date": w.birth_date.isoformat() if w.birth_date else None,
        "household_kk": h.kk if h else None, "kelurahan_code": w.kelurahan_code,
        "posyandu_id": w.posyandu_id, "_persons": [w.id], "_households": [h.id] if h else [],
    } for w, h in session.exec(query).all()]


UNKNOWN_HEAD = "Kepala keluarga belum tercatat"


def household_label(head_name: str | None, kk: str | None) -> str:
    """What the phone lists a household as: its head and KK number; a household whose
    head is not recorded yet says so (in Bahasa Indonesia) rather than showing '?'."""
    head = (head_name or "").strip() or UNKNOWN_HEAD
    return head + (f" (KK {kk})" if kk else "")


def _households(session: Session, principal: Principal) -> list[dict]:
    query = (select(Household).where(Household.merged_into_id.is_(None),
                                     scope_filter(principal.scope, Household.kelurahan_code))
             .order_by(Household.head_name, Household.id))
    return [{
        "name": h.id, "label": household_label(h.head_name, h.kk), "__version": h.version,
        "kk": h.kk, "head_name": h.head_name, "kelurahan_code": h.kelurahan_code,
        "address": h.address, "rt": h.rt, "rw": h.rw, "_households": [h.id],
    } for h in session.exec(query).all()]


_KELURAHAN_LEVELS = ("kelurahan", "desa")


def _context(session: Session, principal: Principal) -> list[dict]:
    """Exactly one row: the place the caller's forms are filled in for, as far as the
    scope pins it down. `posyandu_*` is set when the scope is one active posyandu and
    nothing else; `kelurahan_*` when everything in scope lies in one kelurahan or desa
    (one posyandu, several posyandu of one kelurahan, or that kelurahan's code). Any
    other caller (an admin, a supervisor of a kecamatan, an inactive posyandu) gets the
    row with those values empty, and the forms then ask for them instead of filling
    them in read-only."""
    row = dict.fromkeys(("posyandu_id", "posyandu_name", "kelurahan_code", "kelurahan_name"))
    scope = principal.scope
    if scope.everything:
        return [row]
    places = set(scope.wilayah_codes) | set(scope.posyandu_kelurahan_codes)
    if len(scope.posyandu_ids) == 1 and not scope.wilayah_codes:
        posyandu = session.get(Posyandu, scope.posyandu_ids[0])
        if posyandu is not None and posyandu.is_active:
            row.update(posyandu_id=posyandu.id, posyandu_name=posyandu.name)
    if len(places) == 1:
        kelurahan = session.get(Wilayah, next(iter(places)))
        if kelurahan is not None and kelurahan.level in _KELURAHAN_LEVELS:
            row.update(kelurahan_code=kelurahan.code, kelurahan_name=kelurahan.name)
    return [row]


GENERATORS = {"children.csv": _children, "women.csv": _women, "households.csv": _households,
              "context.csv": _context}


def render_media(session: Session, *, principal: Principal, name: str) -> bytes:
    return media_with_ids(session, principal=principal, name=name).content


@dataclass(frozen=True)
class Media:
    content: bytes
    persons: list[str]  # whose personal data the file holds (for the access log)
    households: list[str]

    @property
    def personal(self) -> bool:
        return bool(self.persons or self.households)


def media_with_ids(session: Session, *, principal: Principal, name: str,
                   entity_list: bool = False) -> Media:
    """A pick list (or, `entity_list`, the ODK entity list of the same name) for the
    caller's scope, minimised for the caller's role, with whose data it holds."""
    generator = GENERATORS.get(name)
    if generator is None:
        raise NotFound(f"No media file {name!r}.", code="form.media_not_found")
    if entity_list and name not in ENTITY_LISTS:
        raise NotFound(f"No entity list {name!r}.", code="form.media_not_found")
    rows = minimise_all(principal, generator(session, principal))
    return Media(_csv(name, rows, entity_list=entity_list),
                 [p for r in rows for p in r.get("_persons", ())],
                 [h for r in rows for h in r.get("_households", ())])


ENTITY_LISTS = ("children.csv", "women.csv", "households.csv")


def render_entity_list(session: Session, *, principal: Principal, name: str) -> bytes:
    """children/women/households.csv as an ODK entity list: `name` (registry id),
    `label`, `__version` and the properties, for the caller's scope."""
    return media_with_ids(session, principal=principal, name=name, entity_list=True).content
