"""Pure identity matching: name variants, NIK decoding, bands, twins and siblings."""

import gc
import math
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from matching.batch import link
from matching.compare import (
    _LEVELS,
    AUTO_LINK,
    NEW,
    REVIEW,
    WEIGHTS,
    PersonRecord,
    Thresholds,
    compare,
    may_match,
    may_reach,
    reach_from,
    upper_bound,
)
from matching.evaluate import pair_scores
from matching.names import (
    _DOUBLE,
    _SHORT_TOKEN,
    _one_letter,
    compare_names,
    could_be_exact,
    has_own_name,
    name_key,
    name_profile,
    name_tokens,
    names_reach,
    placeholder_mother,
)
from matching.nik import decode_nik, nik_well_formed, valid_nik

KEL = "33.75.01.1002"
KK = "3375010101100001"


@pytest.mark.parametrize("a,b", [
    ("Muhammad Rizky", "M. Rizki"), ("Muhamad Rizky", "Moh. Rizky"), ("Muh. Rizky", "MUHAMMAD RIZKY"),
    ("Abdoel Djalil", "Abdul Jalil"), ("Tjahjo", "Cahyo"), ("Nur Aisyah", "Nuraisyah"),
    ("An. Ahmad Fauzi", "Ahmad  Fauzi,"), ("Dewi Lestari", "Dewi Lestary"),
])
def test_name_variants_are_one_name(a, b):
    assert compare_names(a, b) >= 0.93


def test_missing_middle_name_and_dropped_muhammad_are_variants():
    assert compare_names("Muhammad Rizky Pratama", "Rizky Pratama") >= 0.93
    assert compare_names("Siti Aminah", "Siti Aminah Putri") >= 0.93


@pytest.mark.parametrize("a,b", [
    ("Aisyah Putri", "Annisa Putri"), ("Hasan", "Husain"), ("Ahmad Fauzi", "Dewi Lestari"),
])
def test_different_given_names_are_not_one_name(a, b):
    assert compare_names(a, b) < 0.85


def test_placeholders_name_the_mother():
    assert name_tokens("By. Ny. Siti Aminah") == ()
    assert placeholder_mother("Bayi Ny. Siti Aminah") == "siti aminah"
    assert placeholder_mother("Siti Aminah") is None


@given(st.text(max_size=40))
def test_name_normalisation_is_total_and_idempotent(text):
    key = name_key(text)
    assert name_key(key) == key
    similarity = compare_names(text, text)
    assert similarity in (0.0, 1.0)


@given(st.text(min_size=1, max_size=30), st.text(min_size=1, max_size=30))
def test_name_similarity_is_symmetric_and_bounded(a, b):
    s = compare_names(a, b)
    assert 0.0 <= s <= 1.0
    assert abs(s - compare_names(b, a)) < 1e-9


def test_what_the_name_and_nik_caches_keep_the_collector_stops_walking():
    """A worker's caches fill to 262,144 entries each: entries the collector tracks
    make every full collection, which stops every thread, walk them all. Two thousand
    names and NIKs never seen before, ruled out and compared as identity does, leave
    next to nothing tracked (a list per cached profile or a dataclass per cached NIK
    left two thousand)."""
    syllables = ("ba", "ci", "du", "ri", "na", "ko", "se", "tu", "wa", "ye")
    claim = child("a", "Aisyah Putri", date(2024, 3, 4), nik="3375014403240001",
                  mother_nik="3375015507950002")
    reach = reach_from(claim, 8.0)
    for _ in range(3):
        gc.collect()
    before = len(gc.get_objects())
    for i in range(2000):
        name = " ".join("".join(syllables[int(d)] for d in f"{i:04d}"[k:k + 2]) for k in (0, 2))
        serial = f"{i + 1:04d}"
        other = child("b", f"Zz{name}", date(2024, 3, 5), nik=f"337501440324{serial}",
                      mother_nik=f"337501550795{serial}", mother_name=f"Yy{name}")
        reach(other, False, False)
        compare(claim, other)
    del other
    for _ in range(3):  # a collection untracks one level of nested tuples
        gc.collect()
    assert len(gc.get_objects()) - before < 200


