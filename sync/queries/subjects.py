"""SQL of data subject requests and retention (sync.subjects, sync.retention): what is
held about a person, and the raw submissions past their retention period."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlmodel import Session

from models import (
    AccessLog,
    Attachment,
    AuditLog,
    DuplicatePair,
    EntityAction,
    Household,
    HouseholdVersion,
    IdentityDecision,
    Intervention,
    LegalHold,
    Measurement,
    Person,
    PersonVersion,
    Pregnancy,
    PregnancyScreening,
    RecordMerge,
    Submission,
    SubmissionPurge,
    SyncConflict,
    SyncMutation,
)

P, PV, M = Person.__table__, PersonVersion.__table__, Measurement.__table__
PS, PG, S = PregnancyScreening.__table__, Pregnancy.__table__, Submission.__table__
A, H, C, AU = Attachment.__table__, Household.__table__, SyncConflict.__table__, AuditLog.__table__
LH, SP, HV = LegalHold.__table__, SubmissionPurge.__table__, HouseholdVersion.__table__
ID, DP, RM = IdentityDecision.__table__, DuplicatePair.__table__, RecordMerge.__table__
IV, AL = Intervention.__table__, AccessLog.__table__
EA, SM = EntityAction.__table__, SyncMutation.__table__


def rows(session: Session, query) -> list[dict]:
    return [dict(r) for r in session.execute(query).mappings()]


def person(session: Session, person_id: str) -> dict | None:
    row = session.execute(select(P).where(P.c.id == person_id)).mappings().first()
    return dict(row) if row else None


def merged_into(session: Session, person_id: str) -> list[str]:
    """Persons merged into this one (their records may still name them)."""
    return list(session.execute(select(P.c.id).where(P.c.merged_into_id == person_id)).scalars())


def children_of(session: Session, ids: list[str]) -> list[dict]:
    return rows(session, select(P.c.id, P.c.name, P.c.birth_date, P.c.sex)
                .where(P.c.mother_id.in_(ids)).order_by(P.c.id))


def household(session: Session, household_id: str | None) -> dict | None:
    if household_id is None:
        return None
    row = session.execute(select(H).where(H.c.id == household_id)).mappings().first()
    return dict(row) if row else None


def household_versions(session: Session, household_id: str) -> list[dict]:
    return rows(session, select(HV).where(HV.c.household_id == household_id)
                .order_by(HV.c.version))


def set_household_version_data(session: Session, household_id: str, version: int,
                               data: dict) -> None:
    session.execute(update(HV).where(HV.c.household_id == household_id, HV.c.version == version)
                    .values(data=data))


def versions(session: Session, ids: list[str]) -> list[dict]:
    return rows(session, select(PV).where(PV.c.person_id.in_(ids))
                .order_by(PV.c.person_id, PV.c.version))


def measurements(session: Session, ids: list[str]) -> list[dict]:
    return rows(session, select(M).where(M.c.person_id.in_(ids)).order_by(M.c.measured_on, M.c.id))


def screenings(session: Session, ids: list[str]) -> list[dict]:
    return rows(session, select(PS).where(PS.c.woman_id.in_(ids))
                .order_by(PS.c.screened_on, PS.c.id))


def pregnancies(session: Session, ids: list[str]) -> list[dict]:
    return rows(session, select(PG).where(PG.c.woman_id.in_(ids)).order_by(PG.c.id))


def conflicts(session: Session, ids: list[str]) -> list[dict]:
    return rows(session, select(C).where(C.c.entity == "person", C.c.entity_id.in_(ids))
                .order_by(C.c.id))


def audit_entries(session: Session, ids: list[str]) -> list[dict]:
    return rows(session, select(AU).where(AU.c.entity_type == "person", AU.c.entity_id.in_(ids))
                .order_by(AU.c.id))


def active_holds(session: Session, person_id: str) -> list[dict]:
    return rows(session, select(LH).where(LH.c.person_id == person_id,
                                          LH.c.released_at.is_(None)).order_by(LH.c.id))


def submission_roles(session: Session, ids: list[str], child_ids: list[str]) -> dict[int, str]:
    """{submission id: the person's role in it}: `subject` (the submission is about
    them: their measurement or screening), `mother` (their child's measurement, which
    names the mother), `registry` (any other that created or changed their record)."""
    roles: dict[int, str] = {}
    for sid in session.execute(select(M.c.submission_id).where(M.c.person_id.in_(ids))).scalars():
        roles[sid] = "subject"
    for sid in session.execute(select(PS.c.submission_id).where(PS.c.woman_id.in_(ids))).scalars():
        roles[sid] = "subject"
    if child_ids:
        for sid in session.execute(select(M.c.submission_id).where(
                M.c.person_id.in_(child_ids))).scalars():
            roles.setdefault(sid, "mother")
    for sid in session.execute(select(PV.c.submission_id).where(
            PV.c.person_id.in_(ids), PV.c.submission_id.is_not(None))).scalars():
        roles.setdefault(sid, "registry")
    return roles


def submissions(session: Session, submission_ids: Iterable[int]) -> list[dict]:
    wanted = sorted(set(submission_ids))
    return rows(session, select(S).where(S.c.id.in_(wanted)).order_by(S.c.id)) if wanted else []


def submissions_in(session: Session, kelurahan_codes: list[str], *,
                   batch: int = 500) -> Iterator[dict]:
    """Every submission stored for these kelurahan (and those without a place), in
    batches: the content scan for submissions that name a person without a record
    (failed ones, typed NIKs)."""
    last = 0
    place = or_(S.c.kelurahan_code.in_(kelurahan_codes), S.c.kelurahan_code.is_(None))
    while True:
        found = rows(session, select(S.c.id, S.c.content, S.c.content_type).where(
            place, S.c.id > last).order_by(S.c.id).limit(batch))
        if not found:
            return
        yield from found
        last = found[-1]["id"]


def attachments(session: Session, submission_ids: list[int], *, data: bool) -> list[dict]:
    if not submission_ids:
        return []
    columns = [A.c.id, A.c.submission_id, A.c.name, A.c.content_type, A.c.size, A.c.sha256,
               A.c.received_at] + ([A.c.data] if data else [])
    return rows(session, select(*columns).where(A.c.submission_id.in_(submission_ids))
                .order_by(A.c.submission_id, A.c.id))


def set_submission_content(session: Session, submission_id: int, content: bytes) -> None:
    session.execute(update(S).where(S.c.id == submission_id).values(content=content))


def empty_attachments(session: Session, submission_ids: list[int]) -> int:
    """Remove the attachments' bytes (name, size and SHA-256 stay: a phone resending the
    same file is still recognised); returns how many had bytes."""
    if not submission_ids:
        return 0
    return session.execute(update(A).where(A.c.submission_id.in_(submission_ids),
                                           A.c.data != b"").values(data=b"")).rowcount


def set_version_data(session: Session, person_id: str, version: int, data: dict) -> None:
    session.execute(update(PV).where(PV.c.person_id == person_id, PV.c.version == version)
                    .values(data=data))


def set_person_values(session: Session, person_id: str, **values) -> None:
    session.execute(update(P).where(P.c.id == person_id).values(**values))


def set_conflict(session: Session, conflict_id: int, **values) -> None:
    session.execute(update(C).where(C.c.id == conflict_id).values(**values))


def set_audit_detail(session: Session, audit_id: int, detail: dict) -> None:
    session.execute(update(AU).where(AU.c.id == audit_id).values(detail=detail))


def mark_purged(session: Session, submission_id: int, *, reason: str, content_bytes: int,
                attachments: int, at: datetime) -> None:
    session.execute(delete(SP).where(SP.c.submission_id == submission_id))
    session.execute(SP.insert().values(submission_id=submission_id, reason=reason, purged_at=at,
                                       content_bytes=content_bytes, attachments=attachments))


def purges(session: Session, submission_ids: list[int]) -> dict[int, dict]:
    if not submission_ids:
        return {}
    return {r["submission_id"]: r for r in rows(session, select(SP).where(
        SP.c.submission_id.in_(submission_ids)))}


def past_retention(session: Session, *, received_before: datetime, limit: int) -> list[int]:
    """Processed (or superseded) submissions received before the cut-off whose raw
    content has not been purged for retention yet. Failed and unprocessed ones are
    kept: they are still to be reprocessed."""
    purged = exists().where(and_(SP.c.submission_id == S.c.id, SP.c.reason == "retention"))
    return list(session.execute(select(S.c.id).where(
        S.c.status.in_(("processed", "superseded")), S.c.received_at < received_before,
        ~purged).order_by(S.c.id).limit(limit)).scalars())


# ---------------------------------------------------------------- identity resolution (#14)

def identity_decisions(session: Session, entity: str, ids: list[str]) -> list[dict]:
    """Decisions that ended on one of the records, or proposed one as the candidate."""
    if not ids:
        return []
    return rows(session, select(ID).where(ID.c.entity == entity, or_(
        ID.c.subject_id.in_(ids), ID.c.candidate_id.in_(ids))).order_by(ID.c.id))


def set_identity_decision(session: Session, decision_id: int, **values) -> None:
    session.execute(update(ID).where(ID.c.id == decision_id).values(**values))


def duplicate_pairs(session: Session, entity: str, ids: list[str]) -> list[dict]:
    if not ids:
        return []
    return rows(session, select(DP).where(DP.c.entity == entity, or_(
        DP.c.a_id.in_(ids), DP.c.b_id.in_(ids))).order_by(DP.c.id))


def set_duplicate_pair(session: Session, pair_id: int, **values) -> None:
    session.execute(update(DP).where(DP.c.id == pair_id).values(**values))


def record_merges(session: Session, entity: str, ids: list[str]) -> list[dict]:
    """Merges (done or undone) that kept or absorbed one of the records."""
    if not ids:
        return []
    return rows(session, select(RM).where(RM.c.entity == entity, or_(
        RM.c.survivor_id.in_(ids), RM.c.absorbed_id.in_(ids))).order_by(RM.c.id))


def set_record_merge(session: Session, merge_id: int, **values) -> None:
    session.execute(update(RM).where(RM.c.id == merge_id).values(**values))


# ---------------------------------------------------------------- interventions (#16)

def interventions(session: Session, person_ids: list[str], household_ids: list[str]
                  ) -> list[dict]:
    """Interventions given to the persons or the households, withdrawn ones too."""
    wanted = []
    if person_ids:
        wanted.append(IV.c.person_id.in_(person_ids))
    if household_ids:
        wanted.append(IV.c.household_id.in_(household_ids))
    if not wanted:
        return []
    return rows(session, select(IV).where(or_(*wanted)).order_by(IV.c.id))


def set_intervention_notes(session: Session, intervention_id: int, notes: str | None) -> None:
    session.execute(update(IV).where(IV.c.id == intervention_id).values(notes=notes))


def audit_entries_of(session: Session, entity_type: str, ids: list[str]) -> list[dict]:
    if not ids:
        return []
    return rows(session, select(AU).where(AU.c.entity_type == entity_type,
                                          AU.c.entity_id.in_(ids)).order_by(AU.c.id))


# ---------------------------------------------------------------- the access log

#: the reads whose filters can hold a name or an identity number (the registry searches)
SEARCH_RESOURCES = ("persons", "households")


def searches(session: Session) -> Iterator[dict]:
    """The logged registry searches that had filters: id and query, a batch at a time."""
    query = (select(AL.c.id, AL.c.query).where(AL.c.resource.in_(SEARCH_RESOURCES))
             .order_by(AL.c.id).execution_options(yield_per=1000))
    for row in session.execute(query).mappings():
        if row["query"]:
            yield dict(row)


def set_access_query(session: Session, access_id: int, query: dict) -> None:
    session.execute(update(AL).where(AL.c.id == access_id).values(query=query))


def entity_actions(session: Session, entity_ids: list[str], submission_ids: list[int]
                   ) -> list[dict]:
    """ODK entity actions about these entities (registry ids or the phones' ids that are
    aliases of them) or sent in these submissions."""
    wanted = []
    if entity_ids:
        wanted.append(EA.c.entity_id.in_(entity_ids))
    if submission_ids:
        wanted.append(EA.c.submission_id.in_(submission_ids))
    if not wanted:
        return []
    return rows(session, select(EA).where(or_(*wanted)).order_by(EA.c.id))


def set_entity_action_properties(session: Session, action_id: int, properties: dict) -> None:
    session.execute(update(EA).where(EA.c.id == action_id).values(properties=properties))


def sync_mutations(session: Session) -> Iterator[dict]:
    """Every stored push result (a result is small; they are read a page at a time)."""
    last = 0
    while True:
        page = rows(session, select(SM.c.id, SM.c.result).where(SM.c.id > last)
                    .order_by(SM.c.id).limit(1000))
        if not page:
            return
        yield from page
        last = page[-1]["id"]


def set_sync_mutation_result(session: Session, mutation_id: int, result: dict) -> None:
    session.execute(update(SM).where(SM.c.id == mutation_id).values(result=result))
