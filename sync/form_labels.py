"""A submission's answers as the form asked them: each field's label and each choice's
label from the published XForm (itext in Bahasa Indonesia and English), not raw XML.

Pure apart from parsing: XForm bytes and submission bytes in, rows out. The XForm is
our own published form; the submission is parsed by sync.submission_xml (no DTD, no
entities)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache

from lxml import etree

from sync.fields import flatten_answers
from sync.submission_xml import safe_parse

_XF = "http://www.w3.org/2002/xforms"
_H = "http://www.w3.org/1999/xhtml"
_ITEXT = re.compile(r"jr:itext\(\s*'([^']+)'\s*\)")
_INSTANCE = re.compile(r"instance\(\s*'([^']+)'\s*\)")
_LANG = re.compile(r"\((\w{2,3})\)\s*$")
_CONTROLS = {"input", "select1", "select", "upload", "range", "trigger"}
_HIDDEN_FIELDS = {"instanceID", "deprecatedID", "instanceName", "deviceID"}


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


@dataclass
class FieldLabel:
    name: str
    label: dict[str, str] = field(default_factory=dict)  # language -> text
    choices: dict[str, dict[str, str]] = field(default_factory=dict)  # value -> language -> text
    group: str | None = None


@dataclass
class FormLabels:
    title: str
    fields: dict[str, FieldLabel]  # by leaf name (unique within our forms)
    groups: dict[str, dict[str, str]]  # group name -> language -> label


def _lang_code(name: str) -> str:
    found = _LANG.search(name or "")
    return found.group(1).lower() if found else (name or "default").lower()[:8]


def _texts(label, itext: dict[str, dict[str, str]]) -> dict[str, str]:
    if label is None:
        return {}
    ref = label.get("ref") or ""
    found = _ITEXT.search(ref)
    if found:
        return {lang: texts[found.group(1)] for lang, texts in itext.items()
                if found.group(1) in texts}
    text = "".join(label.itertext()).strip()
    return {"*": text} if text else {}


@lru_cache(maxsize=32)
def labels_of(xform: bytes) -> FormLabels:
    root = etree.fromstring(xform, etree.XMLParser(resolve_entities=False, no_network=True,
                                                   load_dtd=False))
    itext: dict[str, dict[str, str]] = {}
    for translation in root.iter(f"{{{_XF}}}translation"):
        lang = _lang_code(translation.get("lang", ""))
        texts = itext.setdefault(lang, {})
        for text in translation.iter(f"{{{_XF}}}text"):
            value = text.find(f"{{{_XF}}}value[@form='long']")
            if value is None:
                value = text.find(f"{{{_XF}}}value")
            if value is not None:
                texts[text.get("id")] = "".join(value.itertext()).strip()
    instances: dict[str, list[dict[str, str]]] = {}
    for instance in root.iter(f"{{{_XF}}}instance"):
        if instance.get("id") and not instance.get("src"):
            items = []
            for item in instance.iter(f"{{{_XF}}}item"):
                items.append({_local(child.tag): (child.text or "").strip() for child in item})
            instances[instance.get("id")] = items
    fields: dict[str, FieldLabel] = {}
    groups: dict[str, dict[str, str]] = {}
    body = root.find(f"{{{_H}}}body")

    def walk(element, group: str | None) -> None:
        for child in element:
            tag = _local(child.tag)
            ref = child.get("ref") or child.get("nodeset") or ""
            name = ref.rstrip("/").rsplit("/", 1)[-1]
            if tag in ("group", "repeat"):
                label = _texts(child.find(f"{{{_XF}}}label"), itext)
                if name and label:
                    groups[name] = label
                walk(child, name or group)
            elif tag in _CONTROLS and name:
                entry = FieldLabel(name, _texts(child.find(f"{{{_XF}}}label"), itext),
                                   group=group)
                for item in child.findall(f"{{{_XF}}}item"):
                    value = (item.findtext(f"{{{_XF}}}value") or "").strip()
                    entry.choices[value] = _texts(item.find(f"{{{_XF}}}label"), itext)
                itemset = child.find(f"{{{_XF}}}itemset")
                if itemset is not None:
                    source = _INSTANCE.search(itemset.get("nodeset") or "")
                    value_ref = itemset.find(f"{{{_XF}}}value")
                    label_ref = itemset.find(f"{{{_XF}}}label")
                    value_key = value_ref.get("ref") if value_ref is not None else "name"
                    label_key = _ITEXT.sub("", label_ref.get("ref") or "") if label_ref is not None else ""
                    uses_itext = label_ref is not None and "itext" in (label_ref.get("ref") or "")
                    for item in instances.get(source.group(1), []) if source else []:
                        value = item.get(value_key, "")
                        if uses_itext and item.get("itextId"):
                            key = item["itextId"]
                            entry.choices[value] = {lang: t[key] for lang, t in itext.items()
                                                    if key in t}
                        elif label_key and item.get(label_key):
                            entry.choices[value] = {"*": item[label_key]}
                fields[name] = entry

    if body is not None:
        walk(body, None)
    title = root.findtext(f"{{{_H}}}head/{{{_H}}}title") or ""
    return FormLabels(title, fields, groups)


def pick(texts: dict[str, str], lang: str) -> str | None:
    """The text in `lang`, else Bahasa Indonesia, else any."""
    for key in (lang, "id", "*"):
        if texts.get(key):
            return texts[key]
    return next(iter(texts.values()), None) if texts else None


@dataclass(frozen=True)
class AnswerRow:
    name: str
    label: str
    value: str
    shown: str  # the choice's label, or the value itself
    group: str | None


def _leaves(content: bytes, content_type: str) -> list[tuple[str, str]]:
    if content_type == "application/json":
        return list(flatten_answers(json.loads(content)).items())
    out = []
    for element in safe_parse(content).iter():
        if isinstance(element.tag, str) and not len(element):
            out.append((_local(element.tag), (element.text or "").strip()))
    return out


def answer_rows(xform: bytes | None, content: bytes, content_type: str, lang: str) -> list[AnswerRow]:
    """The submission's answers in its order, each with the form's label (the field name
    when the form does not label it, e.g. a calculated field); select answers show the
    choice's label, several for a select_multiple."""
    labels = labels_of(xform) if xform else FormLabels("", {}, {})
    rows = []
    for name, value in _leaves(content, content_type):
        if name in _HIDDEN_FIELDS:
            continue
        entry = labels.fields.get(name)
        label = (pick(entry.label, lang) if entry else None) or name
        shown = value
        if entry and entry.choices and value:
            parts = [pick(entry.choices.get(v, {}), lang) or v for v in value.split()]
            shown = ", ".join(parts)
        group = pick(labels.groups.get(entry.group, {}), lang) if entry and entry.group else None
        rows.append(AnswerRow(name, label, value, shown, group))
    return rows
