"""The access log: every read of personal data, who read it, when and from where.

Separate from the change audit (audit_log, what changed): a read changes nothing,
and it is what UU PDP 27/2022 asks a controller to be able to account for. One row per
read, whatever it returned: the persons and households whose data was in the answer
(their registry ids), how many rows, the filters asked for, the account and device,
the address and user agent, the request id (which joins the access-log line).

Callers record through `record_read` (HTTP endpoints through api.access.log_read,
one line), in the request that serves the data, before the answer: if the read cannot
be logged it is not served.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from core.logging import current_request_id
from core.redact import redact
from models.base import utcnow
from sync.accounts import Principal
from sync.queries import access_log as queries

MAX_IDS = 10_000  # ids kept per read (a snapshot page is at most 5,000 records)
ACTIONS = ("read", "list", "export", "download")


@dataclass(frozen=True)
class Origin:
    """Where a read came from (the HTTP layer fills it in; a CLI export has none)."""

    address: str | None = None
    user_agent: str | None = None


def _ids(values) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        if value is not None:
            seen.setdefault(str(value), None)
            if len(seen) >= MAX_IDS:
                break
    return list(seen)


def record_read(session: Session, *, principal: Principal, resource: str,
                action: str = "list", origin: Origin | None = None,
                persons=(), households=(), rows: int | None = None,
                subject: tuple[str, str] | None = None, query: dict | None = None,
                at: datetime | None = None) -> None:
    """Log one read of personal data. `subject` = (type, id) when the read named one
    record (a submission, a person); `persons`/`households` = the registry ids in the
    answer; `rows` defaults to their number."""
    if action not in ACTIONS:
        raise ValueError(f"access action {action!r} is not one of {ACTIONS}")
    origin = origin or Origin()
    person_ids, household_ids = _ids(persons), _ids(households)
    queries.add(session, {
        "at": at or utcnow(), "actor_id": principal.user_id, "username": principal.username,
        "role": principal.role, "resource": resource[:64], "action": action,
        "subject_type": subject[0][:32] if subject else None,
        "subject_id": str(subject[1])[:64] if subject else None,
        "persons": person_ids, "households": household_ids,
        "rows": rows if rows is not None else len(person_ids) + len(household_ids),
        "query": {k: redact(str(v))[:200] for k, v in (query or {}).items()},
        "address": (origin.address or None) and origin.address[:64],
        "user_agent": (origin.user_agent or None) and redact(origin.user_agent)[:200],
        "app_token_id": principal.app_token_id, "request_id": current_request_id()})


def list_reads(session: Session, *, limit: int, offset: int, **filters) -> tuple[list, int]:
    """Newest first; filters: actor_id, username, resource, person_id, household_id,
    since, until."""
    return queries.page(session, limit=limit, offset=offset, **_filters(filters))


def export_reads(session: Session, **filters):
    return queries.stream(session, **_filters(filters))


def _filters(filters: dict) -> dict:
    keys = ("actor_id", "username", "resource", "person_id", "household_id", "since", "until")
    return {key: filters.get(key) for key in keys}
