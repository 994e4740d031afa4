"""Privacy and retention state: legal holds on persons (no erasure while one is
active) and the raw submissions whose content was purged (retention) or rewritten
(a data subject's erasure)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import TZ_DATETIME, utcnow


class LegalHold(SQLModel, table=True):
    """A legal retention duty on a person's data (e.g. a case under investigation, a
    record a regulation requires to be kept): while it is active (`released_at` None),
    `person erase` refuses."""

    __tablename__ = "legal_hold"

    id: int | None = Field(default=None, primary_key=True)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=36)
    reason: str = Field(max_length=255)
    created_by: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)
    released_at: datetime | None = Field(default=None, sa_type=TZ_DATETIME)
    released_by: int | None = Field(default=None, foreign_key="user_account.id")


class SubmissionPurge(SQLModel, table=True):
    """A raw submission whose personal content is gone: `retention` (its XML and
    attachments purged after the retention period; the records made from it stay) or
    `erasure` (a data subject's fields replaced)."""

    __tablename__ = "submission_purge"

    submission_id: int = Field(foreign_key="submission.id", primary_key=True)
    reason: str = Field(max_length=16)
    purged_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)
    content_bytes: int = Field(default=0)  # how much raw content was removed
    attachments: int = Field(default=0)
