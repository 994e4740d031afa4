"""The simulated city: kelurahan, posyandu, households, mothers, children and what happens
to them month by month (pregnancies, births, twins, families moving away).

`generate_city(seed=..., start=..., months=...)` is deterministic: the same arguments give
the same city. Life events are drawn from one random stream per household, month after
month, so a 3-month city is exactly the first three months of a 12-month one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache, cached_property
from itertools import accumulate

import numpy as np

from simulator import names
from simulator.growth import GrowthTrack, draw_track
from simulator.nik import NumberIssuer
from simulator.rates import Rates
from simulator.regions import Kelurahan, data_rows, kelurahan_list, origin_nik_prefixes

BALITA_MAX_AGE_DAYS = 1826  # children under five (< 60 months)


# --- the city ----------------------------------------------------------------------


@dataclass(frozen=True)
class CityShape:
    """The size of the simulated city (the rates file holds the probabilities)."""

    posyandu_per_kelurahan: tuple[int, int] = (3, 6)
    households_per_posyandu: tuple[int, int] = (28, 44)
    #: Multiplies the number of households per posyandu (0.25 for a quick demo).
    scale: float = 1.0


@dataclass(frozen=True)
class Posyandu:
    key: str  # "<kelurahan code>/<number>", the simulator's own id
    kelurahan: Kelurahan
    number: int  # 1-based within the kelurahan
    name: str  # e.g. "Posyandu Melati 1"
    rws: tuple[str, ...]  # the RW (neighbourhoods) it serves, "003"
    week_of_month: int  # posyandu day: the n-th ...
    weekday: int  # ... weekday (0 = Monday) of each month

    def day_in(self, year: int, month: int) -> date:
        """This posyandu's day in a given month."""
        first = date(year, month, 1)
        offset = (self.weekday - first.weekday()) % 7
        return first + timedelta(days=offset + 7 * (self.week_of_month - 1))


@dataclass
class Person:
    id: str  # true person id: C... child, W... woman, H... household head
    role: str  # child / woman / head
    name: str
    sex: str  # male / female
    birth_date: date
    household_id: str
    nik: str | None = None  # the true NIK, None if the person has none
    nik_issued_on: date | None = None  # before this date the family has no NIK to give
    mother_id: str | None = None
    twin_of: str | None = None
    track: GrowthTrack | None = None  # children: personal z-score levels
    # Women: body measures (pre-pregnancy) and haemoglobin baseline.
    height_cm: float | None = None
    weight_kg: float | None = None
    muac_cm: float | None = None
    hb_g_dl: float | None = None

    def nik_on(self, day: date) -> str | None:
        """The NIK as the family could show it on a given day (None before issue)."""
        if self.nik and self.nik_issued_on and self.nik_issued_on <= day:
            return self.nik
        return None


@dataclass(frozen=True)
class Pregnancy:
    woman_id: str
    household_id: str
    conceived_on: date  # start of gestational age counting (first day of last period)
    birth_on: date
    child_ids: tuple[str, ...] = ()  # empty when the birth is after the simulation


@dataclass(frozen=True)
class Move:
    month_index: int  # from this month on the household lives in the new place
    kelurahan_code: str
    posyandu_key: str
    address: str
    rt: str
    rw: str


@dataclass
class Household:
    id: str  # HH...
    kk: str  # No. KK
    kelurahan_code: str
    posyandu_key: str
    address: str
    rt: str
    rw: str
    woman_id: str
    head_id: str | None  # None: female-headed, the woman is the head
    sanitation: dict[str, str]
    child_ids: list[str] = field(default_factory=list)
    older_children: int = 0  # children aged five and over (not weighed at posyandu)
    move: Move | None = None

    def _place_at(self, month_index: int) -> Household | Move:
        """Where the family lives in a month: here, or where it moved to."""
        if self.move and month_index >= self.move.month_index:
            return self.move
        return self

    def posyandu_at(self, month_index: int) -> str:
        return self._place_at(month_index).posyandu_key

    def kelurahan_at(self, month_index: int) -> str:
        return self._place_at(month_index).kelurahan_code

    def address_at(self, month_index: int) -> tuple[str, str, str]:
        place = self._place_at(month_index)
        return place.address, place.rt, place.rw


