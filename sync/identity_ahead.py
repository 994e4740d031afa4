"""Identity resolution read ahead for a group of claims (a push's creates, issue #15).

A push's creates resolve identity one after another in one transaction (sync.offline).
Alone, each reads its rule candidates and its blocking candidates (two round trips,
each first sending the group's queued writes) and builds a record of every candidate
it scores, although the creates of a village share most of their candidates. Read
ahead, the group's blocking statements (the same ones, one per claim, unchanged plans;
what a claim's rules can pick is among its blocking rows) go out in one pipeline
before the first create runs; their rows form a pool, indexed the way
the blocking branches and the rules search the table, with the family of the rows
that may be scored. Each claim then finds in the pool exactly what its own statements
would have found at that point of the transaction:

- rows the transaction has written since the read (sync.queries.versioned.written: an
  earlier create of the group, an update, a tombstone) replace what was read, or join
  the pool;
- a side of the birth-date window that was full (NEAREST_BORN rows) when read and has
  since lost rows may hide rows nobody read: that claim reads again;
- a write the pool cannot see (a Session statement or an ORM flush that writes persons
  or households; a merge moving measurements is neither) drops the pool: the group's
  later claims read as before;
- a claim the pool does not model (a registry id to follow, its mother's NIK or name
  as blocking keys: never a pushed create's) reads as before.

Nothing here decides: sync.identity scores what it is given the same way either way.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlmodel import Session

from core.statements import all_together, forget_on_session_writes
from sync.queries import identity as queries
from sync.queries import persons
from sync.queries.versioned import watch_writes, written

_KEY = "posyandu.identity_ahead"
_NEEDED = ("id", "name", "sex", "birth_date", "birth_date_estimated", "nik",
           "kelurahan_code", "posyandu_id", "mother_id", "household_id", "created_at",
           "name_key", "name_block", "merged_into_id")


@dataclass
class _Side:
    """One side of a claim's birth-date window as read: `edge` is the birth date of the
    NEAREST_BORN-th row if the side was full (rows beyond it were not read), else None."""

    edge: date | None = None


@dataclass
class _Read:
    blocking: queries.Blocking
    lookup: persons.Lookup
    params: dict  # the blocking statement's (queries.blocking_params)
    before: _Side = field(default_factory=_Side)
    after: _Side = field(default_factory=_Side)
    seen: set[str] = field(default_factory=set)  # the ids its own statement returned
    rules_known: bool = True  # the rows its rules could pick are all in the pool
    likely: set[str] = field(default_factory=set)  # of those, the ones worth scoring

    def sides(self) -> tuple[tuple[_Side, date, date, bool], ...]:
        """The birth-date window's sides: (side, first day, last day, earlier side?)."""
        if self.blocking.birth_date is None:
            return ()
        p = self.params
        return ((self.before, p["born_from"], p["born"], True),
                (self.after, p["born"] + timedelta(days=1), p["born_to"], False))


