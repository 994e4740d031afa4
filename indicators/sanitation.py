"""Household sanitation (STBM, Permenkes 3/2014) and Keluarga Risiko Stunting.

DOMAIN.md §5 and §6. Inputs are the answers of the `sanitation_check` form;
the XLSForm must use exactly the choice names in `SANITATION_CHOICES`:

latrine_access         own | shared | communal (MCK umum) | none
latrine_type           gooseneck (leher angsa) | plengsengan (chute, no water
                       seal) | cemplung (simple pit) | none
waste_disposal         septic_tank | ipal (sewerage / communal treatment) |
                       lined_pit (cubluk kedap) | unlined_pit | river_or_open |
                       none
handwashing_soap       yes | no  (soap and running water at the handwashing place)
drinking_water_source  piped (PAM/PDAM) | bottled_refill (kemasan / isi ulang) |
                       borehole (sumur bor/pompa) | protected_well |
                       protected_spring | unprotected_well | unprotected_spring |
                       surface_water (river, lake, canal) | rain
water_treated          boiled | filtered | none  (treatment before drinking)
waste_bin              yes | no  (closed bin, waste collected or managed)
wastewater_drain       closed_drain (SPAL kedap & tertutup) | open_drain | none

Each result is three-valued: True, False, or None when an answer it needs is
missing (a False answer decides even when others are missing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

LATRINE_ACCESS = ["own", "shared", "communal", "none"]
LATRINE_TYPE = ["gooseneck", "plengsengan", "cemplung", "none"]
WASTE_DISPOSAL = ["septic_tank", "ipal", "lined_pit", "unlined_pit", "river_or_open", "none"]
YES_NO = ["yes", "no"]
DRINKING_WATER_SOURCE = [
    "piped",
    "bottled_refill",
    "borehole",
    "protected_well",
    "protected_spring",
    "unprotected_well",
    "unprotected_spring",
    "surface_water",
    "rain",
]
WATER_TREATED = ["boiled", "filtered", "none"]
WASTEWATER_DRAIN = ["closed_drain", "open_drain", "none"]

SANITATION_CHOICES: dict[str, list[str]] = {
    "latrine_access": LATRINE_ACCESS,
    "latrine_type": LATRINE_TYPE,
    "waste_disposal": WASTE_DISPOSAL,
    "handwashing_soap": YES_NO,
    "drinking_water_source": DRINKING_WATER_SOURCE,
    "water_treated": WATER_TREATED,
    "waste_bin": YES_NO,
    "wastewater_drain": WASTEWATER_DRAIN,
}
"""sanitation_check question name -> the choice names the form must use."""

IMPROVED_WATER_SOURCES = frozenset(
    {"piped", "bottled_refill", "borehole", "protected_well", "protected_spring"}
)
"""DOMAIN.md §5: piped (PAM), bottled/refill, borehole, protected well or spring.
(Rainwater is not in DOMAIN.md's list, so it does not count as improved.)"""

CONTAINED_DISPOSAL = frozenset({"septic_tank", "ipal", "lined_pit", "unlined_pit"})
"""Excreta stay in a pit or tank: the family does not defecate in the open (Stop BABS)."""

SAFE_DISPOSAL = frozenset({"septic_tank", "ipal"})
"""Septic tank or IPAL: what jamban sehat and sanitasi layak require."""


@dataclass(frozen=True, slots=True)
class SanitationAnswers:
    """The sanitation_check answers; None = not answered."""

    latrine_access: str | None = None
    latrine_type: str | None = None
    waste_disposal: str | None = None
    handwashing_soap: str | None = None
    drinking_water_source: str | None = None
    water_treated: str | None = None
    waste_bin: str | None = None
    wastewater_drain: str | None = None

    def __post_init__(self) -> None:
        for name, choices in SANITATION_CHOICES.items():
            value = getattr(self, name)
            if value is not None and value not in choices:
                raise ValueError(f"{name}={value!r} is not one of {choices}")

    @classmethod
    def from_form(cls, answers: Mapping[str, object]) -> SanitationAnswers:
        """Pick the sanitation questions out of a submission (other keys are
        ignored; empty answers become None). Raises ValueError for unknown choices."""
        return cls(**{f.name: _clean_answer(answers.get(f.name)) for f in fields(cls)})


def _clean_answer(value: object) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def _answer_in(value: str | None, accepted: frozenset[str] | set[str]) -> bool | None:
    return None if value is None else value in accepted


def _all(*conditions: bool | None) -> bool | None:
    """Three-valued AND: False if any is False, else None if any is unknown."""
    if any(c is False for c in conditions):
        return False
    return None if any(c is None for c in conditions) else True


def _any(*conditions: bool | None) -> bool | None:
    """Three-valued OR: True if any is True, else None if any is unknown."""
    if any(c is True for c in conditions):
        return True
    return None if any(c is None for c in conditions) else False


def has_latrine(a: SanitationAnswers) -> bool | None:
    """The household uses a latrine: access is not "none" and the type is not "none"."""
    return _all(
        _answer_in(a.latrine_access, {"own", "shared", "communal"}),
        _answer_in(a.latrine_type, {"gooseneck", "plengsengan", "cemplung"}),
    )


def stop_babs(a: SanitationAnswers) -> bool | None:
    """Pillar 1, Stop BABS: a latrine whose excreta stay in a pit or tank (a
    latrine emptying into a river or the open is still open defecation)."""
    return _all(has_latrine(a), _answer_in(a.waste_disposal, CONTAINED_DISPOSAL))


def ctps(a: SanitationAnswers) -> bool | None:
    """Pillar 2, CTPS: handwashing with soap and running water."""
    return _answer_in(a.handwashing_soap, {"yes"})


def pamm_rt(a: SanitationAnswers) -> bool | None:
    """Pillar 3, PAMM-RT: drinking water is treated (boiled or filtered) at home,
    or is bottled/refill water, which is sold treated."""
    return _any(
        _answer_in(a.water_treated, {"boiled", "filtered"}),
        _answer_in(a.drinking_water_source, {"bottled_refill"}),
    )


def ps_rt(a: SanitationAnswers) -> bool | None:
    """Pillar 4, PS-RT: household solid waste goes into a bin."""
    return _answer_in(a.waste_bin, {"yes"})


def plc_rt(a: SanitationAnswers) -> bool | None:
    """Pillar 5, PLC-RT: household wastewater goes to a watertight, closed drain (SPAL)."""
    return _answer_in(a.wastewater_drain, {"closed_drain"})


def jamban_sehat(a: SanitationAnswers, rural: bool = False) -> bool | None:
    """Healthy latrine: gooseneck (leher angsa) squat or seat, waste to a septic
    tank or IPAL, or, in rural areas, to a lined pit. `rural` can be derived
    from the wilayah code (desa codes start with 2, DOMAIN.md §2). The form
    does not ask about walls, roof or floor, so those are not checked."""
    disposal = (SAFE_DISPOSAL | {"lined_pit"}) if rural else SAFE_DISPOSAL
    return _all(
        has_latrine(a),
        _answer_in(a.latrine_type, {"gooseneck"}),
        _answer_in(a.waste_disposal, disposal),
    )


def sanitasi_layak(a: SanitationAnswers) -> bool | None:
    """BPS/BKKBN "sanitasi layak": own or shared toilet or communal MCK, gooseneck,
    waste to a septic tank or IPAL."""
    return _all(
        _answer_in(a.latrine_access, {"own", "shared", "communal"}),
        _answer_in(a.latrine_type, {"gooseneck"}),
        _answer_in(a.waste_disposal, SAFE_DISPOSAL),
    )


def improved_drinking_water(a: SanitationAnswers) -> bool | None:
    """Improved drinking-water source (`IMPROVED_WATER_SOURCES`)."""
    return _answer_in(a.drinking_water_source, IMPROVED_WATER_SOURCES)


@dataclass(frozen=True, slots=True)
class SanitationAssessment:
    """The five STBM pillars, how many are met, and the latrine/water indicators."""

    stop_babs: bool | None
    ctps: bool | None
    pamm_rt: bool | None
    ps_rt: bool | None
    plc_rt: bool | None
    pillars_met: int
    jamban_sehat: bool | None
    sanitasi_layak: bool | None
    improved_drinking_water: bool | None


def assess_sanitation(answers: SanitationAnswers, rural: bool = False) -> SanitationAssessment:
    """All sanitation indicators for one household's sanitation_check."""
    pillars = (stop_babs(answers), ctps(answers), pamm_rt(answers), ps_rt(answers), plc_rt(answers))
    return SanitationAssessment(
        *pillars,
        pillars_met=sum(p is True for p in pillars),
        jamban_sehat=jamban_sehat(answers, rural),
        sanitasi_layak=sanitasi_layak(answers),
        improved_drinking_water=improved_drinking_water(answers),
    )


# --- Keluarga Risiko Stunting (DOMAIN.md §6) ------------------------------------


@dataclass(frozen=True, slots=True)
class KrsThresholds:
    """BKKBN PK21 "4 Terlalu" cut-offs (configurable)."""

    mother_too_young_below_years: float = 20.0
    mother_too_old_from_years: float = 35.0  # "35-40+": 35 itself counts
    birth_spacing_below_years: float = 2.0
    too_many_children_above: int = 3


@dataclass(frozen=True, slots=True)
class FamilyFacts:
    """What the registry knows about a family; None = not known.

    `birth_spacing_years` is the gap between the two youngest children.
    """

    has_woman_of_reproductive_age: bool = False
    has_pregnancy: bool = False
    has_baduta: bool = False
    has_balita: bool = False
    sanitation: SanitationAnswers | None = None
    mother_age_years: float | None = None
    birth_spacing_years: float | None = None
    number_of_children: int | None = None


# Reasons a family is at risk (stored as codes).
DRINKING_WATER_NOT_IMPROVED = "drinking_water_not_improved"
LATRINE_NOT_IMPROVED = "latrine_not_improved"
MOTHER_TOO_YOUNG = "mother_too_young"
MOTHER_TOO_OLD = "mother_too_old"
BIRTH_SPACING_TOO_CLOSE = "birth_spacing_too_close"
TOO_MANY_CHILDREN = "too_many_children"


@dataclass(frozen=True, slots=True)
class KrsAssessment:
    """`target_family`: has a woman of reproductive age, a pregnancy, a baduta or a
    balita. `at_risk`: a target family meeting at least one criterion. `reasons`:
    the criteria met; `unknown`: the criteria that could not be checked."""

    target_family: bool
    at_risk: bool
    reasons: tuple[str, ...]
    unknown: tuple[str, ...]


def latrine_not_improved(a: SanitationAnswers) -> bool | None:
    """No latrine, or no septic tank (IPAL counts as one)."""
    return _any(
        _answer_in(a.latrine_access, {"none"}),
        _answer_in(a.latrine_type, {"none"}),
        None if a.waste_disposal is None else a.waste_disposal not in SAFE_DISPOSAL,
    )


def _below(value: float | None, limit: float) -> bool | None:
    return None if value is None else value < limit


def assess_krs(family: FamilyFacts, thresholds: KrsThresholds = KrsThresholds()) -> KrsAssessment:
    """Keluarga Risiko Stunting (BKKBN PK21 / verval KRS): a target family is at
    risk if its drinking water is not improved, its latrine is not improved, or
    the mother meets one of the "4 Terlalu" (too young, too old, births too
    close, too many children)."""
    t = thresholds
    s = family.sanitation or SanitationAnswers()
    water_improved = improved_drinking_water(s)
    age = family.mother_age_years
    children = family.number_of_children
    criteria = {
        DRINKING_WATER_NOT_IMPROVED: None if water_improved is None else not water_improved,
        LATRINE_NOT_IMPROVED: latrine_not_improved(s),
        MOTHER_TOO_YOUNG: _below(age, t.mother_too_young_below_years),
        MOTHER_TOO_OLD: None if age is None else age >= t.mother_too_old_from_years,
        BIRTH_SPACING_TOO_CLOSE: _below(family.birth_spacing_years, t.birth_spacing_below_years),
        TOO_MANY_CHILDREN: None if children is None else children > t.too_many_children_above,
    }
    target = (
        family.has_woman_of_reproductive_age
        or family.has_pregnancy
        or family.has_baduta
        or family.has_balita
    )
    reasons = tuple(name for name, met in criteria.items() if met)
    return KrsAssessment(
        target_family=target,
        at_risk=target and bool(reasons),
        reasons=reasons,
        unknown=tuple(name for name, met in criteria.items() if met is None),
    )
