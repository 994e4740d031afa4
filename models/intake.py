"""Published forms, raw submissions (stored before anything else), attachments, hooks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.base import TZ_DATETIME, utcnow

# held: an ODK entity update waiting for an earlier one of its offline branch (sync.entities)
SUBMISSION_STATUSES = ("received", "processed", "failed", "superseded", "held")
SUBMISSION_SOURCES = ("openrosa", "kobo", "json")
FORM_STATES = ("open", "closing", "closed")


class FormVersion(SQLModel, table=True):
    """One published version of an XForm. Older versions stay so late phones can submit."""

    __tablename__ = "form_version"
    __table_args__ = (UniqueConstraint("form_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    form_id: str = Field(max_length=64, index=True)
    version: str = Field(max_length=64)
    title: str = Field(max_length=200)
    xml: bytes = Field(sa_type=LargeBinary)
    md5: str = Field(max_length=32)
    media: str = Field(default="", max_length=500)  # comma-separated media file names
    is_current: bool = Field(default=True)
    state: str = Field(default="open", max_length=8)
    published_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)


class Submission(SQLModel, table=True):
    """A raw form submission, exactly as received. Unique per (form, instanceID)."""

    __tablename__ = "submission"
    __table_args__ = (
        UniqueConstraint("form_id", "instance_id"),
        Index("ix_submission_status", "status"),
        # Edits of a submission (meta/deprecatedID), looked up on every submission.
        # Partial: almost no submission is an edit. All three equality columns, so SQLite's
        # planner prefers it to the submitter index (which grows with every form sent).
        Index("ix_submission_edit", "form_id", "deprecated_id", "submitter_id",
              sqlite_where=text("deprecated_id IS NOT NULL"),
              postgresql_where=text("deprecated_id IS NOT NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    form_id: str = Field(max_length=64)
    form_version: str = Field(max_length=64)
    instance_id: str = Field(max_length=100)
    deprecated_id: str | None = Field(default=None, max_length=100)
    source: str = Field(max_length=10)
    content_type: str = Field(max_length=40)
    content: bytes = Field(sa_type=LargeBinary)
    content_hash: str = Field(max_length=64)
    submitter_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    app_token_id: int | None = Field(default=None, foreign_key="app_token.id")
    device_id: str | None = Field(default=None, max_length=100)
    kelurahan_code: str | None = Field(default=None, max_length=13)
    posyandu_id: int | None = Field(default=None)
    received_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)
    status: str = Field(default="received", max_length=12)
    error: str | None = None
    attempts: int = Field(default=0)
    processed_at: datetime | None = Field(default=None, sa_type=TZ_DATETIME)


class Attachment(SQLModel, table=True):
    __tablename__ = "attachment"
    __table_args__ = (UniqueConstraint("submission_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    data: bytes = Field(sa_type=LargeBinary)
    received_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)


class KoboHook(SQLModel, table=True):
    """A KoboToolbox REST Service that forwards submissions, with its own secret."""

    __tablename__ = "kobo_hook"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=120)
    form_id: str = Field(max_length=64)  # which of our forms the Kobo asset is
    secret_hash: str = Field(max_length=64)
    submitter_id: int = Field(foreign_key="user_account.id")
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)
