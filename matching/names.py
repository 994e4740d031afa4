"""Indonesian name normalisation. Pure functions, no I/O.

Posyandu registers write the same child many ways: "By. Ny. Siti" for a newborn not yet
named, "An. Ahmad", "Muhammad"/"Muhamad"/"M.", old spellings ("Abdoel", "Djoko",
"Tjahjo"), "Nur Aisyah" / "Nuraisyah", upper case, double spaces.

Pure and memoised (a batch run compares each name with many others: the same tokens
are asked for again and again).

`name_key` is the stored key (column person.name_key, exact lookups): keep it stable.
`name_tokens` goes further for scoring: spelling variants folded, Muhammad forms one
token; `compare_names` scores two names.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rapidfuzz.distance import JaroWinkler

# Titles and placeholders that are not part of the name (bayi = baby, by = bayi,
# ny = nyonya (Mrs), an = anak (child), tn = tuan, sdr = saudara, alm = almarhum).
_TITLES = {"by", "bayi", "ny", "nyonya", "an", "anak", "tn", "sdr", "sdri", "alm", "almh", "bpk",
           "ibu", "bu", "pak"}
# Academic and religious titles that follow or precede a name (S.Pd, A.Md, Hj., H.).
_DEGREE_WORDS = {"spd", "skm", "ssos", "se", "sh", "st", "amd", "amkeb", "amk", "skep", "hj", "h",
                 "dr", "drs", "ir", "ners"}
_NON_LETTERS = re.compile(r"[^a-z\s]")
_SPACES = re.compile(r"\s+")
_MUHAMMAD_PAIR = ("muhammad", "muhammad")  # a Muhammad token, folded and not
_MUHAMMAD = {"muhammad", "muhamad", "muhammed", "mohammad", "mohamad", "mohammed", "mochammad",
             "mochamad", "muchammad", "muchamad", "moh", "moch", "muh", "much", "mhd", "md", "m"}
# Old (pre-1972) spellings and common transliteration variants, applied in order.
_SPELLING = (
    ("oe", "u"), ("dj", "j"), ("tj", "c"), ("ch", "kh"), ("sj", "sy"), ("nj", "ny"),
    ("j", "y"), ("kh", "h"), ("sy", "s"), ("dh", "d"), ("q", "k"), ("z", "s"), ("v", "f"),
    ("y", "i"),
)
_DOUBLE = re.compile(r"([a-z])\1+")
_FINAL_H = re.compile(r"(?<=[aiueo])h$")


def _ascii_words(name: str | None) -> list[str]:
    if not name:
        return []
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return [w for w in _SPACES.split(_NON_LETTERS.sub(" ", text)) if w]


def name_key(name: str | None) -> str:
    """Lower-case ASCII letters and single spaces, titles removed: 'By. Ny. SITI  A.' -> 'siti a'."""
    return " ".join(w for w in _ascii_words(name) if w not in _TITLES)


@lru_cache(maxsize=1 << 18)
def is_placeholder_name(name: str | None) -> bool:
    """True for newborn placeholders like 'By. Ny. Rina' (baby of Mrs Rina)."""
    if not name:
        return True
    words = _SPACES.split(_NON_LETTERS.sub(" ", name.lower()).strip())
    return bool(words) and words[0] in {"by", "bayi"}


def placeholder_mother(name: str | None) -> str | None:
    """The mother's name in a newborn placeholder ('By. Ny. Rina Wati' -> 'Rina Wati'),
    else None."""
    if not is_placeholder_name(name):
        return None
    words = [w for w in _ascii_words(name) if w not in _TITLES]
    return " ".join(words) or None


@lru_cache(maxsize=1 << 18)
def fold_spelling(word: str) -> str:
    """One word in a spelling-neutral form: old spellings (oe→u, dj→j, tj→c), kh/h, sy/s,
    y/i, doubled letters and a final h after a vowel ('Abdoel' and 'Abdul' agree,
    'Djoko' and 'Joko', 'Fauziah' and 'Fausia')."""
    for old, new in _SPELLING:
        word = word.replace(old, new)
    word = _DOUBLE.sub(_one_letter, word)
    return _FINAL_H.sub("", word) if len(word) > 2 else word


def _one_letter(match: re.Match) -> str:
    # A function, not the template r"\1": Python expands a template per match in
    # Python code, and a registry's new names are folded by the thousand.
    return match.group(1)


@lru_cache(maxsize=1 << 18)
def name_tokens(name: str | None, *, fold: bool = True) -> tuple[str, ...]:
    """The name as comparable tokens: titles, placeholders and degrees dropped, every form
    of Muhammad as 'muhammad', spelling folded (`fold=False`: only the old spellings
    oe/dj/tj). A placeholder name has no tokens of its own (it names the mother)."""
    return tuple([pair[0 if fold else 1] for pair in _token_pairs(name)])


def _token_pairs(name: str | None) -> tuple[tuple[str, str], ...]:
    """The words name_tokens keeps, each as (folded, old spellings only), in one pass
    (`name_profile` needs both forms, and a push group's candidates bring thousands of
    names never seen before)."""
    if is_placeholder_name(name):
        return ()
    return tuple([_MUHAMMAD_PAIR if word in _MUHAMMAD
                  else (fold_spelling(word), _old_spelling(word))
                  for word in _ascii_words(name)
                  if word not in _TITLES and word not in _DEGREE_WORDS])


def _old_spelling(word: str) -> str:
    """Only the pre-1972 spellings modernised (oe, dj, tj): name_tokens' `fold=False`."""
    return word.replace("oe", "u").replace("dj", "j").replace("tj", "c")


