"""The three field XLSForms and their build (clients/kobo_forms, cli/forms.py).

The field names, types, choice values, pick-list columns and instance paths checked
here are a public contract: analysts, partner agencies, the server's submission
flattening and the phone simulator depend on them.
"""

from __future__ import annotations

import argparse
import csv
import re
import shutil
from functools import cache

import pytest
from lxml import etree

from clients.kobo_forms import build as forms_build
from clients.kobo_forms.build import (
    FORM_IDS,
    FORM_MEDIA,
    MEDIA_COLUMNS,
    BuiltForm,
    FormBuildError,
    build_all,
    build_xform,
    build_xform_from_source,
    build_xlsx,
    parse_markdown,
)
from indicators.sanitation import SANITATION_CHOICES

NS = {
    "xf": "http://www.w3.org/2002/xforms",
    "h": "http://www.w3.org/1999/xhtml",
    "jr": "http://openrosa.org/javarosa",
}
JR_CONSTRAINT_MSG = "{http://openrosa.org/javarosa}constraintMsg"
ID_LANG = "Bahasa Indonesia (id)"
EN_LANG = "English (en)"

# field -> XForm bind type
CONTRACT_TYPES: dict[str, dict[str, str]] = {
    "anthropometry": {
        "child_id": "string",
        "child_nik": "string",
        "child_name": "string",
        "child_sex": "string",
        "child_birth_date": "date",
        "mother_name": "string",
        "mother_nik": "string",
        "household_kk": "string",
        "kelurahan_code": "string",
        "posyandu_id": "int",
        "measured_on": "date",
        "weight_kg": "decimal",
        "length_height_cm": "decimal",
        "measure_method": "string",
        "muac_cm": "decimal",
        "oedema": "string",
        "age_days": "string",
        "age_months": "string",
        "gps": "geopoint",
        "growth_card_photo": "binary",
        "notes": "string",
    },
    "pregnancy_screening": {
        "woman_id": "string",
        "woman_nik": "string",
        "woman_name": "string",
        "woman_birth_date": "date",
        "household_kk": "string",
        "kelurahan_code": "string",
        "posyandu_id": "int",
        "screened_on": "date",
        "pregnant": "string",
        "gestational_age_weeks": "int",
        "muac_cm": "decimal",
        "hb_g_dl": "decimal",
        "height_cm": "decimal",
        "weight_kg": "decimal",
        "gps": "geopoint",
        "kia_book_photo": "binary",
        "notes": "string",
    },
    "sanitation_check": {
        "household_id": "string",
        "household_kk": "string",
        "head_name": "string",
        "kelurahan_code": "string",
        "checked_on": "date",
        "latrine_access": "string",
        "latrine_type": "string",
        "waste_disposal": "string",
        "handwashing_soap": "string",
        "drinking_water_source": "string",
        "water_treated": "string",
        "waste_bin": "string",
        "wastewater_drain": "string",
        "gps": "geopoint",
        "latrine_photo": "binary",
        "notes": "string",
    },
}

# select field -> exact choice values, in order
CONTRACT_CHOICES: dict[str, dict[str, list[str]]] = {
    "anthropometry": {
        "child_sex": ["male", "female"],
        "measure_method": ["lying", "standing"],
        "oedema": ["yes", "no"],
    },
    "pregnancy_screening": {
        "pregnant": ["yes", "no"],
    },
    "sanitation_check": {
        "latrine_access": ["own", "shared", "communal", "none"],
        "latrine_type": ["gooseneck", "plengsengan", "cemplung", "none"],
        "waste_disposal": [
            "septic_tank",
            "ipal",
            "lined_pit",
            "unlined_pit",
            "river_or_open",
            "none",
        ],
        "handwashing_soap": ["yes", "no"],
        "drinking_water_source": [
            "piped",
            "bottled_refill",
            "borehole",
            "protected_well",
            "protected_spring",
            "unprotected_well",
            "unprotected_spring",
            "surface_water",
            "rain",
        ],
        "water_treated": ["boiled", "filtered", "none"],
        "waste_bin": ["yes", "no"],
        "wastewater_drain": ["closed_drain", "open_drain", "none"],
    },
}

