"""What each role may see of a person's identity numbers: one function for every
serialiser of persons and households an agency can reach (the sync snapshot and feed,
the pick lists, the record lists, and the exports built on them).

An agency (Dinas Kesehatan, Bappeda, ...) works with names, addresses and the reasons
for its programme's cases, not with identity numbers: NIKs and KK numbers reach it
masked (`3375********0001`: the regency and the last four digits, enough to tell two
people apart on a list, not enough to use elsewhere) unless an admin has granted the
account full NIKs (user_account.nik_full). Kaders and supervisors see them whole: they
match and correct identities in their own scope. Admins see everything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from sync.accounts import Principal

#: every field, in any answer, that holds a NIK or a KK number
IDENTITY_NUMBER_FIELDS = frozenset({"nik", "kk", "child_nik", "mother_nik", "woman_nik",
                                    "household_kk"})


def mask_nik(value: object) -> object:
    """`3375014105240001` -> `3375********0001`; other lengths keep at most their first
    and last four characters (and never more than a third of them)."""
    if not isinstance(value, str) or not value:
        return value
    text = value.strip()
    keep = min(4, len(text) // 3)
    if keep == 0:
        return "*" * len(text)
    return text[:keep] + "*" * (len(text) - 2 * keep) + text[-keep:]


# a NIK or KK inside other text (a pick list's label "Pak Budi (KK 3375010101200003)")
_NUMBER_IN_TEXT = re.compile(r"(?<!\d)\d{16}(?!\d)")


def sees_full_numbers(principal: Principal) -> bool:
    return principal.role != "agency" or principal.nik_full


def minimise(principal: Principal, record: Mapping) -> dict:
    """`record` as `principal` may see it (a new dict; nested `data` too)."""
    out = dict(record)
    if sees_full_numbers(principal):
        return out
    for key, value in record.items():
        if key in IDENTITY_NUMBER_FIELDS:
            out[key] = mask_nik(value)
        elif key == "data" and isinstance(value, Mapping):
            out[key] = minimise(principal, value)
        elif isinstance(value, str) and len(value) >= 16:
            out[key] = _NUMBER_IN_TEXT.sub(lambda m: mask_nik(m.group()), value)
    return out


def minimise_all(principal: Principal, records: Iterable[Mapping]) -> list[dict]:
    if sees_full_numbers(principal):
        return [dict(r) for r in records]
    return [minimise(principal, r) for r in records]
