"""Pairwise precision and recall of a clustering against the true person of every record."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PairScores:
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def false_pairs(self) -> int:
        return self.predicted_pairs - self.correct_pairs


def _pairs(labels: Sequence[object]) -> set[tuple[int, int]]:
    groups: dict[object, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        groups[label].append(i)
    return {(m[x], m[y]) for m in groups.values()
            for x in range(len(m)) for y in range(x + 1, len(m))}


def pair_scores(truth: Sequence[object], predicted: Sequence[object]) -> PairScores:
    """Pairs of records in one true cluster vs in one predicted cluster (transitive)."""
    t, p = _pairs(truth), _pairs(predicted)
    return PairScores(true_pairs=len(t), predicted_pairs=len(p), correct_pairs=len(t & p))


def cluster_scores(truth: Sequence[object], predicted: Sequence[object]) -> tuple[float, float]:
    """Share of predicted clusters that are exactly one true cluster (precision) and of
    true clusters found exactly (recall)."""
    def groups(labels):
        g: dict[object, set[int]] = defaultdict(set)
        for i, label in enumerate(labels):
            g[label].add(i)
        return {frozenset(v) for v in g.values()}
    t, p = groups(truth), groups(predicted)
    both = len(t & p)
    return (both / len(p) if p else 1.0, both / len(t) if t else 1.0)
