"""Regions: the national list import and lookups."""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from sqlalchemy import bindparam, func, insert, update
from sqlalchemy.engine import Connection, Engine
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


# The national list shipped with the package (sync/data/wilayah, ODbL: see SOURCE.md).
NATIONAL_FILES = (("provinsi", "provinces.csv.gz"), ("kabkota", "regencies.csv.gz"),
                  ("kecamatan", "districts.csv.gz"), ("kelurahan/desa", "villages.csv.gz"))
ATTRIBUTION = "Contains information from idn-area-data 4.0.1, made available under ODbL 1.0"


@dataclass
class NationalImport:
    """Per level (provinsi, kabkota, kecamatan, kelurahan/desa): rows added, renamed, unchanged."""

    added: dict[str, int] = field(default_factory=dict)
    renamed: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)

    def total(self, level: str) -> int:
        return self.added[level] + self.renamed[level] + self.unchanged[level]

    def lines(self) -> list[str]:
        return [f"{level:15} {self.total(level):6}  ({self.added[level]} added, "
                f"{self.renamed[level]} renamed, {self.unchanged[level]} unchanged)"
                for level, _ in NATIONAL_FILES]


def read_national(level_file: str) -> list[tuple[str, str]]:
    """(code, name) rows of one shipped file, e.g. "villages.csv.gz"."""
    raw = resources.files("sync").joinpath("data", "wilayah", level_file).read_bytes()
    text = io.StringIO(gzip.decompress(raw).decode("utf-8-sig"), newline="")
    return [(row["code"], row["name"]) for row in csv.DictReader(text)]


def import_national(target: Session | Engine | Connection,
                    provinces: Sequence[str] | None = None,
                    regencies: Sequence[str] | None = None) -> NationalImport:
    """Load the shipped national list (or only some province / regency codes, e.g. ["33"]).

    Idempotent upsert: new codes are bulk-inserted, renamed ones updated, the rest left alone.
    With an Engine it commits; with a Session or Connection the caller's transaction holds it.
    """
    if isinstance(target, Engine):
        with target.begin() as conn:
            return import_national(conn, provinces, regencies)
    conn = target.connection() if isinstance(target, Session) else target
    wanted = tuple(provinces or ()) + tuple(regencies or ())
    if wanted and not all(CODE_PATTERN.match(c) and c.count(".") <= 1 for c in wanted):
        raise InvalidInput(f"Not province/regency codes: {list(wanted)}.", code="wilayah.bad_code")

    def keep(code: str) -> bool:
        if not wanted:
            return True
        # A row is kept when it is inside a wanted area, or is an ancestor of one.
        return any(code == w or code.startswith(w + ".") or w.startswith(code + ".")
                   for w in wanted)

    table = Wilayah.__table__
    existing = dict(conn.execute(select(table.c.code, table.c.name)).all())
    result = NationalImport()
    for level, filename in NATIONAL_FILES:
        new, renamed, same = [], [], 0
        for code, name in read_national(filename):
            if not keep(code):
                continue
            known = existing.get(code)
            if known is None:
                new.append({"code": code, "name": name, "level": level_of(code),
                            "parent_code": parent_of(code)})
            elif known != name:
                renamed.append({"b_code": code, "b_name": name})
            else:
                same += 1
        for start in range(0, len(new), 5000):
            conn.execute(insert(table), new[start:start + 5000])
        if renamed:
            conn.execute(update(table).where(table.c.code == bindparam("b_code"))
                         .values(name=bindparam("b_name")), renamed)
        result.added[level], result.renamed[level], result.unchanged[level] = (
            len(new), len(renamed), same)
    return result


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
                 offset: int, name: str | None = None) -> tuple[list[Wilayah], int]:
    """`name`: part of the region's name, any case (% and _ are letters here)."""
    query = select(Wilayah)
    if parent:
        query = query.where(Wilayah.parent_code == parent)
    if level:
        query = query.where(Wilayah.level == level)
    if name:
        query = query.where(func.lower(Wilayah.name).contains(name.strip().lower(),
                                                              autoescape=True))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Wilayah.code).limit(limit).offset(offset)).all()
    return list(rows), total
