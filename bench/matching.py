"""Precision and recall of matching/ on the field simulator's ground truth.

Every anthropometry registration the simulator's kader type as new (second kaders,
misspelled and "By. Ny." names, missing, mistyped and mother's NIKs) is one record; the
true child behind it is the label. Prints pairwise precision/recall of the auto-link
band, recall of auto-link + review, false pairs per 1,000 registrations and twin pairs
linked.

    .venv/bin/python bench/matching.py [--seed 7] [--months 12]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matching.batch import link
from matching.compare import PersonRecord
from matching.evaluate import cluster_scores, pair_scores
from simulator.fieldwork import FORM_ANTHROPOMETRY
from simulator.run import SimulationConfig, build_plan


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--months", type=int, default=12)
    args = parser.parse_args()
    plan = build_plan(SimulationConfig(seed=args.seed, months=args.months,
                                       start=date(2025, 1, 1)))
    records, truth = [], []
    for s in plan.submissions:
        if s.form_id != FORM_ANTHROPOMETRY or not s.expect_new or s.is_edit:
            continue
        t = s.typed
        born = t.get("child_birth_date")
        records.append(PersonRecord(
            record_id=s.instance_id, name=t.get("child_name", ""), sex=t.get("child_sex"),
            birth_date=date.fromisoformat(born) if born else None, nik=t.get("child_nik"),
            mother_name=t.get("mother_name"), mother_nik=t.get("mother_nik"),
            household_kk=t.get("household_kk"), kelurahan_code=t.get("kelurahan_code"),
            posyandu_id=t.get("posyandu_id")))
        truth.append(s.true_id)
    started = time.perf_counter()
    linkage = link(records)
    seconds = time.perf_counter() - started
    auto = pair_scores(truth, linkage.cluster)
    both = pair_scores(truth, linkage.review_cluster)
    twins = {(p.id, p.twin_of) for p in plan.city.persons.values() if p.twin_of}
    clusters_of: dict[str, set[int]] = {}
    for i, person in enumerate(truth):
        clusters_of.setdefault(person, set()).add(linkage.cluster[i])
    twin_links = sum(1 for a, b in twins if a < b
                     and clusters_of.get(a, set()) & clusters_of.get(b, set()))
    cp, cr = cluster_scores(truth, linkage.cluster)
    print(f"registrations {len(records)}, true persons {len(set(truth))}, "
          f"true duplicate pairs {auto.true_pairs}, linked in {seconds:.2f} s")
    print(f"auto-link: precision {auto.precision:.4f} recall {auto.recall:.4f} "
          f"(false pairs {auto.false_pairs})")
    print(f"auto-link + review: precision {both.precision:.4f} recall {both.recall:.4f}; "
          f"false pairs per 1,000 registrations {1000 * both.false_pairs / len(records):.2f}")
    print(f"clusters (auto-link): precision {cp:.4f} recall {cr:.4f}; twin pairs auto-linked "
          f"{twin_links} (of {len(twins) // 2} twin pairs)")


if __name__ == "__main__":
    main()
