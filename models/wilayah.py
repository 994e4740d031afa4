"""Kemendagri administrative regions (kode wilayah `PP.KK.CC.DDDD`)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

LEVELS = ("provinsi", "kabkota", "kecamatan", "kelurahan", "desa")


class Wilayah(SQLModel, table=True):
    __tablename__ = "wilayah"

    code: str = Field(primary_key=True, max_length=13)
    name: str = Field(max_length=120)
    level: str = Field(max_length=12, index=True)
    parent_code: str | None = Field(
        default=None, foreign_key="wilayah.code", index=True, max_length=13
    )
