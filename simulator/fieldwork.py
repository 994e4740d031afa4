"""What every kader does, month by month, decided before any phone talks to a server.

`plan_fieldwork(city, phones)` walks the simulated months and produces every submission
the fleet will make: monthly weighing and measuring of each child at the posyandu day,
pregnancy screenings, household sanitation visits, and everything that goes wrong in the
field (see `Rates`). The plan is the ground truth: it knows the true person behind each
submission, the true and the recorded values, and the injected errors.

Because the plan does not depend on the server, a `--truth-only` run and a run against a
server write the same truth files. The only thing a server decides is whether a phone
finds a child in its downloaded list (`children.csv`) and so sends the registry id
instead of typing the child in again; the plan gives the phone both the answers to type
for a new registration (`typed`) and how to recognise its own registration in the list
(`match`). `expect_new` is the simulator's own expectation of that (a registration is in
the list once the phone has sent it and refreshed its media).

Every random choice comes from a stream of its own (per child, woman, household or
phone) drawn month after month, so a shorter run is the beginning of a longer one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cached_property
from itertools import pairwise

from indicators.anthro import DAYS_PER_MONTH, LENGTH_HEIGHT_OFFSET_CM, LENGTH_HEIGHT_SWITCH_DAY
from indicators.maternal import AnaemiaSeverity, anaemia_severity, is_kek
from simulator import growth, names
from simulator.nik import mistype_nik
from simulator.population import BALITA_MAX_AGE_DAYS, City, Household, Person, Pregnancy

FORM_ANTHROPOMETRY = "anthropometry"
FORM_PREGNANCY = "pregnancy_screening"
FORM_SANITATION = "sanitation_check"

MIN_FIRST_VISIT_AGE_DAYS = 7
MUAC_FROM_AGE_DAYS = 183  # the form asks MUAC for children aged 6-59 months
STANDING_FROM_AGE_DAYS = 274  # nobody measures a baby under 9 months standing
MAX_LOST_RESPONSES = 3
SANITATION_REVISIT_MONTHS = 6

# Measurement precision at a posyandu: dacin/digital scale to 0.1 kg, length board and
# microtoise to 0.1 cm, with the usual inter-measurer noise.
WEIGHT_NOISE_KG = 0.05
LENGTH_NOISE_CM = 0.35
MUAC_NOISE_CM = 0.2


@dataclass(frozen=True)
class PhoneSpec:
    """One virtual phone: one kader at one posyandu."""

    id: str  # "phone-001"
    posyandu_key: str
    kelurahan_code: str
    kader_number: int  # 1-based among the phones of the posyandu


def assign_phones(city: City, count: int | None = None) -> list[PhoneSpec]:
    """`count` phones over the city's posyandu (default: one per posyandu).

    Fewer phones than posyandu: the first posyandu of every kelurahan first, then the
    second ones, so 27 phones cover every kelurahan. More phones: second kader at the
    posyandu in the same order.
    """
    by_kelurahan: dict[str, list[str]] = {}
    for p in city.posyandu.values():
        by_kelurahan.setdefault(p.kelurahan.code, []).append(p.key)
    order: list[str] = []
    depth = max(len(v) for v in by_kelurahan.values())
    for i in range(depth):
        order += [keys[i] for keys in by_kelurahan.values() if i < len(keys)]
    count = len(order) if count is None else count
    if count < 1:
        raise ValueError("at least one phone is needed")
    per_posyandu: dict[str, int] = {}
    phones = []
    for n in range(count):
        key = order[n % len(order)]
        per_posyandu[key] = per_posyandu.get(key, 0) + 1
        phones.append(PhoneSpec(f"phone-{n + 1:03d}", key, city.posyandu[key].kelurahan.code,
                                per_posyandu[key]))
    return phones


@dataclass
class PlannedSubmission:
    """One form a phone fills and sends, with the truth behind it."""

    instance_id: str
    form_id: str
    phone_id: str
    month_index: int
    visit_on: date
    true_id: str  # person or household
    kelurahan_code: str
    posyandu_key: str
    #: Identity answers for a new registration (is_new = yes).
    typed: dict[str, str]
    #: Identity answers the kader types over a row picked from the list.
    corrections: dict[str, str]
    #: List rows (column -> value) that are "the one this phone registered".
    match: tuple[dict[str, str], ...]
    #: Every other answer (dates, measurements, checks), by field name.
    values: dict[str, str]
    errors: tuple[str, ...]
    attempts: int  # POSTs of the same bytes: 1 + responses lost to timeouts
    send_round: int  # index of the sync that sends it; `months` = the final sync
    expect_new: bool
    order: int
    deprecated_id: str | None = None
    superseded_by: str | None = None
    truth: dict[str, object] = field(default_factory=dict)

    @property
    def is_edit(self) -> bool:
        return self.deprecated_id is not None


@dataclass
class _PhoneMemory:
    """What one phone (kader) typed when registering one subject."""

    typed: dict[str, str]
    errors: tuple[str, ...]
    names: list[str]
    nik_field: str | None
    nik_pending: bool = False  # no NIK yet at registration (not the kader's fault)
    placeholder_name: str | None = None  # "By. Ny. ..." still to be corrected
    first_send_round: int | None = None
    visits: int = 0
    match: tuple[dict[str, str], ...] = ()

    def refresh_match(self) -> None:
        """The list rows that are this registration: same NIK, or same name (any name
        the phone used for the subject) and birth date; households by KK or head name."""
        typed = self.typed
        keys: list[dict[str, str]] = []
        if self.nik_field and typed.get(self.nik_field):
            keys.append({"nik": typed[self.nik_field]})
        birth = typed.get("child_birth_date") or typed.get("woman_birth_date")
        if birth:
            keys += [{"full_name": n, "birth_date": birth} for n in self.names]
        if "head_name" in typed:
            if typed.get("household_kk"):
                keys.append({"kk": typed["household_kk"]})
            keys += [{"head_name": n} for n in self.names]
        self.match = tuple(keys)


@dataclass
class FieldPlan:
    city: City
    phones: list[PhoneSpec]
    #: In sending order: by sync (`send_round`), phone, then the order they were made.
    submissions: list[PlannedSubmission]
    #: Names under which each subject was registered (any phone), in order.
    registered_names: dict[str, list[str]]
    #: Identity errors injected for each subject anywhere.
    identity_errors: dict[str, set[str]]
    offline: dict[str, list[bool]]  # phone id -> offline in month i

    @property
    def rounds(self) -> int:
        """Syncs: one per month plus the final flush."""
        return self.city.months + 1

    def for_round(self, phone_id: str, round_index: int) -> list[PlannedSubmission]:
        """What a phone sends at one sync, in sending order."""
        return self._by_phone_round.get((phone_id, round_index), [])

    @cached_property
    def _by_phone_round(self) -> dict[tuple[str, int], list[PlannedSubmission]]:
        index: dict[tuple[str, int], list[PlannedSubmission]] = {}
        for s in self.submissions:
            index.setdefault((s.phone_id, s.send_round), []).append(s)
        return index

    def round_label(self, round_index: int) -> str:
        return "final" if round_index >= self.city.months else self.city.month_label(round_index)


def plan_fieldwork(city: City, phones: list[PhoneSpec]) -> FieldPlan:
    return _Planner(city, phones).plan()


class _Planner:
    def __init__(self, city: City, phones: list[PhoneSpec]):
        self.city, self.phones, self.rates = city, phones, city.rates
        self.seed = city.seed
        self.phones_at: dict[str, list[PhoneSpec]] = {}
        for phone in phones:
            self.phones_at.setdefault(phone.posyandu_key, []).append(phone)
        self.offline = {}
        for phone in phones:
            rng = random.Random(f"{self.seed}/phone/{phone.id}")
            self.offline[phone.id] = [rng.random() < self.rates.offline_month
                                      for _ in range(city.months)]
        self.streams: dict[str, random.Random] = {}
        self.memory: dict[tuple[str, str], _PhoneMemory] = {}
        self.submissions: list[PlannedSubmission] = []
        self.registered_names: dict[str, list[str]] = {}
        self.identity_errors: dict[str, set[str]] = {}
        self.z_tracks: dict[str, tuple[list[float], list[float]]] = {}
        self.last_length: dict[str, float] = {}
        self.second_kader_done: set[str] = set()
        self.last_sanitation: dict[str, int] = {}
        self.pregnancies: dict[str, list[Pregnancy]] = {}
        for p in city.pregnancies:
            self.pregnancies.setdefault(p.woman_id, []).append(p)

    # --- helpers

    def stream(self, key: str) -> random.Random:
        rng = self.streams.get(key)
        if rng is None:
            rng = self.streams[key] = random.Random(f"{self.seed}/visits/{key}")
        return rng

    def send_round(self, phone_id: str, month_index: int) -> int:
        offline = self.offline[phone_id]
        for r in range(month_index, self.city.months):
            if not offline[r]:
                return r
        return self.city.months

    def next_online_after(self, phone_id: str, round_index: int) -> int:
        if round_index >= self.city.months:
            return self.city.months
        return self.send_round(phone_id, round_index + 1)

    @staticmethod
    def primary(phones: list[PhoneSpec], subject_id: str) -> PhoneSpec:
        """The kader of the posyandu who sees a subject (C.../W.../HH...) by default."""
        return phones[int(subject_id.lstrip("CWH")) % len(phones)]

    def other_phone(self, phone: PhoneSpec) -> PhoneSpec | None:
        """A second kader: at the same posyandu, else at another posyandu of the kelurahan."""
        same = [p for p in self.phones_at[phone.posyandu_key] if p.id != phone.id]
        if same:
            return same[0]
        nearby = [p for p in self.phones if p.kelurahan_code == phone.kelurahan_code
                  and p.posyandu_key != phone.posyandu_key]
        return nearby[0] if nearby else None

    @staticmethod
    def new_instance_id(rng: random.Random) -> str:
        """An OpenRosa instanceID, `uuid:` + a version-4 UUID drawn from the stream."""
        n = rng.getrandbits(128) & _UUID_CLEAR | _UUID_SET
        h = f"{n:032x}"
        return f"uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def lost_responses(self, rng: random.Random) -> int:
        lost = 0
        while lost < MAX_LOST_RESPONSES and rng.random() < self.rates.timeout_retry:
            lost += 1
        return lost

    # --- the months

    def plan(self) -> FieldPlan:
        city = self.city
        households = sorted(city.households.values(), key=lambda h: h.id)
        for m in range(city.months):
            month_start = city.month_start(m)
            days = {key: city.posyandu[key].day_in(month_start.year, month_start.month)
                    for key in self.phones_at}
            for household in households:
                key = household.posyandu_at(m)
                phones = self.phones_at.get(key)
                if not phones:
                    continue
                day = days[key]
                for child_id in household.child_ids:
                    self.child_visit(m, day, household, city.persons[child_id], phones)
                self.woman_visit(m, day, household, city.persons[household.woman_id], phones)
                self.household_visit(m, household, phones)
        self.submissions.sort(key=lambda s: (s.send_round, s.phone_id, s.order))
        return FieldPlan(city, self.phones, self.submissions, self.registered_names,
                         self.identity_errors, self.offline)

    def _submit(self, phone: PhoneSpec, m: int, rng: random.Random, memory: _PhoneMemory,
                expect_new: bool, *, corrections: dict[str, str],
                errors: tuple[str, ...] = (), **kwargs) -> PlannedSubmission:
        """A form the phone sends for a subject it knows (`memory`); identity errors count
        only when the subject is typed in as new."""
        submission = PlannedSubmission(
            instance_id=self.new_instance_id(rng), phone_id=phone.id, month_index=m,
            typed=dict(memory.typed), corrections=corrections, match=memory.match,
            errors=(memory.errors if expect_new else ()) + errors, expect_new=expect_new,
            attempts=1 + self.lost_responses(rng), send_round=self.send_round(phone.id, m),
            order=len(self.submissions), **kwargs,
        )
        self.submissions.append(submission)
        memory.visits += 1
        if memory.first_send_round is None or submission.send_round < memory.first_send_round:
            memory.first_send_round = submission.send_round
        return submission

    def _edit(self, original: PlannedSubmission, rng: random.Random, values: dict[str, str],
              tag: str) -> None:
        """The sent form edited at the phone's next sync: a new instanceID replacing it."""
        edit = replace(
            original, instance_id=self.new_instance_id(rng), typed={}, corrections={},
            values=values, errors=(tag,), attempts=1 + self.lost_responses(rng),
            send_round=self.next_online_after(original.phone_id, original.send_round),
            expect_new=False, order=len(self.submissions), deprecated_id=original.instance_id,
        )
        original.superseded_by = edit.instance_id
        self.submissions.append(edit)

    def _recognition(self, phone: PhoneSpec, subject: str, m: int, rng: random.Random,
                     register) -> tuple[_PhoneMemory, bool]:
        """The phone's memory of a subject (registering it on the first visit) and whether
        the phone is expected to type it in as new (its registration not yet in the list
        the phone downloaded)."""
        memory = self.memory.get((phone.id, subject))
        if memory is None:
            memory = register(rng)
            memory.refresh_match()
            self.memory[(phone.id, subject)] = memory
            self._registered_as(subject, memory.names)
            if memory.errors:
                self.identity_errors.setdefault(subject, set()).update(memory.errors)
        expect_new = memory.first_send_round is None or memory.first_send_round >= m
        return memory, expect_new

    def _registered_as(self, subject: str, names: list[str]) -> None:
        registered = self.registered_names.setdefault(subject, [])
        registered += [n for n in names if n not in registered]

    # --- children

    def child_visit(self, m: int, day: date, household: Household, child: Person,
                    phones: list[PhoneSpec]) -> None:
        age_days = (day - child.birth_date).days
        if not _weighed_at(age_days):
            return
        rng = self.stream(child.id)
        rates = self.rates
        if rng.random() >= rates.attendance:
            return
        phone = self.primary(phones, child.id)
        kelurahan_code = household.kelurahan_at(m)
        posyandu_key = phone.posyandu_key
        extra_errors: tuple[str, ...] = ()
        if child.id not in self.second_kader_done and rng.random() < rates.second_kader_registration:
            other = self.other_phone(phone)
            if other is not None:
                self.second_kader_done.add(child.id)
                self.identity_errors.setdefault(child.id, set()).add("second_kader_registration")
                if other.posyandu_key != phone.posyandu_key:
                    other_posyandu = self.city.posyandu[other.posyandu_key]
                    day = other_posyandu.day_in(day.year, day.month)
                    age_days = (day - child.birth_date).days
                    if not _weighed_at(age_days):
                        return
                phone, posyandu_key = other, other.posyandu_key
                extra_errors = ("second_kader_registration",)
        mother = self.city.persons[child.mother_id]

        def register(rng: random.Random) -> _PhoneMemory:
            return self.register_child(rng, child, mother, household, day, age_days,
                                       kelurahan_code, posyandu_key)

        memory, expect_new = self._recognition(phone, child.id, m, rng, register)
        corrections, tags = self.child_corrections(memory, child, day)
        values, truth, measure_errors, clean = self.measure_child(rng, m, day, child, age_days)
        submission = self._submit(
            phone, m, rng, memory, expect_new, form_id=FORM_ANTHROPOMETRY, visit_on=day,
            true_id=child.id, kelurahan_code=kelurahan_code, posyandu_key=posyandu_key,
            corrections=corrections, values=values,
            errors=extra_errors + tags + measure_errors, truth=truth,
        )
        if rng.random() < rates.edit_sent_form:
            self._edit(submission, rng, *self.child_edit(rng, values, clean, measure_errors))

    def register_child(self, rng: random.Random, child: Person, mother: Person,
                       household: Household, day: date, age_days: int, kelurahan_code: str,
                       posyandu_key: str) -> _PhoneMemory:
        """What a kader types the first time she registers a child on her phone."""
        rates = self.rates
        errors: list[str] = []
        name = child.name
        placeholder = None
        if age_days < 60 and rng.random() < rates.newborn_unnamed:
            name = placeholder = names.newborn_placeholder(rng, mother.name)
            errors.append("newborn_name")
        elif rng.random() < rates.misspelled_name:
            name = names.misspell(rng, name)
            errors.append("misspelled_name")
        true_nik = child.nik_on(day)
        nik, nik_pending = true_nik or "", true_nik is None and child.nik is not None
        draw = rng.random()
        if draw < rates.mother_nik_for_child and mother.nik:
            nik = mother.nik
            errors.append("mother_nik_for_child")
        elif true_nik and draw < rates.mother_nik_for_child + rates.missing_nik:
            nik = ""
            errors.append("missing_nik")
        elif true_nik and draw < rates.mother_nik_for_child + rates.missing_nik + rates.mistyped_nik:
            nik = mistype_nik(rng, true_nik)
            errors.append("mistyped_nik")
        mother_nik = "" if rng.random() < rates.missing_nik / 2 else (mother.nik or "")
        kk = "" if rng.random() < 0.05 else household.kk
        typed = {
            "child_nik": nik,
            "child_name": name,
            "child_sex": child.sex,
            "child_birth_date": child.birth_date.isoformat(),
            "mother_name": mother.name,
            "mother_nik": mother_nik,
            "household_kk": kk,
            "kelurahan_code": kelurahan_code,
            "posyandu_id": posyandu_key,
        }
        return _PhoneMemory(typed=typed, errors=tuple(errors), names=[name],
                            nik_field="child_nik", nik_pending=nik_pending,
                            placeholder_name=placeholder)

    def child_corrections(self, memory: _PhoneMemory, child: Person,
                          day: date) -> tuple[dict[str, str], tuple[str, ...]]:
        """On a later visit the kader fixes a "By. Ny." name and adds a newly issued NIK."""
        if memory.visits == 0:
            return {}, ()
        corrections: dict[str, str] = {}
        tags: list[str] = []
        fixed: set[str] = set()
        if memory.placeholder_name:
            corrections["child_name"] = memory.typed["child_name"] = child.name
            memory.names.append(child.name)
            self._registered_as(child.id, [child.name])
            memory.placeholder_name = None
            tags.append("newborn_name_corrected")
            fixed.add("newborn_name")
        if memory.nik_pending and child.nik_on(day):
            corrections["child_nik"] = memory.typed["child_nik"] = child.nik
            memory.nik_pending = False
            tags.append("nik_added")
            fixed.add("mother_nik_for_child")
        if corrections:
            # From now on the phone types (and looks for) the corrected identity.
            memory.errors = tuple(e for e in memory.errors if e not in fixed)
            memory.refresh_match()
        return corrections, tuple(tags)

    def child_track(self, child: Person) -> tuple[list[float], list[float]]:
        tracks = self.z_tracks.get(child.id)
        if tracks is None:
            rng = random.Random(f"{self.seed}/drift/{child.id}")
            tracks = self.z_tracks[child.id] = growth.monthly_z(rng, child.track, self.city.months)
        return tracks

    def measure_child(self, rng: random.Random, m: int, day: date, child: Person,
                      age_days: int) -> tuple[dict[str, str], dict, tuple[str, ...], dict]:
        """The true size of the child and what the kader records (with noise and errors)."""
        rates = self.rates
        haz_track, whz_track = self.child_track(child)
        haz, whz = haz_track[m], whz_track[m]
        true_lenhei = growth.length_height_cm(child.sex, age_days, haz)
        true_weight = growth.weight_kg(child.sex, age_days, true_lenhei, whz, haz)
        true_muac = growth.muac_cm(child.sex, age_days, whz, haz, child.track.muac_offset)
        protocol = "lying" if age_days < LENGTH_HEIGHT_SWITCH_DAY else "standing"
        used = protocol
        if (protocol == "lying" and age_days >= STANDING_FROM_AGE_DAYS
                and rng.random() < rates.standing_under_two):
            used = "standing"
        measured = true_lenhei
        if used != protocol:
            # Standing height is 0.7 cm shorter than recumbent length.
            measured += LENGTH_HEIGHT_OFFSET_CM * (-1 if used == "standing" else 1)
        clean = {
            "weight_kg": _one_decimal(true_weight + rng.gauss(0.0, WEIGHT_NOISE_KG)),
            "length_height_cm": _one_decimal(measured + rng.gauss(0.0, LENGTH_NOISE_CM)),
            "measure_method": used,
            "muac_cm": (_one_decimal(true_muac + rng.gauss(0.0, MUAC_NOISE_CM))
                        if true_muac is not None and age_days >= MUAC_FROM_AGE_DAYS else ""),
            "oedema": "yes" if rng.random() < rates.oedema else "no",
        }
        sent = dict(clean)
        errors: list[str] = []
        previous = self.last_length.get(child.id)
        if previous is not None and rng.random() < rates.height_decrease:
            sent["length_height_cm"] = _one_decimal(previous - rng.uniform(1.0, 3.0))
            errors.append("height_decrease")
        if rng.random() < rates.swapped_digits:
            which = rng.choice(("weight_kg", "length_height_cm"))
            swapped = _swap_digits(rng, sent[which], _FIELD_RANGE[which])
            if swapped:
                sent[which] = swapped
                errors.append("swapped_digits")
        if rng.random() < rates.wrong_measure_method:
            sent["measure_method"] = "standing" if used == "lying" else "lying"
            errors.append("wrong_measure_method")
        self.last_length[child.id] = float(sent["length_height_cm"])
        values = {
            "measured_on": day.isoformat(),
            "age_days": str(age_days),
            "age_months": str(int(age_days // DAYS_PER_MONTH)),
            **sent,
        }
        truth = {
            "age_days": age_days,
            "sex": child.sex,
            "birth_date": child.birth_date,
            "haz_track": round(haz, 3),
            "whz_track": round(whz, 3),
            "true_weight_kg": round(true_weight, 2),
            "true_length_height_cm": round(true_lenhei, 2),
            "true_measure_method": protocol,
            "measure_method_used": used,
            "weight_kg_without_error": clean["weight_kg"],
            "length_height_cm_without_error": clean["length_height_cm"],
            "true_muac_cm": round(true_muac, 2) if true_muac is not None else None,
        }
        return values, truth, tuple(errors), clean

    @staticmethod
    def child_edit(rng: random.Random, values: dict[str, str], clean: dict[str, str],
                   errors: tuple[str, ...]) -> tuple[dict[str, str], str]:
        """A sent measurement edited: the error fixed, or the child weighed again."""
        if errors:
            return values | clean, "edit_fixes_error"
        step = rng.choice((-0.2, -0.1, 0.1, 0.2))
        weight = _one_decimal(max(0.5, float(values["weight_kg"]) + step))
        return values | {"weight_kg": weight}, "edit_reweighed"

    # --- women

    def woman_visit(self, m: int, day: date, household: Household, woman: Person,
                    phones: list[PhoneSpec]) -> None:
        rng = self.stream(woman.id)
        rates = self.rates
        pregnancy = next((p for p in self.pregnancies.get(woman.id, ())
                          if p.conceived_on <= day < p.birth_on), None)
        ga_weeks = (day - pregnancy.conceived_on).days // 7 if pregnancy else None
        if pregnancy and ga_weeks >= 6:
            if rng.random() >= rates.pregnancy_attendance:
                return
        elif rng.random() >= rates.nonpregnant_screening:
            return
        else:
            ga_weeks = None
        phone = self.primary(phones, woman.id)
        kelurahan_code = household.kelurahan_at(m)

        def register(rng: random.Random) -> _PhoneMemory:
            errors: list[str] = []
            name = woman.name
            if rng.random() < rates.misspelled_name:
                name = names.misspell(rng, name)
                errors.append("misspelled_name")
            nik = woman.nik or ""
            draw = rng.random()
            if draw < rates.missing_nik / 4:
                nik = ""
                errors.append("missing_nik")
            elif draw < rates.missing_nik / 4 + rates.mistyped_nik:
                nik = mistype_nik(rng, nik)
                errors.append("mistyped_nik")
            typed = {
                "woman_nik": nik,
                "woman_name": name,
                "woman_birth_date": woman.birth_date.isoformat(),
                "household_kk": household.kk,
                "kelurahan_code": kelurahan_code,
                "posyandu_id": phone.posyandu_key,
            }
            return _PhoneMemory(typed=typed, errors=tuple(errors), names=[name],
                                nik_field="woman_nik")

        memory, expect_new = self._recognition(phone, woman.id, m, rng, register)
        values, truth = self.screen_woman(rng, day, woman, ga_weeks)
        submission = self._submit(
            phone, m, rng, memory, expect_new, form_id=FORM_PREGNANCY, visit_on=day,
            true_id=woman.id, kelurahan_code=kelurahan_code, posyandu_key=phone.posyandu_key,
            corrections={}, values=values, truth=truth,
        )
        if rng.random() < rates.edit_sent_form:
            weight = _one_decimal(float(values["weight_kg"]) + rng.choice((-0.5, 0.5)))
            self._edit(submission, rng, values | {"weight_kg": weight}, "edit_reweighed")

    def screen_woman(self, rng: random.Random, day: date, woman: Person,
                     ga_weeks: int | None) -> tuple[dict[str, str], dict]:
        """KEK and anaemia screening: LiLA, Hb (when the puskesmas brings the Hb meter),
        height and weight, with the pregnancy's weight gain and haemodilution."""
        pregnant = ga_weeks is not None
        gain = 0.45 * max(0, ga_weeks - 13) if pregnant else 0.0
        hb_drop = 0.9 if pregnant and ga_weeks >= 13 else 0.0
        true = {
            "pregnant": pregnant,
            "gestational_age_weeks": ga_weeks,
            "muac_cm": woman.muac_cm,
            "hb_g_dl": round(woman.hb_g_dl - hb_drop, 1),
            "height_cm": woman.height_cm,
            "weight_kg": round(woman.weight_kg + gain, 1),
        }
        hb_measured = rng.random() < 0.4
        typed_ga = ga_weeks + rng.choice((-1, 0, 0, 0, 1)) if pregnant else None
        values = {
            "screened_on": day.isoformat(),
            "woman_age_years": str(int((day - woman.birth_date).days // 365.25)),
            "pregnant": "yes" if pregnant else "no",
            "gestational_age_weeks": str(typed_ga) if pregnant else "",
            "muac_cm": _one_decimal(woman.muac_cm + rng.gauss(0.0, MUAC_NOISE_CM)),
            "hb_g_dl": _one_decimal(true["hb_g_dl"] + rng.gauss(0.0, 0.2)) if hb_measured else "",
            "height_cm": _one_decimal(woman.height_cm + rng.gauss(0.0, 0.3)),
            "weight_kg": _one_decimal(true["weight_kg"] + rng.gauss(0.0, 0.1)),
        }
        truth = {f"true_{k}": v for k, v in true.items()}
        truth["true_kek"] = is_kek(woman.muac_cm)
        truth["true_anaemia"] = (anaemia_severity(true["hb_g_dl"], pregnant)
                                 is not AnaemiaSeverity.NONE)
        return values, truth

    # --- households

    def household_visit(self, m: int, household: Household, phones: list[PhoneSpec]) -> None:
        rng = self.stream(household.id)
        last = self.last_sanitation.get(household.id)
        if last is not None and m - last < SANITATION_REVISIT_MONTHS:
            return
        if rng.random() >= self.rates.household_visit_monthly:
            return
        self.last_sanitation[household.id] = m
        phone = self.primary(phones, household.id)
        month_start = self.city.month_start(m)
        day = month_start + timedelta(days=rng.randint(0, 27))
        kelurahan_code = household.kelurahan_at(m)
        address, rt, rw = household.address_at(m)
        head = self.city.head_name(household)

        def register(rng: random.Random) -> _PhoneMemory:
            errors: list[str] = []
            name = head
            if rng.random() < self.rates.misspelled_name:
                name = names.misspell(rng, name)
                errors.append("misspelled_name")
            typed = {
                "household_kk": household.kk,
                "head_name": name,
                "kelurahan_code": kelurahan_code,
                "address": address,
                "rt": rt,
                "rw": rw,
            }
            return _PhoneMemory(typed=typed, errors=tuple(errors), names=[name], nik_field=None)

        memory, expect_new = self._recognition(phone, household.id, m, rng, register)
        self._submit(
            phone, m, rng, memory, expect_new, form_id=FORM_SANITATION, visit_on=day,
            true_id=household.id, kelurahan_code=kelurahan_code,
            posyandu_key=phone.posyandu_key, corrections={},
            values={"checked_on": day.isoformat(), **household.sanitation}, truth={},
        )


# Version 4 and RFC 4122 variant bits of a UUID (as uuid.UUID(int=..., version=4) sets).
_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID_SET = (4 << 76) | (0x8000 << 48)

_FIELD_RANGE = {"weight_kg": (0.5, 40.0), "length_height_cm": (38.0, 130.0)}


def _weighed_at(age_days: int) -> bool:
    """Whether a child of this age is weighed at the posyandu (a week old to under five)."""
    return MIN_FIRST_VISIT_AGE_DAYS <= age_days < BALITA_MAX_AGE_DAYS


def _one_decimal(x: float) -> str:
    return f"{x:.1f}"


def _swap_digits(rng: random.Random, text: str, valid: tuple[float, float]) -> str | None:
    """Two neighbouring digits swapped ("78.5" -> "87.5"), if the result is still a value
    the form accepts and differs from the original; None otherwise."""
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    pairs = [(a, b) for a, b in pairwise(digits) if text[a] != text[b]]
    rng.shuffle(pairs)
    for a, b in pairs:
        chars = list(text)
        chars[a], chars[b] = chars[b], chars[a]
        swapped = "".join(chars)
        if valid[0] <= float(swapped) <= valid[1]:
            return swapped
    return None
