"""Identity resolution: every decision with its evidence, duplicate candidate pairs for
review, and merges (each one reversible)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import TZ_DATETIME, utcnow


class IdentityDecision(SQLModel, table=True):
    """Which registry record one claim of a submission (or a pushed create) resolved to,
    by which rule or score, with the per-field evidence."""

    __tablename__ = "identity_decision"
    __table_args__ = (Index("ix_identity_decision_submission_role", "submission_id", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    entity: str = Field(max_length=16)  # person | household
    role: str = Field(max_length=16)  # child | mother | woman | household | pushed
    # The submission (no foreign key: up to three of these rows are written with every
    # submission, and the key's check would be a lookup each on the intake path).
    submission_id: int | None = None
    fingerprint: str = Field(max_length=40)  # the claim's identity fields, hashed
    outcome: str = Field(max_length=16)  # existing | auto_link | review | new
    rule: str = Field(max_length=32)  # registry_id | nik | kk | name_birth_date | ... | score
    subject_id: str = Field(max_length=36)  # the record the claim ended on
    candidate_id: str | None = Field(default=None, max_length=36)  # best other candidate
    score: float | None = None
    cross_scope: bool = Field(default=False)
    evidence: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)


class DuplicatePair(SQLModel, table=True):
    """Two records that may be one person (or household), for a supervisor to merge or
    dismiss. `a_id` < `b_id`, so a pair exists once whoever proposes it; a dismissed
    pair stays, so it is never proposed again."""

    __tablename__ = "duplicate_pair"
    __table_args__ = (
        UniqueConstraint("entity", "a_id", "b_id"),
        Index("ix_duplicate_pair_status_score", "status", "score"),
        Index("ix_duplicate_pair_b_id", "b_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    entity: str = Field(max_length=16)
    a_id: str = Field(max_length=36)
    b_id: str = Field(max_length=36)
    score: float
    band: str = Field(max_length=16)  # what the score said: auto_link | review
    evidence: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    cross_scope: bool = Field(default=False)  # proposed by a submitter who sees only one
    source: str = Field(max_length=16)  # online | batch
    status: str = Field(default="open", max_length=16)  # open | merged | dismissed
    submission_id: int | None = Field(default=None, foreign_key="submission.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)
    decided_by: int | None = Field(default=None, foreign_key="user_account.id")
    decided_at: datetime | None = Field(default=None, sa_type=TZ_DATETIME)
    merge_id: int | None = None


class RecordMerge(SQLModel, table=True):
    """One merge (or auto-link) and everything needed to undo it exactly: both records'
    fields before, the survivor's fields it wrote, and the records it moved."""

    __tablename__ = "record_merge"
    __table_args__ = (Index("ix_record_merge_absorbed", "absorbed_id"),
                      Index("ix_record_merge_survivor", "survivor_id"))

    id: int | None = Field(default=None, primary_key=True)
    entity: str = Field(max_length=16)
    kind: str = Field(max_length=16)  # merge | auto_link
    survivor_id: str = Field(max_length=36)
    absorbed_id: str = Field(max_length=36)
    pair_id: int | None = None
    submission_id: int | None = Field(default=None, foreign_key="submission.id")
    status: str = Field(default="merged", max_length=16)  # merged | undone
    survivor_before: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    survivor_written: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    absorbed_before: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    moved: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    actor_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)
    undone_by: int | None = Field(default=None, foreign_key="user_account.id")
    undone_at: datetime | None = Field(default=None, sa_type=TZ_DATETIME)