# Primary instance paths the phone simulator fills (root element is /data).
INSTANCE_PATHS: dict[str, dict[str, str]] = {
    "anthropometry": {
        **{
            f: f"/data/grp_child/{f}"
            for f in (
                "is_new_child",
                "child_pick",
                "child_id",
                "child_nik",
                "child_name",
                "child_sex",
                "child_birth_date",
                "mother_name",
                "mother_nik",
                "household_kk",
                "kelurahan_code",
                "posyandu_id",
            )
        },
        **{
            f: f"/data/grp_measure/{f}"
            for f in (
                "measured_on",
                "age_days",
                "age_months",
                "weight_kg",
                "measure_method",
                "length_height_cm",
                "muac_cm",
                "oedema",
            )
        },
        **{f: f"/data/grp_extra/{f}" for f in ("gps", "growth_card_photo", "notes")},
        "instanceID": "/data/meta/instanceID",
        "instanceName": "/data/meta/instanceName",
    },
    "pregnancy_screening": {
        **{
            f: f"/data/grp_woman/{f}"
            for f in (
                "is_new_woman",
                "woman_pick",
                "woman_id",
                "woman_nik",
                "woman_name",
                "woman_birth_date",
                "household_kk",
                "kelurahan_code",
                "posyandu_id",
            )
        },
        **{
            f: f"/data/grp_screen/{f}"
            for f in (
                "screened_on",
                "pregnant",
                "gestational_age_weeks",
                "muac_cm",
                "hb_g_dl",
                "height_cm",
                "weight_kg",
            )
        },
        **{f: f"/data/grp_extra/{f}" for f in ("gps", "kia_book_photo", "notes")},
        "instanceID": "/data/meta/instanceID",
    },
    "sanitation_check": {
        **{
            f: f"/data/grp_household/{f}"
            for f in (
                "is_new_household",
                "household_pick",
                "household_id",
                "household_kk",
                "head_name",
                "kelurahan_code",
                "address",
                "rt",
                "rw",
            )
        },
        **{
            f: f"/data/grp_sanitation/{f}"
            for f in (
                "checked_on",
                "latrine_access",
                "latrine_type",
                "waste_disposal",
                "handwashing_soap",
                "drinking_water_source",
                "water_treated",
                "waste_bin",
                "wastewater_drain",
            )
        },
        **{f: f"/data/grp_extra/{f}" for f in ("gps", "latrine_photo", "notes")},
        "instanceID": "/data/meta/instanceID",
    },
}

# numeric field -> (min, max) enforced by the constraint
RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "anthropometry": {
        "weight_kg": (0.5, 40),
        "length_height_cm": (38, 130),
        "muac_cm": (5, 40),
    },
    "pregnancy_screening": {
        "gestational_age_weeks": (1, 45),
        "muac_cm": (5, 40),
        "hb_g_dl": (3, 20),
        "height_cm": (120, 200),
    },
    "sanitation_check": {},
}

DATE_FIELDS = {
    "anthropometry": ["child_birth_date", "measured_on"],
    "pregnancy_screening": ["woman_birth_date", "screened_on"],
    "sanitation_check": ["checked_on"],
}

# pick list -> (new-path flag, the select, the registry-id field, {prefilled field: column})
PICK_LISTS = {
    "anthropometry": (
        "is_new_child",
        "child_pick",
        "child_id",
        {
            "child_nik": "nik",
            "child_name": "full_name",
            "child_sex": "sex",
            "child_birth_date": "birth_date",
            "mother_name": "mother_name",
            "mother_nik": "mother_nik",
            "household_kk": "household_kk",
            "kelurahan_code": "kelurahan_code",
            "posyandu_id": "posyandu_id",
        },
    ),
    "pregnancy_screening": (
        "is_new_woman",
        "woman_pick",
        "woman_id",
        {
            "woman_nik": "nik",
            "woman_name": "full_name",
            "woman_birth_date": "birth_date",
            "household_kk": "household_kk",
            "kelurahan_code": "kelurahan_code",
            "posyandu_id": "posyandu_id",
        },
    ),
    "sanitation_check": (
        "is_new_household",
        "household_pick",
        "household_id",
        {
            "household_kk": "kk",
            "head_name": "head_name",
            "kelurahan_code": "kelurahan_code",
            "address": "address",
            "rt": "rt",
            "rw": "rw",
        },
    ),
}

MINIMAL_MD = """\
| survey | type | name | label::Bahasa Indonesia (id) | label::English (en) |
|---|---|---|---|---|
| | integer | age | Umur | Age |
| settings | form_id | version | default_language |
|---|---|---|---|
| | probe | 1 | Bahasa Indonesia (id) |
"""


# --------------------------------------------------------------------------- helpers


