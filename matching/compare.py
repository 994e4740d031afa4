"""Is this pair of records one person? A Fellegi–Sunter comparison: each field compares
at a level, each level carries a weight log2(m/u) (how much likelier that level is for
one person than for two), the weights add up to a score, and thresholds cut the score
into three bands: auto-link, review, new person.

Family is not identity. Twins share mother, household and birth date but not the given
name; siblings share mother and household but not the birth date. So mother and
household only add weight once the person's own fields agree, and two explicit guards
keep twins and siblings apart whatever the score (a linker that adds "same family"
weights to "same person" links twins; this one refuses).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from rapidfuzz.distance import Hamming

from matching.names import (
    compare_names,
    has_own_name,
    name_profile,
    placeholder_mother,
    profiles_could_be_exact,
    profiles_reach,
)
from matching.nik import nik_agrees, nik_well_formed


@dataclass(frozen=True)
class PersonRecord:
    """What a registration says about a person (the anthropometry form's person fields)."""

    record_id: str
    name: str = ""
    sex: str | None = None  # "male" | "female"
    birth_date: date | None = None
    birth_date_estimated: bool = False
    nik: str | None = None
    mother_name: str | None = None
    mother_nik: str | None = None
    household_kk: str | None = None
    kelurahan_code: str | None = None
    posyandu_id: str | None = None

    @cached_property
    def usable_nik(self) -> str | None:
        """See `usable_nik` (worked out once: a batch run compares a record many times)."""
        if not nik_well_formed(self.nik):
            return None
        return self.nik if nik_agrees(self.nik, birth_date=self.birth_date, sex=self.sex) else None


@dataclass(frozen=True)
class Thresholds:
    """Score cuts (sums of log2 weights). Configurable; defaults tuned on the simulator
    (bench/matching.py)."""

    auto_link: float = 20.0
    review: float = 8.0


AUTO_LINK, REVIEW, NEW = "auto_link", "review", "new"


@dataclass(frozen=True)
class Comparison:
    score: float
    band: str
    levels: dict[str, str] = field(default_factory=dict)  # field -> level name
    weights: dict[str, float] = field(default_factory=dict)  # field -> weight
    guard: str | None = None  # why the band was capped, if it was

    def evidence(self) -> dict:
        """For the review queue: per-field level and weight, the score, any guard."""
        return {"score": round(self.score, 2), "band": self.band, "guard": self.guard,
                "fields": {k: {"level": self.levels[k], "weight": self.weights[k]}
                           for k in self.levels}}


def kecamatan_of(kelurahan_code: str | None) -> str:
    """'33.75.01.1002' -> '337501' (the kelurahan code's first three parts)."""
    return (kelurahan_code or "").replace(".", "")[:6]


def usable_nik(record: PersonRecord) -> str | None:
    """The record's NIK if it is well formed and agrees with its birth date and sex (a
    NIK that contradicts them is someone else's, often the mother's: no evidence)."""
    return record.usable_nik


def _nik_level(a: PersonRecord, b: PersonRecord) -> str:
    na, nb = a.usable_nik, b.usable_nik
    if not na or not nb:
        return "missing"
    if na == nb:
        return "exact"
    slips = Hamming.distance(na, nb, score_cutoff=2)  # 3: more than two (both 16 digits)
    if slips == 1 or (slips == 2 and sorted(na) == sorted(nb)):
        return "one_slip"  # a mistyped digit or two swapped
    return "different"


# A name's own levels, highest first, with the score each starts at ("different" below).
_NAME_CUTS = (("exact", 0.99), ("variant", 0.93), ("similar", 0.85))


def _name_level(a: PersonRecord, b: PersonRecord) -> str:
    if not has_own_name(a.name) or not has_own_name(b.name):
        # A newborn placeholder ("By. Ny. Siti") names the mother, not the child.
        ma = placeholder_mother(a.name) or a.mother_name
        mb = placeholder_mother(b.name) or b.mother_name
        return "placeholder" if ma and mb and compare_names(ma, mb) >= 0.9 else "missing"
    s = compare_names(a.name, b.name)
    for level, cut in _NAME_CUTS:
        if s >= cut:
            return level
    return "different"


def _birth_level(a: PersonRecord, b: PersonRecord) -> str:
    da, db = a.birth_date, b.birth_date
    if da is None or db is None:
        return "missing"
    if da == db:
        return "exact"
    if da.year == db.year and da.day == db.month and da.month == db.day:
        return "day_month_swap"
    gap = abs((da - db).days)
    estimated = a.birth_date_estimated or b.birth_date_estimated
    if gap <= 3 or (da.year == db.year and da.month == db.month) or (
            da.day == db.day and da.month == db.month and abs(da.year - db.year) == 1):
        return "close"  # a typed slip in one part
    if estimated and gap <= 92:
        return "estimated"
    if gap <= 45:
        return "month"
    return "different"


def _sex_level(a: PersonRecord, b: PersonRecord) -> str:
    if a.sex not in ("male", "female") or b.sex not in ("male", "female"):
        return "missing"
    return "agree" if a.sex == b.sex else "disagree"


def _mother_level(a: PersonRecord, b: PersonRecord) -> str:
    if nik_well_formed(a.mother_nik) and a.mother_nik == b.mother_nik:
        return "nik"
    if a.mother_name and b.mother_name:
        s = compare_names(a.mother_name, b.mother_name)
        if s >= 0.93:
            return "name"
        return "different" if s < 0.8 else "similar"
    return "missing"


def _household_level(a: PersonRecord, b: PersonRecord) -> str:
    if not a.household_kk or not b.household_kk:
        return "missing"
    return "same" if a.household_kk == b.household_kk else "different"


def _place_level(a: PersonRecord, b: PersonRecord) -> str:
    if a.posyandu_id and a.posyandu_id == b.posyandu_id:
        return "posyandu"
    if a.kelurahan_code and a.kelurahan_code == b.kelurahan_code:
        return "kelurahan"
    if a.kelurahan_code and kecamatan_of(a.kelurahan_code) == kecamatan_of(b.kelurahan_code):
        return "kecamatan"
    return "elsewhere"


_LEVELS = {
    "nik": _nik_level, "name": _name_level, "birth_date": _birth_level, "sex": _sex_level,
    "mother": _mother_level, "household": _household_level, "place": _place_level,
}

# log2(m/u) per level, set from the simulator's error rates and a kelurahan's size
# (bench/matching.py prints how they perform).
WEIGHTS: dict[str, dict[str, float]] = {
    "nik": {"exact": 14.0, "one_slip": 4.0, "different": -10.0, "missing": 0.0},
    "name": {"exact": 9.0, "variant": 7.0, "similar": 3.0, "different": -9.0,
             "placeholder": 1.0, "missing": 0.0},
    "birth_date": {"exact": 8.0, "day_month_swap": 5.0, "close": 3.0, "estimated": 2.0,
                   "month": -2.0, "different": -12.0, "missing": 0.0},
    "sex": {"agree": 0.5, "disagree": -8.0, "missing": 0.0},
    "mother": {"nik": 4.0, "name": 3.5, "similar": 1.0, "different": -6.0, "missing": 0.0},
    "household": {"same": 2.0, "different": -1.5, "missing": 0.0},
    "place": {"posyandu": 1.5, "kelurahan": 1.0, "kecamatan": 0.0, "elsewhere": -1.0},
}


# The fields whose levels cost a name comparison; `may_match` bounds them by their
# highest weight instead.
_NAMED = ("name", "mother")


def upper_bound(a: PersonRecord, b: PersonRecord, unknown: tuple[str, ...] = _NAMED,
                weights: dict[str, dict[str, float]] = WEIGHTS) -> float:
    """The highest score `compare` could give the pair: the fields in `unknown` at their
    highest weight, every other field at its level's weight. A pair whose bound is below
    the review threshold is NEW whatever the unknown fields say (the guards only ever
    lower a band), so it need not be compared, nor its unknown fields read."""
    bound = sum(max(weights[name].values()) for name in unknown)
    for name, level in _LEVELS.items():
        if name not in unknown:
            bound += weights[name][level(a, b)]
    return bound


def may_match(a: PersonRecord, b: PersonRecord, thresholds: Thresholds = Thresholds(),
              weights: dict[str, dict[str, float]] = WEIGHTS) -> bool:
    """False when `compare` must say NEW: the fields compared without names (NIK, birth
    date, sex, household, place) score so low that the best name and mother levels
    could not lift the pair into the review band (the guards only ever lower a band).
    Much cheaper than `compare`: a batch run's pairs are mostly a shared name key or
    mother with birth dates years apart. Use it where NEW pairs are dropped anyway."""
    return upper_bound(a, b, _NAMED, weights) >= thresholds.review


_BEST = {name: max(levels.values()) for name, levels in WEIGHTS.items()}
# Without a name of its own on either side the name level is "placeholder" or "missing".
_BEST_UNNAMED = max(WEIGHTS["name"]["placeholder"], WEIGHTS["name"]["missing"])
# The best a pair of names of their own can score short of "exact".
_SECOND_NAME = max(WEIGHTS["name"][level] for level in ("variant", "similar", "different"))


# The name levels as (weight, cut), lowest first: `reach_from` asks for the lowest level
# that would do (the name need only be known to score its cut; the levels weigh more
# the higher they are).
_NAME_CUTS_LOWEST_FIRST = tuple((WEIGHTS["name"][level], cut) for level, cut in reversed(_NAME_CUTS))


def may_reach(a: PersonRecord, b: PersonRecord, review: float,
              unread: tuple[str, ...] = ()) -> bool:
    """Whether `compare(a, b)` could score `review` or more, with the fields in `unread`
    (b's mother or household, not read yet) at their best weight: `upper_bound` with the
    name known, each level worked out once and the name, the dearest, last (and not at
    all when the rest cannot reach `review` even with the best name). A name missing on
    either side can only be "placeholder" or "missing"; a field of b's family not in
    `unread` is compared as b has it. For one a and many b, `reach_from(a, review)`."""
    return reach_from(a, review)(b, "mother" in unread, "household" in unread)


def reach_from(a: PersonRecord, review: float) -> Callable[[PersonRecord, bool, bool], bool]:
    """`may_reach(a, b, review, unread)` for one claim and its candidates:
    `reach(b, mother_unread, household_unread)`, with a's side of every level worked
    out once. Identity asks it of every candidate of every claim (hundreds a claim in
    a dense kelurahan): the levels are spelled out here rather than called (calling
    _birth_level, _sex_level, _place_level and _household_level instead: 580 -> 678 us
    a claim on a dense push's captured candidates), each skipped where a's side alone
    decides it. test_reach_from_answers_as_every_level_worked_out_at_each_levels_edges
    holds the copies to the level functions."""
    w_birth, w_name = WEIGHTS["birth_date"], WEIGHTS["name"]
    born_exact, born_swap, born_close = w_birth["exact"], w_birth["day_month_swap"], w_birth["close"]
    born_estimated, born_month, born_far = w_birth["estimated"], w_birth["month"], w_birth["different"]
    sex_agree, sex_disagree = WEIGHTS["sex"]["agree"], WEIGHTS["sex"]["disagree"]
    w_place, w_mother, w_household = WEIGHTS["place"], WEIGHTS["mother"], WEIGHTS["household"]
    best_mother, best_household = _BEST["mother"], _BEST["household"]
    nik_missing, born_missing, sex_missing = (WEIGHTS[name]["missing"]
                                              for name in ("nik", "birth_date", "sex"))
    mother_missing, household_missing = WEIGHTS["mother"]["missing"], WEIGHTS["household"]["missing"]
    nik_a = a.usable_nik  # without it the NIK is "missing" (0) whoever b is
    born_a = a.birth_date
    year_a, month_a, day_a = (born_a.year, born_a.month, born_a.day) if born_a else (0, 0, 0)
    estimated_a = a.birth_date_estimated
    sex_a = a.sex if a.sex in ("male", "female") else None
    posyandu_a, kelurahan_a = a.posyandu_id, a.kelurahan_code
    kecamatan_a = kecamatan_of(kelurahan_a) if kelurahan_a else None
    mother_nik_a = a.mother_nik if nik_well_formed(a.mother_nik) else None
    mother_name_a, kk_a, name_a = a.mother_name, a.household_kk, a.name
    profile_a = name_profile(name_a)  # None: no name of its own
    best_name, unnamed, different = _BEST["name"], _BEST_UNNAMED, w_name["different"]
    cuts = _NAME_CUTS_LOWEST_FIRST

    def reach(b: PersonRecord, mother_unread: bool = False,
              household_unread: bool = False) -> bool:
        # The weights are multiples of 0.5, so the order of the sum is exact.
        known = WEIGHTS["nik"][_nik_level(a, b)] if nik_a is not None else nik_missing
        born_b = b.birth_date
        if born_a is not None and born_b is not None:  # _birth_level
            if born_a == born_b:
                known += born_exact
            elif year_a == born_b.year and day_a == born_b.month and month_a == born_b.day:
                known += born_swap
            else:
                gap = abs((born_a - born_b).days)
                if gap <= 3 or (year_a == born_b.year and month_a == born_b.month) or (
                        day_a == born_b.day and month_a == born_b.month
                        and abs(year_a - born_b.year) == 1):
                    known += born_close
                elif (estimated_a or b.birth_date_estimated) and gap <= 92:
                    known += born_estimated
                else:
                    known += born_month if gap <= 45 else born_far
        else:
            known += born_missing
        if sex_a is not None and b.sex in ("male", "female"):  # _sex_level
            known += sex_agree if b.sex == sex_a else sex_disagree
        else:
            known += sex_missing
        if posyandu_a and posyandu_a == b.posyandu_id:  # _place_level
            known += w_place["posyandu"]
        elif kelurahan_a and kelurahan_a == b.kelurahan_code:
            known += w_place["kelurahan"]
        elif kelurahan_a and kecamatan_a == kecamatan_of(b.kelurahan_code):
            known += w_place["kecamatan"]
        else:
            known += w_place["elsewhere"]
        if mother_unread:
            known += best_mother
        elif mother_nik_a is not None and mother_nik_a == b.mother_nik:  # _mother_level
            known += w_mother["nik"]
        elif mother_name_a and b.mother_name:
            known += w_mother[_mother_level(a, b)]
        else:
            known += mother_missing
        if household_unread:
            known += best_household
        elif kk_a and b.household_kk:  # _household_level
            known += w_household["same" if kk_a == b.household_kk else "different"]
        else:
            known += household_missing
        profile_b = name_profile(b.name)
        if profile_a is None or profile_b is None:
            return known + unnamed >= review
        if known + best_name < review:
            return False
        if known + _SECOND_NAME < review and not profiles_could_be_exact(profile_a, profile_b):
            return False  # only an exact name would do, and it cannot be one
        if known + different >= review:
            return True
        for weight, cut in cuts:
            if known + weight >= review:
                return profiles_reach(profile_a, profile_b, name_a, b.name, cut)
        return False
    return reach


def compare(a: PersonRecord, b: PersonRecord, thresholds: Thresholds = Thresholds(),
            weights: dict[str, dict[str, float]] = WEIGHTS) -> Comparison:
    """Score a pair and put it in a band (see the module docstring for the guards)."""
    levels = {name: level(a, b) for name, level in _LEVELS.items()}
    field_weights = {name: weights[name][lvl] for name, lvl in levels.items()}
    score = sum(field_weights.values())
    band = AUTO_LINK if score >= thresholds.auto_link else REVIEW if score >= thresholds.review else NEW
    guard = None
    same_family = levels["mother"] in ("nik", "name") or levels["household"] == "same"
    if levels["nik"] == "different":
        guard = "two valid NIKs differ"
        band = NEW if band == NEW or levels["name"] not in ("exact", "variant") else REVIEW
    elif same_family and levels["name"] in ("different", "similar"):
        guard = "same family, different given name (twins or siblings)"
        band = NEW if levels["name"] == "different" else min(band, REVIEW, key=_rank)
    elif same_family and levels["birth_date"] in ("different", "month"):
        guard = "same family, different birth date (siblings)"
        band = NEW
    elif band == AUTO_LINK and levels["nik"] == "one_slip":
        # One digit apart is a typing slip, or twins' consecutive serials: a person decides.
        guard = "two valid NIKs one digit apart"
        band = REVIEW
    elif band == AUTO_LINK and levels["nik"] != "exact" and (
            levels["name"] not in ("exact", "variant")
            or levels["birth_date"] not in ("exact", "day_month_swap")):
        # Without one NIK, auto-linking needs the person's own name and birth date.
        guard = "auto-link needs name and birth date to agree (or one NIK)"
        band = REVIEW
    elif band == AUTO_LINK and levels["nik"] == "exact" and levels["name"] == "different":
        guard = "one NIK, different names"
        band = REVIEW
    return Comparison(score=score, band=band, levels=levels, weights=field_weights, guard=guard)


def _rank(band: str) -> int:
    return {NEW: 0, REVIEW: 1, AUTO_LINK: 2}[band]
