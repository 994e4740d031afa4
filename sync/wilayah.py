"""Regions: the national list import and lookups."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from core.errors import InvalidInput, NotFound
from models import Wilayah

CODE_PATTERN = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")
PARENT_COLUMNS = ("regency_code", "district_code", "province_code")


def level_of(code: str) -> str:
    """Level from the code's shape; villages whose last part starts with 1 are kelurahan."""
    parts = code.split(".")
    if len(parts) == 1:
        return "provinsi"
    if len(parts) == 2:
        return "kabkota"
    if len(parts) == 3:
        return "kecamatan"
    return "kelurahan" if parts[3].startswith("1") else "desa"


def parent_of(code: str) -> str | None:
    return code.rsplit(".", 1)[0] if "." in code else None


def read_region_csv(path: Path) -> list[tuple[str, str]]:
    """Rows of (code, name) from one file of the national list (`code,<parent>_code,name`)."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "code" not in reader.fieldnames or "name" not in reader.fieldnames:
            raise InvalidInput(f"{path}: expected columns code,<parent>_code,name "
                               f"(got {reader.fieldnames}).", code="wilayah.bad_file")
        rows = []
        for lineno, row in enumerate(reader, start=2):
            code = (row.get("code") or "").strip()
            name = (row.get("name") or "").strip()
            if not CODE_PATTERN.match(code) or not name:
                raise InvalidInput(f"{path}:{lineno}: bad region code or empty name ({code!r}).",
                                   code="wilayah.bad_row")
            for column in PARENT_COLUMNS:
                declared = (row.get(column) or "").strip()
                if declared and declared != parent_of(code):
                    raise InvalidInput(f"{path}:{lineno}: {code} does not sit under {declared}.",
                                       code="wilayah.bad_row")
            rows.append((code, name))
    return rows


def import_regions(session: Session, rows: Iterable[tuple[str, str]]) -> tuple[int, int]:
    """Insert or rename regions, parents first. Returns (inserted, updated)."""
    ordered = sorted(set(rows), key=lambda r: (r[0].count("."), r[0]))
    existing = {w.code: w for w in session.exec(select(Wilayah)).all()}
    known = set(existing)
    inserted = updated = 0
    for code, name in ordered:
        parent = parent_of(code)
        if parent is not None and parent not in known:
            raise InvalidInput(f"Region {code} ({name}) has no parent {parent}; import the "
                               "provinces, regencies and districts files too.",
                               code="wilayah.missing_parent")
        row = existing.get(code)
        if row is None:
            session.add(Wilayah(code=code, name=name, level=level_of(code), parent_code=parent))
            known.add(code)
            inserted += 1
        elif row.name != name:
            row.name = name
            session.add(row)
            updated += 1
    return inserted, updated


def get_wilayah_or_raise(session: Session, code: str) -> Wilayah:
    row = session.get(Wilayah, code)
    if row is None:
        raise NotFound(f"Unknown wilayah code {code!r}.", code="wilayah.not_found")
    return row


def get_kelurahan_or_raise(session: Session, code: str) -> Wilayah:
    row = get_wilayah_or_raise(session, code)
    if row.level not in ("kelurahan", "desa"):
        raise InvalidInput(f"{code} is a {row.level}, not a kelurahan/desa.",
                           code="wilayah.not_kelurahan")
    return row


def list_wilayah(session: Session, *, parent: str | None, level: str | None, limit: int,
                 offset: int) -> tuple[list[Wilayah], int]:
    query = select(Wilayah)
    if parent:
        query = query.where(Wilayah.parent_code == parent)
    if level:
        query = query.where(Wilayah.level == level)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Wilayah.code).limit(limit).offset(offset)).all()
    return list(rows), total