@dataclass
class City:
    seed: int
    start: date  # first day of the first simulated month
    months: int
    rates: Rates
    shape: CityShape
    kelurahan: tuple[Kelurahan, ...]
    posyandu: dict[str, Posyandu]
    households: dict[str, Household]
    persons: dict[str, Person]
    pregnancies: list[Pregnancy]

    def month_start(self, month_index: int) -> date:
        return add_months(self.start, month_index)

    def month_label(self, month_index: int) -> str:
        """"YYYY-MM" of a simulated month."""
        return self._month_labels[month_index]

    @cached_property
    def _month_labels(self) -> tuple[str, ...]:
        return tuple(self.month_start(m).strftime("%Y-%m") for m in range(self.months + 1))

    def kelurahan_by_code(self, code: str) -> Kelurahan:
        return next(k for k in self.kelurahan if k.code == code)

    def head_name(self, household: Household) -> str:
        return self.persons[household.head_id or household.woman_id].name

    def children(self) -> list[Person]:
        return [p for p in self.persons.values() if p.role == "child"]


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


# --- generation ----------------------------------------------------------------------


_SANITATION_CHOICES: dict[str, tuple[tuple[str, float], ...]] = {
    "latrine_access": (("own", 0.82), ("shared", 0.08), ("communal", 0.05), ("none", 0.05)),
    "latrine_type": (("gooseneck", 0.86), ("plengsengan", 0.08), ("cemplung", 0.06)),
    "waste_disposal": (
        ("septic_tank", 0.62), ("ipal", 0.06), ("lined_pit", 0.05),
        ("unlined_pit", 0.1), ("river_or_open", 0.17),
    ),
    "drinking_water_source": (
        ("bottled_refill", 0.55), ("piped", 0.2), ("borehole", 0.11), ("protected_well", 0.07),
        ("unprotected_well", 0.04), ("protected_spring", 0.005), ("unprotected_spring", 0.005),
        ("surface_water", 0.01), ("rain", 0.01),
    ),
    "wastewater_drain": (("closed_drain", 0.35), ("open_drain", 0.5), ("none", 0.15)),
}
_IMPROVED_WATER = {"piped", "bottled_refill", "borehole", "protected_well", "protected_spring"}


def _weighted(rng: random.Random, choices: tuple[tuple[str, float], ...]) -> str:
    values, cumulative = _cumulative(choices)
    return rng.choices(values, cum_weights=cumulative)[0]


@cache
def _cumulative(choices: tuple[tuple[str, float], ...]) -> tuple[list[str], list[float]]:
    return [c for c, _ in choices], list(accumulate(w for _, w in choices))


def draw_sanitation(rng: random.Random) -> dict[str, str]:
    """A household's STBM conditions, answered as the sanitation_check form asks them."""
    access = _weighted(rng, _SANITATION_CHOICES["latrine_access"])
    if access == "none":
        latrine_type, disposal = "none", rng.choice(("river_or_open", "none"))
    else:
        latrine_type = _weighted(rng, _SANITATION_CHOICES["latrine_type"])
        disposal = _weighted(rng, _SANITATION_CHOICES["waste_disposal"])
    water = _weighted(rng, _SANITATION_CHOICES["drinking_water_source"])
    if water == "bottled_refill":
        treated = "none" if rng.random() < 0.85 else "boiled"
    else:
        treated = _weighted(rng, (("boiled", 0.7), ("filtered", 0.05), ("none", 0.25)))
    return {
        "latrine_access": access,
        "latrine_type": latrine_type,
        "waste_disposal": disposal,
        "handwashing_soap": "yes" if rng.random() < 0.75 else "no",
        "drinking_water_source": water,
        "water_treated": treated,
        "waste_bin": "yes" if rng.random() < 0.7 else "no",
        "wastewater_drain": _weighted(rng, _SANITATION_CHOICES["wastewater_drain"]),
    }


def sanitation_risk(sanitation: dict[str, str]) -> float:
    """Relative stunting risk of a household's conditions (poor latrine or water: x2)."""
    poor_latrine = sanitation["waste_disposal"] not in {"septic_tank", "ipal", "lined_pit"}
    poor_water = sanitation["drinking_water_source"] not in _IMPROVED_WATER
    return 1.0 + 0.6 * poor_latrine + 0.4 * poor_water


def generate_city(
    *,
    seed: int,
    start: date = date(2025, 1, 1),
    months: int = 12,
    rates: Rates | None = None,
    shape: CityShape | None = None,
) -> City:
    """Build the whole city and its life events for `months` months from `start`."""
    builder = _CityBuilder(seed, date(start.year, start.month, 1), months, rates or Rates(),
                           shape or CityShape())
    return builder.build()


