"""Which person or household is this? Every incoming child, woman or household resolves
to exactly one record, by the first step that answers:

1. the registry id the phone picked (followed through merges to the survivor), if the
   submitter may see that record;
2. the same valid NIK (birth dates agreeing) or, for households, the same No. KK;
   then the exact normalised name with the birth date in the kelurahan (or the name in
   the household);
3. a probabilistic match: candidates from indexed blocking keys
   (sync.queries.identity), each scored by matching.compare, cut into three bands:
   **auto-link** (the claim becomes a record merged at once into the match: an
   auto-link is a merge, recorded and undoable as one, sync.merge), **review** (the
   claim's new record is created and a duplicate candidate pair opened), **new**.

A match outside the submitter's scope never changes the record it matched and never
shows her anything of it: her record is created in her scope and the pair goes to
review as a cross-scope candidate, for supervisors who may see both. Every decision is
stored with its evidence (identity_decision); the same record re-sent (retry, edit,
reprocess) meets the same rules and the record it created first, so it resolves the
same way.

Persons and households are dicts of their columns (see sync.apply).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session

from core.config import get_settings
from matching.compare import (
    AUTO_LINK,
    NEW,
    REVIEW,
    Comparison,
    PersonRecord,
    Thresholds,
    compare,
    reach_from,
)
from matching.names import phonetic_key, placeholder_mother
from matching.nik import nik_well_formed
from models.base import utcnow
from sync import identity_ahead
from sync.apply import Provenance, create_household, create_person, update_in_place
from sync.names import is_placeholder_name, name_key
from sync.queries import households, persons
from sync.queries import identity as queries
from sync.queries.persons import Candidates, Lookup
from sync.scope import Scope

# A NIK match is only trusted when birth dates agree this closely (kader sometimes type
# the mother's NIK into the child's field).
NIK_BIRTH_DATE_TOLERANCE_DAYS = 62
_MAX_MERGE_HOPS = 20
_MAX_PROPOSALS = 3  # review pairs opened for one claim (the strongest candidates)
_TABLES = {"person": persons.PERSONS, "household": households.HOUSEHOLDS}


@dataclass(frozen=True)
class PersonClaim:
    """The identity a submission claims for one person (`mother_name`, `mother_nik`,
    `household_kk`: what was typed about the family, for scoring)."""

    registry_id: str | None
    nik: str | None
    name: str
    kelurahan_code: str
    sex: str | None = None
    birth_date: date | None = None
    posyandu_id: int | None = None
    household_id: str | None = None
    mother_id: str | None = None
    mother_name: str | None = None
    mother_nik: str | None = None
    household_kk: str | None = None
    # An ODK entity create: the phone's id for the person, used if none is found.
    new_id: str | None = None
    # The claim's own fields were written through sync.apply already (an ODK entity
    # update, which may have left some in conflict): settling only fills gaps.
    versioned: bool = False


@dataclass(frozen=True)
class HouseholdClaim:
    registry_id: str | None
    kk: str | None
    kelurahan_code: str
    head_name: str | None = None
    address: str | None = None
    rt: str | None = None
    rw: str | None = None
    new_id: str | None = None  # as PersonClaim's
    versioned: bool = False  # as PersonClaim's


def thresholds() -> Thresholds:
    """The configured bands (POSYANDU_IDENTITY_AUTO_LINK_SCORE, ..._REVIEW_SCORE)."""
    settings = get_settings()
    return Thresholds(auto_link=settings.identity_auto_link_score,
                      review=settings.identity_review_score)


def _by_id_following_merges(session: Session, kind: str, entity_id: str) -> dict | None:
    row = _TABLES[kind].get(session, entity_id)
    hops = 0
    while row is not None and row["merged_into_id"] and hops < _MAX_MERGE_HOPS:
        row = _TABLES[kind].get(session, row["merged_into_id"])
        hops += 1
    return row


def _birth_dates_agree(a: date | None, b: date | None) -> bool:
    return a is None or b is None or abs((a - b).days) <= NIK_BIRTH_DATE_TOLERANCE_DAYS


def _other_nik(claim: PersonClaim, row: dict) -> bool:
    """Both have a NIK and they differ: two people, whatever their names say."""
    return bool(claim.nik and row["nik"] and claim.nik != row["nik"])


def _in_scope(scope: Scope, row: dict) -> bool:
    return scope.covers_kelurahan(row["kelurahan_code"], row.get("posyandu_id"))


def lookup_for(claim: PersonClaim) -> Lookup:
    """What find_person's rules search the registry by for this claim: the registry id,
    the NIK, and the name, with the birth date in the kelurahan when there is one, else
    within the household."""
    key = name_key(claim.name) or None
    born = claim.birth_date
    return Lookup(registry_id=claim.registry_id or None, nik=claim.nik or None, name_key=key,
                  kelurahan_code=claim.kelurahan_code if born is not None else None,
                  birth_date=born,
                  household_id=claim.household_id if born is None else None)


def person_candidates(session: Session, *claims: PersonClaim | None) -> Candidates:
    """The registry rows find_person may pick for these claims (at most two; None
    entries are skipped), in one query: a child and its mother together."""
    return persons.candidates(session, *(lookup_for(c) for c in claims if c is not None))


@dataclass(frozen=True)
class RuleMatch:
    """What the deterministic rules found: the record in scope, or (`row` None) one the
    submitter may not see (`elsewhere`), and the rule that found it."""

    row: dict | None
    rule: str | None
    elsewhere: dict | None = None


def match_by_rules(session: Session, claim: PersonClaim, scope: Scope = Scope(everything=True),
                   candidates: Candidates | None = None) -> RuleMatch:
    """The registry id the phone picked (in scope), then the NIK (with agreeing birth
    dates), then the exact normalised name with the birth date in the same kelurahan
    (and no other mother), else the name in the same household. A record in scope wins
    over one outside it; one outside it is only reported (`elsewhere`)."""
    rows = (candidates or person_candidates(session, claim)).persons
    if claim.registry_id:
        person = next((row for row in rows if row["id"] == claim.registry_id), None)
        if person is not None and person["merged_into_id"]:
            person = _by_id_following_merges(session, "person", person["merged_into_id"])
        if person is not None and _in_scope(scope, person):
            return RuleMatch(person, "registry_id")
    live = [row for row in rows if row["merged_into_id"] is None]
    rules = []
    if claim.nik:
        rules.append(("nik", [row for row in live if row["nik"] == claim.nik
                              and _birth_dates_agree(row["birth_date"], claim.birth_date)]))
    # A newborn placeholder ("By. Ny. Tri") names the mother, not the child: newborn
    # twins share it with their birth date and mother, so it is scored, never a rule.
    key = None if is_placeholder_name(claim.name) else name_key(claim.name)
    if key and claim.birth_date is not None:
        rules.append(("name_birth_date", [
            row for row in live if row["kelurahan_code"] == claim.kelurahan_code
            and row["name_key"] == key and row["birth_date"] == claim.birth_date
            and (not claim.mother_id or row["mother_id"] in (claim.mother_id, None))
            and not _other_nik(claim, row)]))
    elif key and claim.household_id:
        rules.append(("household_name", [row for row in live
                                         if row["household_id"] == claim.household_id
                                         and row["name_key"] == key
                                         and not _other_nik(claim, row)]))
    elsewhere = None
    for rule, found in rules:
        mine = next((row for row in found if _in_scope(scope, row)), None)
        if mine is not None:
            return RuleMatch(mine, rule)
        if found and elsewhere is None:
            elsewhere = RuleMatch(None, rule, found[0])
    return elsewhere or RuleMatch(None, None)


def find_person(session: Session, claim: PersonClaim, scope: Scope = Scope(everything=True),
                candidates: Candidates | None = None) -> dict | None:
    """The registry person in scope the deterministic rules find for this claim
    (match_by_rules), or None."""
    return match_by_rules(session, claim, scope, candidates).row


# ---------------------------------------------------------------- probabilistic step

def claim_record(claim: PersonClaim) -> PersonRecord:
    return PersonRecord(
        record_id="claim", name=claim.name or "", sex=claim.sex, birth_date=claim.birth_date,
        nik=claim.nik, mother_name=claim.mother_name, mother_nik=claim.mother_nik,
        household_kk=claim.household_kk, kelurahan_code=claim.kelurahan_code,
        posyandu_id=str(claim.posyandu_id) if claim.posyandu_id is not None else None)


def row_record(row: dict) -> PersonRecord:
    """A registry person (with mother_name, mother_nik, household_kk joined) for scoring."""
    return PersonRecord(
        record_id=row["id"], name=row["name"] or "", sex=row["sex"], birth_date=row["birth_date"],
        birth_date_estimated=bool(row.get("birth_date_estimated")), nik=row["nik"],
        mother_name=row.get("mother_name"), mother_nik=row.get("mother_nik"),
        household_kk=row.get("household_kk"), kelurahan_code=row["kelurahan_code"],
        posyandu_id=str(row["posyandu_id"]) if row.get("posyandu_id") is not None else None)


@dataclass(frozen=True)
class Scored:
    row: dict
    comparison: Comparison
    cross_scope: bool


def blocking_for(claim: PersonClaim) -> queries.Blocking:
    """What the claim is blocked on (sync.queries.identity)."""
    mother = claim.mother_name or placeholder_mother(claim.name)
    return queries.Blocking(
        kelurahan_code=claim.kelurahan_code, nik=claim.nik or None, birth_date=claim.birth_date,
        block=phonetic_key(claim.name)[:8] or None, mother_id=claim.mother_id,
        mother_nik=claim.mother_nik or None, mother_key=name_key(mother) or None,
        household_id=claim.household_id)


def _worth_scoring(claim: PersonClaim, record: PersonRecord, limits: Thresholds,
                   rows: list[dict], record_of=row_record, known=None) -> list[dict]:
    """The blocking rows that may score in the review band, in their order: ruled out
    before their mother and household are read (they count at their best weight), the
    name compared last (matching.compare.reach_from). `known(row)`: True/False where
    that is already known (read ahead), None to work it out."""
    # The family fields that can weigh at all: the claim's mother or No. KK against a
    # candidate's (a side without them compares as "missing", 0).
    claims_mother = nik_well_formed(record.mother_nik) or bool(record.mother_name)
    claims_household = bool(record.household_kk)
    reach = reach_from(record, limits.review)
    likely = []
    for row in rows:
        if row["id"] == claim.mother_id:
            continue
        worth = known(row) if known is not None else None
        if worth is None:
            worth = reach(record_of(row), claims_mother and bool(row["mother_id"]),
                          claims_household and bool(row["household_id"]))
        if worth:
            likely.append(row)
    return likely


def read_ahead(session: Session, claims: list[PersonClaim]) -> None:
    """Read these claims' candidates now, together (sync.identity_ahead): a group's
    creates, resolved one after another in this transaction. Claims it does not model
    (a registry id, the mother's NIK or name to block on) are left to read alone."""
    limits = thresholds()
    wanted = {}
    for claim in claims:
        blocking = blocking_for(claim)
        if not (claim.registry_id or blocking.mother_nik or blocking.mother_key):
            wanted[claim] = (blocking, lookup_for(claim))

    def likely(claim: PersonClaim, rows: list[dict], pool: identity_ahead.Pool) -> list[str]:
        return [row["id"] for row in _worth_scoring(claim, claim_record(claim), limits, rows,
                                                    lambda row: pool.record(row, row_record))]
    identity_ahead.read(session, wanted, likely)


def _likely_read_ahead(session: Session, claim: PersonClaim, record: PersonRecord,
                       limits: Thresholds) -> list[dict] | None:
    """`_worth_scoring`'s rows with their family, from the group's read ahead, or None
    if the claim was not read ahead (or the pool cannot tell)."""
    found = identity_ahead.pool_for(session, claim)
    if found is None:
        return None
    pool, read = found
    rows = pool.blocking_rows(read)
    if rows is None:
        return None

    def known(row: dict) -> bool | None:
        if row["id"] in pool.changed or row["id"] not in read.seen:
            return None
        return row["id"] in read.likely
    likely = _worth_scoring(claim, record, limits, rows,
                            lambda row: pool.record(row, row_record), known)
    family = pool.family(likely)
    return family if family is not None else queries.with_family(session, likely)


def score_candidates(session: Session, claim: PersonClaim, scope: Scope,
                     limits: Thresholds | None = None, *, read_ahead: bool = False
                     ) -> list[Scored]:
    """The registry persons sharing a blocking key with the claim that score in the
    auto-link or review band, strongest first (`read_ahead`: see identify_person)."""
    limits = limits or thresholds()
    record = claim_record(claim)
    likely = _likely_read_ahead(session, claim, record, limits) if read_ahead else None
    if likely is None:
        likely = queries.with_family(session, _worth_scoring(
            claim, record, limits, queries.blocking_candidates(session, blocking_for(claim))))
    out = []
    for row in likely:
        comparison = compare(record, row_record(row), limits)
        if comparison.band != NEW:
            out.append(Scored(row, comparison, not _in_scope(scope, row)))
    out.sort(key=lambda s: (-s.comparison.score, s.row["created_at"], s.row["id"]))
    return out


# ---------------------------------------------------------------- resolution

@dataclass(frozen=True)
class Identified:
    """Where a person claim goes (found, nothing written yet)."""

    outcome: str  # existing | auto_link | review | new
    rule: str  # registry_id | nik | name_birth_date | household_name | score | none
    row: dict | None = None  # existing / auto_link: the record in scope it attaches to
    comparison: Comparison | None = None
    proposals: list[Scored] = field(default_factory=list)  # pairs to open (review)

    @property
    def target(self) -> dict | None:
        return self.row


def identify_person(session: Session, claim: PersonClaim, scope: Scope,
                    candidates: Candidates | None = None, *, score: bool = True,
                    read_ahead: bool = False) -> Identified:
    """Which record the claim is (see the module docstring); writes nothing.
    `score` False: the rules only (a mother named on a child's form: she has no birth
    date to block or score on, and the household rule already finds her there).
    `read_ahead`: the claim is a pushed create whose group read its candidates ahead
    (`read_ahead`; its rows have the columns scoring needs, not every column)."""
    if read_ahead and candidates is None and (
            ahead := identity_ahead.pool_for(session, claim)) is not None:
        pool, read = ahead
        rows = pool.rule_rows(read)
        candidates = Candidates(rows) if rows is not None else None
    found = match_by_rules(session, claim, scope, candidates)
    if found.row is not None:
        return Identified("existing", found.rule, found.row)
    scored = score_candidates(session, claim, scope, read_ahead=read_ahead) if score else []
    proposals = []
    if found.elsewhere is not None:  # a NIK or exact name outside the scope: review
        elsewhere = next((s for s in scored if s.row["id"] == found.elsewhere["id"]), None)
        if elsewhere is None:
            comparison = compare(claim_record(claim), row_record(
                queries.matchable_person(session, found.elsewhere["id"]) or found.elsewhere))
            elsewhere = Scored(found.elsewhere, comparison, True)
        proposals.append(elsewhere)
    best = next((s for s in scored if not s.cross_scope), None)
    if (found.elsewhere is None and best is not None and best.comparison.band == AUTO_LINK
            and best is scored[0]):
        return Identified("auto_link", "score", best.row, best.comparison)
    proposals += [s for s in scored if s not in proposals]
    proposals = proposals[:_MAX_PROPOSALS]
    if proposals:
        rule = found.rule if found.elsewhere is not None else "score"
        return Identified(REVIEW, rule, None, proposals[0].comparison, proposals)
    return Identified(NEW, "none")


@dataclass(frozen=True)
class Resolution:
    person: dict  # the record the claim now is (a survivor after an auto-link)
    outcome: str
    known: bool  # a record the registry had before (its history is this person's)


def _claim_data(claim: PersonClaim) -> dict:
    return {"nik": claim.nik, "name": claim.name, "sex": claim.sex,
            "birth_date": claim.birth_date, "kelurahan_code": claim.kelurahan_code,
            "posyandu_id": claim.posyandu_id, "household_id": claim.household_id,
            "mother_id": claim.mother_id}


def fingerprint(claim: PersonClaim | HouseholdClaim) -> str:
    values = "|".join("" if v is None else str(v) for v in vars(claim).values())
    return hashlib.sha1(values.encode()).hexdigest()


def settle_identity(session: Session, found: Identified, claim: PersonClaim,
                    provenance: Provenance, *, role: str, entity_id: str | None = None,
                    known_absent: bool = False) -> Resolution:
    """Write what `identify_person` decided: fill the existing record's gaps, auto-link
    (a new record merged at once into the match), or create the record (opening the
    review pairs). `entity_id`: the id a phone gave its new record (a pushed create);
    `known_absent`: the caller found no record with that id already (sync.apply)."""
    from sync.merge import merge

    if found.outcome == "existing" and entity_id is None:
        person = settle_person(session, found.row, claim, provenance)
        _decide(session, "person", role, claim, found, person["id"], provenance)
        return Resolution(person, "existing", True)
    created = _create_person(session, entity_id or claim.new_id, _claim_data(claim),
                             provenance, known_absent=known_absent and entity_id is not None)
    if found.outcome in ("existing", AUTO_LINK):
        pair_id = None
        if found.comparison is not None:
            pair_id = open_pair(session, "person", created["id"], found.row["id"],
                                found.comparison, provenance, cross_scope=False,
                                status="merged")
        survivor = merge(session, entity="person", survivor_id=found.row["id"],
                         absorbed_id=created["id"], provenance=provenance, kind="auto_link",
                         pair_id=pair_id,
                         submission_ids=(provenance.submission_id,)
                         if provenance.submission_id else ())
        if pair_id is not None:
            queries.set_pair(session, pair_id, merge_id=survivor["merge_id"])
        _decide(session, "person", role, claim, found, survivor["id"], provenance)
        return Resolution(survivor, found.outcome, True)
    for proposal in found.proposals:  # a record made just now: no pair of it exists yet
        open_pair(session, "person", created["id"], proposal.row["id"], proposal.comparison,
                  provenance, cross_scope=proposal.cross_scope, fresh=True)
    _decide(session, "person", role, claim, found, created["id"], provenance)
    return Resolution(created, found.outcome, False)


def _create_person(session: Session, entity_id: str | None, data: dict,
                   provenance: Provenance, *, known_absent: bool = False) -> dict:
    if entity_id is None:
        return create_person(session, data=data, provenance=provenance)
    from sync.apply import Status, apply

    result = apply(session, "person", entity_id, 0, data, provenance, known_absent=known_absent)
    if result.status is Status.REJECTED:
        raise ValueError(result.reason)
    return result.row


def _decide(session: Session, entity: str, role: str, claim, found: Identified,
            subject_id: str, provenance: Provenance) -> None:
    best = found.proposals[0] if found.proposals else None
    comparison = found.comparison
    queries.add_decision(session, dict(
        entity=entity, role=role, submission_id=provenance.submission_id,
        fingerprint=fingerprint(claim), outcome=found.outcome, rule=found.rule,
        subject_id=subject_id,
        candidate_id=(found.row["id"] if found.row is not None else
                      best.row["id"] if best is not None else None),
        score=None if comparison is None else round(comparison.score, 2),
        cross_scope=bool(best and best.cross_scope),
        evidence={} if comparison is None else comparison.evidence(),
        created_at=utcnow()))


def open_pair(session: Session, entity: str, x: str, y: str, comparison: Comparison | None,
              provenance: Provenance | None, *, cross_scope: bool, source: str = "online",
              status: str = "open", score: float | None = None, evidence: dict | None = None,
              fresh: bool = False) -> int | None:
    """Propose x and y as one record (once: an existing pair, and above all a dismissed
    one, is left as it is). Returns the pair's id, or None if it existed. `fresh`: x was
    created in this transaction, so no pair of it can exist; the pair is queued with the
    transaction's other writes (no round trip) and its id is not returned."""
    if not fresh and queries.pair_between(session, entity, x, y) is not None:
        return None
    a_id, b_id = queries.ordered(x, y)
    insert = queries.queue_pair if fresh else queries.insert_pair
    return insert(session, dict(
        entity=entity, a_id=a_id, b_id=b_id,
        score=round(comparison.score if comparison is not None else score or 0.0, 2),
        band=comparison.band if comparison is not None else REVIEW,
        evidence=comparison.evidence() if comparison is not None else (evidence or {}),
        cross_scope=cross_scope, source=source, status=status,
        submission_id=provenance.submission_id if provenance else None, created_at=utcnow()))


def resolve_person(session: Session, claim: PersonClaim, provenance: Provenance, *,
                   role: str = "person", candidates: Candidates | None = None) -> dict:
    """The person this claim is (after every rule and the probabilistic step)."""
    found = identify_person(session, claim, provenance.scope, candidates)
    return settle_identity(session, found, claim, provenance, role=role).person


def settle_person(session: Session, person: dict | None, claim: PersonClaim,
                  provenance: Provenance) -> dict:
    """Write what a claim adds to the person it was matched to (None: a new person)."""
    data = _claim_data(claim)
    if person is None:
        return create_person(session, data=data, provenance=provenance, entity_id=claim.new_id)
    changes = {k: v for k, v in data.items() if person.get(k) in (None, "")}
    if is_placeholder_name(person["name"]) and not is_placeholder_name(claim.name):
        changes["name"] = claim.name  # "By. Ny. Rina" gets her real name
    if (claim.kelurahan_code != person["kelurahan_code"] and claim.registry_id == person["id"]
            and not claim.versioned):
        changes["kelurahan_code"] = claim.kelurahan_code  # the family moved
        changes["posyandu_id"] = claim.posyandu_id
    # Intake fills gaps and corrects; it never blanks a field.
    changes = {k: v for k, v in changes.items() if v not in (None, "")}
    update_in_place(session, "person", person, changes=changes, provenance=provenance)
    return person


def pushed_claim(changes: dict) -> PersonClaim:
    """The identity claim of a person an app created offline (its checked changes)."""
    return PersonClaim(
        registry_id=None, nik=changes.get("nik"), name=changes.get("name") or "",
        kelurahan_code=changes["kelurahan_code"], sex=changes.get("sex"),
        birth_date=changes.get("birth_date"), posyandu_id=changes.get("posyandu_id"),
        household_id=changes.get("household_id"), mother_id=changes.get("mother_id"))


def resolve_pushed_person(session: Session, entity_id: str, changes: dict,
                          provenance: Provenance, *, known_absent: bool = False) -> Resolution:
    """A person an app created offline (`entity_id` is the app's id): resolved like a
    submission's claim. Matched (by a rule or in the auto-link band), it is created and
    merged at once into the match, so the app's id follows to the survivor.
    `known_absent`: the caller found no record with the app's id (sync.apply)."""
    claim = pushed_claim(changes)
    found = identify_person(session, claim, provenance.scope, read_ahead=True)
    resolution = settle_identity(session, found, claim, provenance, role="pushed",
                                 entity_id=entity_id, known_absent=known_absent)
    extra = {k: v for k, v in changes.items() if k not in _claim_data(claim)
             and v not in (None, "")}
    if extra and resolution.person["id"] == entity_id:
        update_in_place(session, "person", resolution.person, changes=extra,
                        provenance=provenance)
    return resolution


# ---------------------------------------------------------------- households

def find_household(session: Session, claim: HouseholdClaim,
                   scope: Scope = Scope(everything=True)) -> dict | None:
    return _household_match(session, claim, scope)[0]


def _household_match(session: Session, claim: HouseholdClaim, scope: Scope
                     ) -> tuple[dict | None, str | None, dict | None]:
    """(household in scope, rule, a household with the claim's No. KK outside the scope)."""
    if claim.registry_id:
        household = _by_id_following_merges(session, "household", claim.registry_id)
        if household is not None and _in_scope(scope, household):
            return household, "registry_id", None
    if claim.kk:
        found = households.with_kk(session, claim.kk)
        mine = next((row for row in found if _in_scope(scope, row)), None)
        if mine is not None or found:
            return mine, "kk", None if mine is not None else found[0]
    key = name_key(claim.head_name)
    if key:
        for row in households.without_kk(session, claim.kelurahan_code):
            if name_key(row["head_name"]) == key and _in_scope(scope, row):
                return row, "head_name", None
    return None, None, None


def resolve_household(session: Session, claim: HouseholdClaim, provenance: Provenance) -> dict:
    household, rule, elsewhere = _household_match(session, claim, provenance.scope)
    data = {"kk": claim.kk, "head_name": claim.head_name, "address": claim.address,
            "rt": claim.rt, "rw": claim.rw, "kelurahan_code": claim.kelurahan_code}
    if household is None:
        created = create_household(session, data=data, provenance=provenance,
                                   entity_id=claim.new_id)
        if elsewhere is not None:  # the same No. KK in a kelurahan she may not see
            open_pair(session, "household", created["id"], elsewhere["id"], None, provenance,
                      cross_scope=True, score=14.0,
                      evidence={"rule": "kk", "fields": {"kk": {"level": "exact"}}})
        _decide(session, "household", "household", claim,
                Identified(REVIEW if elsewhere is not None else NEW, rule or "none"),
                created["id"], provenance)
        return created
    changes = {k: v for k, v in data.items()
               if household.get(k) in (None, "") and v not in (None, "")}
    if (claim.kelurahan_code != household["kelurahan_code"] and claim.kk and not claim.versioned
            and claim.kk == household["kk"] and _in_scope(provenance.scope, household)):
        changes["kelurahan_code"] = claim.kelurahan_code  # moved to another kelurahan
    changes = {k: v for k, v in changes.items() if v not in (None, "")}
    update_in_place(session, "household", household, changes=changes, provenance=provenance)
    _decide(session, "household", "household", claim, Identified("existing", rule),
            household["id"], provenance)
    return household


