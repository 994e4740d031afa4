"""`posyandu-sync dedup --csv IN.csv -o OUT.csv`: one output row per input row with
record_id, cluster_id, review_cluster_id and reason, and no database touched."""

from __future__ import annotations

import csv
import io

from cli.main import main
from sync.dedup import OUT_FIELDS, dedup_csv

HEADER = ("record_id,child_nik,child_name,child_sex,child_birth_date,mother_name,mother_nik,"
          "household_kk,kelurahan_code\n")
ROWS = (
    "r1,,Muhammad Rizky,male,2023-05-01,Siti Aminah,3375014708950002,3375010101200003,33.75.01.1002\n"
    "r2,,M. Rizki,male,2023-05-01,Siti Aminah,3375014708950002,3375010101200003,33.75.01.1002\n"
    "r3,,Husain,male,2023-05-01,Siti Aminah,3375014708950002,3375010101200003,33.75.01.1002\n"
    "r4,,Aisyah Putri,female,2022-02-03,,,,33.75.01.1002\n"
    "r5,,Aisyah,female,2022-02-03,,,,33.75.01.1002\n"
    "r6,,Dewi Lestari,female,2020-09-09,Rina,,,33.75.04.1002\n"
)


def _run(text: str) -> list[dict]:
    out = io.StringIO()
    dedup_csv(io.StringIO(text), out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def test_each_row_gets_its_clusters_and_a_reason():
    rows = {row["record_id"]: row for row in _run(HEADER + ROWS)}
    assert list(next(iter(rows.values()))) == list(OUT_FIELDS)
    assert len(rows) == 6
    assert rows["r1"]["cluster_id"] == rows["r2"]["cluster_id"] == "r1"  # auto-link
    assert rows["r3"]["cluster_id"] == "r3" and rows["r3"]["review_cluster_id"] == "r3"  # a twin
    assert rows["r4"]["cluster_id"] != rows["r5"]["cluster_id"]
    assert rows["r4"]["review_cluster_id"] == rows["r5"]["review_cluster_id"]  # review band
    assert rows["r6"]["reason"] == "no match"
    assert rows["r2"]["reason"].startswith("auto_link with r1")
    assert rows["r5"]["reason"].startswith("review with r4")


def test_the_command_writes_the_file(tmp_path, capsys):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text(HEADER + ROWS, encoding="utf-8")
    assert main(["dedup", "--csv", str(source), "-o", str(target)]) == 0
    out = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [row["record_id"] for row in out] == ["r1", "r2", "r3", "r4", "r5", "r6"]
    assert "6 rows" in capsys.readouterr().err


def test_a_file_without_record_id_is_refused(tmp_path, capsys):
    source = tmp_path / "in.csv"
    source.write_text("child_name\nSiti\n", encoding="utf-8")
    assert main(["dedup", "--csv", str(source), "-o", str(tmp_path / "o.csv")]) == 1
    assert "record_id" in capsys.readouterr().err
