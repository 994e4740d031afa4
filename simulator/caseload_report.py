"""The last part of `make demo`: Kota Pekalongan's caseload for the latest month that
has measurements, and one kelurahan's nutrition case list, read from the caseload API
as the demo admin (what an agency would pull). Nothing is computed here.

    print(render_caseloads(AdminClient(base, http, "demo-admin", password), first, last))
"""

from __future__ import annotations

from simulator.admin import AdminClient

KOTA = "33.75"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def latest_period(admin: AdminClient, first: str, last: str) -> str | None:
    """The latest month from `first` to `last` in which Kota Pekalongan has children measured."""
    series = admin.get(f"/api/v1/caseloads/{KOTA}/series", {"from": first, "to": last})
    measured = [e["period"] for e in series if e["children"]["0_59m"]["measured"]]
    return measured[-1] if measured else None


def render_caseloads(admin: AdminClient, first: str, last: str, *, cases: int = 8) -> str:
    period = latest_period(admin, first, last)
    if period is None:
        return "caseloads: no child measured yet"
    kota = admin.get(f"/api/v1/caseloads/{KOTA}", {"period": period})
    lines = [f"caseload of {kota['wilayah']['name']} for {period} "
             f"({admin.server}/api/v1/caseloads/{KOTA}?period={period}):"]
    for group, label in (("0_23m", "baduta"), ("0_59m", "balita")):
        c = kota["children"][group]
        lines.append(f"  {label:7} registered {c['registered']:5}  measured {c['measured']:5}  "
                     f"stunted {c['stunted']:4} ({_pct(c['stunted_prevalence'])})  wasted "
                     f"{c['wasted']:4}  underweight {c['underweight']:4}  D/S {_pct(c['D_over_S'])}"
                     f"  N/D {_pct(c['N_over_D'])}  2T {c['not_gained_twice']}")
    p, h, t = kota["pregnancies"], kota["households"], kota["targets"]
    lines.append(f"  pregnancies active {p['active']}, screened {p['screened']}, KEK {p['kek']}, "
                 f"anaemia {p['anaemia']}, high risk {p['high_risk']}")
    lines.append(f"  households checked {h['checked']}, no healthy latrine "
                 f"{h['no_healthy_latrine']}, at-risk families {h['at_risk_families']}")
    lines.append(f"  stunting target {_pct(t['stunting_prevalence_target'])} "
                 f"(set for {t['target_set_for']}, {t['target_year']}), now {_pct(t['current_stunting_prevalence'])}"
                 + (f", gap {t['gap_percentage_points']:+.2f} points"
                    if t["gap_percentage_points"] is not None else ""))
    for below in kota["children_regions"]:
        c = below["children"]["0_59m"]
        lines.append(f"    {below['wilayah']['name']:22} measured {c['measured']:4}  stunted "
                     f"{c['stunted']:3} ({_pct(c['stunted_prevalence'])})")
    page = admin.get("/api/v1/caseloads", {"period": period, "level": "kelurahan",
                                           "parent": KOTA, "limit": "100"})
    busiest = max(page["items"], key=lambda e: e["coverage"]["nutrition"]["cases"], default=None)
    if busiest is None or not busiest["coverage"]["nutrition"]["cases"]:
        lines.append("no kelurahan has a child on the nutrition list this month")
        return "\n".join(lines)
    code = busiest["wilayah"]["code"]
    listed = admin.get(f"/api/v1/caseloads/{code}/cases",
                       {"program": "nutrition", "period": period, "limit": str(cases)})
    total = busiest["coverage"]["nutrition"]["cases"]
    lines.append(f"nutrition cases of {busiest['wilayah']['name']} ({code}), {period}: {total} "
                 f"(first {len(listed['items'])}; also ?format=csv or xlsx):")
    lines.append(f"  {admin.server}/api/v1/caseloads/{code}/cases?program=nutrition&period={period}")
    for case in listed["items"]:
        v = case["values"]
        where = case["posyandu"]["name"] if case["posyandu"] else ""
        lines.append(f"  {case['name'][:24]:24} {where[:18]:18} {','.join(case['reasons']):28} "
                     f"{v.get('measured_on')}  {v.get('weight_kg')} kg  "
                     f"{v.get('length_height_cm')} cm  HAZ {v.get('zlen')}")
    return "\n".join(lines)