@cache
def built(form_id: str) -> BuiltForm:
    return build_xform(form_id)


@cache
def doc(form_id: str) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(built(form_id).xml, parser)


@cache
def paths(form_id: str) -> dict[str, str]:
    return built(form_id).field_paths()


def bind(form_id: str, field: str) -> etree._Element:
    path = paths(form_id)[field]
    found = doc(form_id).findall(f".//xf:bind[@nodeset='{path}']", NS)
    assert len(found) == 1, f"{form_id}: expected one bind for {path}, got {len(found)}"
    return found[0]


def control(form_id: str, field: str) -> etree._Element:
    path = paths(form_id)[field]
    setvalue = f"{{{NS['xf']}}}setvalue"
    found = [
        el
        for el in doc(form_id).find("h:body", NS).iter()
        if el.get("ref") == path and el.tag != setvalue
    ]
    assert len(found) == 1, f"{form_id}: expected one body control for {path}"
    return found[0]


def itext(form_id: str, text_id: str) -> dict[str, str]:
    """lang -> text of one itext entry."""
    out = {}
    for tr in doc(form_id).iterfind(".//xf:itext/xf:translation", NS):
        for text in tr.iterfind("xf:text", NS):
            if text.get("id") == text_id:
                value = text.find("xf:value", NS)
                out[tr.get("lang")] = "".join(value.itertext()).strip()
    return out


def itext_ref(attr: str) -> str:
    m = re.fullmatch(r"jr:itext\('([^']+)'\)", attr)
    assert m, attr
    return m.group(1)


def choice_values(form_id: str, field: str) -> list[str]:
    itemset = control(form_id, field).find("xf:itemset", NS)
    m = re.match(r"instance\('([^']+)'\)", itemset.get("nodeset"))
    instance = doc(form_id).find(f".//xf:model/xf:instance[@id='{m.group(1)}']", NS)
    return [item.findtext("xf:name", namespaces=NS) for item in instance.iterfind(".//xf:item", NS)]


def bounds(constraint: str) -> tuple[float | None, float | None]:
    lo = re.search(r"\.\s*>=\s*([0-9.]+)", constraint)
    hi = re.search(r"\.\s*<=\s*([0-9.]+)", constraint)
    return (float(lo.group(1)) if lo else None, float(hi.group(1)) if hi else None)


def run_cli(argv: list[str]) -> int:
    from cli import forms as forms_cli

    parser = argparse.ArgumentParser(prog="posyandu-sync")
    forms_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


# --------------------------------------------------------------------------- builds


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_form_builds_with_its_settings(form_id):
    # build_xform itself fails on any pyxform warning (see test_bad_source_fails_the_build)
    form = built(form_id)
    assert form.form_id == form_id
    settings = forms_build.read_settings(form_id)
    assert form.version == settings["version"]
    assert re.fullmatch(r"\d{10}", form.version)
    assert form.title == settings["form_title"]
    assert settings["default_language"] == ID_LANG


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_contract_fields_have_the_right_types(form_id):
    for field, xform_type in CONTRACT_TYPES[form_id].items():
        assert bind(form_id, field).get("type") == xform_type, field
    assert bind(form_id, "instanceID").get("{http://openrosa.org/javarosa}preload") == "uid"
    assert bind(form_id, "instanceName").get("calculate")


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_instance_paths_are_stable(form_id):
    got = paths(form_id)
    for field, path in INSTANCE_PATHS[form_id].items():
        assert got.get(field) == path, field


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_choice_values_are_exactly_the_contract(form_id):
    for field, values in CONTRACT_CHOICES[form_id].items():
        assert control(form_id, field).tag == f"{{{NS['xf']}}}select1", field
        assert choice_values(form_id, field) == values, field


def test_sanitation_contract_is_what_the_indicators_package_reads():
    # the form's choices are pinned to CONTRACT_CHOICES above; indicators must agree
    assert CONTRACT_CHOICES["sanitation_check"] == SANITATION_CHOICES


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_bilingual_with_indonesian_default(form_id):
    translations = doc(form_id).findall(".//xf:itext/xf:translation", NS)
    langs = {tr.get("lang"): tr.get("default") for tr in translations}
    assert set(langs) == {ID_LANG, EN_LANG}
    assert langs[ID_LANG] == "true()"
    ids = [{t.get("id") for t in tr.iterfind("xf:text", NS)} for tr in translations]
    assert ids[0] == ids[1]