class Pool:
    """Live persons read for a group, indexed as the blocking branches and the rules
    search the table (see the module docstring)."""

    def __init__(self) -> None:
        self.rows: dict[str, dict] = {}
        self._indexes: dict[str, dict] = {name: {} for name in (
            "nik", "block", "mother_id", "household_id", "name_birth", "household_name")}
        self._born: dict[str, list[tuple[date, str]]] = {}  # kelurahan -> sorted (birth, id)
        self.mothers: dict[str, tuple[str | None, str | None]] = {}  # id -> (name, nik)
        self.kks: dict[str, str | None] = {}  # household id -> No. KK
        self.reads: dict[object, _Read] = {}
        self.changed: set[str] = set()  # ids written since the read (their `likely` is stale)
        self._seen = {"person": 0, "household": 0}  # entries of `written` applied
        self._records: dict[str, object] = {}

    # ------------------------------------------------------------ keeping it current

    @staticmethod
    def _keys(row: dict) -> dict[str, object]:
        return {"nik": row["nik"], "block": row["name_block"] or None,
                "mother_id": row["mother_id"], "household_id": row["household_id"],
                "name_birth": (row["kelurahan_code"], row["name_key"], row["birth_date"])
                if row["name_key"] and row["birth_date"] is not None else None,
                "household_name": (row["household_id"], row["name_key"])
                if row["household_id"] and row["name_key"] else None}

    def add(self, row: dict, *, in_order: bool = True) -> None:
        """`in_order` False: the births are put in order later, all at once (`order`)."""
        self.rows[row["id"]] = row
        for name, key in self._keys(row).items():
            if key is not None:
                self._indexes[name].setdefault(key, set()).add(row["id"])
        if row["birth_date"] is not None:
            births = self._born.setdefault(row["kelurahan_code"], [])
            entry = (row["birth_date"], row["id"])
            if in_order:
                bisect.insort(births, entry)
            else:
                births.append(entry)

    def order(self) -> None:
        for births in self._born.values():
            births.sort()

    def remove(self, person_id: str) -> None:
        row = self.rows.pop(person_id, None)
        self._records.pop(person_id, None)
        if row is None:
            return
        for name, key in self._keys(row).items():
            if key is not None:
                self._indexes[name].get(key, set()).discard(person_id)
        if row["birth_date"] is not None:
            born = self._born.get(row["kelurahan_code"], [])
            at = bisect.bisect_left(born, (row["birth_date"], person_id))
            if at < len(born) and born[at] == (row["birth_date"], person_id):
                del born[at]

    def catch_up(self, session: Session) -> bool:
        """Take in what the transaction wrote since the last call; False if nobody kept
        it or a row lacks a column the pool searches by (the pool cannot be trusted)."""
        for table in ("person", "household"):
            log = written(session, table)
            if log is None:
                return False
            for entity_id, row in log[self._seen[table]:]:
                if table == "household":
                    self.kks[entity_id] = row.get("kk")
                    continue
                if any(name not in row for name in _NEEDED):
                    return False
                self.remove(entity_id)
                self.changed.add(entity_id)
                if entity_id in self.mothers:
                    self.mothers[entity_id] = (row["name"], row["nik"])
                if row["merged_into_id"] is None:
                    self.add({name: row[name] for name in _NEEDED if name != "merged_into_id"})
            self._seen[table] = len(log)
        return True

    # ------------------------------------------------------------ searching

    def _found(self, index: str, key) -> set[str]:
        return self._indexes[index].get(key, set()) if key is not None else set()

    def _window(self, kelurahan: str, low: date, high: date, side: _Side, *, before: bool
                ) -> list[str] | None:
        """The NEAREST_BORN live rows born in [low, high] nearest the claim's birth date
        (high for the earlier side, low for the later), or None if rows never read
        could now be among them. Found by bisection: a dense kelurahan holds thousands
        in a window's days."""
        born = self._born.get(kelurahan, [])
        start = bisect.bisect_left(born, (low, ""))
        stop = bisect.bisect_right(born, (high, "\uffff"))
        nearest = queries.NEAREST_BORN
        if before:
            # Full when read: the nearest must all lie within its edge.
            if side.edge is not None and stop - bisect.bisect_left(
                    born, (side.edge, ""), start, stop) < nearest:
                return None
            return [person_id for _, person_id in reversed(born[max(start, stop - nearest):stop])]
        if side.edge is not None and bisect.bisect_right(
                born, (side.edge, "\uffff"), start, stop) - start < nearest:
            return None
        return [person_id for _, person_id in born[start:min(stop, start + nearest)]]

    def _born_on(self, kelurahan: str, day: date) -> list[str]:
        born = self._born.get(kelurahan, [])
        start = bisect.bisect_left(born, (day, ""))
        stop = bisect.bisect_right(born, (day, "\uffff"), start)
        return [person_id for _, person_id in born[start:stop]]

    def blocking_rows(self, read: _Read) -> list[dict] | None:
        """What the blocking statement would return now (see queries.blocking_candidates),
        in no particular order, or None if the pool cannot tell. Unsorted: the claim's
        scorer orders what scores by score, age and id (sync.identity.score_candidates),
        so sorting a claim's hundreds of rows here by a Python key changed nothing."""
        b, params = read.blocking, read.params
        found: set[str] = set()
        found |= self._found("nik", b.nik)
        found |= self._found("mother_id", b.mother_id)
        found |= self._found("household_id", b.household_id)
        if params["born_swapped"] is not None:
            found.update(self._born_on(b.kelurahan_code, params["born_swapped"]))
        if params["block"] is not None:
            low, high = params["kecamatan_from"], params["kecamatan_to"]
            for person_id in self._found("block", params["block"]):
                row = self.rows[person_id]
                if (low < row["kelurahan_code"] < high and row["birth_date"] is not None
                        and params["year_from"] <= row["birth_date"] <= params["year_to"]):
                    found.add(person_id)
        for side, low, high, before in read.sides():
            nearest = self._window(b.kelurahan_code, low, high, side, before=before)
            if nearest is None:
                return None
            found.update(nearest)
        return [self.rows[person_id] for person_id in found]

    def rule_rows(self, read: _Read) -> list[dict] | None:
        """What the rules statement would return now for the claim's lookup, live rows
        only (a claim without a registry id uses no others: sync.identity.match_by_rules),
        or None if the pool cannot tell."""
        if not read.rules_known:
            return None
        lookup = read.lookup
        found = set(self._found("nik", lookup.nik))
        if lookup.name_key and lookup.kelurahan_code and lookup.birth_date is not None:
            found |= self._found("name_birth", (lookup.kelurahan_code, lookup.name_key,
                                                lookup.birth_date))
        if lookup.name_key and lookup.household_id:
            found |= self._found("household_name", (lookup.household_id, lookup.name_key))
        rows = [{**self.rows[person_id], "merged_into_id": None} for person_id in found]
        return sorted(rows, key=lambda row: (row["created_at"], row["id"]))

    def record(self, row: dict, make):
        """The row's scoring record (`make(row)`), built once per row while it is unchanged."""
        record = self._records.get(row["id"])
        if record is None:
            record = self._records[row["id"]] = make(row)
        return record

    def family(self, rows: list[dict]) -> list[dict] | None:
        """The rows with their mother's name and NIK and household's No. KK, or None if
        some of those were not read."""
        out = []
        for row in rows:
            mother, household = row["mother_id"], row["household_id"]
            if (mother and mother not in self.mothers) or (household and household not in self.kks):
                return None
            name, nik = self.mothers.get(mother, (None, None)) if mother else (None, None)
            out.append({**row, "mother_name": name, "mother_nik": nik,
                        "household_kk": self.kks.get(household) if household else None})
        return out


