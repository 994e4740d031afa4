"""Which records are worth comparing: blocking keys. Two records are compared when they
share a key. Keys cover the ways one child is typed differently: a NIK; the kecamatan
with the birth date (day and month unordered, so a day/month swap shares the key); the
kecamatan with a phonetic name key and the birth year (a birth-date slip); the mother's
NIK or her normalised name in the kecamatan (a "By. Ny." placeholder); the No. KK.
"""

from __future__ import annotations

from matching.compare import PersonRecord, kecamatan_of, usable_nik
from matching.names import name_tokens, phonetic_key, placeholder_mother
from matching.nik import nik_well_formed


def blocking_keys(record: PersonRecord) -> set[str]:
    keys: set[str] = set()
    nik = usable_nik(record)
    if nik:
        keys.add(f"nik:{nik}")
    kec = kecamatan_of(record.kelurahan_code)
    born = record.birth_date
    if born is not None:
        lo, hi = sorted((born.day, born.month))
        keys.add(f"born:{kec}:{born.year}:{lo}:{hi}")
        phon = phonetic_key(record.name)
        if phon:
            keys.add(f"name:{kec}:{phon}:{born.year}")
    if nik_well_formed(record.mother_nik):
        keys.add(f"mother:{record.mother_nik}")
    mother = placeholder_mother(record.name) or record.mother_name
    if mother and name_tokens(mother):
        keys.add(f"mothername:{kec}:{' '.join(name_tokens(mother))}")
    if record.household_kk:
        keys.add(f"kk:{record.household_kk}")
    return keys