# --------------------------------------------------------------------------- constraints


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_numeric_ranges_with_bilingual_messages(form_id):
    for field, (lo, hi) in RANGES[form_id].items():
        b = bind(form_id, field)
        assert bounds(b.get("constraint", "")) == (lo, hi), field
        messages = itext(form_id, itext_ref(b.get(JR_CONSTRAINT_MSG)))
        assert set(messages) == {ID_LANG, EN_LANG}, field
        assert messages[ID_LANG] and messages[ID_LANG] != messages[EN_LANG], field


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_dates_not_in_the_future(form_id):
    for field in DATE_FIELDS[form_id]:
        b = bind(form_id, field)
        assert ". <= today()" in b.get("constraint", ""), field
        messages = itext(form_id, itext_ref(b.get(JR_CONSTRAINT_MSG)))
        assert "hari ini" in messages[ID_LANG] and "today" in messages[EN_LANG], field


@pytest.mark.parametrize(
    ("form_id", "event", "birth"),
    [
        ("anthropometry", "measured_on", "child_birth_date"),
        ("pregnancy_screening", "screened_on", "woman_birth_date"),
    ],
)
def test_birth_date_not_after_the_visit(form_id, event, birth):
    constraint = bind(form_id, event).get("constraint")
    assert f". >=  {paths(form_id)[birth]}" in constraint


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_identity_formats(form_id):
    kel = bind(form_id, "kelurahan_code")
    assert kel.get("constraint") == r"regex(., '^\d{2}\.\d{2}\.\d{2}\.\d{4}$')"
    assert bind(form_id, "household_kk").get("constraint") == "regex(., '^[0-9]{16}$')"
    for field in ("child_nik", "mother_nik", "woman_nik"):
        if field in paths(form_id):
            assert bind(form_id, field).get("constraint") == "regex(., '^[0-9]{16}$')"


def test_kelurahan_regex_accepts_kemendagri_codes():
    constraint = bind("anthropometry", "kelurahan_code").get("constraint")
    pattern = re.compile(re.fullmatch(r"regex\(\., '(.+)'\)", constraint).group(1))
    assert pattern.match("33.75.01.1002")
    for bad in ("3375011002", "33.75.1.1002", "33.75.01.1002 ", "33.75.01.100"):
        assert not pattern.match(bad)


def test_anthropometry_calculates_age():
    days = bind("anthropometry", "age_days").get("calculate")
    months = bind("anthropometry", "age_months").get("calculate")
    assert "decimal-date-time( /data/grp_measure/measured_on )" in days
    assert "decimal-date-time( /data/grp_child/child_birth_date )" in days
    assert "/data/grp_measure/age_days" in months and "30.4375" in months


def test_gestational_age_only_when_pregnant():
    b = bind("pregnancy_screening", "gestational_age_weeks")
    assert b.get("relevant") == " /data/grp_screen/pregnant  = 'yes'"
    assert b.get("required") == "true()"


def test_latrine_type_consistent_with_access():
    b = bind("sanitation_check", "latrine_type")
    assert "latrine_access" in b.get("constraint")
    itemset = control("sanitation_check", "latrine_type").find("xf:itemset", NS)
    assert "latrine_access" in itemset.get("nodeset")


# --------------------------------------------------------------------------- pick lists


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_media_match_media_columns(form_id):
    form = built(form_id)
    assert form.media == FORM_MEDIA[form_id]
    for name in form.media:
        assert name in MEDIA_COLUMNS
        src = f"jr://file-csv/{name}"
        inst = doc(form_id).find(f".//xf:model/xf:instance[@src='{src}']", NS)
        assert inst is not None and inst.get("id") == name.removesuffix(".csv")


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_pick_list_prefills_identity(form_id):
    new_flag, pick, id_field, prefill = PICK_LISTS[form_id]
    (media,) = [name for name in FORM_MEDIA[form_id] if name != "context.csv"]
    instance_id = media.removesuffix(".csv")
    p = paths(form_id)

    # the registry id is a calculate: the picked id, or empty on the new-person path
    assert bind(form_id, id_field).get("calculate") == (
        f"if( {p[new_flag]}  = 'no',  {p[pick]} , '')"
    )
    picker = control(form_id, pick)
    assert picker.find("xf:itemset", NS).get("nodeset") == f"instance('{instance_id}')/root/item"
    assert picker.find("xf:itemset/xf:value", NS).get("ref") == "name"
    assert picker.find("xf:itemset/xf:label", NS).get("ref") == "label"
    assert bind(form_id, pick).get("relevant") == f" {p[new_flag]}  = 'no'"

    used_columns = {"name", "label"}
    for trigger in (pick, new_flag):
        setvalues = {
            sv.get("ref"): sv.get("value")
            for sv in control(form_id, trigger).iterfind("xf:setvalue", NS)
            if sv.get("event") == "xforms-value-changed"
        }
        for field, column in prefill.items():
            value = setvalues[p[field]]
            assert f"instance('{instance_id}')/root/item[name =  {p[pick]} ]/{column}" in value
            used_columns.add(column)
    assert used_columns == set(MEDIA_COLUMNS[media])