def _set_edges(this: _Read, own: list[dict]) -> None:
    """The edge of each side of the claim's birth-date window that its statement
    returned full (see _Side), from the rows it returned: one pass over them for both
    sides, none at all where the window cannot be full (a village's)."""
    if this.blocking.birth_date is None:
        return
    kelurahan, nearest = this.blocking.kelurahan_code, queries.NEAREST_BORN
    low, high = this.params["born_from"], this.params["born_to"]
    births = [row["birth_date"] for row in own if row["kelurahan_code"] == kelurahan
              and row["birth_date"] is not None and low <= row["birth_date"] <= high]
    if len(births) < nearest:
        return
    births.sort()
    split = bisect.bisect_right(births, this.params["born"])  # the earlier side: up to the day
    if split >= nearest:
        this.before.edge = births[split - nearest]
    if len(births) - split >= nearest:
        this.after.edge = births[split + nearest - 1]


def read(session: Session, claims: dict[object, tuple[queries.Blocking, persons.Lookup]],
         likely) -> None:
    """Read the claims' candidates ahead, in one round trip (see the module docstring).
    `claims`: {claim: (its blocking keys, its rules lookup)}; `likely(claim, rows, pool)`:
    the ids of the rows (given in no particular order) worth scoring, whose mothers and
    households are read too."""
    if not claims:
        return
    pool = Pool()
    pool.reads = reads = {claim: _Read(blocking, lookup, queries.blocking_params(blocking))
                          for claim, (blocking, lookup) in claims.items()}
    # Each claim's ids, then every distinct row once: most rows come back for many
    # claims. No rules statement: what a claim's rules can pick (see rules_known) is
    # among its blocking rows.
    blocked = all_together(session, queries.blocking_id_reads(
        [this.params for this in reads.values()]), raw=True)
    ids = sorted({raw[0] for fetched in blocked for raw in fetched.rows})
    (candidates,) = all_together(session, [queries.candidates_read(ids)], raw=True)
    for raw in candidates.rows:
        pool.add(dict(zip(candidates.names, candidates.values(raw))), in_order=False)
    for (claim, this), fetched in zip(reads.items(), blocked):
        blocking = this.blocking
        # A row merged away between the two reads (another writer's commit) is one the
        # claim's statement would no longer return.
        this.seen = {raw[0] for raw in fetched.rows if raw[0] in pool.rows}
        own = [pool.rows[person_id] for person_id in this.seen]
        _set_edges(this, own)
        # The rules (sync.identity.match_by_rules) pick by NIK, by name and birth date in
        # the kelurahan, or, without a birth date, by name in the household: the NIK and
        # household branches return every such row, and the earlier side of the window
        # every row born on the claim's day unless it is full of them.
        this.rules_known = not (this.before.edge is not None
                                and this.before.edge >= blocking.birth_date)
        this.likely = set(likely(claim, own, pool))
    pool.order()
    # The likely rows' mothers and households, and the claims' own: the group's
    # creates carry those, and may be scored by the claims after them.
    mother_ids = sorted({pool.rows[i]["mother_id"] for r in reads.values()
                         for i in r.likely if pool.rows[i]["mother_id"]}
                        | {r.blocking.mother_id for r in reads.values() if r.blocking.mother_id})
    household_ids = sorted({pool.rows[i]["household_id"] for r in reads.values()
                            for i in r.likely if pool.rows[i]["household_id"]}
                           | {r.blocking.household_id for r in reads.values()
                              if r.blocking.household_id})
    if mother_ids or household_ids:
        mothers, kks = all_together(session, queries.family_reads(mother_ids, household_ids))
        pool.mothers.update({m.id: (m.name, m.nik) for m in mothers})
        pool.kks.update({h.id: h.kk for h in kks})
    watch_writes(session)
    session.info[_KEY] = pool


def pool_for(session: Session, claim) -> tuple[Pool, _Read] | None:
    """The pool and the claim's read, if the claim was read ahead and the pool is still
    good (brought up to date with the transaction's writes first)."""
    pool = session.info.get(_KEY)
    if pool is None:
        return None
    this = pool.reads.get(claim)
    if this is None:
        return None
    if not pool.catch_up(session):
        drop(session)
        return None
    return pool, this


def drop(session: Session, *_) -> None:
    session.info.pop(_KEY, None)


forget_on_session_writes(_KEY, frozenset({"person", "household"}), drop)
