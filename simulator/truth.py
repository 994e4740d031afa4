"""The ground truth of a simulation, as CSV files (documented in `simulator/README.md`).

The truth says who is really behind every submission and what was really measured, so
deduplication, intake and caseloads can be checked against it. WHO z-scores are computed
with `indicators.anthro`, the same code the server uses: from the values as sent (what a
correct server must store) and from the true values (what the child really is).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from indicators.anthro import MEASURE_HEIGHT, MEASURE_LENGTH, ZScoreArrays, compute_zscores
from indicators.categories import AgeGroup, age_group, nutrition_status_arrays
from simulator.fieldwork import (
    FORM_ANTHROPOMETRY,
    FORM_PREGNANCY,
    FORM_SANITATION,
    FieldPlan,
    PlannedSubmission,
)
from simulator.growth import SEX_CODE

SANITATION_FIELDS = (
    "latrine_access", "latrine_type", "waste_disposal", "handwashing_soap",
    "drinking_water_source", "water_treated", "waste_bin", "wastewater_drain",
)
TRUTH_FILES = (
    "posyandu.csv", "phones.csv", "households.csv", "persons.csv", "pregnancies.csv",
    "submissions.csv", "measurements.csv", "screenings.csv", "caseload.csv", "summary.json",
)


def write_truth(plan: FieldPlan, out_dir: str | Path, extra_summary: dict | None = None) -> dict:
    """Write every truth file into `out_dir` and return the summary."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    measurements = measurement_rows(plan)
    caseload = caseload_rows(measurements)
    _write_csv(out / "posyandu.csv", posyandu_rows(plan))
    _write_csv(out / "phones.csv", phone_rows(plan))
    _write_csv(out / "households.csv", household_rows(plan))
    _write_csv(out / "persons.csv", person_rows(plan))
    _write_csv(out / "pregnancies.csv", pregnancy_rows(plan))
    _write_csv(out / "submissions.csv", submission_rows(plan))
    _write_csv(out / "measurements.csv", measurements)
    _write_csv(out / "screenings.csv", screening_rows(plan))
    _write_csv(out / "caseload.csv", caseload)
    summary = summarize(plan, measurements) | (extra_summary or {})
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return summary


