"""Build the field XLSForms into XForms (for this server) and .xlsx (for KoboToolbox).

The forms are kept in git as markdown tables (`<form_id>.md` next to this module), a
format pyxform reads directly.  This module is the only place that turns them into
deployable artefacts:

    >>> from clients.kobo_forms.build import build_xform, build_all
    >>> form = build_xform("anthropometry")        # BuiltForm(form_id, version, title, xml, media)
    >>> build_all("build/forms")                   # writes <form_id>.xml and <form_id>.xlsx

A build fails (`FormBuildError`) on any pyxform error *or warning*, and on breaches of
the rules the server relies on: the settings `form_id` matches the file, a `version` is
set, every element name in the primary instance is unique (submissions are flattened
by leaf name), and every registry pick-list column the form reads is one the server
generates (`MEDIA_COLUMNS`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

from lxml import etree

FORM_IDS: tuple[str, ...] = ("anthropometry", "pregnancy_screening", "sanitation_check")

FORMS_DIR = Path(__file__).resolve().parent
MEDIA_DIR = FORMS_DIR / "media"

#: Columns of the per-kader pick-list CSVs the server generates (and that the forms read
#: with `select_one_from_file` + `instance('<stem>')/root/item[name = ...]/<column>`).
#: `name` is the registry id stored in child_id / woman_id / household_id, `label` the
#: text shown on the phone; the rest prefill the identity questions.  Dates are ISO
#: `YYYY-MM-DD`, `sex` is `male`/`female`, `posyandu_id` is the server's integer id.
MEDIA_COLUMNS: dict[str, list[str]] = {
    "children.csv": [
        "name",
        "label",
        "nik",
        "full_name",
        "sex",
        "birth_date",
        "mother_name",
        "mother_nik",
        "household_kk",
        "kelurahan_code",
        "posyandu_id",
    ],
    "women.csv": [
        "name",
        "label",
        "nik",
        "full_name",
        "birth_date",
        "household_kk",
        "kelurahan_code",
        "posyandu_id",
    ],
    "households.csv": [
        "name",
        "label",
        "kk",
        "head_name",
        "kelurahan_code",
        "address",
        "rt",
        "rw",
    ],
    # The kader's own place, exactly one row (read with `csv-external` as
    # `instance('context')/root/item[1]/<column>`): it fills kelurahan_code and posyandu_id
    # even before the first person is registered. A value the server cannot know for
    # the caller (several posyandu, or none) is empty, and the form then asks for it.
    "context.csv": [
        "posyandu_id",
        "posyandu_name",
        "kelurahan_code",
        "kelurahan_name",
    ],
}

#: ODK offline entity lists (pyxform's `entities` sheet): the list a form creates and
#: updates, and the media file it reads it from. Collect keeps these lists on the phone
#: and adds a child registered offline at once; the server serves them as
#: `type="entityList"` media (sync.entities). The entity's properties are the form's
#: `save_to` fields, named as the pick-list columns, so the same lookups work on both.
ENTITY_LISTS: dict[str, str] = {
    "anthropometry": "children",
    "pregnancy_screening": "women",
    "sanitation_check": "households",
}
#: Columns Collect adds to an entity list itself (the form reads them for
#: baseVersion, trunkVersion and branchId); never columns of the CSV we serve, except
#: `__version`.
ENTITY_SYSTEM_COLUMNS = ("__version", "__trunkVersion", "__branchId")

#: Media files each form references (what `BuiltForm.media` will list).
FORM_MEDIA: dict[str, list[str]] = {
    "anthropometry": ["children.csv", "context.csv"],
    "pregnancy_screening": ["context.csv", "women.csv"],
    "sanitation_check": ["context.csv", "households.csv"],
}

XFORMS_NS = "http://www.w3.org/2002/xforms"
HTML_NS = "http://www.w3.org/1999/xhtml"
_NS = {"xf": XFORMS_NS, "h": HTML_NS}

# Markdown XLSForm syntax, the same rules as pyxform.xls2json_backends.
_MD_COMMENT = re.compile(r"^\s*#")
_MD_COMMENT_INLINE = re.compile(r"^(.*)(#[^|]+)$")
_MD_CELL = re.compile(r"\s*\|(.*)\|\s*")
_MD_SEPARATOR = re.compile(r"^[\|-]+$")
_MD_PIPE = re.compile(r"(?<!\\)\|")

_EXTERNAL_COLUMN = re.compile(r"instance\('([^']+)'\)/root/item\[[^\]]*\]/([A-Za-z_][\w.-]*)")
_MEDIA_SRC = re.compile(r"^jr://(?:file|file-csv|images|audio|video)/(.+)$")


class FormBuildError(Exception):
    """A form source could not be turned into a valid XForm.

    `problems` holds the individual messages (pyxform errors/warnings or rule breaches).
    """

    def __init__(self, form: str, problems: list[str]):
        self.form = form
        self.problems = list(problems)
        detail = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"form {form!r} failed to build:\n{detail}")


@dataclass(frozen=True)
class BuiltForm:
    """One built XForm, ready to serve to ODK Collect."""

    form_id: str
    version: str
    title: str
    xml: bytes
    media: list[str] = field(default_factory=list)

    def field_paths(self) -> dict[str, str]:
        """Leaf name -> absolute XPath in the primary instance (e.g. `/data/grp_child/child_id`)."""
        root = _primary_instance_root(etree.fromstring(self.xml, _safe_parser()))
        paths: dict[str, str] = {}
        base = f"/{etree.QName(root).localname}"

        def walk(el: etree._Element, prefix: str) -> None:
            for child in el:
                if not isinstance(child.tag, str):
                    continue
                path = f"{prefix}/{etree.QName(child).localname}"
                if len(child):
                    walk(child, path)
                else:
                    paths[etree.QName(child).localname] = path

        walk(root, base)
        return paths


# --------------------------------------------------------------------------- sources


def source_path(form_id: str) -> Path:
    """Path of a form's markdown source; `ValueError` for an unknown form id."""
    if form_id not in FORM_IDS:
        raise ValueError(f"unknown form {form_id!r}; expected one of {', '.join(FORM_IDS)}")
    return FORMS_DIR / f"{form_id}.md"