def test_media_templates_have_exactly_the_columns():
    for name, columns in MEDIA_COLUMNS.items():
        with forms_build.media_template_path(name).open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        assert rows[0] == columns
        assert all(len(r) == len(columns) for r in rows[1:])
    assert {n for fs in FORM_MEDIA.values() for n in fs} == set(MEDIA_COLUMNS)
    assert all("context.csv" in names for names in FORM_MEDIA.values())


# --------------------------------------------------------------------------- sources


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_markdown_source_parses_into_sheets(form_id):
    sheets = forms_build.read_sheets(form_id)
    assert list(sheets) == ["survey", "choices", "entities", "settings"]
    header = sheets["survey"][0]
    assert header[:2] == ["type", "name"]
    for kind in ("label", "hint", "constraint_message", "required_message"):
        if f"{kind}::{ID_LANG}" in header:
            assert f"{kind}::{EN_LANG}" in header
    names = [row[1] for row in sheets["survey"][1:] if row[0] != "end_group"]
    assert len(names) == len(set(names))


def test_parse_markdown_follows_pyxform_rules():
    text = (
        "# A comment, and prose that pyxform skips.\n"
        "| survey | type | name | label |\n"
        "|---|---|---|---|\n"
        r"| | note | n | a \| b |"
        "\n"
        "| | | | |\n"
        "| settings | form_id |\n"
        "| | x |\n"
    )
    assert parse_markdown(text) == {
        "survey": [["type", "name", "label"], ["note", "n", "a | b"]],
        "settings": [["form_id"], ["x"]],
    }


# --------------------------------------------------------------------------- outputs


def test_build_all_and_xlsx_round_trip(tmp_path):
    forms = build_all(tmp_path)
    assert [f.form_id for f in forms] == list(FORM_IDS)
    for form in forms:
        xml_path = tmp_path / f"{form.form_id}.xml"
        xlsx_path = tmp_path / f"{form.form_id}.xlsx"
        assert xml_path.read_bytes() == form.xml
        # The .xlsx for KoboToolbox has no ODK entities (Kobo serves plain pick lists) ...
        kobo = build_xform_from_source(xlsx_path, expected_form_id=form.form_id)
        assert b"entities-version" not in kobo.xml and b"entities-version" in form.xml
        assert kobo.media == form.media
        # ... and the same sources with them are the same XForm.
        full = build_xlsx(form.form_id, tmp_path / f"{form.form_id}-odk.xlsx", entities=True)
        again = build_xform_from_source(full, expected_form_id=form.form_id)
        assert again.xml == form.xml
        assert again.media == form.media


def test_build_xlsx_sheets(tmp_path):
    from openpyxl import load_workbook

    path = build_xlsx("sanitation_check", tmp_path / "s.xlsx")
    wb = load_workbook(path, read_only=True)
    assert wb.sheetnames == ["survey", "choices", "settings"]
    settings = list(wb["settings"].iter_rows(values_only=True))
    assert dict(zip(settings[0], settings[1], strict=False))["form_id"] == "sanitation_check"


