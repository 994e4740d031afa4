"""The 27 kelurahan of Kota Pekalongan (33.75), shipped with the package.

Codes and names are Kemendagri kode wilayah via the idn-area-data dataset 4.0.1
(Open Database License; attribution "idn-area-data").
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

CITY_CODE = "33.75"  # Kota Pekalongan


@dataclass(frozen=True)
class Kelurahan:
    code: str  # e.g. "33.75.01.1002"
    kecamatan_code: str  # e.g. "33.75.01"
    kecamatan_name: str
    name: str

    @property
    def nik_prefix(self) -> str:
        """The 6 digits a NIK issued in this kelurahan's kecamatan starts with (PPKKCC)."""
        return self.kecamatan_code.replace(".", "")


def data_rows(filename: str) -> list[dict[str, str]]:
    """Rows of one CSV file in `simulator/data/`."""
    text = files("simulator").joinpath("data", filename).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def kelurahan_list() -> tuple[Kelurahan, ...]:
    """All kelurahan of the city, in code order."""
    return tuple(Kelurahan(**row) for row in data_rows("kelurahan.csv"))


@cache
def origin_nik_prefixes() -> tuple[str, ...]:
    """NIK prefixes of neighbouring kecamatan (Kab. Pekalongan, Kab. Batang) for in-movers."""
    rows = data_rows("origin_kecamatan.csv")
    return tuple(row["kecamatan_code"].replace(".", "") for row in rows)
