"""Batch linkage of a list of records: block, compare every pair within a block, join
pairs into clusters (union-find), once for the auto-link band and once counting review
too. Pure Python; `dedup --csv` and the registry scan feed it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from matching.blocking import blocking_keys
from matching.compare import (
    AUTO_LINK,
    NEW,
    REVIEW,
    Comparison,
    PersonRecord,
    Thresholds,
    compare,
    may_match,
)

# A block bigger than this is too common to say anything (a very common name in a big
# kecamatan); its pairs are found through the other keys.
MAX_BLOCK = 60


class _Clusters:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            self.parent[max(ri, rj)] = min(ri, rj)


@dataclass(frozen=True)
class Linkage:
    cluster: list[int]  # per record, the index of its cluster's first record (auto-link)
    review_cluster: list[int]  # the same, counting the review band too
    pairs: dict[tuple[int, int], Comparison]  # compared pairs in the auto-link/review band


def candidate_pairs(records: Sequence[PersonRecord],
                    max_block: int = MAX_BLOCK) -> Iterable[tuple[int, int]]:
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        for key in blocking_keys(record):
            blocks[key].append(i)
    seen: set[tuple[int, int]] = set()
    for members in blocks.values():
        if len(members) < 2 or len(members) > max_block:
            continue
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                pair = (members[x], members[y])
                if pair not in seen:
                    seen.add(pair)
                    yield pair


def link(records: Sequence[PersonRecord], thresholds: Thresholds = Thresholds(),
         dismissed: Callable[[str, str], bool] = lambda a, b: False,
         progress: Callable[[int], None] | None = None) -> Linkage:
    """Cluster the records. `dismissed(record_id_a, record_id_b)`: pairs a reviewer said
    are different people, never proposed again."""
    auto, review = _Clusters(len(records)), _Clusters(len(records))
    kept: dict[tuple[int, int], Comparison] = {}
    for n, (i, j) in enumerate(candidate_pairs(records)):
        if progress and n % 10000 == 0:
            progress(n)
        if not may_match(records[i], records[j], thresholds):
            continue
        c = compare(records[i], records[j], thresholds)
        if c.band == NEW or dismissed(records[i].record_id, records[j].record_id):
            continue
        kept[(i, j)] = c
        review.union(i, j)
        if c.band == AUTO_LINK:
            auto.union(i, j)
    return Linkage(cluster=[auto.find(i) for i in range(len(records))],
                   review_cluster=[review.find(i) for i in range(len(records))], pairs=kept)


__all__ = ["AUTO_LINK", "REVIEW", "NEW", "Linkage", "candidate_pairs", "link"]
