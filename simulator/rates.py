"""Configurable rates of the simulated city and of everything that goes wrong in the field.

Every rate is a probability in [0, 1]. The defaults aim at a plausible posyandu city
(Kota Pekalongan's published stunting figure, typical SSGI-like wasting, Indonesian
NIK coverage of infants) and at giving every field problem enough cases to be seen in a
few months of a whole-city run. Override any of them with `--rates FILE` (JSON or TOML,
a flat mapping of field name to value; unknown names are an error)::

    # rates.toml
    offline_month = 0.3
    stunting_prevalence = 0.15
    [stunting_by_kelurahan]
    "33.75.03.1009" = 0.25
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path


@dataclass(frozen=True)
class Rates:
    """Probabilities driving the population and the field behaviour of the simulation."""

    # --- population -----------------------------------------------------------------
    #: Share of children with a length/height-for-age track below -2 SD (stunted).
    stunting_prevalence: float = 0.15
    #: Per-kelurahan override of `stunting_prevalence`, keyed by kelurahan code.
    stunting_by_kelurahan: dict[str, float] = field(default_factory=dict)
    #: Share of children with a weight-for-length/height track below -2 SD (wasted).
    wasting_prevalence: float = 0.07
    #: Share of births that are twins.
    twin_births: float = 0.015
    #: Share of children who have no NIK at all (birth not registered with Dukcapil).
    child_without_nik: float = 0.06
    #: Share of women whose NIK was issued outside the city (moved in by marriage).
    woman_from_outside_city: float = 0.2
    #: Monthly chance that a woman without a baby under one year becomes pregnant.
    conception_monthly: float = 0.012
    #: Share of households headed by a woman (no male head in the family card).
    female_headed_household: float = 0.08

    # --- attendance -----------------------------------------------------------------
    #: Chance a child is weighed at the posyandu day of a month (SKDN D/S).
    attendance: float = 0.8
    #: Chance a pregnant woman is screened at the posyandu day of a month.
    pregnancy_attendance: float = 0.85
    #: Monthly chance a woman who is not pregnant gets a screening (pregnant = no).
    nonpregnant_screening: float = 0.04
    #: Monthly chance a household gets a sanitation visit (at most one per 6 months).
    household_visit_monthly: float = 0.12

    # --- phones ---------------------------------------------------------------------
    #: Chance a phone has no signal for a whole month and sends a burst later.
    offline_month: float = 0.15
    #: Chance a POST's response is lost (timeout) so the same submission is sent again.
    timeout_retry: float = 0.05
    #: Chance a sent form is edited later (new instanceID with deprecatedID).
    edit_sent_form: float = 0.02

    # --- identity errors ------------------------------------------------------------
    #: Chance, per visit, that the child is weighed by a second kader who registers it
    #: again on her phone (at most once per child; about 4% of children a year).
    second_kader_registration: float = 0.004
    #: Chance a typed name at registration is misspelled.
    misspelled_name: float = 0.1
    #: Chance a newborn is registered as "By. Ny. <mother>" before it has a name.
    newborn_unnamed: float = 0.6
    #: Chance a child's NIK is left empty at registration although the child has one.
    missing_nik: float = 0.2
    #: Chance a typed NIK has a wrong or swapped digit.
    mistyped_nik: float = 0.03
    #: Chance the mother's NIK is typed in the child's NIK field.
    mother_nik_for_child: float = 0.02

    # --- measurement errors ---------------------------------------------------------
    #: Chance a length/height is recorded 1-3 cm lower than last month's.
    height_decrease: float = 0.02
    #: Chance two digits of the weight or the length are swapped.
    swapped_digits: float = 0.01
    #: Chance the recorded measure method is not the one used.
    wrong_measure_method: float = 0.03
    #: Chance an under-two is measured standing (recorded as such) instead of lying.
    standing_under_two: float = 0.1
    #: Chance a measurement records bilateral pitting oedema.
    oedema: float = 0.001

    # --- households -----------------------------------------------------------------
    #: Monthly chance a household moves to another kelurahan.
    household_move_monthly: float = 0.004

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            values = value.values() if isinstance(value, dict) else [value]
            for v in values:
                if not isinstance(v, int | float) or isinstance(v, bool) or not 0 <= v <= 1:
                    raise ValueError(f"rate {f.name} must be a number in [0, 1], got {v!r}")

    def stunting_for(self, kelurahan_code: str) -> float:
        """The configured stunting prevalence of one kelurahan."""
        return self.stunting_by_kelurahan.get(kelurahan_code, self.stunting_prevalence)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_mapping(cls, data: dict) -> Rates:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown rate(s): {', '.join(unknown)}")
        return cls(**data)

    @classmethod
    def load(cls, path: str | Path) -> Rates:
        """Read rates from a JSON (`.json`) or TOML (any other suffix) file."""
        path = Path(path)
        raw = path.read_bytes()
        data = json.loads(raw) if path.suffix.lower() == ".json" else tomllib.loads(raw.decode())
        return cls.from_mapping(data)
