"""Parsing OpenRosa submission XML safely. Pure: bytes in, data out.

Hostile input is refused before lxml sees it: any DTD (and so any entity declaration)
is rejected, and the parser itself never resolves entities, loads DTDs or touches the
network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from core.errors import InvalidInput

_DTD_MARKERS = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


@dataclass(frozen=True)
class ParsedSubmission:
    """What the server needs from a submission's XML."""

    form_id: str
    form_version: str
    instance_id: str
    deprecated_id: str | None
    device_id: str | None
    fields: dict[str, str] = field(default_factory=dict)  # leaf local-name -> text

    def __post_init__(self) -> None:
        # The columns hold 100 characters; refuse before anything is stored (whatever
        # the transport: XML, Kobo or JSON).
        if len(self.instance_id) > 100 or len(self.deprecated_id or "") > 100:
            raise InvalidInput("instanceID and deprecatedID are at most 100 characters.",
                               code="submission.bad_instance_id")


def safe_parse(xml: bytes) -> etree._Element:
    """Parse XML with no DTD, no entities, no network; raise InvalidInput otherwise."""
    if not xml or not xml.strip():
        raise InvalidInput("The submission XML is empty.", code="submission.empty")
    if xml.startswith(_UTF16_BOMS):
        raise InvalidInput("Submissions must be UTF-8 encoded.", code="submission.encoding")
    if _DTD_MARKERS.search(xml):
        raise InvalidInput(
            "XML with a DTD or entity declarations is not accepted.", code="submission.dtd"
        )
    try:
        root = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(f"The submission is not well-formed XML: {exc.msg}",
                           code="submission.malformed_xml") from exc
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise InvalidInput("XML with a DTD is not accepted.", code="submission.dtd")
    return root


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def flatten_leaves(root: etree._Element) -> dict[str, str]:
    """Leaf elements by local name (field names are unique within our forms).

    Repeated names keep the first non-empty value.
    """
    values: dict[str, str] = {}
    for element in root.iter():
        if not isinstance(element.tag, str) or len(element):
            continue
        name = _local(element.tag)
        text = (element.text or "").strip()
        if name not in values or (not values[name] and text):
            values[name] = text
    return values


def parse_submission(xml: bytes) -> ParsedSubmission:
    root = safe_parse(xml)
    form_id = (root.get("id") or "").strip()
    if not form_id:
        raise InvalidInput("The submission's root element has no form id attribute.",
                           code="submission.no_form_id")
    meta = next((el for el in root if isinstance(el.tag, str) and _local(el.tag) == "meta"), None)
    meta_values = flatten_leaves(meta) if meta is not None else {}
    instance_id = meta_values.get("instanceID", "").strip()
    if not instance_id:
        raise InvalidInput("The submission has no meta/instanceID.", code="submission.no_instance_id")
    fields = flatten_leaves(root)
    for key in ("instanceID", "deprecatedID", "instanceName", "deviceID"):
        fields.pop(key, None)
    return ParsedSubmission(
        form_id=form_id,
        form_version=(root.get("version") or "").strip(),
        instance_id=instance_id,
        deprecated_id=meta_values.get("deprecatedID") or None,
        device_id=(meta_values.get("deviceID") or fields.get("deviceid") or "")[:100] or None,
        fields=fields,
    )
