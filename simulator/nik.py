"""NIK (Nomor Induk Kependudukan) and No. KK numbers, and the ways kader mistype them.

NIK: 16 digits = kecamatan of registration (PPKKCC) + birth date DDMMYY, with 40 added to
the day for women + a 4-digit serial. No. KK: kecamatan (PPKKCC) + issue date DDMMYY +
a 4-digit serial. Serials are unique per (prefix, date) as Dukcapil issues them.
Whether a NIK agrees with a birth date and sex is `sync.names.nik_agrees`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date


def nik_date_part(birth_date: date, sex: str) -> str:
    """DDMMYY of a NIK; women's day is offset by 40."""
    day = birth_date.day + (40 if sex == "female" else 0)
    return f"{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}"


@dataclass
class NumberIssuer:
    """Issues unique NIK and KK numbers (serials counted per prefix and date part)."""

    _next_serial: dict[str, int] = field(default_factory=dict)

    def _issue(self, head: str) -> str:
        serial = self._next_serial.get(head, 1)
        self._next_serial[head] = serial + 1
        return f"{head}{serial:04d}"

    def nik(self, prefix: str, birth_date: date, sex: str) -> str:
        return self._issue(prefix + nik_date_part(birth_date, sex))

    def kk(self, prefix: str, issued_on: date) -> str:
        return self._issue(prefix + issued_on.strftime("%d%m%y"))


def mistype_nik(rng: random.Random, nik: str) -> str:
    """The NIK with one digit wrong or two neighbouring digits swapped (never unchanged)."""
    digits = list(nik)
    while True:
        i = rng.randrange(len(digits))
        if rng.random() < 0.5 and i + 1 < len(digits) and digits[i] != digits[i + 1]:
            digits[i], digits[i + 1] = digits[i + 1], digits[i]
        else:
            digits[i] = rng.choice([d for d in "0123456789" if d != digits[i]])
        typed = "".join(digits)
        if typed != nik:
            return typed
