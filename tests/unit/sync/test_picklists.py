"""Pick-list labels, as a kader reads them on the phone."""

from __future__ import annotations

import pytest

from sync.picklists import household_label


@pytest.mark.parametrize(("head", "kk", "label"), [
    ("Budi Santoso", "3375010101200003", "Budi Santoso (KK 3375010101200003)"),
    ("Budi Santoso", None, "Budi Santoso"),
    (None, "3375010101200003", "Kepala keluarga belum tercatat (KK 3375010101200003)"),
    ("  ", "", "Kepala keluarga belum tercatat"),
    (None, None, "Kepala keluarga belum tercatat"),
])
def test_a_household_is_labelled_by_its_head_and_kk(head, kk, label):
    assert household_label(head, kk) == label