def media_template_path(file_name: str) -> Path:
    """The header-only CSV shipped for KoboToolbox uploads."""
    if file_name not in MEDIA_COLUMNS:
        raise ValueError(f"unknown media file {file_name!r}")
    return MEDIA_DIR / file_name


def parse_markdown(text: str) -> dict[str, list[list[str | None]]]:
    """Split a markdown XLSForm into sheets: {sheet: [header, row, ...]}.

    Follows pyxform's markdown reader: a row whose first cell is non-empty starts a
    sheet named by that cell (the rest of that row is the header), `|---|` rows and
    lines starting with `#` are skipped, `\\|` is a literal pipe, empty cells are None.
    Raises `FormBuildError` when a row has more cells than its sheet's header (pyxform
    would fail obscurely on it).
    """
    sheets: dict[str, list[list[str | None]]] = {}
    current: list[list[str | None]] | None = None
    current_name = ""
    problems: list[str] = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if _MD_COMMENT.match(line):
            continue
        inline = _MD_COMMENT_INLINE.match(line)
        if inline:
            line = inline.group(1)
        match = _MD_CELL.match(line)
        if not match:
            continue
        content = match.group(1)
        if _MD_SEPARATOR.match(content):
            continue
        cells = [_md_cell(c) for c in _MD_PIPE.split(content)]
        first, row = cells[0], cells[1:]
        if first is not None:
            current_name = first
            current = sheets.setdefault(first, [])
        if current is None or all(c is None for c in row):
            continue
        if current and len(row) > len(current[0]):
            extra = [c for c in row[len(current[0]) :] if c is not None]
            if extra:
                problems.append(
                    f"line {lineno}: sheet {current_name!r} row has {len(row)} cells but the "
                    f"header has {len(current[0])}"
                )
        current.append(row)
    if problems:
        raise FormBuildError("<markdown>", problems)
    return sheets