def test_nik_decoding_region_and_women_plus_forty():
    nik = decode_nik("3375014403240001")
    assert (nik.province, nik.regency, nik.district, nik.sex) == ("33", "3375", "337501", "female")
    assert nik.birth_date(not_after=date(2026, 1, 1)) == date(2024, 3, 4)
    assert decode_nik("3375010403240001").sex == "male"
    for bad in ("12345", "0975010403240001", "3375013203240001", "3375010413240001",
                "337501040324000x", None):
        assert decode_nik(bad) is None and not nik_well_formed(bad), bad
    assert nik_well_formed("3375014403240001")
    assert valid_nik("3375014403240001", birth_date=date(2024, 3, 4), sex="female")
    assert not valid_nik("3375014403240001", birth_date=date(2024, 3, 4), sex="male")


@given(st.dates(date(1950, 1, 1), date(2025, 12, 31)), st.sampled_from(["male", "female"]))
def test_nik_round_trips_birth_date_and_sex(born, sex):
    day = born.day + (40 if sex == "female" else 0)
    nik = f"337501{day:02d}{born.month:02d}{born.year % 100:02d}0001"
    decoded = decode_nik(nik)
    assert decoded.sex == sex
    assert decoded.birth_date(not_after=date(2026, 1, 1)).replace(year=born.year) == born
    assert valid_nik(nik, birth_date=born, sex=sex)


def child(record_id, name, born, sex="female", **kw):
    fields = dict(mother_name="Siti Aminah", household_kk=KK, kelurahan_code=KEL)
    return PersonRecord(record_id, name, sex, born, **(fields | kw))


def test_bands():
    a = child("a", "Aisyah Putri", date(2024, 3, 4))
    assert compare(a, child("b", "Aisyah Putri", date(2024, 3, 4))).band == AUTO_LINK
    assert compare(a, child("b", "Aisyah Putri", date(2024, 4, 3))).band in (AUTO_LINK, REVIEW)
    assert compare(a, child("b", "Aisyah Putri", date(2024, 3, 6), household_kk=None,
                            mother_name=None)).band == REVIEW
    assert compare(a, PersonRecord("b", "Budi Santoso", "male", date(2023, 1, 1),
                                   kelurahan_code=KEL)).band == NEW


def test_twins_and_siblings_never_link():
    a = child("a", "Aisyah Putri", date(2024, 3, 4))
    twin = child("t", "Annisa Putri", date(2024, 3, 4))
    sibling = child("s", "Aisyah Putri", date(2022, 7, 9))
    assert compare(a, twin).band != AUTO_LINK
    assert compare(a, sibling).band == NEW
    assert compare(a, child("b", "Hasan", date(2024, 3, 4), sex="male")).band == NEW


def test_mothers_nik_typed_for_the_child_is_no_evidence():
    mother_nik = "3375015507950002"
    a = child("a", "Aisyah Putri", date(2024, 3, 4), nik=mother_nik)
    b = child("b", "Rina Wati", date(2023, 5, 1), nik=mother_nik)
    c = compare(a, b)
    assert c.levels["nik"] == "missing" and c.band == NEW


def test_two_valid_niks_that_differ_keep_people_apart():
    a = child("a", "Aisyah Putri", date(2024, 3, 4), nik="3375014403240001")
    b = child("b", "Aisyah Putri", date(2024, 3, 4), nik="3375014403240777")
    assert compare(a, b).band != AUTO_LINK


