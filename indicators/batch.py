"""Batch z-scores for a CSV of children: read -> vectorised compute -> write.

Input columns (header names; any order, other columns are passed through):

    sex          1/2 or m/f (empty: unknown, WHO then gives no z-scores)
    age_days     age in days; or, when it is absent or empty,
    birth_date + measured_on   ISO dates (YYYY-MM-DD)
    weight_kg, lenhei_cm, muac_cm   numbers > 0 (empty: not measured)
    measure      L (lying) / H (standing) / empty (unknown)
    oedema       y/n (also 1/2; empty: n)

Only `sex` is required as a column. The output repeats every input row and
appends `OUTPUT_COLUMNS`: WHO's `anthro_zscores` names (empty where WHO gives
NA; an input column of the same name is overwritten), the Permenkes 2/2020
categories (`indicators.categories`), and `error`. A row that cannot be parsed
keeps its place in the output with empty results and the reason in `error`;
it is also listed in the returned report with its line number, and the run
goes on.

The file is processed in chunks, so memory stays flat on large survey exports.
Within a chunk everything is done column by column: parsing (numbers by a fast
path for clean columns, row by row only to explain a bad value; codes once per
distinct value), the z-scores (`indicators.anthro.compute_zscores`), the
categories and the formatting.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from datetime import date
from typing import TextIO

import numpy as np

from indicators.anthro import compute_zscores, parse_measure, parse_oedema, parse_sex
from indicators.categories import CATEGORY_BANDS, DERIVED_BOOLEANS, nutrition_status_arrays

ZSCORE_COLUMNS = ("zlen", "zwei", "zwfl", "zbmi", "zac")
CATEGORY_COLUMNS = tuple(CATEGORY_BANDS)
BOOLEAN_COLUMNS = tuple(DERIVED_BOOLEANS)
OUTPUT_COLUMNS = (
    "clenhei",
    "c9mo_flag",
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
    *CATEGORY_COLUMNS,
    *BOOLEAN_COLUMNS,
    "age_group",
    "error",
)

CHUNK_ROWS = 50_000
DELIMITERS = (",", ";", "\t")


class BatchInputError(ValueError):
    """The file as a whole cannot be processed (e.g. no `sex` column)."""


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    reason: str


@dataclass(slots=True)
class BatchReport:
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Columns:
    """Positions of the input columns in a row (None when absent)."""

    sex: int
    age_days: int | None
    birth_date: int | None
    measured_on: int | None
    weight_kg: int | None
    lenhei_cm: int | None
    measure: int | None
    oedema: int | None
    muac_cm: int | None

    @classmethod
    def from_header(cls, header: list[str]) -> _Columns:
        names = [name.strip().lower() for name in header]
        if "sex" not in names:
            raise BatchInputError("the input has no `sex` column")
        position = {name: i for i, name in enumerate(names)}
        return cls(**{f.name: position.get(f.name) for f in fields(cls)})


class _Errors:
    """The first error of each row of a chunk ("" = none)."""

    def __init__(self, n: int) -> None:
        self.reasons = [""] * n

    def add(self, i: int, reason: str) -> None:
        if not self.reasons[i]:
            self.reasons[i] = reason

    def failed(self) -> np.ndarray:
        return np.array([bool(reason) for reason in self.reasons])


# --- Parsing, column by column ---------------------------------------------------


def _coded(column: tuple[str, ...], parse: Callable[[str], object], errors: _Errors) -> list:
    """`parse` of each value, called once per distinct value (a column of codes
    holds only a few); a value it rejects becomes `parse("")` (unknown) and its
    ValueError the row's error."""
    parsed, rejected = {}, {}
    for text in set(column):
        try:
            parsed[text] = parse(text)
        except ValueError as exc:
            rejected[text] = str(exc)
    if rejected:
        parsed |= dict.fromkeys(rejected, parse(""))
        for i, text in enumerate(column):
            if text in rejected:
                errors.add(i, rejected[text])
    return [parsed[text] for text in column]


def _float_or_nan(text: str) -> float:
    text = text.strip()
    return float(text) if text else math.nan


def _numbers(
    column: tuple[str, ...], name: str, errors: _Errors, allow_zero: bool = False
) -> np.ndarray:
    """Numbers of a column (NaN when empty); a value that is not a finite number
    > 0 (>= 0 with `allow_zero`) is an error."""
    try:
        values = np.array([float(v) if v else math.nan for v in column])
    except ValueError:
        values = np.empty(len(column))
        for i, text in enumerate(column):
            try:
                values[i] = _float_or_nan(text)
            except ValueError:
                values[i] = math.nan
                errors.add(i, f"{name} is not a number: {text!r}")
    with np.errstate(invalid="ignore"):
        in_range = (values >= 0) if allow_zero else (values > 0)
        bad = ~np.isnan(values) & ~(in_range & np.isfinite(values))
    bound = ">= 0" if allow_zero else "> 0"
    for i in np.flatnonzero(bad):
        errors.add(int(i), f"{name} must be a number {bound}, got {column[i]!r}")
    values[bad] = math.nan
    return values


