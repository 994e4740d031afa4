"""The registry as reviewers read it: search, one person or household, its members.

A record outside the caller's scope is refused with 403 `auth.scope` (a kader of one
posyandu asking for another posyandu's child), an unknown id with 404."""

from __future__ import annotations

import re

from sqlmodel import Session

from core.errors import Forbidden, NotFound
from sync.accounts import Principal
from sync.names import name_key
from sync.queries import registry as queries

_DIGITS = re.compile(r"\d{1,16}")


def _terms(text: str | None) -> tuple[str | None, str | None]:
    """(name part, digits part) of what was typed: digits search NIK / No. KK."""
    text = (text or "").strip()[:120]
    if not text:
        return None, None
    if _DIGITS.fullmatch(text):
        return None, text
    return text, None


def search_persons(session: Session, *, principal: Principal, text: str | None, limit: int = 50,
                   offset: int = 0):
    words, digits = _terms(text)
    return queries.search_persons(session, scope=principal.scope,
                                  name_key=name_key(words) if words else None, digits=digits,
                                  limit=limit, offset=offset)


def search_households(session: Session, *, principal: Principal, text: str | None,
                      limit: int = 50, offset: int = 0):
    words, digits = _terms(text)
    return queries.search_households(session, scope=principal.scope, text=words, digits=digits,
                                     limit=limit, offset=offset)


def get_person_or_raise(session: Session, *, principal: Principal, person_id: str):
    row = queries.person(session, person_id[:36])
    if row is None:
        raise NotFound(f"No person {person_id}.", code="person.not_found")
    if not queries.person_visible(session, principal.scope, row["id"]):
        raise Forbidden("This person is outside your scope.", code="auth.scope")
    return row


def get_household_or_raise(session: Session, *, principal: Principal, household_id: str):
    row = queries.household(session, household_id[:36])
    if row is None:
        raise NotFound(f"No household {household_id}.", code="household.not_found")
    if not queries.household_visible(session, principal.scope, row["id"]):
        raise Forbidden("This household is outside your scope.", code="auth.scope")
    return row


def household_members(session: Session, *, principal: Principal, household_id: str):
    return queries.members(session, scope=principal.scope, household_id=household_id)


def names_of(session: Session, person_ids: list[str]) -> dict[str, str]:
    return queries.names_of(session, person_ids)


def record_label(session: Session, entity: str, entity_id: str) -> str | None:
    """What a reviewer calls a record: a person's name, a household's head."""
    if entity == "person":
        return queries.names_of(session, [entity_id]).get(entity_id)
    row = queries.household(session, entity_id)
    return row["head_name"] if row else None


def merged_into(session: Session, entity: str, record_id: str):
    """The records a supervisor merged into this one (each can be unmerged)."""
    return queries.merged_into(session, entity, record_id)