class _CityBuilder:
    """Step-by-step construction of a `City` (one instance per `generate_city` call)."""

    def __init__(self, seed: int, start: date, months: int, rates: Rates, shape: CityShape):
        self.seed, self.start, self.months = seed, start, months
        self.rates, self.shape = rates, shape
        self.rng = random.Random(f"{seed}/city")
        self.issuer = NumberIssuer()
        self.posyandu: dict[str, Posyandu] = {}
        self.households: dict[str, Household] = {}
        self.persons: dict[str, Person] = {}
        self.pregnancies: list[Pregnancy] = []
        self.kelurahan = kelurahan_list()
        self.by_code = {k.code: k for k in self.kelurahan}
        self.streets = [r["street"] for r in data_rows("streets.csv")]
        self._count = {"C": 0, "W": 0, "H": 0, "HH": 0}

    def new_id(self, prefix: str) -> str:
        self._count[prefix] += 1
        return f"{prefix}{self._count[prefix]:05d}"

    # --- structure

    def build(self) -> City:
        flowers = [r["name"] for r in data_rows("posyandu_names.csv")]
        for kel in self.kelurahan:
            n = self.rng.randint(*self.shape.posyandu_per_kelurahan)
            rw_count = self.rng.randint(max(n, 5), 12)
            rws = [f"{i:03d}" for i in range(1, rw_count + 1)]
            chosen = self.rng.sample(flowers, n)
            for i in range(n):
                served = tuple(rws[i::n])
                p = Posyandu(
                    key=f"{kel.code}/{i + 1}",
                    kelurahan=kel,
                    number=i + 1,
                    name=f"Posyandu {chosen[i]} {i + 1}",
                    rws=served,
                    week_of_month=self.rng.randint(1, 3),
                    weekday=self.rng.randint(0, 5),
                )
                self.posyandu[p.key] = p
        for p in self.posyandu.values():
            low, high = self.shape.households_per_posyandu
            count = max(1, round(self.rng.randint(low, high) * self.shape.scale))
            for _ in range(count):
                self._household(p)
        self._assign_growth_tracks()
        self._pregnant_at_start = {p.household_id: p for p in self.pregnancies}
        pending_births: list[tuple[date, int, Household, dict]] = []
        for index, household in enumerate(self.households.values()):
            self._life_events(index, household, pending_births)
        self._register_births(pending_births)
        return City(
            seed=self.seed, start=self.start, months=self.months, rates=self.rates,
            shape=self.shape, kelurahan=self.kelurahan, posyandu=self.posyandu,
            households=self.households, persons=self.persons, pregnancies=self.pregnancies,
        )

    def _address(self, rng: random.Random, posyandu: Posyandu) -> tuple[str, str, str]:
        street = rng.choice(self.streets)
        address = f"{street} No. {rng.randint(1, 120)}"
        if rng.random() < 0.15:
            address += rng.choice(("A", "B"))
        return address, f"{rng.randint(1, 8):03d}", rng.choice(posyandu.rws)

    # --- households at the start

    def _household(self, posyandu: Posyandu) -> None:
        rng, rates, start = self.rng, self.rates, self.start
        kel = posyandu.kelurahan
        hh_id = self.new_id("HH")
        address, rt, rw = self._address(rng, posyandu)

        # Children under five, youngest first; a birth is a twin birth now and then.
        births: list[date] = []
        older = rng.choice((0, 0, 1, 1, 2, 3))
        pregnant_ga_weeks: int | None = None
        if rng.random() < 0.12:  # a first pregnancy, no children yet
            pregnant_ga_weeks = rng.randint(5, 38)
            older = 0
        else:
            wanted = rng.choices((1, 2, 3), weights=(0.6, 0.32, 0.08))[0]
            age = rng.randint(0, BALITA_MAX_AGE_DAYS - 1)
            for _ in range(wanted):
                if age >= BALITA_MAX_AGE_DAYS:
                    older += 1
                    break
                births.append(start - timedelta(days=age))
                age += rng.randint(455, 1200)  # 15 to 40 months between births
            if births and (start - births[0]).days > 365 and rng.random() < 0.08:
                pregnant_ga_weeks = rng.randint(5, 38)

        youngest_birth = births[0] if births else start
        mother_age = rng.triangular(17.0, 42.0, 25.0)
        if births:
            mother_age = max(mother_age, 16.5 + (births[0] - births[-1]).days / 365.25)
        woman_birth = youngest_birth - timedelta(days=round(mother_age * 365.25))
        sanitation = draw_sanitation(rng)
        kk_issued = min(start, youngest_birth + timedelta(days=rng.randint(10, 200)))
        if not births:
            kk_issued = start - timedelta(days=rng.randint(60, 1500))

        woman = self._woman(rng, hh_id, woman_birth, kel)
        head_id = None
        if rng.random() >= rates.female_headed_household:
            head_birth = woman_birth - timedelta(days=round(rng.triangular(-2.0, 12.0, 4.0) * 365))
            head = Person(
                id=self.new_id("H"), role="head", name=names.adult_name(rng, "male"),
                sex="male", birth_date=head_birth, household_id=hh_id,
            )
            prefix = kel.nik_prefix if rng.random() > 0.1 else rng.choice(origin_nik_prefixes())
            head.nik = self.issuer.nik(prefix, head_birth, "male")
            head.nik_issued_on = head_birth + timedelta(days=17 * 365)
            self.persons[head.id] = head
            head_id = head.id

        household = Household(
            id=hh_id, kk=self.issuer.kk(kel.nik_prefix, kk_issued), kelurahan_code=kel.code,
            posyandu_key=posyandu.key, address=address, rt=rt, rw=rw, woman_id=woman.id,
            head_id=head_id, sanitation=sanitation, older_children=older,
        )
        self.households[hh_id] = household
        for birth in reversed(births):  # oldest first, so ids follow birth order
            twins = rng.random() < rates.twin_births
            self._births(rng, household, woman, birth, 2 if twins else 1, kel, at_start=True)
        if pregnant_ga_weeks is not None:
            conceived = start - timedelta(weeks=pregnant_ga_weeks, days=rng.randint(0, 6))
            birth_on = conceived + timedelta(days=round(7 * _birth_ga_weeks(rng)))
            self.pregnancies.append(Pregnancy(woman.id, hh_id, conceived, max(birth_on, start)))

    def _woman(self, rng: random.Random, hh_id: str, birth: date, kel: Kelurahan) -> Person:
        outside = rng.random() < self.rates.woman_from_outside_city
        prefix = rng.choice(origin_nik_prefixes()) if outside else kel.nik_prefix
        height = rng.gauss(151.5, 5.5)
        bmi = rng.gauss(23.5, 4.2)
        woman = Person(
            id=self.new_id("W"), role="woman", name=names.adult_name(rng, "female"),
            sex="female", birth_date=birth, household_id=hh_id,
            nik=self.issuer.nik(prefix, birth, "female"),
            nik_issued_on=birth + timedelta(days=17 * 365),
            height_cm=round(height, 1),
            weight_kg=round(max(35.0, bmi * (height / 100) ** 2), 1),
            muac_cm=round(max(18.0, 25.8 + 0.55 * (bmi - 22.0) + rng.gauss(0.0, 1.6)), 1),
            hb_g_dl=round(rng.gauss(12.3, 1.1), 1),
        )
        self.persons[woman.id] = woman
        return woman

    def _births(
        self,
        rng: random.Random,
        household: Household,
        mother: Person,
        birth: date,
        count: int,
        kel: Kelurahan,
        *,
        at_start: bool,
    ) -> list[Person]:
        """Children born together (twins when count is 2). Children alive at the start
        are numbered and given their NIK here; births during the run are settled later,
        in birth order (`_register_births`)."""
        born: list[Person] = []
        for _ in range(count):
            sex = "male" if rng.random() < 0.51 else "female"
            child = Person(
                id="", role="child", name=names.child_name(rng, sex), sex=sex,
                birth_date=birth, household_id=household.id, mother_id=mother.id,
            )
            if rng.random() >= self.rates.child_without_nik:
                # Dukcapil issues the NIK with the birth certificate, weeks to months later.
                child.nik_issued_on = birth + timedelta(days=round(rng.triangular(7, 300, 45)))
            born.append(child)
        if at_start:
            self._settle_children(household, kel, born)
        return born

    def _settle_children(self, household: Household, kel: Kelurahan, born: list[Person]):
        """Number children born together, link twins, issue NIKs, add them to the family."""
        for child in born:
            child.id = self.new_id("C")
            if child.nik_issued_on:
                child.nik = self.issuer.nik(kel.nik_prefix, child.birth_date, child.sex)
        for child in born[1:]:
            child.twin_of = born[0].id
        for child in born:
            self.persons[child.id] = child
            household.child_ids.append(child.id)

    def _assign_growth_tracks(self) -> None:
        """Stunted/wasted children chosen per kelurahan in exactly the configured share,
        weighted towards households with poor sanitation."""
        np_rng = np.random.default_rng([self.seed, 1])
        by_kelurahan: dict[str, list[Person]] = {}
        for person in self.persons.values():
            if person.role == "child":
                kel = self.households[person.household_id].kelurahan_code
                by_kelurahan.setdefault(kel, []).append(person)
        for code, children in by_kelurahan.items():
            weights = np.array(
                [sanitation_risk(self.households[c.household_id].sanitation) for c in children]
            )
            stunted = _pick(np_rng, weights, self.rates.stunting_for(code))
            wasted = _pick(np_rng, np.ones(len(children)), self.rates.wasting_prevalence)
            for i, child in enumerate(children):
                track_rng = random.Random(f"{self.seed}/track/{child.id}")
                child.track = draw_track(track_rng, stunted=i in stunted, wasted=i in wasted)

    # --- life events month by month

    def _life_events(self, index: int, household: Household, pending: list) -> None:
        """Conceptions, births and a possible move, from the household's own stream."""
        rng = random.Random(f"{self.seed}/household/{household.id}")
        woman = self.persons[household.woman_id]
        ongoing = self._pregnant_at_start.get(household.id)
        last_birth = max(
            (self.persons[c].birth_date for c in household.child_ids), default=None
        )
        for m in range(self.months):
            month_start, month_end = self.month_start(m), self.month_start(m + 1)
            if ongoing and month_start <= ongoing.birth_on < month_end:
                twins = rng.random() < self.rates.twin_births
                kel = self.by_code[household.kelurahan_at(m)]
                born = self._births(rng, household, woman, ongoing.birth_on, 2 if twins else 1,
                                    kel, at_start=False)
                for child in born:
                    stunted = rng.random() < self.rates.stunting_for(kel.code)
                    wasted = rng.random() < self.rates.wasting_prevalence
                    child.track = draw_track(rng, stunted=stunted, wasted=wasted)
                pending.append((ongoing.birth_on, index, household, {"born": born, "kel": kel,
                                                                     "pregnancy": ongoing}))
                last_birth, ongoing = ongoing.birth_on, None
            age_years = (month_start - woman.birth_date).days / 365.25
            ready = last_birth is None or (month_start - last_birth).days > 270
            fertile = ongoing is None and ready and age_years < 42
            if fertile and rng.random() < self.rates.conception_monthly:
                conceived = month_start + timedelta(days=rng.randint(0, 27))
                birth_on = conceived + timedelta(days=round(7 * _birth_ga_weeks(rng)))
                ongoing = Pregnancy(woman.id, household.id, conceived, birth_on)
                self.pregnancies.append(ongoing)
            if m > 0 and household.move is None and rng.random() < self.rates.household_move_monthly:
                household.move = self._move(rng, household, m)

    def _move(self, rng: random.Random, household: Household, month_index: int) -> Move:
        others = [p for p in self.posyandu.values()
                  if p.kelurahan.code != household.kelurahan_code]
        target = rng.choice(others)
        address, rt, rw = self._address(rng, target)
        return Move(month_index, target.kelurahan.code, target.key, address, rt, rw)

    def _register_births(self, pending: list) -> None:
        """Number the children born during the run in birth order (stable for any length
        of run) and give them their NIKs."""
        finished: dict[int, Pregnancy] = {}
        for _birth_on, _, household, info in sorted(pending, key=lambda p: (p[0], p[1])):
            born: list[Person] = info["born"]
            self._settle_children(household, info["kel"], born)
            pregnancy = info["pregnancy"]
            finished[id(pregnancy)] = Pregnancy(
                pregnancy.woman_id, pregnancy.household_id, pregnancy.conceived_on,
                pregnancy.birth_on, tuple(c.id for c in born),
            )
        self.pregnancies = [finished.get(id(p), p) for p in self.pregnancies]

    def month_start(self, month_index: int) -> date:
        return add_months(self.start, month_index)


def _birth_ga_weeks(rng: random.Random) -> float:
    return min(42.0, max(34.0, rng.gauss(39.0, 1.3)))


def _pick(rng: np.random.Generator, weights: np.ndarray, share: float) -> set[int]:
    """Exactly round(share * n) indices, drawn without replacement by weight."""
    n = len(weights)
    k = min(n, round(share * n))
    if k == 0:
        return set()
    chosen = rng.choice(n, size=k, replace=False, p=weights / weights.sum())
    return {int(i) for i in chosen}

