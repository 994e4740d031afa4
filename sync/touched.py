"""Which registry subjects a transaction changed, so what is derived from them can follow.

Writers (versioned apply, measurement/screening/sanitation records, merges, unmerges,
conflict resolution, interventions) call `mark(session, persons=..., households=...)`
with the ids whose records they changed. Before the transaction commits, whatever
derives from those subjects (the caseload aggregates, issue #16) reads them with
`take(session)` and brings itself up to date in the same transaction, so a figure never
disagrees with the records it counts.

The marks live in `session.info`, so they belong to one transaction: `take` empties them.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import event
from sqlmodel import Session

_KEY = "posyandu.touched"


def mark(session: Session, *, persons: Iterable[str | None] = (),
         households: Iterable[str | None] = ()) -> None:
    """Note that these persons' and households' records changed in this transaction."""
    touched = session.info.setdefault(_KEY, (set(), set()))
    touched[0].update(p for p in persons if p)
    touched[1].update(h for h in households if h)


def take(session: Session) -> tuple[set[str], set[str]]:
    """The persons and households marked since the last `take`, and forget them."""
    return session.info.pop(_KEY, (set(), set()))


@event.listens_for(Session, "before_commit")
def _refresh_before_commit(session: Session) -> None:
    """The one consumer, in the one place every transaction passes: before the commit,
    the caseload aggregates follow the subjects marked in it (sync.caseloads)."""
    if not session.info.get(_KEY):
        return
    persons, households = take(session)
    from sync import caseloads  # noqa: PLC0415 - caseloads reads the registry; touched is imported by its writers

    caseloads.refresh(session, persons, households)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, previous_transaction) -> None:
    """A rolled-back transaction changed nothing: its marks must not follow the session
    into the next one (the unit of work redoes a failed group's units alone)."""
    session.info.pop(_KEY, None)