def test_batch_link_clusters_and_scores():
    records = [child("a", "Muhammad Rizky", date(2024, 3, 4), sex="male"),
               child("b", "M. Rizki", date(2024, 3, 4), sex="male"),
               child("c", "Hasan", date(2024, 3, 4), sex="male"),
               child("d", "By. Ny. Siti Aminah", date(2024, 3, 4), sex="male")]
    linkage = link(records)
    assert linkage.cluster[0] == linkage.cluster[1] != linkage.cluster[2]
    assert linkage.cluster[3] != linkage.cluster[0]
    scores = pair_scores(["x", "x", "y", "z"], linkage.cluster)
    assert scores.precision == 1.0 and scores.recall == 1.0
    assert pair_scores(["x", "y"], [1, 1]).precision == 0.0


_NAMES = st.sampled_from(["Aisyah Putri", "Annisa Putri", "Aisyah", "M. Rizki", "Muhammad Rizky",
                          "By. Ny. Siti Aminah", "Siti Aminah", "Budi Santoso", ""])
_BORN = st.one_of(st.none(), st.sampled_from([date(2024, 3, 4), date(2024, 4, 3),
                                              date(2024, 3, 6), date(2024, 4, 20),
                                              date(2022, 7, 9), date(1995, 7, 15)]))
_RECORDS = st.builds(
    PersonRecord, record_id=st.just("r"), name=_NAMES,
    sex=st.sampled_from(["male", "female", None]), birth_date=_BORN,
    birth_date_estimated=st.booleans(),
    nik=st.sampled_from([None, "3375014403240001", "3375014403240002", "3375015507950002"]),
    mother_name=st.sampled_from([None, "Siti Aminah", "Rina Wati"]),
    mother_nik=st.sampled_from([None, "3375015507950002"]),
    household_kk=st.sampled_from([None, KK, "3375010101100002"]),
    kelurahan_code=st.sampled_from([KEL, "33.75.01.1003", "33.11.04.1009"]),
    posyandu_id=st.sampled_from([None, "1", "2"]))


@given(_RECORDS, _RECORDS, st.sampled_from([Thresholds(), Thresholds(auto_link=12, review=2)]))
def test_a_pair_may_match_rejects_is_new(a, b, limits):
    if not may_match(a, b, limits):
        assert compare(a, b, limits).band == NEW


@given(_RECORDS, _RECORDS)
def test_the_bound_before_the_family_is_read_is_never_below_the_score(a, b):
    """sync.identity rules a candidate out before reading its mother and household (its
    record then has neither; those fields, when it has them, count at their best): the
    bound must never be below the score, or a pair in the review band is lost (the
    guards only ever lower a band)."""
    family = (("mother",) * bool(b.mother_name or b.mother_nik)
              + ("household",) * bool(b.household_kk))
    unread = replace(b, mother_name=None, mother_nik=None, household_kk=None)
    score = compare(a, b).score
    assert upper_bound(a, unread, ("name", *family)) >= score
    if name_tokens(a.name) and name_tokens(b.name):
        assert upper_bound(a, unread, family) >= score


@given(_RECORDS, _RECORDS, st.sampled_from([8.0, 2.0, 20.0]))
def test_may_reach_never_rules_out_a_pair_that_scores_the_threshold(a, b, review):
    """What sync.identity rules a candidate out by before its family is read: the
    mother and household count at their best only where both the claim (a) and the
    candidate carry one; a pair that scores `review` or more must never be ruled out."""
    unread = (("mother",) * bool((decode_nik(a.mother_nik) or a.mother_name)
                                 and (b.mother_name or b.mother_nik))
              + ("household",) * bool(a.household_kk and b.household_kk))
    before_family = replace(b, mother_name=None, mother_nik=None, household_kk=None)
    assert may_reach(a, before_family, compare(a, b).score, unread)  # the bound: never below
    if not may_reach(a, before_family, review, unread):
        assert compare(a, b, Thresholds(auto_link=review + 12, review=review)).band == NEW


