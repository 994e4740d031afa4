"""What storing a writer group's OpenRosa submissions reads, read ahead (issues #19, #16).

Alone, each submission of a group reads its intake context (form version, the row
already stored for its instanceID, a later edit of it, the place it names: one
statement) and then inserts itself, waiting for the id: two round trips of its own
before its processing starts. Read ahead, the group's contexts go out in one pipeline
before the first unit runs, together (on PostgreSQL) with one new submission id per
unit from the table's sequence, and the households with each No. KK the group names
(the first read of a new child's processing); a unit then stores itself with its id
in a queued INSERT (core.statements.deferred_inserts), sent with its processing's
first read.

Each unit still gets exactly what it would have read at its turn:

- a context the transaction may have changed since the read is read again, at the
  unit's turn: the same (form, instanceID) stored by an earlier unit of the group, an
  edit of it (meta/deprecatedID) stored since, or its stored row updated since
  (superseded, held, released), as sync.queries.submissions notes its own writes;
- households with a No. KK are read again when the transaction wrote a household
  since that has that No. KK or was one of them (sync.queries.households.with_kk,
  following sync.queries.versioned.written);
- a Session statement or an ORM flush that may write submissions or households (they
  are written through sync.queries; this is for anything that does not) drops what was
  read: the group's later units read as before;
- a racing POST of the same instanceID that another worker stored since the read makes
  the queued INSERT fail, and with it the group, whose units are redone alone
  (sync.unit_of_work), where that one is answered as a duplicate.

A submission whose XML or sender does not hold is not read ahead: its own store fails
as before. Only units that know their submission before storing it (an OpenRosa POST)
are read ahead; others in the group (a Kobo post, a push) read as they always did, and
their writes are noted like everyone's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sqlmodel import Session

from core.errors import AppError
from core.statements import all_together, forget_on_session_writes
from sync.fields import Answers, named_place
from sync.queries import households, submissions
from sync.queries.submissions import IntakeContext
from sync.submission_xml import ParsedSubmission, parse_submission

if TYPE_CHECKING:
    from sync.accounts import Principal

_KEY = "posyandu.intake_ahead"


@dataclass(frozen=True)
class Ahead:
    """One unit's submission, sender and context as read ahead."""

    parsed: ParsedSubmission
    principal: Principal
    context: IntakeContext | None  # None: no such form version
    fresh: bool = True  # False: the transaction may have changed the context since


@dataclass
class _Group:
    units: dict[int, Ahead]  # by id() of the unit
    ids: list[int]  # reserved submission ids, handed out in turn
    writes: submissions.Writes


def read(tx, units: list) -> None:
    """Read the units' contexts (and reserve their ids) in one round trip; `units` are
    OpenRosa submissions (sync.intake.OpenRosaSubmission) of one group."""
    known: list[tuple[object, ParsedSubmission, object]] = []
    for unit in units:
        try:
            principal = unit.principal or tx.principal_from_app_token(unit.device_token)
            parsed = parse_submission(unit.xml)
        except AppError:
            continue  # its own store fails the same way, alone in its turn
        known.append((unit, parsed, principal))
    if not known:
        return
    session = tx.session
    requests = []
    for _, parsed, principal in known:
        kelurahan_code, posyandu_id = named_place(parsed.fields)
        requests.append(dict(form_id=parsed.form_id, version=parsed.form_version,
                             instance_id=parsed.instance_id, submitter_id=principal.user_id,
                             kelurahan_code=kelurahan_code, posyandu_id=posyandu_id))
    kks = sorted({kk for _, parsed, _ in known if (kk := Answers(parsed.fields).household_kk())})
    reads = submissions.context_reads(session, requests)
    results = all_together(session, [*reads, *households.with_kk_calls(kks)])
    contexts, ids = submissions.contexts_from(requests, results[:len(reads)])
    households.keep_with_kk(session, kks, results[len(reads):])
    session.info[_KEY] = _Group({id(unit): Ahead(parsed, principal, context)
                                 for (unit, parsed, principal), context in zip(known, contexts)},
                                ids, submissions.watch_writes(session))


def take(session: Session, unit) -> Ahead | None:
    """The unit's submission and sender as read ahead, `fresh` if its context still
    holds (else the caller reads it again); None if it was not read ahead."""
    group = session.info.get(_KEY)
    ahead = group.units.pop(id(unit), None) if group is not None else None
    if ahead is None or ahead.context is None:
        return ahead
    writes = group.writes
    key = (ahead.parsed.form_id, ahead.parsed.instance_id)
    if key in writes.instances or key in writes.edits_of or ahead.context.stored_id in writes.changed:
        return replace(ahead, fresh=False)
    return ahead


def reserved_id(session: Session) -> int | None:
    """A submission id reserved for the group (PostgreSQL), or None."""
    group = session.info.get(_KEY)
    return group.ids.pop(0) if group is not None and group.ids else None


def drop(session: Session, *_) -> None:
    if session.info.pop(_KEY, None) is not None:
        submissions.stop_watching(session)


forget_on_session_writes(_KEY, frozenset({"submission"}), drop)