def _days_between(birth: str, measured: str) -> float:
    birth, measured = birth.strip(), measured.strip()
    if not birth and not measured:
        return math.nan
    if not (birth and measured):
        raise ValueError("birth_date and measured_on must be given together")
    try:
        days = (date.fromisoformat(measured) - date.fromisoformat(birth)).days
    except ValueError as exc:
        raise ValueError(f"dates must be YYYY-MM-DD: {exc}") from None
    if days < 0:
        raise ValueError(f"measured_on {measured} is before birth_date {birth}")
    return float(days)


def _age_days(columns: list[tuple[str, ...]], c: _Columns, n: int, errors: _Errors) -> np.ndarray:
    """`age_days` where given, otherwise measured_on - birth_date."""
    ages = np.full(n, math.nan)
    if c.age_days is not None:
        ages = _numbers(columns[c.age_days], "age_days", errors, allow_zero=True)
    if c.birth_date is None and c.measured_on is None:
        return ages
    empty = ("",) * n
    births = empty if c.birth_date is None else columns[c.birth_date]
    measured = empty if c.measured_on is None else columns[c.measured_on]
    for i in np.flatnonzero(np.isnan(ages)):
        try:
            ages[i] = _days_between(births[i], measured[i])
        except ValueError as exc:
            errors.add(int(i), str(exc))
    return ages


def _parse_chunk(rows: list[list[str]], width: int, c: _Columns) -> tuple[dict, _Errors]:
    """Input arrays for `compute_zscores` and the errors of a chunk of rows.

    A row with the wrong number of fields is an error; it is padded or cut to
    the header's width so that the output columns stay aligned."""
    n = len(rows)
    errors = _Errors(n)
    if set(map(len, rows)) != {width}:
        for i, row in enumerate(rows):
            if len(row) != width:
                errors.add(i, f"expected {width} fields, found {len(row)}")
                rows[i] = (row + [""] * width)[:width]
    columns = list(zip(*rows))
    empty = ("",) * n

    def column(i: int | None) -> tuple[str, ...]:
        return empty if i is None else columns[i]

    inputs = {
        "sex": np.array(_coded(column(c.sex), parse_sex, errors)),
        "age_days": _age_days(columns, c, n, errors),
        "weight_kg": _numbers(column(c.weight_kg), "weight_kg", errors),
        "lenhei_cm": _numbers(column(c.lenhei_cm), "lenhei_cm", errors),
        "measure": np.array(_coded(column(c.measure), parse_measure, errors), dtype=np.int8),
        "oedema": np.array(_coded(column(c.oedema), parse_oedema, errors), dtype=bool),
        "muac_cm": _numbers(column(c.muac_cm), "muac_cm", errors),
    }
    return inputs, errors


# --- Formatting, column by column ------------------------------------------------

_Z_TEXT_LIMIT = 10_000  # hundredths: |z| < 100 comes from the table below
_Z_TEXT = np.array(
    [f"{h / 100:.2f}" for h in range(-_Z_TEXT_LIMIT, _Z_TEXT_LIMIT + 1)] + [""], dtype=object
)
_FLAG_TEXT = np.array(["0", "1", ""], dtype=object)


def _z_text(z: np.ndarray) -> list[str]:
    """'%.2f' of rounded z-scores ('' for NaN), by table look-up."""
    with np.errstate(invalid="ignore"):
        hundredths = np.rint(z * 100.0)
        in_table = np.abs(hundredths) <= _Z_TEXT_LIMIT
    index = np.where(in_table, hundredths + _Z_TEXT_LIMIT, _Z_TEXT.size - 1).astype(np.intp)
    text = _Z_TEXT[index]
    for i in np.flatnonzero(~in_table & ~np.isnan(z)):
        text[i] = f"{z[i]:.2f}"
    return text.tolist()


def _flag_text(values: np.ndarray) -> list[str]:
    """0/1 values as '0'/'1' ('' for NaN)."""
    index = np.nan_to_num(np.asarray(values, dtype=float), nan=2.0).astype(np.intp)
    return _FLAG_TEXT[index].tolist()


