"""`posyandu-sync zscore IN.csv [-o OUT.csv]` end to end, through `cli.main.main`."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest

import indicators.batch
from cli.main import main

WHO_COLUMNS = (
    "clenhei",
    "zlen",
    "flen",
    "zwei",
    "fwei",
    "zwfl",
    "fwfl",
    "zbmi",
    "fbmi",
    "zac",
    "fac",
)


def read(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_oracle_file_through_the_cli_gives_who_values_on_every_row(
    tmp_path, oracle_path, oracle_rows
):
    out = tmp_path / "out.csv"
    assert main(["zscore", str(oracle_path), "-o", str(out)]) == 0
    expected, got = oracle_rows, read(out)
    assert len(got) == len(expected) == 10_000
    differences = [
        (i + 2, column, g[column], e[column])
        for i, (e, g) in enumerate(zip(expected, got))
        for column in WHO_COLUMNS
        if (e[column] == "") != (g[column] == "")
        or (e[column] and not math.isclose(float(e[column]), float(g[column]), abs_tol=1e-9))
    ]
    assert differences[:10] == []


def test_output_has_who_and_permenkes_columns(tmp_path):
    source = write(
        tmp_path / "in.csv",
        "id,sex,age_days,weight_kg,lenhei_cm,measure,oedema,muac_cm\na1,1,800,8.0,80.0,L,n,12.0\n",
    )
    out = tmp_path / "out.csv"
    assert main(["zscore", str(source), "-o", str(out)]) == 0
    (row,) = read(out)
    assert row["id"] == "a1"
    assert row["clenhei"] == "79.3"
    assert (row["zlen"], row["zwei"], row["zwfl"], row["zbmi"], row["zac"]) == (
        "-3.05",
        "-3.85",
        "-3.34",
        "-3.06",
        "-3.14",
    )
    assert (row["tbu_category"], row["bbtb_category"], row["bbu_category"]) == (
        "sangat_pendek",
        "gizi_buruk",
        "sangat_kurang",
    )
    assert (row["stunted"], row["severely_stunted"], row["wasted"], row["overweight"]) == (
        "1",
        "1",
        "1",
        "0",
    )
    assert row["age_group"] == "balita"
    assert row["error"] == ""


def test_unparseable_rows_are_reported_with_line_and_reason_and_the_run_goes_on(tmp_path, capsys):
    source = write(
        tmp_path / "in.csv",
        "sex,age_days,weight_kg,lenhei_cm,measure,oedema\n"
        "1,300,8.0,70.0,L,n\n"
        "1,300,abc,70.0,L,n\n"
        "x,300,8.0,70.0,L,n\n"
        "1,300,8.0,70.0,S,n\n"
        "1,300,8.0\n"
        "1,-5,8.0,70.0,L,n\n"
        "2,300,-8.0,70.0,L,n\n"
        "2,400,9.0,74.0,L,n\n",
    )
    out = tmp_path / "out.csv"
    assert main(["zscore", str(source), "-o", str(out)]) == 1
    stderr = capsys.readouterr().err
    assert "line 3: weight_kg is not a number: 'abc'" in stderr
    assert "line 4: sex must be 1/2 or m/f, got 'x'" in stderr
    assert "line 5: measure must be L or H" in stderr
    assert "line 6: expected 6 fields, found 3" in stderr
    assert "line 7: age_days must be a number >= 0, got '-5'" in stderr
    assert "line 8: weight_kg must be a number > 0, got '-8.0'" in stderr
    assert "6 of 8 rows could not be parsed" in stderr
    rows = read(out)
    assert len(rows) == 8
    assert [bool(r["error"]) for r in rows] == [False, True, True, True, True, True, True, False]
    assert rows[0]["zwfl"] and rows[-1]["zwfl"]
    assert all(r["zlen"] == "" for r in rows[1:-1])


def test_age_can_come_from_birth_date_and_measurement_date(tmp_path, capsys):
    source = write(
        tmp_path / "in.csv",
        "sex,birth_date,measured_on,weight_kg,lenhei_cm,measure\n"
        "1,2022-01-31,2024-02-01,11.5,85.0,L\n"
        "1,2024-03-01,2024-02-01,11.5,85.0,L\n",
    )
    out = tmp_path / "out.csv"
    assert main(["zscore", str(source), "-o", str(out)]) == 1
    first, second = read(out)
    assert first["clenhei"] == "84.3"  # 731 days: lying length converted to height
    assert "before birth_date" in second["error"]
    assert "line 3:" in capsys.readouterr().err


def test_without_output_file_the_result_goes_to_stdout(tmp_path, capsys):
    source = write(tmp_path / "in.csv", "sex,age_days,weight_kg\nf,400,9.0\n")
    assert main(["zscore", str(source)]) == 0
    (row,) = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert row["zwei"] and row["zlen"] == ""


def test_semicolon_files_from_spreadsheets_keep_their_delimiter(tmp_path):
    source = write(
        tmp_path / "in.csv", "sex;age_days;weight_kg;lenhei_cm;measure\n2;400;9.0;74.0;L\n"
    )
    out = tmp_path / "out.csv"
    assert main(["zscore", str(source), "-o", str(out)]) == 0
    (row,) = read(out, delimiter=";")
    assert row["zwfl"] and row["bbtb_category"]


def test_quoted_fields_survive_unchanged(tmp_path):
    source = write(
        tmp_path / "in.csv",
        'name,sex,age_days,weight_kg\n"Siti, binti ""Ahmad""",2,400,9.0\n"multi\nline",1,500,10.0\n',
    )
    out = tmp_path / "out.csv"
    assert main(["zscore", str(source), "-o", str(out)]) == 0
    rows = read(out)
    assert [r["name"] for r in rows] == ['Siti, binti "Ahmad"', "multi\nline"]
    assert all(r["zwei"] for r in rows)


def test_line_numbers_stay_right_across_chunks(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(indicators.batch, "CHUNK_ROWS", 2)
    lines = ["sex,age_days,weight_kg"] + ["1,300,8.0"] * 4 + ["1,300,heavy"] + ["1,300,8.0"] * 2
    source = write(tmp_path / "in.csv", "\n".join(lines) + "\n")
    out = tmp_path / "out.csv"
    assert main(["zscore", str(source), "-o", str(out)]) == 1
    assert "line 6: weight_kg is not a number: 'heavy'" in capsys.readouterr().err
    assert len(read(out)) == 7


def test_a_file_without_sex_column_is_refused(tmp_path, capsys):
    source = write(tmp_path / "in.csv", "age_days,weight_kg\n300,8.0\n")
    assert main(["zscore", str(source), "-o", str(tmp_path / "out.csv")]) == 2
    assert "no `sex` column" in capsys.readouterr().err


def test_a_missing_input_file_is_refused(tmp_path, capsys):
    assert main(["zscore", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv" in capsys.readouterr().err


def test_progress_is_reported_when_asked():
    progress = io.StringIO()
    indicators.batch.zscore_csv(io.StringIO("sex,age_days\n1,10\n"), io.StringIO(), progress)
    assert "1 rows" in progress.getvalue()


def test_help_describes_the_columns(capsys):
    with pytest.raises(SystemExit):
        main(["zscore", "--help"])
    assert "lenhei_cm" in capsys.readouterr().out
