"""Submissions for the caseload tests, sent through the real intake (sync.intake.store_json
in sync.unit_of_work transactions, exactly as Kobo's REST service posts are), so every
record and every aggregate is the one the server computes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlmodel import Session

from sync import accounts
from sync.forms import current_forms, publish_builtin_forms
from sync.intake import store_json
from sync.unit_of_work import UnitOfWork
from tests.support import KELURAHAN, add_posyandu

CHILDREN = [  # name, sex, birth date (one of them turns 60 months during the tests)
    ("Ahmad Fauzi", "male", "2025-01-15"),
    ("Siti Aminah", "female", "2024-03-04"),
    ("Budi Santoso", "male", "2021-08-20"),
    ("Dewi Lestari", "female", "2026-02-10"),
]
WOMEN = [("Rina Wati", "1990-05-05"), ("Nur Aini", "2009-01-20"), ("Sri Rahayu", "2004-07-07")]
HOUSEHOLDS = [("3375010101200003", "Slamet"), ("3375010101200004", "Joko")]


@dataclass
class Field:
    """A kader's phone in a posyandu of KELURAHAN, sending through the unit of work."""

    engine: object
    posyandu_id: int
    principal: accounts.Principal
    versions: dict[str, str]
    sent: list[tuple[str, str, dict]] = field(default_factory=list)  # (form, instance, answers)

    def send(self, form_id: str, answers: dict, *, deprecated_id: str | None = None) -> str:
        instance_id = f"uuid:{uuid.uuid4()}"
        unit = UnitOfWork(self.engine)
        result = unit.run_one(lambda tx: store_json(
            tx.session, principal=self.principal, form_id=form_id,
            form_version=self.versions[form_id], instance_id=instance_id, answers=answers,
            source="kobo", deprecated_id=deprecated_id))
        assert result.status in ("processed", "superseded"), result
        self.sent.append((form_id, instance_id, answers))
        return instance_id

    def child(self, index: int, measured_on: str, weight: float, height: float,
              oedema: bool = False, *, household: int | None = None, **kw) -> str:
        name, sex, birth = CHILDREN[index]
        answers = {"is_new_child": "yes", "child_name": name, "child_sex": sex,
                   "child_birth_date": birth, "mother_name": "", "kelurahan_code": KELURAHAN,
                   "posyandu_id": str(self.posyandu_id), "measured_on": measured_on,
                   "weight_kg": f"{weight:.1f}", "length_height_cm": f"{height:.1f}",
                   "measure_method": "lying" if height < 87 else "standing",
                   "oedema": "yes" if oedema else "no",
                   "household_kk": HOUSEHOLDS[household][0] if household is not None else ""}
        return self.send("anthropometry", answers, **kw)

    def woman(self, index: int, screened_on: str, *, pregnant: bool, muac: float,
              hb: float | None, catin: bool = False, **kw) -> str:
        name, birth = WOMEN[index]
        answers = {"is_new_woman": "yes", "woman_name": name, "woman_birth_date": birth,
                   "kelurahan_code": KELURAHAN, "posyandu_id": str(self.posyandu_id),
                   "screened_on": screened_on, "pregnant": "yes" if pregnant else "no",
                   "muac_cm": f"{muac:.1f}", "weight_kg": "50", "height_cm": "150",
                   "household_kk": HOUSEHOLDS[0][0] if index == 0 else ""}
        if pregnant:
            answers["gestational_age_weeks"] = "20"
        else:
            answers["catin"] = "yes" if catin else "no"
            if catin:
                answers["planned_marriage_date"] = "2027-02-14"
        if hb is not None:
            answers["hb_g_dl"] = f"{hb:.1f}"
        return self.send("pregnancy_screening", answers, **kw)

    def household(self, index: int, checked_on: str, *, good: bool, **kw) -> str:
        kk, head = HOUSEHOLDS[index]
        answers = {"is_new_household": "yes", "household_kk": kk, "head_name": head,
                   "address": f"Jl. Merdeka {index + 1}", "rt": "001", "rw": "002",
                   "kelurahan_code": KELURAHAN, "checked_on": checked_on,
                   **(GOOD if good else POOR)}
        return self.send("sanitation_check", answers, **kw)


GOOD = {"latrine_access": "own", "latrine_type": "gooseneck", "waste_disposal": "septic_tank",
        "handwashing_soap": "yes", "drinking_water_source": "piped", "water_treated": "boiled",
        "waste_bin": "yes", "wastewater_drain": "closed_drain"}
POOR = {"latrine_access": "own", "latrine_type": "cemplung", "waste_disposal": "unlined_pit",
        "handwashing_soap": "no", "drinking_water_source": "unprotected_well",
        "water_treated": "none", "waste_bin": "no", "wastewater_drain": "open_drain"}


def make_field(engine, username: str = "kader-caseload") -> Field:
    with Session(engine, expire_on_commit=False) as s:
        publish_builtin_forms(s)
        s.commit()
        versions = {f.form_id: f.version for f in current_forms(s)}
    posyandu_id = add_posyandu(engine, KELURAHAN, f"Mawar {uuid.uuid4().hex[:6]}")
    with Session(engine, expire_on_commit=False) as s:
        user = accounts.create_user(s, username=username, password="password-123", role="kader",
                                    scopes=[f"posyandu:{posyandu_id}"])
        s.commit()
        principal = accounts.principal_for(s, user)
    return Field(engine, posyandu_id, principal, versions)