def test_cli_writes_xml_and_xlsx(tmp_path, capsys):
    out = tmp_path / "forms"
    assert run_cli(["forms", "build", "--out", str(out)]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(f"{f}.{ext}" for f in FORM_IDS for ext in ("xml", "xlsx"))
    printed = capsys.readouterr().out
    for fid in FORM_IDS:
        assert str(out / f"{fid}.xml") in printed
        assert str(out / f"{fid}.xlsx") in printed


def test_cli_default_out_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli(["forms", "build", "--form", "pregnancy_screening"]) == 0
    assert sorted(p.name for p in (tmp_path / "build" / "forms").iterdir()) == [
        "pregnancy_screening.xlsx",
        "pregnancy_screening.xml",
    ]


def test_cli_fails_with_the_pyxform_message(tmp_path, monkeypatch, capsys):
    broken = MINIMAL_MD.replace("| integer |", "| integr |").replace("probe", "anthropometry")
    src = tmp_path / "src"
    src.mkdir()
    for fid in FORM_IDS:
        shutil.copy(forms_build.source_path(fid), src / f"{fid}.md")
    (src / "anthropometry.md").write_text(broken, encoding="utf-8")
    monkeypatch.setattr(forms_build, "FORMS_DIR", src)
    out = tmp_path / "out"
    assert run_cli(["forms", "build", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "anthropometry" in err and "integr" in err
    assert not out.exists()


# --------------------------------------------------------------------------- failures


def test_minimal_source_builds():
    form = build_xform_from_source(MINIMAL_MD, expected_form_id="probe")
    assert form.form_id == "probe" and form.version == "1"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        # pyxform error: unknown question type
        (MINIMAL_MD.replace("| integer |", "| integr |"), "integr"),
        # pyxform warning: a language without a machine-readable code
        (MINIMAL_MD.replace("English (en)", "English"), "pyxform warning"),
        # pyxform warning: deprecated metadata
        (
            MINIMAL_MD.replace(
                "| | integer | age |", "| | simserial | sim | | |\n| | integer | age |"
            ),
            "pyxform warning",
        ),
        # server rule: leaf names unique across groups
        (
            MINIMAL_MD.replace(
                "| | integer | age | Umur | Age |",
                "| | begin_group | g | G | G |\n| | integer | age | Umur | Age |\n"
                "| | end_group | g | | |\n| | integer | age2 | Umur | Age |\n"
                "| | begin_group | h | H | H |\n| | text | age | Umur | Age |\n"
                "| | end_group | h | | |",
            ),
            "unique",
        ),
        # server rule: form_id must match
        (MINIMAL_MD.replace("| | probe |", "| | other |"), "expected 'probe'"),
        # server rule: a version is required
        (MINIMAL_MD.replace("| | probe | 1 |", "| | probe | |"), "no version"),
        # markdown lint: more cells than the header
        (MINIMAL_MD.replace("| Umur | Age |", "| Umur | Age | extra |"), "header has"),
        # pick-list column the server does not generate
        (
            MINIMAL_MD.replace(
                "| label::English (en) |", "| label::English (en) | calculation |"
            ).replace(
                "| | integer | age | Umur | Age |",
                "| | select_one_from_file children.csv | c | Anak | Child | |\n"
                "| | calculate | shoe | | | instance('children')/root/item[name = ${c}]/shoe_size |",
            ),
            "shoe_size",
        ),
    ],
)
def test_bad_source_fails_the_build(source, message):
    with pytest.raises(FormBuildError) as exc:
        build_xform_from_source(source, expected_form_id="probe")
    assert message in str(exc.value)


def test_unknown_form_id():
    with pytest.raises(ValueError, match="unknown form"):
        build_xform("growth")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None, reason="ODK Validate needs java")
@pytest.mark.parametrize("form_id", FORM_IDS)
def test_odk_validate_accepts_the_forms(form_id):
    assert build_xform(form_id, validate=True).xml == built(form_id).xml


# --------------------------------------------------------------------------- context.csv

_CONTEXT_ROW = {"posyandu_id": "7", "posyandu_name": "Melati 1",
                "kelurahan_code": "33.75.01.1002", "kelurahan_name": "Medono"}


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_the_place_comes_from_context_csv_read_only_when_known(form_id):
    from tests.xform_eval import FormEval

    new_flag = PICK_LISTS[form_id][0]
    (pick_list,) = [name for name in FORM_MEDIA[form_id] if name != "context.csv"]
    place = [f for f in ("kelurahan_code", "posyandu_id") if f in paths(form_id)]
    form = FormEval(built(form_id).xml, {"context.csv": [_CONTEXT_ROW], pick_list: []})
    for name in place:  # already when the form opens (a dynamic default) ...
        assert form.value(name) == _CONTEXT_ROW[name]
        assert form.is_readonly(name)
    form.answer(new_flag, "yes")  # ... and after the new-person answer
    assert [form.value(name) for name in place] == [_CONTEXT_ROW[name] for name in place]

    # a header-only context.csv (a KoboToolbox upload): empty, and the kader types them
    form = FormEval(built(form_id).xml, {"context.csv": [], pick_list: []})
    form.answer(new_flag, "yes")
    for name in place:
        assert form.value(name) == "" and not form.is_readonly(name)
