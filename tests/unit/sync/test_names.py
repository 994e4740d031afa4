"""Name keys and NIK checks used by identity matching (pure functions)."""

from datetime import date

import pytest

from sync.names import is_placeholder_name, name_key, nik_agrees


@pytest.mark.parametrize("raw,key", [
    ("By. Ny. Siti", "siti"), ("SITI  AMINAH", "siti aminah"), ("An. Ahmad Fauzi", "ahmad fauzi"),
    ("Muh. Rizki", "muh rizki"), ("Ny. Rina Wati, S.Pd", "rina wati s pd"), ("", ""),
])
def test_name_key_drops_titles_case_and_punctuation(raw, key):
    assert name_key(raw) == key


def test_newborn_placeholders_are_recognised():
    assert is_placeholder_name("By. Ny. Rina")
    assert is_placeholder_name("Bayi Ny Rina")
    assert not is_placeholder_name("Siti Aminah")


def test_nik_agrees_with_birth_date_and_sex():
    assert nik_agrees("3375014403240001", birth_date=date(2024, 3, 4), sex="female")
    assert nik_agrees("3375010403240001", birth_date=date(2024, 3, 4), sex="male")
    assert not nik_agrees("3375010403240001", sex="female")  # day < 40: a man's NIK
    assert not nik_agrees("3375014403240001", birth_date=date(2024, 3, 5))
    assert not nik_agrees("3375015507950002", birth_date=date(2024, 3, 4), sex="female")
    assert not nik_agrees("12345")
