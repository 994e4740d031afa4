"""Retention of raw submissions: after the configured period (POSYANDU_RAW_RETENTION_DAYS)
the raw XML and attachments of processed submissions are anonymised or purged; the
records made from them (measurements, screenings, sanitation checks, registry
versions) stay, so no figure changes.

- `anonymise` (default): the answers that identify a person (names, NIKs, KK, birth
  dates, registry ids, address, GPS, notes) are replaced by ERASED; the measured values
  stay readable for an audit of the processing. Photos are removed.
- `purge`: the XML and the attachments' bytes are removed entirely.

Either way the submission row, its instanceID and the SHA-256 of what was received
stay: a phone resending an old form is still answered "already received" and nothing
is stored twice. Failed and unprocessed submissions are kept (they are still to be
reprocessed). Each run is one audit entry. Nothing here commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from models.base import utcnow
from sync.accounts import record_audit
from sync.queries import subjects as q
from sync.subjects import ERASED, SUBJECT_LEAVES, scrub_json, scrub_xml

MODES = ("anonymise", "purge")


def anonymised(content: bytes, content_type: str) -> bytes:
    scrub = scrub_json if content_type == "application/json" else scrub_xml
    return scrub(content, SUBJECT_LEAVES, set(), set())


def run_retention(session: Session, *, days: int, mode: str = "anonymise",
                  now: datetime | None = None, limit: int = 1000, dry_run: bool = False,
                  actor_id: int | None = None) -> dict:
    """Anonymise or purge up to `limit` submissions older than `days`; returns counts."""
    if mode not in MODES:
        raise ValueError(f"retention mode is one of {MODES}, not {mode!r}")
    if days < 1:
        raise ValueError("the retention period is at least one day")
    cutoff = (now or utcnow()) - timedelta(days=days)
    chosen = q.past_retention(session, received_before=cutoff, limit=limit)
    summary = {"mode": mode, "days": days, "received_before": cutoff.isoformat(),
               "submissions": len(chosen), "content_bytes": 0, "attachments_emptied": 0,
               "dry_run": dry_run}
    if dry_run or not chosen:
        return summary
    at = utcnow()
    for submission in q.submissions(session, chosen):
        content = submission["content"] or b""
        if mode == "purge" or not content:
            new = b""
        else:
            new = anonymised(content, submission["content_type"])
        q.set_submission_content(session, submission["id"], new)
        emptied = q.empty_attachments(session, [submission["id"]])
        q.mark_purged(session, submission["id"], reason="retention",
                      content_bytes=len(content), attachments=emptied, at=at)
        summary["content_bytes"] += len(content) - len(new)
        summary["attachments_emptied"] += emptied
    record_audit(session, actor_id=actor_id, action="retention.run", entity_type="submission",
                 entity_id=f"{chosen[0]}-{chosen[-1]}", detail=summary)
    return summary


__all__ = ["ERASED", "MODES", "anonymised", "run_retention"]