def _format_chunk(inputs: dict, failed: np.ndarray) -> dict[str, list[str]]:
    """Compute and format the output columns of a chunk; empty for failed rows."""
    z = compute_zscores(**inputs)
    status = nutrition_status_arrays(z, inputs["oedema"], inputs["age_days"])
    numbers = {name: getattr(z, name) for name in OUTPUT_COLUMNS if name in z._fields}
    numbers |= {name: status[name] for name in BOOLEAN_COLUMNS}
    text: dict[str, list[str]] = {}
    for name, values in numbers.items():
        values = values.astype(float)
        values[failed] = np.nan
        if name == "clenhei":
            text[name] = ["" if math.isnan(v) else format(v, ".15g") for v in values.tolist()]
        elif name in ZSCORE_COLUMNS:
            text[name] = _z_text(values)
        else:
            text[name] = _flag_text(values)
    for name in (*CATEGORY_COLUMNS, "age_group"):
        values = status[name]
        values[failed | (values == None)] = ""  # noqa: E711 - numpy elementwise test
        text[name] = values.tolist()
    return text


# --- The run ---------------------------------------------------------------------


def _chunks(reader) -> Iterator[tuple[list[list[str]], list[int]]]:
    """Chunks of non-blank rows with the line number where each row ends."""
    while True:
        rows, lines = [], []
        for row in itertools.islice(reader, CHUNK_ROWS):
            if row:
                rows.append(row)
                lines.append(reader.line_num)
        if not rows:
            return
        yield rows, lines


def sniff_delimiter(header_line: str) -> str:
    """The delimiter among , ; TAB that splits the header into the most fields
    (spreadsheets in an Indonesian locale export with ';')."""
    return max(DELIMITERS, key=header_line.count)


def zscore_csv(source: TextIO, target: TextIO, progress: TextIO | None = None) -> BatchReport:
    """Read children from `source`, write them with z-scores and categories to
    `target` (same delimiter), report progress to `progress` if given.
    Raises BatchInputError when the header is unusable."""
    header_line = source.readline()
    if not header_line.strip():
        raise BatchInputError("the input is empty")
    delimiter = sniff_delimiter(header_line)
    reader = csv.reader(itertools.chain([header_line], source), delimiter=delimiter)
    header = next(reader)
    columns = _Columns.from_header(header)
    added = [name for name in OUTPUT_COLUMNS if name not in header]
    target.write(_row_texts([header + added], delimiter)[0] + "\n")

    report = BatchReport()
    for rows, lines in _chunks(reader):
        inputs, errors = _parse_chunk(rows, len(header), columns)
        results = _format_chunk(inputs, errors.failed())
        results["error"] = errors.reasons
        report.errors += [RowError(line, e) for line, e in zip(lines, errors.reasons) if e]
        target.write(_output_text(rows, results, header, added, delimiter))
        report.rows += len(rows)
        if progress is not None:
            progress.write(f"\rzscore: {report.rows:,} rows")
            progress.flush()
    if progress is not None:
        progress.write("\n")
    return report


_NEEDS_QUOTES = re.compile(r'["\r\n]')


def _row_texts(rows: list[list[str]], delimiter: str) -> list[str]:
    """Each row as a CSV line (without the line break). A row whose fields need
    no quoting (no delimiter, quote or line break inside a field) is simply
    joined, several times faster than `csv.writer`, which does the others."""
    special = io.StringIO()
    writer = csv.writer(special, delimiter=delimiter, lineterminator="\n")
    texts = []
    for row in rows:
        line = delimiter.join(row)
        if line.count(delimiter) != len(row) - 1 or _NEEDS_QUOTES.search(line):
            writer.writerow(row)
            line = special.getvalue()[:-1]
            special.seek(0)
            special.truncate()
        texts.append(line)
    return texts


def _output_text(
    rows: list[list[str]],
    results: dict[str, list[str]],
    header: list[str],
    added: list[str],
    delimiter: str,
) -> str:
    """The chunk's output lines: each input row, with output columns already in
    the input overwritten, followed by the new columns."""
    for position, name in enumerate(header):
        if name in results:
            for row, value in zip(rows, results[name]):
                row[position] = value
    row_texts = _row_texts(rows, delimiter)
    if not added:
        return "".join(text + "\n" for text in row_texts)
    # Only `error` of the new columns can contain a delimiter or a quote.
    new_columns = [
        [e and _row_texts([[e]], delimiter)[0] for e in results[name]]
        if name == "error"
        else results[name]
        for name in added
    ]
    new_texts = map(delimiter.join, zip(*new_columns))
    return "".join(f"{row}{delimiter}{new}\n" for row, new in zip(row_texts, new_texts))
