"""NIK (Nomor Induk Kependudukan): 16 digits, PPKKCC (province, regency/city, district),
DDMMYY (birth date; women add 40 to the day), then a 4-digit serial. A No. KK has the same
region prefix and the issue date instead of a birth date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache


@dataclass(frozen=True)
class DecodedNik:
    nik: str
    province: str  # 2 digits
    regency: str  # 4 digits (province + regency/city)
    district: str  # 6 digits (kecamatan)
    sex: str  # "male" | "female"
    day: int
    month: int
    year_2: int  # two-digit year; the century is not encoded
    serial: str

    def birth_date(self, not_after: date | None = None) -> date | None:
        """The encoded birth date, the latest century that is not after `not_after`
        (today's date by default); None if the DDMM part is no real date."""
        limit = not_after or date.today()
        for century in (2000, 1900):
            try:
                born = date(century + self.year_2, self.month, self.day)
            except ValueError:
                return None
            if born <= limit:
                return born
        return None


@lru_cache(maxsize=1 << 18)
def nik_well_formed(nik: str | None) -> bool:
    """`decode_nik(nik) is not None`, remembered: identity asks it of every candidate.
    A bool, not the DecodedNik: a cache of 262,144 dataclass instances is walked by
    every full collection of the garbage collector (about 60 ms for 200,000 in the
    machine's slow phase, every thread waiting), a cache of bools is not."""
    return decode_nik(nik) is not None


def decode_nik(nik: str | None) -> DecodedNik | None:
    """The parts of a well-formed NIK, or None: 16 digits, a province code 11–99 and a
    real day/month in the date part (days 41–71 for women)."""
    if not nik or len(nik) != 16 or not nik.isdigit():
        return None
    province = int(nik[0:2])
    if province < 11 or nik[2:4] == "00" or nik[4:6] == "00":
        return None
    day, month, year_2 = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    sex = "female" if day > 40 else "male"
    real_day = day - 40 if sex == "female" else day
    if not 1 <= month <= 12 or not 1 <= real_day <= 31 or nik[12:16] == "0000":
        return None
    try:
        date(2000 + year_2 if year_2 != 0 else 2000, month, real_day)
    except ValueError:
        if not (month == 2 and real_day == 29):  # 29 Feb: a leap year in the other century
            return None
    return DecodedNik(nik=nik, province=nik[0:2], regency=nik[0:4], district=nik[0:6], sex=sex,
                      day=real_day, month=month, year_2=year_2, serial=nik[12:16])


def nik_agrees(nik: str, *, birth_date=None, sex: str | None = None) -> bool:
    """Does a NIK's DDMMYY part (women: day + 40) agree with what else we know?

    A NIK that contradicts the stated birth date or sex is not this person's (a kader
    typed the mother's NIK for her baby, or mistyped it), so it is no evidence of
    identity.
    """
    if len(nik) != 16 or not nik.isdigit():
        return False
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    nik_sex = "female" if day > 40 else "male"
    if sex in ("male", "female") and sex != nik_sex:
        return False
    if birth_date is not None:
        real_day = day - 40 if nik_sex == "female" else day
        if (real_day, month, year) != (birth_date.day, birth_date.month, birth_date.year % 100):
            return False
    return True


def valid_nik(nik: str | None, *, birth_date: date | None = None, sex: str | None = None) -> bool:
    """Well-formed and, where known, agreeing with the birth date and sex: evidence of
    identity. A NIK that fails this is suspect evidence, never identity."""
    return nik_well_formed(nik) and nik_agrees(nik, birth_date=birth_date, sex=sex)


def kk_well_formed(kk: str | None) -> bool:
    """A No. KK: 16 digits with a region prefix (its date part is the issue date)."""
    return bool(kk) and len(kk) == 16 and kk.isdigit() and int(kk[0:2]) >= 11 and kk[2:4] != "00"
