"""Typed records made from submissions, with their indicators stored alongside.

Each record points at the submission it came from (unique: processing the same
submission twice never makes a second record). An edit (`deprecatedID`) makes a new
record and marks the one it replaces `is_current = False`; nothing is deleted.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.base import TZ_DATETIME, utcnow


class Measurement(SQLModel, table=True):
    """Child anthropometry, with WHO z-scores and Permenkes 2/2020 categories."""

    __tablename__ = "measurement"
    __table_args__ = (
        Index("ix_measurement_person_date", "person_id", "measured_on"),
        Index("ix_measurement_kelurahan_date", "kelurahan_code", "measured_on"),
        # The console's dashboard: a year's counts per day and category, index-only.
        Index("ix_measurement_day", "measured_on", "stunted", "wasted", "underweight",
              "is_current", "kelurahan_code", "posyandu_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", unique=True)
    person_id: str = Field(foreign_key="person.id", max_length=36)
    kelurahan_code: str = Field(foreign_key="wilayah.code", max_length=13)
    posyandu_id: int | None = Field(default=None, foreign_key="posyandu.id")
    measured_on: date
    age_days: int | None = None
    weight_kg: float | None = None
    length_height_cm: float | None = None
    measure_method: str | None = Field(default=None, max_length=8)
    muac_cm: float | None = None
    oedema: bool = Field(default=False)
    # WHO anthro outputs (names as in anthro_zscores); None where WHO gives NA.
    clenhei: float | None = None  # length/height after the +/-0.7 cm conversion
    cmeasure: str | None = Field(default=None, max_length=1)  # measure used: L or H
    c9mo_flag: int = Field(default=0)  # standing height under 9 months (treated as unknown)
    cbmi: float | None = None
    zlen: float | None = None
    flen: int | None = None
    zwei: float | None = None
    fwei: int | None = None
    zwfl: float | None = None
    fwfl: int | None = None
    zbmi: float | None = None
    fbmi: int | None = None
    zac: float | None = None
    fac: int | None = None
    # Permenkes 2/2020 categories and derived booleans.
    bbu_category: str | None = Field(default=None, max_length=40)
    tbu_category: str | None = Field(default=None, max_length=40)
    bbtb_category: str | None = Field(default=None, max_length=40)
    imtu_category: str | None = Field(default=None, max_length=40)
    stunted: bool | None = None
    severely_stunted: bool | None = None
    wasted: bool | None = None
    severely_wasted: bool | None = None
    underweight: bool | None = None
    overweight: bool | None = None
    age_group: str | None = Field(default=None, max_length=8)
    # Plausibility flags (semicolon separated codes), shown to reviewers, never "fixed".
    plausibility_flags: str = Field(default="", max_length=255)
    is_current: bool = Field(default=True)
    # Set while this measurement and another of the same child on the same day (from
    # another submission) wait for a person to say which is right: caseloads count
    # neither until the conflict is resolved (sync.offline).
    conflict_id: int | None = Field(default=None, foreign_key="sync_conflict.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)


class Pregnancy(SQLModel, table=True):
    __tablename__ = "pregnancy"

    id: int | None = Field(default=None, primary_key=True)
    woman_id: str = Field(foreign_key="person.id", index=True, max_length=36)
    kelurahan_code: str = Field(foreign_key="wilayah.code", max_length=13)
    first_seen_on: date
    estimated_conception_on: date | None = None
    status: str = Field(default="ongoing", max_length=10)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)


class PregnancyScreening(SQLModel, table=True):
    """KEK / anaemia screening of a pregnant woman or a woman of reproductive age."""

    __tablename__ = "pregnancy_screening"
    __table_args__ = (Index("ix_pregnancy_screening_kelurahan_date", "kelurahan_code", "screened_on"),)

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", unique=True)
    woman_id: str = Field(foreign_key="person.id", index=True, max_length=36)
    pregnancy_id: int | None = Field(default=None, foreign_key="pregnancy.id")
    kelurahan_code: str = Field(foreign_key="wilayah.code", max_length=13)
    posyandu_id: int | None = Field(default=None, foreign_key="posyandu.id")
    screened_on: date
    pregnant: bool
    gestational_age_weeks: int | None = None
    muac_cm: float | None = None
    hb_g_dl: float | None = None
    height_cm: float | None = None
    weight_kg: float | None = None
    age_years: int | None = None
    bmi: float | None = None
    kek: bool | None = None
    anaemia: bool | None = None
    anaemia_severity: str | None = Field(default=None, max_length=10)
    risk_age_under_20: bool | None = None
    risk_age_over_35: bool | None = None
    risk_short_stature: bool | None = None
    risk_low_bmi: bool | None = None
    # Outside pregnancy: a bride-to-be (calon pengantin) and her planned wedding date.
    catin: bool | None = None
    planned_marriage_date: date | None = None
    is_current: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)


class SanitationCheck(SQLModel, table=True):
    """A household visit: STBM pillars, jamban sehat, sanitasi layak."""

    __tablename__ = "sanitation_check"
    __table_args__ = (Index("ix_sanitation_check_kelurahan_date", "kelurahan_code", "checked_on"),)

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", unique=True)
    household_id: str = Field(foreign_key="household.id", index=True, max_length=36)
    kelurahan_code: str = Field(foreign_key="wilayah.code", max_length=13)
    checked_on: date
    latrine_access: str | None = Field(default=None, max_length=16)
    latrine_type: str | None = Field(default=None, max_length=16)
    waste_disposal: str | None = Field(default=None, max_length=16)
    handwashing_soap: bool | None = None
    drinking_water_source: str | None = Field(default=None, max_length=20)
    water_treated: str | None = Field(default=None, max_length=16)
    waste_bin: bool | None = None
    wastewater_drain: str | None = Field(default=None, max_length=16)
    stop_babs: bool | None = None
    ctps: bool | None = None
    pamm_rt: bool | None = None
    ps_rt: bool | None = None
    plc_rt: bool | None = None
    jamban_sehat: bool | None = None
    sanitasi_layak: bool | None = None
    air_minum_layak: bool | None = None
    is_current: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ_DATETIME)