def test_may_reach_rules_out_the_other_sex_and_a_different_name_a_month_apart():
    a = child("a", "Aisyah Putri", date(2024, 3, 4), household_kk=None)
    assert may_reach(a, child("b", "Aisyah Putri", date(2024, 3, 20), household_kk=None), 8.0)
    assert not may_reach(a, child("c", "Budi Santoso", date(2024, 4, 10), household_kk=None), 8.0)
    assert not may_reach(a, replace(a, record_id="d", sex="male", birth_date=date(2024, 4, 10)),
                         8.0)
    # the same household would weigh once read: not ruled out before it is
    near = child("e", "Aisyah Putri", date(2024, 4, 12), household_kk=None, mother_name=None)
    assert not may_reach(replace(a, household_kk=KK), near, 10.0)
    assert may_reach(replace(a, household_kk=KK), near, 10.0, ("household",))


def test_may_match_rejects_same_name_years_apart_and_keeps_the_same_child():
    a = child("a", "Aisyah Putri", date(2024, 3, 4))
    assert not may_match(a, child("s", "Aisyah Putri", date(2022, 7, 9)))  # a sibling
    assert may_match(a, child("b", "Aisyah", date(2024, 4, 3), household_kk=None))
    # one NIK outweighs a birth date typed years off
    assert may_match(child("a", "Aisyah Putri", date(2024, 3, 4), nik="3375014403240001"),
                     child("b", "Aisyah Putri", None, nik="3375014403240001"))


@given(_RECORDS, _RECORDS)
def test_may_match_bound_is_tight(a, b):
    """With the best name and mother levels the bound is the score itself: a pair
    scoring exactly the review threshold is still compared."""
    b = replace(b, name=a.name or "Aisyah Putri", mother_nik="3375015507950002")
    a = replace(a, name=b.name, mother_nik="3375015507950002")
    score = compare(a, b).score
    assert may_match(a, b, Thresholds(auto_link=score + 1, review=score))


@pytest.mark.parametrize("serial_a,serial_b,level", [
    ("0001", "0001", "exact"), ("0001", "0002", "one_slip"),  # a mistyped digit
    ("0012", "0021", "one_slip"),  # two digits swapped
    ("0012", "0034", "different"), ("0123", "0456", "different"),
])
def test_nik_levels(serial_a, serial_b, level):
    born = date(2024, 3, 4)
    a = child("a", "Aisyah Putri", born, nik=f"337501440324{serial_a}")
    b = child("b", "Aisyah Putri", born, nik=f"337501440324{serial_b}")
    assert compare(a, b).levels["nik"] == level
    assert compare(a, replace(b, nik=None)).levels["nik"] == "missing"


# Words whose spellings fold together (oe/u, dj/j, tj/c, y/i, kh/h, doubled letters, a
# final h), Muhammad's forms, titles, and tokens either side of could_be_exact's length
# bound.
_WORDS = st.sampled_from([
    "abdoel", "abdul", "djoko", "joko", "tjahjo", "cahyo", "rizky", "rizki", "fauziah",
    "fausia", "nur", "aisyah", "nuraisyah", "annisa", "putri", "putry", "muhammad", "m",
    "moh", "by", "ny", "an", "siti", "khadijah", "hadijah", "alloh", "alo",
    "ab" * 20, "ab" * 19 + "ad", "ba" * 20, "ab" * 16, "ab" * 15 + "ad", "ab" * 15 + "a",
    "ab" * 15 + "d", "ab" * 60, "ab" * 59 + "ad"])
_TYPED_NAMES = st.lists(_WORDS, min_size=0, max_size=4).map(" ".join)


@given(_TYPED_NAMES, _TYPED_NAMES)
@example("ab" * 60, "ab" * 59 + "ad")  # 120 letters one apart: 0.9917, "exact"
@example("Siti " + "ab" * 60, "Siti " + "ab" * 59 + "ad")
@example("Abdoel Djoko", "Abdul Joko")
def test_could_be_exact_only_rules_out_names_below_the_exact_level(a, b):
    if not could_be_exact(a, b):
        assert compare_names(a, b) < 0.99