def _write_csv(path: Path, rows: list[dict]) -> None:
    """Rows are dicts with the same keys, holding str/int/float/date or None (empty)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        if not rows:
            return
        writer = csv.writer(f)
        writer.writerow(rows[0])
        writer.writerows(row.values() for row in rows)


def _join(values: Iterable[object]) -> str:
    """A list in one cell: values separated by semicolons."""
    return ";".join(str(v) for v in values)


def _bit(value: bool | None) -> int | None:
    return None if value is None else int(value)


# --- the city ------------------------------------------------------------------------


def posyandu_rows(plan: FieldPlan) -> list[dict]:
    phones: dict[str, list[str]] = {}
    for phone in plan.phones:
        phones.setdefault(phone.posyandu_key, []).append(phone.id)
    weekdays = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu")
    return [
        {
            "posyandu_key": p.key,
            "name": p.name,
            "kelurahan_code": p.kelurahan.code,
            "kelurahan_name": p.kelurahan.name,
            "kecamatan_code": p.kelurahan.kecamatan_code,
            "kecamatan_name": p.kelurahan.kecamatan_name,
            "rw": _join(p.rws),
            "posyandu_day": f"{weekdays[p.weekday]} minggu ke-{p.week_of_month}",
            "phones": _join(phones.get(p.key, [])),
        }
        for p in plan.city.posyandu.values()
    ]


def phone_rows(plan: FieldPlan) -> list[dict]:
    return [
        {
            "phone": phone.id,
            "posyandu_key": phone.posyandu_key,
            "kelurahan_code": phone.kelurahan_code,
            "kader_number": phone.kader_number,
            "offline_months": _join(plan.round_label(m) for m, off in
                                    enumerate(plan.offline[phone.id]) if off),
        }
        for phone in plan.phones
    ]


def household_rows(plan: FieldPlan) -> list[dict]:
    city = plan.city
    rows = []
    for h in city.households.values():
        move = h.move
        rows.append({
            "true_household_id": h.id,
            "kk": h.kk,
            "head_true_id": h.head_id or h.woman_id,
            "head_name": city.head_name(h),
            "woman_true_id": h.woman_id,
            "children": _join(h.child_ids),
            "older_children": h.older_children,
            "kelurahan_code": h.kelurahan_code,
            "posyandu_key": h.posyandu_key,
            "address": h.address,
            "rt": h.rt,
            "rw": h.rw,
            **{f: h.sanitation[f] for f in SANITATION_FIELDS},
            "moved_in_month": city.month_label(move.month_index) if move else None,
            "moved_to_kelurahan": move.kelurahan_code if move else None,
            "moved_to_posyandu": move.posyandu_key if move else None,
            "moved_address": move.address if move else None,
            "moved_rt": move.rt if move else None,
            "moved_rw": move.rw if move else None,
        })
    return rows


def person_rows(plan: FieldPlan) -> list[dict]:
    city = plan.city
    rows = []
    for p in sorted(city.persons.values(), key=lambda p: p.id):
        household = city.households[p.household_id]
        track = p.track
        rows.append({
            "true_person_id": p.id,
            "role": p.role,
            "name": p.name,
            "registered_names": _join(plan.registered_names.get(p.id, [])),
            "nik": p.nik,
            "nik_issued_on": p.nik_issued_on,
            "birth_date": p.birth_date,
            "sex": p.sex,
            "household": p.household_id,
            "kk": household.kk,
            "kelurahan": household.kelurahan_code,
            "posyandu": household.posyandu_key,
            "moved_to_kelurahan": household.move.kelurahan_code if household.move else None,
            "twin_of": p.twin_of,
            "mother_true_id": p.mother_id,
            "identity_errors": _join(sorted(plan.identity_errors.get(p.id, ()))),
            "stunted_track": _bit(track.stunted) if track else None,
            "wasted_track": _bit(track.wasted) if track else None,
            "haz_level": round(track.haz, 3) if track else None,
            "whz_level": round(track.whz, 3) if track else None,
        })
    return rows


def pregnancy_rows(plan: FieldPlan) -> list[dict]:
    return [
        {
            "woman_true_id": p.woman_id,
            "household": p.household_id,
            "conceived_on": p.conceived_on,
            "birth_on": p.birth_on,
            "children": _join(p.child_ids),
        }
        for p in plan.city.pregnancies
    ]


# --- submissions ---------------------------------------------------------------------


def submission_rows(plan: FieldPlan) -> list[dict]:
    city = plan.city
    rows = []
    for s in plan.submissions:
        household = s.form_id == FORM_SANITATION
        rows.append({
            "instance_id": s.instance_id,
            "form_id": s.form_id,
            "true_person_id": None if household else s.true_id,
            "true_household_id": s.true_id if household else city.persons[s.true_id].household_id,
            "phone": s.phone_id,
            "kelurahan_code": s.kelurahan_code,
            "posyandu_key": s.posyandu_key,
            "month": city.month_label(s.month_index),
            "visit_on": s.visit_on,
            "injected_errors": _join(s.errors),
            "deprecated_id": s.deprecated_id,
            "superseded_by": s.superseded_by,
            "sent_times": s.attempts,
            "sent_in": plan.round_label(s.send_round),
            "expect_new_registration": int(s.expect_new),
        })
    return rows


def _anthropometry(plan: FieldPlan) -> list[PlannedSubmission]:
    return [s for s in plan.submissions if s.form_id == FORM_ANTHROPOMETRY]


def _float(text: str) -> float:
    return float(text) if text else math.nan


def _zscores(sex, age: np.ndarray, weight, lenhei, measure, oedema: np.ndarray,
             muac) -> tuple[dict[str, list], tuple[list[int], ...]]:
    """WHO z-scores and flags (as lists), and stunted/wasted/underweight as 0/1 by the
    server's own rule (`indicators.categories`: flagged z-scores excluded, oedema counts
    as below -3 SD for the weight-based indicators; unknown counts as 0)."""
    z: ZScoreArrays = compute_zscores(
        np.array(sex), age, np.array(weight, dtype=float), np.array(lenhei, dtype=float),
        np.array(measure), oedema, np.array(muac, dtype=float),
    )
    status = nutrition_status_arrays(z, oedema, age)
    counts = tuple((status[k] == 1.0).astype(int).tolist()
                   for k in ("stunted", "wasted", "underweight"))
    return {k: v.tolist() for k, v in z._asdict().items()}, counts


def measurement_rows(plan: FieldPlan) -> list[dict]:
    """One row per anthropometry submission (edits included; `current` marks the
    version that counts), with z-scores from the sent and from the true values."""
    subs = _anthropometry(plan)
    if not subs:
        return []
    method_code = {"lying": MEASURE_LENGTH, "standing": MEASURE_HEIGHT}
    sex = [SEX_CODE[s.truth["sex"]] for s in subs]
    age = np.array([s.truth["age_days"] for s in subs], dtype=float)
    oedema = np.array([s.values["oedema"] == "yes" for s in subs], dtype=bool)
    sent, (stunted, wasted, underweight) = _zscores(
        sex, age,
        [_float(s.values["weight_kg"]) for s in subs],
        [_float(s.values["length_height_cm"]) for s in subs],
        [method_code[s.values["measure_method"]] for s in subs],
        oedema,
        [_float(s.values["muac_cm"]) for s in subs],
    )
    true, (true_stunted, true_wasted, true_underweight) = _zscores(
        sex, age,
        [s.truth["true_weight_kg"] for s in subs],
        [s.truth["true_length_height_cm"] for s in subs],
        [method_code[s.truth["true_measure_method"]] for s in subs],
        oedema,
        [s.truth["true_muac_cm"] if s.truth["true_muac_cm"] is not None else math.nan
         for s in subs],
    )
    city = plan.city
    rows = []
    for i, s in enumerate(subs):
        t = s.truth
        rows.append({
            "instance_id": s.instance_id,
            "true_person_id": s.true_id,
            "phone": s.phone_id,
            "kelurahan_code": s.kelurahan_code,
            "month": city.month_label(s.month_index),
            "measured_on": s.values["measured_on"],
            "sex": t["sex"],
            "birth_date": t["birth_date"],
            "age_days": t["age_days"],
            "weight_kg": s.values["weight_kg"],
            "length_height_cm": s.values["length_height_cm"],
            "measure_method": s.values["measure_method"],
            "muac_cm": s.values["muac_cm"],
            "oedema": s.values["oedema"],
            "true_weight_kg": t["true_weight_kg"],
            "true_length_height_cm": t["true_length_height_cm"],
            "true_measure_method": t["true_measure_method"],
            "measure_method_used": t["measure_method_used"],
            "weight_kg_without_error": t["weight_kg_without_error"],
            "length_height_cm_without_error": t["length_height_cm_without_error"],
            "true_muac_cm": t["true_muac_cm"],
            **{k: _z(sent[k][i]) for k in _Z_COLUMNS},
            **{k: _flag(sent[k][i]) for k in _FLAG_COLUMNS},
            **{f"true_{k}": _z(true[k][i]) for k in ("zlen", "zwei", "zwfl")},
            "stunted": stunted[i],
            "wasted": wasted[i],
            "underweight": underweight[i],
            "true_stunted": true_stunted[i],
            "true_wasted": true_wasted[i],
            "true_underweight": true_underweight[i],
            "haz_track": t["haz_track"],
            "whz_track": t["whz_track"],
            "injected_errors": _join(s.errors),
            "deprecated_id": s.deprecated_id,
            "current": int(s.superseded_by is None),
            "order": s.order,
        })
    return rows


_Z_COLUMNS = ("zlen", "zwei", "zwfl", "zbmi", "zac")
_FLAG_COLUMNS = ("flen", "fwei", "fwfl", "fbmi", "fac")


def _z(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _flag(x: float) -> int | None:
    return None if math.isnan(x) else int(x)


def screening_rows(plan: FieldPlan) -> list[dict]:
    city = plan.city
    rows = []
    for s in plan.submissions:
        if s.form_id != FORM_PREGNANCY:
            continue
        rows.append({
            "instance_id": s.instance_id,
            "true_person_id": s.true_id,
            "phone": s.phone_id,
            "kelurahan_code": s.kelurahan_code,
            "month": city.month_label(s.month_index),
            **{k: s.values[k] for k in ("screened_on", "pregnant", "gestational_age_weeks",
                                        "muac_cm", "hb_g_dl", "height_cm", "weight_kg")},
            **{k: _bit(v) if isinstance(v, bool) else v for k, v in s.truth.items()},
            "deprecated_id": s.deprecated_id,
            "current": int(s.superseded_by is None),
        })
    return rows


# --- caseload ------------------------------------------------------------------------


def caseload_rows(measurements: Iterable[dict]) -> list[dict]:
    """Per kelurahan and month: distinct true children measured, and how many of them are
    stunted/wasted/underweight on their latest current measurement of the month.

    The counts use the values as sent (what a server with perfect identity resolution
    reports); the `*_true_values` columns use the children's true sizes.
    """
    latest: dict[tuple[str, str], dict] = {}
    for row in measurements:
        if not row["current"]:
            continue
        key = (row["true_person_id"], row["month"])
        best = latest.get(key)
        if best is None or (row["measured_on"], row["order"]) > (best["measured_on"], best["order"]):
            latest[key] = row
    table: dict[tuple[str, str], dict] = {}
    for row in latest.values():
        cell = table.setdefault((row["kelurahan_code"], row["month"]), {
            "kelurahan_code": row["kelurahan_code"],
            "month": row["month"],
            "children_measured": 0,
            "stunted": 0,
            "wasted": 0,
            "underweight": 0,
            "baduta_measured": 0,
            "baduta_stunted": 0,
            "balita_stunted": 0,
            "stunted_true_values": 0,
            "wasted_true_values": 0,
            "underweight_true_values": 0,
        })
        baduta = age_group(row["age_days"]) is AgeGroup.BADUTA
        cell["children_measured"] += 1
        cell["baduta_measured"] += baduta
        for key in ("stunted", "wasted", "underweight"):
            cell[key] += row[key]
            cell[f"{key}_true_values"] += row[f"true_{key}"]
        cell["baduta_stunted"] += baduta and row["stunted"]
        cell["balita_stunted"] += row["stunted"]
    return [table[k] for k in sorted(table)]


# --- summary -------------------------------------------------------------------------


def summarize(plan: FieldPlan, measurements: list[dict]) -> dict:
    city = plan.city
    children = city.children()
    by_form: dict[str, int] = {}
    errors: dict[str, int] = {}
    for s in plan.submissions:
        by_form[s.form_id] = by_form.get(s.form_id, 0) + 1
        for e in s.errors:
            errors[e] = errors.get(e, 0) + 1
    stunted_tracks = sum(c.track.stunted for c in children)
    return {
        "seed": city.seed,
        "start": city.start.isoformat(),
        "months": city.months,
        "shape": asdict(city.shape),
        "rates": city.rates.to_dict(),
        "kelurahan": len(city.kelurahan),
        "posyandu": len(city.posyandu),
        "phones": len(plan.phones),
        "households": len(city.households),
        "persons": {role: sum(p.role == role for p in city.persons.values())
                    for role in ("child", "woman", "head")},
        "twin_pairs": sum(1 for c in children if c.twin_of),
        "households_moved": sum(1 for h in city.households.values() if h.move),
        "stunted_track_share": round(stunted_tracks / max(1, len(children)), 4),
        "submissions": len(plan.submissions),
        "submissions_by_form": by_form,
        "posts_planned": sum(s.attempts for s in plan.submissions),
        "edits": sum(1 for s in plan.submissions if s.is_edit),
        "injected_errors": dict(sorted(errors.items())),
        "measured_stunted_share": round(
            sum(r["stunted"] for r in measurements if r["current"])
            / max(1, sum(1 for r in measurements if r["current"])), 4),
    }
