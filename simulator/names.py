"""Indonesian personal names as kader type them: Javanese and Islamic patterns, single
names, modern children's names, "By. Ny." placeholders for newborns, and misspellings.

All functions take a seeded `random.Random`; nothing here touches global random state.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import cache

from simulator.regions import data_rows


@dataclass(frozen=True)
class NamePool:
    """Given names by sex and generation, and the words that end children's names."""

    adult: dict[str, tuple[str, ...]]  # sex -> names
    adult_islamic: dict[str, tuple[str, ...]]
    child: dict[str, tuple[str, ...]]
    child_islamic: dict[str, tuple[str, ...]]
    child_tail: dict[str, tuple[str, ...]]


@cache
def name_pool() -> NamePool:
    rows = data_rows("given_names.csv")

    def pick(generation: str, style: str | None = None, exclude: str | None = None):
        out: dict[str, tuple[str, ...]] = {}
        for sex in ("male", "female"):
            out[sex] = tuple(
                r["name"]
                for r in rows
                if r["sex"] == sex
                and r["generation"] == generation
                and (style is None or r["style"] == style)
                and (exclude is None or r["style"] != exclude)
            )
        return out

    tails: dict[str, list[str]] = {"male": [], "female": []}
    for r in data_rows("child_name_tails.csv"):
        tails[r["sex"]].append(r["word"])
    return NamePool(
        adult=pick("adult"),
        adult_islamic=pick("adult", "islamic"),
        child=pick("child", exclude="islamic"),
        child_islamic=pick("child", "islamic"),
        child_tail={k: tuple(v) for k, v in tails.items()},
    )


def adult_name(rng: random.Random, sex: str) -> str:
    """A mother's or a household head's name.

    About a quarter are single names (common in Javanese families), the rest two names,
    often an Islamic first name ("Siti", "Nur", "Muhammad") with a Javanese second.
    """
    pool = name_pool()
    if rng.random() < 0.25:
        return rng.choice(pool.adult[sex])
    first = rng.choice(pool.adult_islamic[sex] if rng.random() < 0.5 else pool.adult[sex])
    second = rng.choice(pool.adult[sex])
    while second == first:
        second = rng.choice(pool.adult[sex])
    return f"{first} {second}"


def child_name(rng: random.Random, sex: str) -> str:
    """A child's name: two or three words, often with an Islamic first name for boys
    ("Muhammad Arkan Alfarizqi") and a tail word ("Aqila Putri Ramadhani")."""
    pool = name_pool()
    words: list[str] = []
    if sex == "male" and rng.random() < 0.3:
        words.append(rng.choice(("Muhammad", "Muhammad", "Ahmad")))
    given = pool.child_islamic[sex] if rng.random() < 0.3 else pool.child[sex]
    words.append(rng.choice([n for n in given if n not in words]))
    if len(words) == 1 or rng.random() < 0.4:
        if rng.random() < 0.6:
            words.append(rng.choice(pool.child_tail[sex]))
        else:
            words.append(rng.choice([n for n in pool.child[sex] if n not in words]))
    return " ".join(words)


def newborn_placeholder(rng: random.Random, mother_name: str) -> str:
    """What a kader types for a baby without a name yet: "By. Ny. <mother's name>"."""
    prefix = rng.choice(("By. Ny.", "By. Ny.", "By. Ny.", "By Ny", "Bayi Ny."))
    return f"{prefix} {mother_name}"


# Spelling variants that Indonesian names really show (old/new spelling, Arabic
# transliteration), tried before plain typing slips.
_WORD_VARIANTS = {
    "Muhammad": ("Muhamad", "Mohammad", "Mochammad", "Moh.", "M."),
    "Ahmad": ("Achmad", "Akhmad"),
    "Siti": ("Sity",),
    "Nur": ("Noer", "Nurr"),
    "Abdul": ("Abdoel",),
    "Mohamad": ("Mochamad", "Moch."),
}
_SUBSTRING_VARIANTS = (
    (r"kh", "h"),
    (r"sy", "s"),
    (r"q", "k"),
    (r"dh", "d"),
    (r"u", "oe"),
    (r"j", "dj"),
    (r"c", "tj"),
    (r"z", "s"),
    (r"y\b", "i"),
    (r"i\b", "y"),
    (r"ah\b", "a"),
    (r"(?<=[aeiou])l(?=[aeiou])", "ll"),
    (r"(?<=[aeiou])n(?=[aeiou])", "nn"),
)


def misspell(rng: random.Random, name: str) -> str:
    """The name typed slightly differently: a spelling variant or a typing slip.

    Always returns a string different from `name` (unless the name is too short to
    change, which Indonesian names are not).
    """
    words = name.split(" ")
    word_choices = [i for i, w in enumerate(words) if w in _WORD_VARIANTS]
    if word_choices and rng.random() < 0.5:
        i = rng.choice(word_choices)
        words[i] = rng.choice(_WORD_VARIANTS[words[i]])
        return " ".join(words)
    substitutions = [(p, r) for p, r in _SUBSTRING_VARIANTS if re.search(p, name)]
    if substitutions and rng.random() < 0.6:
        pattern, repl = rng.choice(substitutions)
        matches = list(re.finditer(pattern, name))
        m = rng.choice(matches)
        return name[: m.start()] + repl + name[m.end() :]
    return _typing_slip(rng, name)


def _typing_slip(rng: random.Random, name: str) -> str:
    letters = [i for i, ch in enumerate(name) if ch.isalpha() and i > 0]
    for _ in range(10):
        i = rng.choice(letters)
        kind = rng.choice(("swap", "drop", "double"))
        if kind == "swap" and i + 1 < len(name) and name[i + 1].isalpha():
            changed = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
        elif kind == "drop":
            changed = name[:i] + name[i + 1 :]
        else:
            changed = name[: i + 1] + name[i] + name[i + 1 :]
        if changed != name:
            return changed
    return name + "h"