def _reference_may_reach(a, b, review, unread):
    """may_reach as first written: every level, the name's included, worked out."""
    known = sum(max(WEIGHTS[name].values()) if name in unread else WEIGHTS[name][level(a, b)]
                for name, level in _LEVELS.items() if name != "name")
    if not name_tokens(a.name) or not name_tokens(b.name):
        return known + max(WEIGHTS["name"]["placeholder"], WEIGHTS["name"]["missing"]) >= review
    return known + WEIGHTS["name"][_LEVELS["name"](a, b)] >= review


@given(_RECORDS, _RECORDS, _TYPED_NAMES, _TYPED_NAMES,
       st.sampled_from([8.0, 2.0, 20.0, 10.5]),
       st.sampled_from([(), ("mother",), ("household",), ("mother", "household")]))
def test_may_reach_answers_as_working_out_every_level_does(a, b, name_a, name_b, review, unread):
    a, b = replace(a, name=name_a or a.name), replace(b, record_id="s", name=name_b or b.name)
    assert may_reach(a, b, review, unread) == _reference_may_reach(a, b, review, unread)


def _variants(b: PersonRecord) -> list[PersonRecord]:
    """b with one field moved across each of its levels' edges at a time."""
    born = b.birth_date
    out = [replace(b, birth_date=born + timedelta(days=d)) for d in (
        -367, -366, -365, -100, -93, -92, -91, -46, -45, -44, -4, -3, -1, 1, 3, 4, 25, 45, 46,
        92, 93)]
    out += [replace(b, birth_date=date(born.year, born.day, born.month)),
            replace(b, birth_date=None), replace(b, birth_date_estimated=True),
            replace(b, birth_date=born + timedelta(days=60), birth_date_estimated=True)]
    out += [replace(b, sex=sex) for sex in ("male", None, "unknown")]
    out += [replace(b, posyandu_id=p) for p in (None, "1", "2")]
    out += [replace(b, kelurahan_code=k) for k in ("33.75.01.1003", "33.75.02.1001", None)]
    out += [replace(b, mother_nik=n) for n in (None, "3375015507950002", "3375015507950003")]
    out += [replace(b, mother_name=n) for n in (None, "Siti Aminah", "Siti Aminha", "Rina Wati")]
    out += [replace(b, household_kk=k) for k in (None, KK, "3375010101100002")]
    out += [replace(b, nik=n) for n in (None, "3375014403240001", "3375014403240002",
                                        "3375014403240012")]
    out += [replace(b, name=n) for n in ("Aisyah Putri", "Aisyah Putry", "Putri Aisyah",
                                         "Aisyah", "Budi Santoso", "By. Ny. Siti", "")]
    return out


def test_reach_from_answers_as_every_level_worked_out_at_each_levels_edges():
    """The claim's side worked out once (reach_from) against the reference, field by
    field across each level's edges, at every threshold a half-point apart."""
    claims = [child("a", "Aisyah Putri", date(2024, 3, 4), posyandu_id="1"),
              child("a", "Aisyah Putri", date(2024, 3, 4), nik="3375014403240001",
                    mother_nik="3375015507950002", posyandu_id="1"),
              child("a", "By. Ny. Siti Aminah", date(2024, 3, 4), mother_name=None,
                    household_kk=None, sex=None),
              child("a", "Aisyah Putri", None, kelurahan_code=None, birth_date_estimated=True)]
    reviews = [x / 2 for x in range(-60, 81)]
    for a in claims:
        reaches = {review: reach_from(a, review) for review in reviews}
        base = replace(a, record_id="b", birth_date=a.birth_date or date(2024, 3, 4))
        for b in [base, *_variants(base)]:
            for unread in ((), ("mother",), ("household",), ("mother", "household")):
                flags = ("mother" in unread, "household" in unread)
                for review in reviews:
                    assert reaches[review](b, *flags) == _reference_may_reach(
                        a, b, review, unread), (a, b, review, unread)


