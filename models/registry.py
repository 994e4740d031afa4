"""The registry: posyandu, households and persons, each change kept as a version."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import TZ_DATETIME, new_uuid, utcnow


class Posyandu(SQLModel, table=True):
    __tablename__ = "posyandu"
    __table_args__ = (UniqueConstraint("kelurahan_code", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    kelurahan_code: str = Field(foreign_key="wilayah.code", index=True, max_length=13)
    name: str = Field(max_length=120)
    rw: str | None = Field(default=None, max_length=8)
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)


class Household(SQLModel, table=True):
    __tablename__ = "household"

    id: str = Field(default_factory=new_uuid, primary_key=True, max_length=36)
    kk: str | None = Field(default=None, max_length=16, index=True)
    head_name: str | None = Field(default=None, max_length=120)
    address: str | None = Field(default=None, max_length=255)
    rt: str | None = Field(default=None, max_length=8)
    rw: str | None = Field(default=None, max_length=8)
    kelurahan_code: str = Field(foreign_key="wilayah.code", index=True, max_length=13)
    version: int = Field(default=1)
    merged_into_id: str | None = Field(default=None, foreign_key="household.id", max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)


class Person(SQLModel, table=True):
    """A child, a woman, or a household head. NIK is optional (often missing for infants)."""

    __tablename__ = "person"
    __table_args__ = (
        Index("ix_person_kelurahan_name", "kelurahan_code", "name_key"),
        Index("ix_person_posyandu", "posyandu_id"),
        # Identity resolution's blocking lookups (sync.queries.identity).
        Index("ix_person_kelurahan_birth", "kelurahan_code", "birth_date"),
        Index("ix_person_block_kelurahan_birth", "name_block", "kelurahan_code", "birth_date"),
        Index("ix_person_mother", "mother_id"),
    )

    id: str = Field(default_factory=new_uuid, primary_key=True, max_length=36)
    nik: str | None = Field(default=None, max_length=16, index=True)
    name: str = Field(max_length=120)
    # Normalised name (lower case, titles like "By. Ny." removed) for exact matching.
    name_key: str = Field(max_length=120)
    # A phonetic key of the name (matching.names.phonetic_key: 'Rizky'/'Rizki' -> 'rsk'),
    # for blocking across spellings.
    name_block: str = Field(default="", max_length=8)
    sex: str | None = Field(default=None, max_length=6)
    birth_date: date | None = None
    birth_date_estimated: bool = Field(default=False)
    mother_id: str | None = Field(default=None, foreign_key="person.id", max_length=36)
    household_id: str | None = Field(
        default=None, foreign_key="household.id", index=True, max_length=36
    )
    kelurahan_code: str = Field(foreign_key="wilayah.code", max_length=13)
    posyandu_id: int | None = Field(default=None, foreign_key="posyandu.id")
    version: int = Field(default=1)
    merged_into_id: str | None = Field(default=None, foreign_key="person.id", max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)


class PersonVersion(SQLModel, table=True):
    """Every version of a person: a snapshot, who changed it, when and why."""

    __tablename__ = "person_version"

    person_id: str = Field(foreign_key="person.id", primary_key=True, max_length=36)
    version: int = Field(primary_key=True)
    data: dict = Field(sa_column=Column(JSON, nullable=False))
    changed_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)
    changed_by: int | None = Field(default=None, foreign_key="user_account.id")
    submission_id: int | None = Field(default=None, foreign_key="submission.id")
    reason: str = Field(max_length=64)


class HouseholdVersion(SQLModel, table=True):
    __tablename__ = "household_version"

    household_id: str = Field(foreign_key="household.id", primary_key=True, max_length=36)
    version: int = Field(primary_key=True)
    data: dict = Field(sa_column=Column(JSON, nullable=False))
    changed_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)
    changed_by: int | None = Field(default=None, foreign_key="user_account.id")
    submission_id: int | None = Field(default=None, foreign_key="submission.id")
    reason: str = Field(max_length=64)