def _md_cell(cell: str) -> str | None:
    if not cell or cell.isspace():
        return None
    return cell.strip().replace(r"\|", "|")


def read_sheets(form_id: str) -> dict[str, list[list[str | None]]]:
    return parse_markdown(source_path(form_id).read_text(encoding="utf-8"))


def read_settings(form_id: str) -> dict[str, str]:
    """The settings sheet of a form source as {column: value}."""
    rows = read_sheets(form_id).get("settings") or []
    if len(rows) < 2:
        return {}
    return {h: v for h, v in zip(rows[0], rows[1], strict=False) if h and v is not None}


# --------------------------------------------------------------------------- building


def build_xform(form_id: str, *, validate: bool = False) -> BuiltForm:
    """Build one of `FORM_IDS` from its markdown source.

    `validate=True` also runs ODK Validate (JavaRosa; needs `java` on PATH).
    Raises `FormBuildError` on any pyxform error or warning, or a broken server rule.
    """
    path = source_path(form_id)
    return build_xform_from_source(path, expected_form_id=form_id, validate=validate)


def build_xform_from_source(
    source: str | bytes | PathLike[str],
    *,
    file_type: str | None = None,
    expected_form_id: str | None = None,
    validate: bool = False,
) -> BuiltForm:
    """Build an XForm from any XLSForm pyxform reads.

    `source` is a path (`.md`, `.xlsx`, `.csv` ...) or the markdown text/bytes itself
    (then `file_type` defaults to `.md`).
    """
    from pyxform.xls2xform import convert  # imported lazily: pyxform is slow to import

    label: str
    data: str | bytes
    if isinstance(source, PathLike):
        path = Path(source)
        label = path.name
        data = str(path)
        if path.suffix == ".md":  # lint the markdown the way build_xlsx will read it
            parse_markdown(path.read_text(encoding="utf-8"))
    else:
        label = expected_form_id or "<source>"
        data = source
        file_type = file_type or ".md"
        if file_type == ".md":
            text = source.decode("utf-8") if isinstance(source, bytes) else source
            parse_markdown(text)
            data = text.encode("utf-8")

    warnings: list[str] = []
    try:
        result = convert(
            xlsform=data,
            warnings=warnings,
            validate=validate,
            pretty_print=True,
            file_type=file_type,
        )
    except Exception as exc:  # pyxform raises PyXFormError, ODKValidateError, and worse
        raise FormBuildError(label, [*warnings, f"{type(exc).__name__}: {exc}"]) from exc
    if warnings:
        raise FormBuildError(label, [f"pyxform warning: {w}" for w in warnings])

    xml = result.xform.encode("utf-8")
    doc = etree.fromstring(xml, _safe_parser())
    built = _describe(xml, doc)
    _check_rules(label, built, doc, expected_form_id)
    return built


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _primary_instance_root(doc: etree._Element) -> etree._Element:
    for inst in doc.iterfind(".//xf:model/xf:instance", _NS):
        if inst.get("id") is None:
            for child in inst:
                if isinstance(child.tag, str):
                    return child
    raise ValueError("XForm has no primary instance")


def _describe(xml: bytes, doc: etree._Element) -> BuiltForm:
    root = _primary_instance_root(doc)
    title = doc.findtext("h:head/h:title", default="", namespaces=_NS)
    sources = [inst.get("src", "") for inst in doc.iterfind(".//xf:model/xf:instance[@src]", _NS)]
    sources += [(v.text or "").strip() for v in doc.iterfind(".//xf:itext//xf:value[@form]", _NS)]
    media = {m.group(1) for src in sources if (m := _MEDIA_SRC.match(src))}
    return BuiltForm(
        form_id=root.get("id", ""),
        version=root.get("version", ""),
        title=title,
        xml=xml,
        media=sorted(media),
    )


