"""Name normalisation for matching. Pure functions, no I/O.

Posyandu registers write the same child many ways: "By. Ny. Siti" for a newborn not yet
named, "An. Ahmad", "Muhammad"/"Muhamad"/"M.", upper case, double spaces. The key keeps
what identifies the person and drops the rest.
"""

from __future__ import annotations

import re
import unicodedata

# Titles and placeholders that are not part of the name (bayi = baby, by = bayi,
# ny = nyonya (Mrs), an = anak (child), tn = tuan, sdr = saudara, alm = almarhum).
_TITLES = {"by", "bayi", "ny", "nyonya", "an", "anak", "tn", "sdr", "sdri", "alm", "almh", "bpk",
           "ibu", "bu", "pak"}
_NON_LETTERS = re.compile(r"[^a-z\s]")
_SPACES = re.compile(r"\s+")


def name_key(name: str | None) -> str:
    """Lower-case ASCII letters and single spaces, titles removed: 'By. Ny. SITI  A.' -> 'siti a'."""
    if not name:
        return ""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = _NON_LETTERS.sub(" ", text)
    words = [w for w in _SPACES.split(text) if w and w not in _TITLES]
    return " ".join(words)


def is_placeholder_name(name: str | None) -> bool:
    """True for newborn placeholders like 'By. Ny. Rina' (baby of Mrs Rina)."""
    if not name:
        return True
    words = _SPACES.split(_NON_LETTERS.sub(" ", name.lower()).strip())
    return bool(words) and words[0] in {"by", "bayi"}


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
