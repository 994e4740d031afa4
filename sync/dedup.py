"""Batch deduplication: the whole registry (`scan_registry`) or a CSV file
(`dedup_csv`, no database at all), both with matching.batch.

The registry scan finds the pairs the online path missed (a family that moved to
another kecamatan, a record typed before a better one existed) and opens them as
duplicate candidate pairs (source "batch"). Pairs proposed before are left as they are;
dismissed pairs are never proposed again. It merges only when asked (`auto_merge`):
then the auto-link band is merged, each merge recorded (and undoable) as any other.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import Session

from matching.batch import Linkage, link
from matching.compare import AUTO_LINK, PersonRecord, Thresholds
from sync.apply import Provenance
from sync.identity import open_pair, row_record, thresholds
from sync.queries import identity as queries

CSV_FIELDS = ("child_nik", "child_name", "child_sex", "child_birth_date", "mother_name",
              "mother_nik", "household_kk", "kelurahan_code")
OUT_FIELDS = ("record_id", "cluster_id", "review_cluster_id", "reason")
_CHUNK = 2000


@dataclass
class DedupSummary:
    persons: int = 0
    pairs_found: int = 0  # pairs in the auto-link or review band
    opened: int = 0  # new duplicate candidate pairs
    already_known: int = 0  # proposed before (open, merged or dismissed)
    merged: int = 0  # auto-link band merged (--auto-merge)
    seconds: float = 0.0


def _registry_records(session: Session) -> list[PersonRecord]:
    return [row_record(row) for row in queries.live_persons_for_matching(session)]


def scan_registry(engine: Engine, *, auto_merge: bool = False,
                  limits: Thresholds | None = None,
                  progress: Callable[[str, int, int], None] | None = None) -> DedupSummary:
    """Scan every live person; open the pairs found (merge the auto-link band if
    `auto_merge`), a unit of work (sync.unit_of_work) per chunk of pairs.
    `progress(stage, done, total)` is called as it goes."""
    from sync.unit_of_work import UnitOfWork

    started = time.perf_counter()
    limits = limits or thresholds()
    unit_of_work = UnitOfWork(engine)
    records, known, dismissed = unit_of_work.read(lambda session: (
        _registry_records(session), queries.existing_pairs(session, "person"),
        queries.dismissed_pairs(session, "person")))
    summary = DedupSummary(persons=len(records))
    if progress:
        progress("read", len(records), len(records))
    linkage = link(records, limits,
                   dismissed=lambda a, b: queries.ordered(a, b) in dismissed,
                   progress=(lambda n: progress("compared", n, 0)) if progress else None)
    found = sorted(linkage.pairs.items(), key=lambda item: -item[1].score)
    summary.pairs_found = len(found)
    absorbed: set[str] = set()
    for start in range(0, len(found), _CHUNK):
        chunk = [(records[i].record_id, records[j].record_id, c)
                 for (i, j), c in found[start:start + _CHUNK]]
        done = unit_of_work.run_one(lambda tx, chunk=chunk: _write_pairs(
            tx.session, chunk, known=known, absorbed=absorbed, auto_merge=auto_merge))
        opened, merged, skipped = done
        known.update(queries.ordered(a, b) for a, b in opened)
        absorbed.update(b for _, b in merged)
        summary.opened += len(opened)
        summary.merged += len(merged)
        summary.already_known += skipped
        if progress:
            progress("written", min(start + _CHUNK, len(found)), len(found))
    summary.seconds = time.perf_counter() - started
    return summary


def _write_pairs(session: Session, chunk, *, known: set, absorbed: set, auto_merge: bool):
    """One chunk's pairs, in the unit of work's transaction (redone whole on a race, so
    it changes nothing outside it): (opened pairs, merges (survivor, absorbed), pairs
    known before)."""
    from sync.merge import merge

    provenance = Provenance(actor_id=None, submission_id=None, reason="dedup")
    opened, merged, skipped, gone = [], [], 0, set(absorbed)
    for a, b, comparison in chunk:
        if queries.ordered(a, b) in known:
            skipped += 1
            continue
        merge_now = auto_merge and comparison.band == AUTO_LINK and not ({a, b} & gone)
        pair_id = open_pair(session, "person", a, b, comparison, None, cross_scope=False,
                            source="batch", status="merged" if merge_now else "open")
        if pair_id is None:
            skipped += 1
            continue
        opened.append((a, b))
        if merge_now:  # the older record survives
            done = merge(session, entity="person", survivor_id=a, absorbed_id=b,
                         provenance=provenance, kind="auto_link", pair_id=pair_id)
            queries.set_pair(session, pair_id, merge_id=done["merge_id"])
            gone.add(b)
            merged.append((a, b))
    return opened, merged, skipped


# ---------------------------------------------------------------- CSV

def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text and text.strip() else None
    except ValueError:
        return None


def _sex(text: str | None) -> str | None:
    value = (text or "").strip().lower()
    return {"male": "male", "m": "male", "l": "male", "laki-laki": "male", "female": "female",
            "f": "female", "p": "female", "perempuan": "female"}.get(value)


def csv_records(rows: list[dict]) -> list[PersonRecord]:
    def text(row, name):
        value = (row.get(name) or "").strip()
        return value or None

    return [PersonRecord(
        record_id=(row.get("record_id") or "").strip(), name=text(row, "child_name") or "",
        sex=_sex(row.get("child_sex")), birth_date=_day(row.get("child_birth_date")),
        nik=text(row, "child_nik"), mother_name=text(row, "mother_name"),
        mother_nik=text(row, "mother_nik"), household_kk=text(row, "household_kk"),
        kelurahan_code=text(row, "kelurahan_code")) for row in rows]


def _reasons(records: list[PersonRecord], linkage: Linkage) -> list[str]:
    best: dict[int, tuple[float, str]] = {}
    for (i, j), c in linkage.pairs.items():
        for me, other in ((i, j), (j, i)):
            if me not in best or c.score > best[me][0]:
                text = f"{c.band} with {records[other].record_id} (score {c.score:.1f}"
                text += f"; {c.guard})" if c.guard else ")"
                best[me] = (c.score, text)
    return [best[i][1] if i in best else "no match" for i in range(len(records))]


def dedup_csv(source, target, *, limits: Thresholds | None = None) -> tuple[int, int, int]:
    """Read records from `source` (a text file with a `record_id` column and the
    anthropometry form's person fields), write one row per input row to `target`.
    Returns (rows, auto-link clusters of 2+, review clusters of 2+)."""
    reader = csv.DictReader(source)
    if not reader.fieldnames or "record_id" not in reader.fieldnames:
        raise ValueError("the input needs a record_id column")
    rows = list(reader)
    records = csv_records(rows)
    linkage = link(records, limits or Thresholds())
    reasons = _reasons(records, linkage)
    writer = csv.DictWriter(target, fieldnames=OUT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for i, record in enumerate(records):
        writer.writerow({"record_id": record.record_id,
                         "cluster_id": records[linkage.cluster[i]].record_id,
                         "review_cluster_id": records[linkage.review_cluster[i]].record_id,
                         "reason": reasons[i]})

    def clusters(labels):
        sizes: dict[int, int] = {}
        for label in labels:
            sizes[label] = sizes.get(label, 0) + 1
        return sum(1 for n in sizes.values() if n > 1)

    return len(records), clusters(linkage.cluster), clusters(linkage.review_cluster)
