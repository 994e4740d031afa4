"""The duplicate review queue and the registry look-ups reviewers need: pairs listed
and shown side by side, dismissed (remembered: never proposed again, online or in
batch) or merged (sync.merge); merges undone; persons and households looked up, a
merged id answering with its survivor.

Supervisors (and admins) decide, in their scope; anyone signed in reads what their
scope shows. A pair is visible only to someone who may see both of its records."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models.base import utcnow
from sync.accounts import Principal, record_audit
from sync.apply import ENTITIES, Provenance
from sync.merge import merge, unmerge
from sync.minimise import sees_full_numbers
from sync.names import name_key
from sync.queries import identity as identity_queries
from sync.queries import reviews as queries
from sync.queries.reviews import HouseholdFilters, PairFilters, PersonFilters

_DECIDERS = ("supervisor", "admin")
_MAX_HOPS = 20


def _must_decide(principal: Principal) -> None:
    if principal.role not in _DECIDERS:
        raise Forbidden(f"Only a supervisor can merge or dismiss; you are {principal.role}.",
                        code="auth.role")


def _provenance(principal: Principal, reason: str) -> Provenance:
    return Provenance(actor_id=principal.user_id, submission_id=None, reason=reason,
                      scope=principal.scope)


def list_duplicates(session: Session, *, principal: Principal, filters: PairFilters,
                    limit: int, offset: int) -> tuple[list[dict], int]:
    return queries.list_pairs(session, scope=principal.scope, filters=filters, limit=limit,
                              offset=offset)


def get_pair_or_raise(session: Session, *, principal: Principal, pair_id: int) -> dict:
    pair = queries.pair_in_scope(session, scope=principal.scope, pair_id=pair_id)
    if pair is None:
        raise NotFound(f"No duplicate pair {pair_id} in your scope.", code="duplicate.not_found")
    return pair


def _side(session: Session, entity: str, record_id: str) -> dict | None:
    row = ENTITIES[entity].rows.get(session, record_id)
    if row is None:
        return None
    if entity == "person":
        return {**row, "measurements": queries.growth_history(session, record_id),
                "pregnancy_screenings": queries.screenings_of(session, record_id)}
    return {**row, "members": queries.members_of(session, record_id),
            "sanitation_checks": queries.checks_of(session, record_id)}


def duplicate_detail(session: Session, *, principal: Principal, pair_id: int) -> dict:
    pair = get_pair_or_raise(session, principal=principal, pair_id=pair_id)
    return {**pair, "a": _side(session, pair["entity"], pair["a_id"]),
            "b": _side(session, pair["entity"], pair["b_id"])}


def _open_pair(session: Session, principal: Principal, pair_id: int) -> dict:
    _must_decide(principal)
    pair = get_pair_or_raise(session, principal=principal, pair_id=pair_id)
    if pair["status"] != "open":
        raise Conflict(f"Pair {pair_id} is {pair['status']} already.", code="duplicate.decided")
    return pair


def dismiss(session: Session, *, principal: Principal, pair_id: int) -> dict:
    """Not the same person: remembered, so the pair is never proposed again."""
    pair = _open_pair(session, principal, pair_id)
    now = utcnow()
    identity_queries.set_pair(session, pair_id, status="dismissed", decided_by=principal.user_id,
                              decided_at=now)
    record_audit(session, actor_id=principal.user_id, action="duplicate.dismiss",
                 entity_type="duplicate_pair", entity_id=str(pair_id),
                 detail={"entity": pair["entity"], "a_id": pair["a_id"], "b_id": pair["b_id"]})
    return {**pair, "status": "dismissed", "decided_by": principal.user_id, "decided_at": now}


def merge_pair(session: Session, *, principal: Principal, pair_id: int, survivor_id: str,
               values: dict) -> dict:
    pair = _open_pair(session, principal, pair_id)
    if survivor_id not in (pair["a_id"], pair["b_id"]):
        raise InvalidInput("survivor_id must be the pair's a_id or b_id.",
                           code="duplicate.bad_survivor")
    absorbed_id = pair["b_id"] if survivor_id == pair["a_id"] else pair["a_id"]
    survivor = merge(session, entity=pair["entity"], survivor_id=survivor_id,
                     absorbed_id=absorbed_id, values=values, pair_id=pair_id,
                     provenance=_provenance(principal, "merge"))
    now = utcnow()
    identity_queries.set_pair(session, pair_id, status="merged", decided_by=principal.user_id,
                              decided_at=now, merge_id=survivor["merge_id"])
    return {"pair": {**pair, "status": "merged", "decided_by": principal.user_id,
                     "decided_at": now, "merge_id": survivor["merge_id"]},
            "merge_id": survivor["merge_id"], "survivor": _without(survivor, "merge_id")}


def unmerge_record(session: Session, *, principal: Principal, entity: str, record_id: str
                   ) -> dict:
    _must_decide(principal)
    return unmerge(session, entity=entity, absorbed_id=record_id,
                   provenance=_provenance(principal, "unmerge"))


def _without(row: dict, *names: str) -> dict:
    return {k: v for k, v in row.items() if k not in names}


# ---------------------------------------------------------------- look-ups

@dataclass(frozen=True)
class Found:
    record: dict
    merged_from: str | None  # the id asked for, when it was merged into `record`


def _follow(session: Session, entity: str, record_id: str) -> tuple[dict | None, str | None]:
    rows = ENTITIES[entity].rows
    row, hops = rows.get(session, record_id), 0
    while row is not None and row["merged_into_id"] and hops < _MAX_HOPS:
        row, hops = rows.get(session, row["merged_into_id"]), hops + 1
    return row, (record_id if row is not None and row["id"] != record_id else None)


def get_person(session: Session, *, principal: Principal, person_id: str) -> dict:
    """The person (a merged id: its survivor, saying so) with the growth history."""
    row, merged_from = _follow(session, "person", person_id)
    if row is None or queries.person_in_scope_by_id(session, scope=principal.scope,
                                                    person_id=row["id"]) is None:
        raise NotFound(f"No person {person_id} in your scope.", code="person.not_found")
    return {**row, "merged_from": merged_from,
            "measurements": queries.growth_history(session, row["id"]),
            "pregnancy_screenings": queries.screenings_of(session, row["id"])}


def get_household(session: Session, *, principal: Principal, household_id: str) -> dict:
    row, merged_from = _follow(session, "household", household_id)
    if row is None or queries.household_in_scope_by_id(session, scope=principal.scope,
                                                       household_id=row["id"]) is None:
        raise NotFound(f"No household {household_id} in your scope.",
                       code="household.not_found")
    return {**row, "merged_from": merged_from, "members": queries.members_of(session, row["id"]),
            "sanitation_checks": queries.checks_of(session, row["id"])}


def _may_search_numbers(principal: Principal, number: str | None) -> None:
    """A search by NIK or KK answers whose the number is: only for those who see them."""
    if number is not None and not sees_full_numbers(principal):
        raise Forbidden("Your account sees NIKs and KK numbers masked, so it cannot search "
                        "by one.", code="identity.number_search")


def list_persons(session: Session, *, principal: Principal, filters: PersonFilters, limit: int,
                 offset: int) -> tuple[list[dict], int]:
    _may_search_numbers(principal, filters.nik)
    if filters.name is not None:
        filters = PersonFilters(**{**vars(filters), "name": name_key(filters.name) or None})
    return queries.list_persons(session, scope=principal.scope, filters=filters, limit=limit,
                                offset=offset)


def list_households(session: Session, *, principal: Principal, filters: HouseholdFilters,
                    limit: int, offset: int) -> tuple[list[dict], int]:
    _may_search_numbers(principal, filters.kk)
    if filters.name is not None:
        filters = HouseholdFilters(**{**vars(filters), "name": filters.name.strip().lower() or None})
    return queries.list_households(session, scope=principal.scope, filters=filters, limit=limit,
                                   offset=offset)