def phonetic_key(name: str | None) -> str:
    """A blocking key: the folded first token that is not Muhammad, first four letters
    with vowels after the first dropped ('Rizky' and 'Rizki' -> 'rsk')."""
    tokens = [t for t in name_tokens(name) if t != "muhammad"] or list(name_tokens(name))
    if not tokens:
        return ""
    word = tokens[0]
    return (word[0] + re.sub(r"[aiueo]", "", word[1:]))[:4]


def _token_similarity(a: tuple[str, str], b: tuple[str, str]) -> float:
    """Tokens as (folded, lightly normalised): equal when the folded forms are equal (a
    spelling variant), else Jaro–Winkler on the light forms (folding drops letters that
    tell names apart: 'Aisyah' and 'Annisa' fold to 'aisa' and 'anisa')."""
    if a[0] == b[0]:
        return 1.0
    return JaroWinkler.normalized_similarity(a[1], b[1])


# Two different tokens both shorter than this are less than 0.995 apart by Jaro-Winkler:
# for distinct strings of at most L letters, 1 - Jaro >= 1/(3L) (a letter unmatched, or
# a transposition) and 1 - JW >= 0.6 (1 - Jaro), so JW <= 1 - 0.2/L, under 0.995 for
# L < 40.
_SHORT_TOKEN = 32


@lru_cache(maxsize=1 << 18)
def name_profile(name: str | None) -> tuple | None:
    """What compare_names needs of one name, worked out once per name (identity compares
    a claim with hundreds of candidates): its tokens, them joined, the tokens other than
    Muhammad as (folded, lightly normalised) pairs, those sorted, and for could_be_exact
    the folded ones alone and whether any token is long. None: no name of its own.
    Tuples only, of strings: the garbage collector stops tracking such a tuple, and the
    cache holds up to 262,144 (with a list in each, a full collection walked them all:
    120 ms for 200,000 in the machine's slow phase, every thread waiting)."""
    pairs = _token_pairs(name)
    if not pairs:
        return None
    tokens = tuple([t[0] for t in pairs])
    if _MUHAMMAD_PAIR in pairs:
        core = tuple([t for t in pairs if t[0] != "muhammad"]) or pairs
        folded = tuple([t[0] for t in core])
    else:
        core, folded = pairs, tokens
    return (tokens, "".join(tokens), core, tuple(sorted(core)), folded,
            max([len(t[1]) for t in core]) >= _SHORT_TOKEN)


def has_own_name(name: str | None) -> bool:
    """Whether the name has tokens of its own (`name_tokens` not empty: not blank, not a
    newborn placeholder), from the profile compare_names works from."""
    return name_profile(name) is not None


def could_be_exact(a: str | None, b: str | None) -> bool:
    """False only when compare_names(a, b) is surely below 0.99 (the "exact" level),
    found without Jaro-Winkler: 0.99 or more takes the same tokens, or the same tokens
    other than Muhammad in order once folded (a pair of different short tokens is under
    0.995; equal light forms fold the same), unless a token is too long for that bound."""
    return profiles_could_be_exact(name_profile(a), name_profile(b))