_SYLLABLE_NAMES = st.lists(st.sampled_from(["ba", "ci", "du", "ri", "na", "ra", "si", "an"]),
                           min_size=1, max_size=4).map("".join)
_CUTS = st.one_of(st.sampled_from([0.85, 0.93, 0.99, 0.9, 0.97 * 0.995, 0.5, 1.0]),
                  st.floats(0.0, 1.0))


@given(st.one_of(_TYPED_NAMES, st.lists(_SYLLABLE_NAMES, min_size=1, max_size=3).map(" ".join)),
       st.one_of(_TYPED_NAMES, st.lists(_SYLLABLE_NAMES, min_size=1, max_size=3).map(" ".join)),
       _CUTS)
@example("Aisyah Putri", "Putri Aisyah", 0.9)  # only the swapped order reaches
@example("Aisyah Putri", "Putri Aisiah", 0.96)
@example("Baciri Duna", "Bacira Duna", 0.85)
def test_names_reach_answers_as_the_score_does(a, b, cut):
    """may_reach asks whether a name reaches a level's cut without the whole score: it
    must answer exactly as comparing the score with the cut, at the score itself and
    either side of it too."""
    score = compare_names(a, b)
    for at in (cut, score, math.nextafter(score, 0.0), math.nextafter(score, 2.0)):
        assert names_reach(a, b, at) == (score >= at), at


def test_names_reach_stops_at_the_first_token_too_far_apart():
    assert names_reach("Aisyah Putri", "Aisyah Putry", 0.93)
    assert not names_reach("Aisyah Putri", "Annisa Putri", 0.85)
    assert names_reach("Aisyah Putri", "Putri Aisyah", 0.9)
    assert not names_reach("Aisyah Putri", "Putri Aisyah", 0.99)


_ANY_NAMES = st.one_of(_TYPED_NAMES, st.text(max_size=30), st.sampled_from([
    "By. Ny. Siti Aminah", "An. Muhammad Rizky", "Hj. Siti Nur'aini, S.Pd", "ABDOEL  DJOKO",
    "Müller Zoë", "M.", "Nuraisyah", "Aallaah", "Khadijahh", "bayi", ""]))


@given(_ANY_NAMES)
def test_a_names_profile_is_its_tokens_folded_and_not(name):
    """name_profile makes both token forms in one pass: the same as name_tokens gives."""
    tokens = name_tokens(name)
    if not tokens:
        assert name_profile(name) is None and not has_own_name(name)
        return
    pairs = tuple(zip(tokens, name_tokens(name, fold=False)))
    core = tuple(t for t in pairs if t[0] != "muhammad") or pairs
    assert name_profile(name) == (tokens, "".join(tokens), core, tuple(sorted(core)),
                              tuple(t[0] for t in core),
                              any(len(t[1]) >= _SHORT_TOKEN for t in core))
    assert has_own_name(name)


@given(st.text(alphabet="abcdhijkloqstuvyz ", max_size=16))
def test_doubled_letters_collapse_as_the_template_would(word):
    """fold_spelling collapses doubled letters through a function, not the template
    r"\1" (slower): the same text either way."""
    assert _DOUBLE.sub(_one_letter, word) == _DOUBLE.sub(r"\1", word)


def test_tokens_without_folding_modernise_only_the_old_spellings():
    """The light forms compare_names falls back to (folding would make 'Aisyah' and
    'Annisa' nearer than they are): only oe/dj/tj change, Muhammad is one token."""
    assert name_tokens("Abdoel Djoko Tjahjo", fold=False) == ("abdul", "joko", "cahjo")
    assert name_tokens("M. Rizky Aisyah", fold=False) == ("muhammad", "rizky", "aisyah")
    assert name_tokens("By. Ny. Siti", fold=False) == ()
