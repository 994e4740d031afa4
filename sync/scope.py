"""A caller's scope, and the SQL filter that enforces it inside every query."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import false, or_, true
from sqlalchemy.sql import ColumnElement

from sync.fields import parse_record_id

POSYANDU_PREFIX = "posyandu:"


@dataclass(frozen=True)
class Scope:
    """Wilayah code prefixes (e.g. "33.75", "33.75.01.1002") and posyandu ids.

    Admins see everything. A wilayah code covers every region under it.
    """

    everything: bool = False
    wilayah_codes: tuple[str, ...] = ()
    posyandu_ids: tuple[int, ...] = ()
    # Kelurahan of the posyandu in scope: a posyandu kader also visits the households
    # of that kelurahan (households belong to a kelurahan, not to a posyandu).
    posyandu_kelurahan_codes: tuple[str, ...] = ()

    def covers_kelurahan(self, kelurahan_code: str | None, posyandu_id: int | None = None) -> bool:
        """May the caller see/write a record in this kelurahan (and posyandu, if the
        record belongs to one)?"""
        if self.everything:
            return True
        if posyandu_id is not None and posyandu_id in self.posyandu_ids:
            # ... and the record's kelurahan is that posyandu's (processing checks the
            # exact pair against the registry).
            return kelurahan_code is None or kelurahan_code in self.posyandu_kelurahan_codes
        if not kelurahan_code:
            return False
        if posyandu_id is None and kelurahan_code in self.posyandu_kelurahan_codes:
            return True
        return self.covers_wilayah(kelurahan_code)

    def covers_wilayah(self, code: str) -> bool:
        """Is this region under one of the wilayah codes in scope (posyandu ids aside)?"""
        return self.everything or any(_under(code, prefix) for prefix in self.wilayah_codes)

    def as_strings(self) -> list[str]:
        return list(self.wilayah_codes) + [f"{POSYANDU_PREFIX}{p}" for p in self.posyandu_ids]


def _under(code: str, prefix: str) -> bool:
    return code == prefix or code.startswith(prefix + ".")


def scope_filter(
    scope: Scope, kelurahan_column, posyandu_column=None
) -> ColumnElement[bool]:
    """SQL condition restricting rows to the scope (used in every scoped query).

    Rows with no posyandu column (households, sanitation checks) are visible to a
    posyandu kader in that posyandu's kelurahan.
    """
    if scope.everything:
        return true()
    conditions = []
    for code in scope.wilayah_codes:
        conditions.append(kelurahan_column == code)
        conditions.append(kelurahan_column.startswith(code + "."))
    if posyandu_column is not None and scope.posyandu_ids:
        conditions.append(posyandu_column.in_(scope.posyandu_ids))
    if posyandu_column is None and scope.posyandu_kelurahan_codes:
        conditions.append(kelurahan_column.in_(scope.posyandu_kelurahan_codes))
    return or_(*conditions) if conditions else false()


def parse_scope_strings(values: list[str]) -> tuple[list[str], list[int]]:
    """Split `["33.75", "posyandu:12"]` into wilayah codes and posyandu ids."""
    codes: list[str] = []
    posyandu_ids: list[int] = []
    for raw in values:
        value = raw.strip()
        if value.startswith(POSYANDU_PREFIX):
            number = parse_record_id(value[len(POSYANDU_PREFIX) :])
            if number is None:
                raise ValueError(f"bad posyandu scope {raw!r}: expected posyandu:<id>")
            posyandu_ids.append(number)
        elif value:
            codes.append(value)
    return list(dict.fromkeys(codes)), list(dict.fromkeys(posyandu_ids))  # each once