def profiles_could_be_exact(profile_a: tuple | None, profile_b: tuple | None) -> bool:
    """could_be_exact from the two names' `name_profile`s."""
    if profile_a is None or profile_b is None:
        return False
    if profile_a[0] == profile_b[0] or profile_a[5] or profile_b[5]:
        return True
    return profile_a[4] == profile_b[4]


def compare_names(a: str | None, b: str | None) -> float:
    """Similarity of two names in [0, 1] after normalisation, forgiving what Indonesian
    registers really do: joined or split names ('Nur Aisyah' / 'Nuraisyah'), a missing
    middle name or a dropped Muhammad ('Muhammad Rizky Pratama' / 'Rizky Pratama'), and
    typing slips. Token by token, the weakest token decides: 'Aisyah Putri' and 'Annisa
    Putri' (twins' names often share a tail) are not one name. 0 when either is empty."""
    profile_a, profile_b = name_profile(a), name_profile(b)
    if profile_a is None or profile_b is None:
        return 0.0
    ta, joined_a, core_a, sorted_a = profile_a[:4]
    tb, joined_b, core_b, sorted_b = profile_b[:4]
    if ta == tb:
        return 1.0
    if joined_a == joined_b:
        return 0.98  # split vs joined
    if core_a == core_b:
        return 0.95  # Muhammad dropped on one side
    if len(core_a) == len(core_b):
        in_order = min(_token_similarity(x, y) for x, y in zip(core_a, core_b))
        swapped = min(_token_similarity(x, y) for x, y in zip(sorted_a, sorted_b))
        return max(in_order, swapped * 0.97) * 0.995
    short, long_ = (core_a, core_b) if len(core_a) < len(core_b) else (core_b, core_a)
    found = min(max(_token_similarity(s, t) for t in long_) for s in short)
    first = _token_similarity(short[0], long_[0])
    if found >= 0.99:
        return 0.93 if first >= 0.99 else 0.88  # a missing middle or last name
    return min(found, first) * 0.95


# Below the cut by more than rounding: a pair of tokens under cut / factor - _SLACK
# leaves the name's score under the cut however the factor's product rounds.
_SLACK = 1e-9
# rapidfuzz's score_cutoff prunes on a bound of its own that can drop a similarity a
# few 1e-8 above the cutoff (0.93333 at a cutoff of 0.93333 - 1e-9): it is given this
# much less, and the similarity it returns is compared here.
_CUTOFF_SLACK = 1e-5


def _lowest(pairs, need: float) -> float:
    """The lowest token similarity of the pairs, or 0.0 as soon as one is below `need`
    (Jaro-Winkler stops early there)."""
    low = 1.0
    for x, y in pairs:
        if x[0] == y[0]:
            continue
        similarity = JaroWinkler.normalized_similarity(
            x[1], y[1], score_cutoff=max(need - _CUTOFF_SLACK, 0.0))
        if similarity < need:
            return 0.0
        low = min(low, similarity)
    return low


def names_reach(a: str | None, b: str | None, cut: float) -> bool:
    """`compare_names(a, b) >= cut`, found with less work where the names have as many
    tokens (identity asks it of every candidate born near a claim, and most are
    another child's name): each token order stops at its first pair of tokens too far
    apart for the cut, the swapped order is not tried where it cannot reach it."""
    return profiles_reach(name_profile(a), name_profile(b), a, b, cut)


def profiles_reach(profile_a: tuple | None, profile_b: tuple | None, a: str | None,
                   b: str | None, cut: float) -> bool:
    """names_reach(a, b, cut) with the names' `name_profile`s at hand (identity holds
    the claim's while it rules out its candidates)."""
    if profile_a is None or profile_b is None or profile_a[0] == profile_b[0] or (
            profile_a[1] == profile_b[1]) or profile_a[2] == profile_b[2] or (
            len(profile_a[2]) != len(profile_b[2])):
        return compare_names(a, b) >= cut
    need = max(cut / 0.995 - _SLACK, 0.0)
    if need > 1.0:
        return False  # above what two different token lists can score
    if _lowest(zip(profile_a[2], profile_b[2]), need) * 0.995 >= cut:
        return True
    need = max(cut / (0.97 * 0.995) - _SLACK, 0.0)
    if need > 1.0:
        return False
    return _lowest(zip(profile_a[3], profile_b[3]), need) * 0.97 * 0.995 >= cut