def _check_rules(
    label: str, built: BuiltForm, doc: etree._Element, expected_form_id: str | None
) -> None:
    problems: list[str] = []
    if expected_form_id is not None and built.form_id != expected_form_id:
        problems.append(f"settings form_id is {built.form_id!r}, expected {expected_form_id!r}")
    if not built.version:
        problems.append("settings has no version")

    root = _primary_instance_root(doc)
    seen = Counter(
        etree.QName(el).localname for el in root.iterdescendants() if isinstance(el.tag, str)
    )
    dupes = sorted(n for n, c in seen.items() if c > 1)
    if dupes:
        problems.append(
            "element names must be unique across the form (submissions are flattened by "
            f"leaf name): {', '.join(dupes)}"
        )

    external = {
        inst.get("id"): _MEDIA_SRC.match(inst.get("src", ""))
        for inst in doc.iterfind(".//xf:model/xf:instance[@src]", _NS)
    }
    for file_name in built.media:
        if file_name.endswith(".csv") and file_name not in MEDIA_COLUMNS:
            problems.append(f"media file {file_name!r} is not one the server generates")
    text = built.xml.decode("utf-8")
    for inst_id, column in sorted(set(_EXTERNAL_COLUMN.findall(text))):
        m = external.get(inst_id)
        if not m:
            continue
        columns = MEDIA_COLUMNS.get(m.group(1))
        if column in ENTITY_SYSTEM_COLUMNS and inst_id in ENTITY_LISTS.values():
            continue
        if columns is not None and column not in columns:
            problems.append(f"column {column!r} is not in MEDIA_COLUMNS[{m.group(1)!r}]")
    if problems:
        raise FormBuildError(label, problems)


# --------------------------------------------------------------------------- outputs


def build_xlsx(form_id: str, path: str | PathLike[str], *, entities: bool = False) -> Path:
    """Write the form as an .xlsx XLSForm (for KoboToolbox) from the same source sheets.

    KoboToolbox does not serve ODK entity lists, so by default the `entities` sheet and
    the `save_to` column are left out: the Kobo form reads the plain CSV pick lists, as
    before. `entities=True` keeps them (for ODK Central)."""
    sheets = read_sheets(form_id)
    if not entities:
        sheets = without_entities(sheets)
    return write_xlsx(sheets, path)


def without_entities(sheets: dict[str, list[list[str | None]]]) -> dict[str, list[list[str | None]]]:
    """The sheets without the entities sheet and the survey's save_to column."""
    out = {name: rows for name, rows in sheets.items() if name != "entities"}
    survey = out.get("survey")
    if survey and "save_to" in survey[0]:
        i = survey[0].index("save_to")
        out["survey"] = [row[:i] + row[i + 1:] for row in survey]
    return out


def write_xlsx(sheets: dict[str, list[list[str | None]]], path: str | PathLike[str]) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    out = Path(path)
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    for name, rows in sheets.items():
        ws = wb.create_sheet(title=name[:31])
        widths: dict[int, int] = {}
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                cell = ws.cell(row=r, column=c, value=value)
                if value.startswith("="):  # keep XPath-ish text a string, never a formula
                    cell.data_type = "s"
                if r == 1:
                    cell.font = bold
                widths[c] = max(widths.get(c, 0), len(value))
        ws.freeze_panes = "A2"
        for c, width in widths.items():
            ws.column_dimensions[get_column_letter(c)].width = min(max(width + 2, 8), 60)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


def build_all(
    out_dir: str | PathLike[str],
    form_ids: tuple[str, ...] | list[str] | None = None,
    *,
    validate: bool = False,
) -> list[BuiltForm]:
    """Build every form (or `form_ids`), writing `<form_id>.xml` and `<form_id>.xlsx`.

    All forms are built before anything is written, so a failure leaves `out_dir` alone.
    """
    ids = tuple(form_ids) if form_ids else FORM_IDS
    built = [build_xform(fid, validate=validate) for fid in ids]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for form in built:
        (out / f"{form.form_id}.xml").write_bytes(form.xml)
        build_xlsx(form.form_id, out / f"{form.form_id}.xlsx")
    return built
