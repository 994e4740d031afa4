"""Caseload aggregates (issue #16), the case lists they come with, targets, the
interventions agencies deliver, and the programmes an agency account may act on.

`caseload_aggregate` has one row per (kelurahan, period) and one integer column per
count of indicators.caseload.METRICS (a wide row: a region's figures are one indexed
range read, summed). `caseload_contribution` keeps what each subject (a person or a
household) adds to each (period, kelurahan): the aggregates are exactly the sums of
the contributions, which sync.caseloads keeps up to date before every commit.
The `born` column counts persons by birth month (period = birth month), from which
`registered` is summed over the months of an age group.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Index, Integer, PrimaryKeyConstraint, String, Table, text
from sqlmodel import Field, SQLModel

from indicators.caseload import METRICS
from models.base import TZ_DATETIME, utcnow
from models.registry import Person
from models.wilayah import Wilayah

# Caseload refreshes look up the persons merged into a survivor (their interventions
# count for it): without this index that is a scan of the registry on every commit.
# Partial (migration 0009): holding only merged persons, it cannot be ANDed into a
# read of live persons (`merged_into_id IS NULL`) by a planner short of statistics.
_MERGED = Person.__table__.c.merged_into_id.isnot(None)
Index("ix_person_merged_into_id", Person.__table__.c.merged_into_id,
      postgresql_where=_MERGED, sqlite_where=_MERGED)

CASELOAD_AGGREGATE = Table(
    "caseload_aggregate", SQLModel.metadata,
    Column("kelurahan_code", String(13), nullable=False),
    Column("period", String(7), nullable=False),
    *(Column(name, Integer, nullable=False, server_default=text("0")) for name in METRICS),
    PrimaryKeyConstraint("kelurahan_code", "period", name="pk_caseload_aggregate"),
    Index("ix_caseload_aggregate_period_kelurahan", "period", "kelurahan_code"),
    # A region's rows by code prefix (LIKE '33.75.%'), births read from the index alone
    # (migration 0008_reads: PostgreSQL needs the pattern operator class for LIKE).
    Index("ix_caseload_aggregate_region", "kelurahan_code", "period", "born",
          postgresql_ops={"kelurahan_code": "varchar_pattern_ops"}),
)
# The regions under a parent or a caller's scope, by code prefix (0008_reads).
Index("ix_wilayah_code_prefix", Wilayah.__table__.c.code,
      postgresql_ops={"code": "varchar_pattern_ops"})


class CaseloadContribution(SQLModel, table=True):
    """What one subject adds to one (period, kelurahan): {aggregate column: count}."""

    __tablename__ = "caseload_contribution"

    subject_kind: str = Field(primary_key=True, max_length=10)  # person | household
    subject_id: str = Field(primary_key=True, max_length=36)
    period: str = Field(primary_key=True, max_length=7)
    kelurahan_code: str = Field(primary_key=True, max_length=13)
    household_id: str | None = Field(default=None, max_length=36)  # a person's, when computed
    counts: dict = Field(sa_column=Column(JSON, nullable=False))


class CaseloadCase(SQLModel, table=True):
    """One subject on one programme's list for one period, with the reasons and the
    values that put it there; `covered`: it received an intervention of the programme
    in the period."""

    __tablename__ = "caseload_case"
    __table_args__ = (Index("ix_caseload_case_list", "program", "period", "kelurahan_code",
                            "subject_id"),
                      Index("ix_caseload_case_subject", "subject_id"))

    program: str = Field(primary_key=True, max_length=20)
    period: str = Field(primary_key=True, max_length=7)
    subject_kind: str = Field(primary_key=True, max_length=10)
    subject_id: str = Field(primary_key=True, max_length=36)
    kelurahan_code: str = Field(max_length=13)
    posyandu_id: int | None = None
    reasons: str = Field(max_length=255)  # comma separated
    detail: dict = Field(sa_column=Column(JSON, nullable=False))
    covered: bool = Field(default=False)


class CaseloadTarget(SQLModel, table=True):
    """The stunting prevalence target (balita, a fraction) of a region for a year.
    `wilayah_code` "ID" is the national target."""

    __tablename__ = "caseload_target"

    wilayah_code: str = Field(primary_key=True, max_length=13)
    year: int = Field(primary_key=True)
    stunting_prevalence: float
    set_by: int | None = Field(default=None, foreign_key="user_account.id")
    set_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)


class Intervention(SQLModel, table=True):
    """What an agency delivered to a person or a household. Withdrawn = deleted_at set
    (the row stays: a tombstone)."""

    __tablename__ = "intervention"
    __table_args__ = (Index("ix_intervention_kelurahan_delivered", "kelurahan_code",
                            "delivered_on"),)

    id: int | None = Field(default=None, primary_key=True)
    program: str = Field(max_length=20)
    type: str = Field(max_length=32)
    delivered_on: date
    person_id: str | None = Field(default=None, foreign_key="person.id", index=True,
                                  max_length=36)
    household_id: str | None = Field(default=None, foreign_key="household.id", index=True,
                                     max_length=36)
    kelurahan_code: str = Field(max_length=13)
    quantity: float | None = None
    unit: str | None = Field(default=None, max_length=32)
    notes: str | None = Field(default=None, max_length=1000)
    agency: str | None = Field(default=None, max_length=120)
    recorded_by: int | None = Field(default=None, foreign_key="user_account.id")
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)
    deleted_at: datetime | None = Field(default=None, sa_type=TZ_DATETIME)
    deleted_by: int | None = Field(default=None, foreign_key="user_account.id")


class UserProgram(SQLModel, table=True):
    """A programme whose named case list an agency account may read and act on."""

    __tablename__ = "user_program"

    user_id: int = Field(foreign_key="user_account.id", primary_key=True, ondelete="CASCADE")
    program: str = Field(primary_key=True, max_length=20)
