"""An OpenRosa client that behaves like ODK Collect / KoboCollect on a kader's phone.

It knows nothing about the posyandu forms in particular: it reads the form list, downloads
each XForm and its media (pick-list CSVs) by the URLs the server gives, fills a
submission by copying the XForm's primary instance and setting leaf elements by name, and
sends it the way Collect does: `HEAD /submission` (for the accepted content length), then
a multipart `POST /submission` with the XML as `xml_submission_file`.

What a pick list does in Collect (`select_one_from_file` plus `setvalue`/`calculate`
expressions that copy columns of the picked row into other questions) is read from the
XForm too, so `XFormTemplate.pick_answers` can answer "the kader picked row R" exactly
as Collect would have filled the form.

XML is parsed with entity resolution and network access off.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import formatdate
from urllib.parse import urlsplit

import httpx
from lxml import etree

OPENROSA_HEADERS = {"X-OpenRosa-Version": "1.0"}
DEFAULT_MAX_CONTENT_LENGTH = 10_485_760  # Collect's fallback when HEAD does not say
XFORMS_NS = "http://www.w3.org/2002/xforms"
JR_NS = "http://openrosa.org/javarosa"


class OpenRosaError(Exception):
    """The server answered something a phone cannot work with."""


def safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)


def parse_xml(data: bytes) -> etree._Element:
    return etree.fromstring(data, safe_parser())


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _named(elements, name: str):
    """The elements (not comments or processing instructions) with this local name."""
    return (el for el in elements if isinstance(el.tag, str) and _local(el) == name)


def _entries(data: bytes, name: str) -> list[dict[str, str]]:
    """The child texts of every `<name>` element of a document, by local name."""
    entries = []
    for el in _named(parse_xml(data).iter(), name):
        texts: dict[str, str] = {}
        for child in el:
            if isinstance(child.tag, str):
                texts.setdefault(_local(child), (child.text or "").strip())
        entries.append(texts)
    return entries


# --- form list and manifest ------------------------------------------------------------


@dataclass(frozen=True)
class FormInfo:
    """One `<xform>` of the OpenRosa form list."""

    form_id: str
    name: str
    version: str
    hash: str
    download_url: str
    manifest_url: str | None


@dataclass(frozen=True)
class MediaFile:
    """One `<mediaFile>` of a form's manifest."""

    filename: str
    hash: str
    download_url: str


def parse_form_list(data: bytes) -> list[FormInfo]:
    return [
        FormInfo(form_id=e.get("formID", ""), name=e.get("name", ""),
                 version=e.get("version", ""), hash=e.get("hash", ""),
                 download_url=e.get("downloadUrl", ""), manifest_url=e.get("manifestUrl") or None)
        for e in _entries(data, "xform")
    ]


def parse_manifest(data: bytes) -> list[MediaFile]:
    return [
        MediaFile(filename=e.get("filename", ""), hash=e.get("hash", ""),
                  download_url=e.get("downloadUrl", ""))
        for e in _entries(data, "mediaFile")
    ]


def parse_openrosa_message(data: bytes) -> str:
    """The `<message>` text of an OpenRosaResponse (or the body itself if it is not one)."""
    try:
        root = parse_xml(data)
    except etree.XMLSyntaxError:
        return data.decode("utf-8", "replace").strip()[:500]
    message = next(_named(root.iter(), "message"), None)
    return "" if message is None else (message.text or "").strip()


def read_media_csv(data: bytes) -> list[dict[str, str]]:
    text = data.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


# --- the XForm -------------------------------------------------------------------------

_ITEM_BY_NAME = re.compile(
    r"instance\('(?P<instance>[^']+)'\)/root/item\[\s*name\s*=\s*(?P<pick>/[\w./-]+)\s*\]/"
    r"(?P<column>[\w.-]+)"
)
_EQUALS_LITERAL = re.compile(r"(?P<path>/[\w./-]+)\s*=\s*'(?P<value>[^']*)'")


@dataclass
class PickList:
    """A `select_one_from_file` question and what picking a row fills in."""

    leaf: str  # the question, e.g. child_pick
    instance_id: str  # e.g. children
    media_file: str  # e.g. children.csv
    flag_leaf: str | None = None  # the yes/no question that makes the list relevant
    picked_value: str | None = None  # its value when a row is picked ("no": not new)
    new_value: str | None = None  # its value when the subject is new ("yes")
    id_leaves: list[str] = field(default_factory=list)  # calculates that copy the pick
    prefill: dict[str, str] = field(default_factory=dict)  # leaf -> column of the row


class XFormTemplate:
    """A downloaded XForm: the primary instance to copy and the form's pick lists."""

    def __init__(self, xml: bytes):
        doc = parse_xml(xml)
        model = next((el for el in doc.iter(f"{{{XFORMS_NS}}}model")), None)
        if model is None:
            raise OpenRosaError("XForm has no <model>")
        instances = list(_named(model, "instance"))
        primary = next((el for el in instances[0] if isinstance(el.tag, str)), None) \
            if instances else None
        if primary is None:
            raise OpenRosaError("XForm has no primary instance")
        self._primary = primary
        self.form_id = primary.get("id", "")
        self.version = primary.get("version", "")
        media = {el.get("id"): el.get("src", "") for el in instances[1:]}
        self.preloads = self._read_preloads(model)
        self.pick_lists = self._read_pick_lists(doc, model, media)

    @staticmethod
    def _leaf(path: str) -> str:
        return path.rstrip("/").rsplit("/", 1)[-1]

    def _read_preloads(self, model: etree._Element) -> dict[str, tuple[str, str]]:
        preloads = {}
        for bind in model.iter(f"{{{XFORMS_NS}}}bind"):
            preload = bind.get(f"{{{JR_NS}}}preload")
            if preload:
                preloads[self._leaf(bind.get("nodeset", ""))] = (
                    preload, bind.get(f"{{{JR_NS}}}preloadParams", ""))
        return preloads

    def _read_pick_lists(self, doc, model, media: dict[str, str]) -> dict[str, PickList]:
        picks: dict[str, PickList] = {}

        def pick_for(instance_id: str, pick_path: str) -> PickList:
            leaf = self._leaf(pick_path)
            if leaf not in picks:
                src = media.get(instance_id, "")
                picks[leaf] = PickList(leaf, instance_id, src.rsplit("/", 1)[-1])
            return picks[leaf]

        expressions: list[tuple[str, str]] = []  # (target leaf, expression)
        binds = list(model.iter(f"{{{XFORMS_NS}}}bind"))
        for bind in binds:
            if bind.get("calculate"):
                expressions.append((self._leaf(bind.get("nodeset", "")), bind.get("calculate")))
        for setvalue in doc.iter(f"{{{XFORMS_NS}}}setvalue"):
            if setvalue.get("value"):
                expressions.append((self._leaf(setvalue.get("ref", "")), setvalue.get("value")))
        pick_paths: dict[str, str] = {}
        for target, expr in expressions:
            for m in _ITEM_BY_NAME.finditer(expr):
                pick = pick_for(m["instance"], m["pick"])
                pick.prefill[target] = m["column"]
                pick_paths[pick.leaf] = m["pick"]
        for leaf, path in pick_paths.items():
            pick = picks[leaf]
            for target, expr in expressions:
                copies_pick = path in expr and "instance(" not in expr
                if copies_pick and target not in pick.id_leaves:
                    pick.id_leaves.append(target)
            for bind in binds:
                if self._leaf(bind.get("nodeset", "")) == leaf and bind.get("relevant"):
                    m = _EQUALS_LITERAL.search(bind.get("relevant"))
                    if m:
                        pick.flag_leaf = self._leaf(m["path"])
                        pick.picked_value = m["value"]
                        pick.new_value = {"no": "yes", "yes": "no"}.get(m["value"], "")
        return picks

    def pick_answers(self, pick: PickList, row: dict[str, str] | None) -> dict[str, str]:
        """The answers Collect holds once a kader picks `row` (None: "new, not in list")."""
        answers: dict[str, str] = {}
        if row is None:
            if pick.flag_leaf:
                answers[pick.flag_leaf] = pick.new_value or ""
            answers[pick.leaf] = ""
            for leaf in pick.id_leaves:
                answers[leaf] = ""
            return answers
        if pick.flag_leaf:
            answers[pick.flag_leaf] = pick.picked_value or ""
        answers[pick.leaf] = row.get("name", "")
        for leaf in pick.id_leaves:
            answers[leaf] = row.get("name", "")
        for leaf, column in pick.prefill.items():
            answers[leaf] = row.get(column, "") or ""
        return answers

    def fill(
        self,
        answers: dict[str, str],
        *,
        instance_id: str,
        deprecated_id: str | None = None,
        filled_at: datetime | None = None,
        device_id: str = "",
    ) -> bytes:
        """A submission: a copy of the primary instance with `answers` set by leaf name.

        Preloaded questions (start, end, today, deviceid) get the phone's values unless
        answered; `meta/instanceID` is set (and `meta/deprecatedID` for an edit); the root
        keeps the form's `id` and `version`.
        """
        values = dict(self._preload_values(filled_at, device_id))
        values.update(answers)
        return _answered(_without_xforms_namespace(self._primary), values, instance_id,
                         deprecated_id)

    def _preload_values(self, filled_at: datetime | None, device_id: str):
        for leaf, (preload, params) in self.preloads.items():
            if preload == "timestamp" and filled_at is not None:
                yield leaf, filled_at.isoformat(timespec="milliseconds")
            elif preload == "date" and filled_at is not None:
                yield leaf, filled_at.date().isoformat()
            elif preload == "property" and params == "deviceid":
                yield leaf, device_id


def _without_xforms_namespace(primary: etree._Element) -> etree._Element:
    """A copy of the primary instance with its elements out of the XForms namespace,
    as Collect serialises a submission (`<data id=".." version="..">`, no xmlns)."""
    root = copy.deepcopy(primary)
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if etree.QName(el).namespace == XFORMS_NS:
            el.tag = etree.QName(el).localname
        el.tail = None
        if len(el):
            el.text = None
    etree.cleanup_namespaces(root)
    return root


def set_meta(root: etree._Element, instance_id: str, deprecated_id: str | None) -> None:
    """Set `meta/instanceID` (and `meta/deprecatedID`) of a submission's root element."""
    meta = next(_named(root, "meta"), None)
    ns = etree.QName(root).namespace
    tag = (lambda name: f"{{{ns}}}{name}") if ns else (lambda name: name)
    if meta is None:
        meta = etree.SubElement(root, tag("meta"))
    for name, value in (("instanceID", instance_id), ("deprecatedID", deprecated_id)):
        el = next(_named(meta, name), None)
        if value is None:
            if el is not None:
                meta.remove(el)
            continue
        if el is None:
            el = etree.SubElement(meta, tag(name))
        el.text = value
        el.tail = None


def edit_submission(xml: bytes, changes: dict[str, str], *, instance_id: str,
                    deprecated_id: str) -> bytes:
    """An edit of a sent submission: same answers but `changes`, a new instanceID and
    `deprecatedID` = the instance it replaces (as Collect/Enketo edits do)."""
    return _answered(parse_xml(xml), changes, instance_id, deprecated_id)


def _answered(root: etree._Element, values: dict[str, str], instance_id: str,
              deprecated_id: str | None) -> bytes:
    """The submission's bytes once the leaves named in `values` and the meta ids are set
    (an empty answer leaves its element empty)."""
    for el in root.iter():
        if isinstance(el.tag, str) and not len(el) and _local(el) in values:
            el.text = values[_local(el)] or None
    set_meta(root, instance_id, deprecated_id)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# --- the wire --------------------------------------------------------------------------


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class PostResult:
    status_code: int
    message: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


def multipart_body(xml: bytes, attachments: tuple[Attachment, ...] = (),
                   incomplete: bool = False) -> tuple[bytes, str]:
    """A multipart/form-data body as Collect sends it; the boundary is derived from the
    content, so sending the same submission again sends the same bytes."""
    digest = hashlib.sha256(xml)
    for a in attachments:
        digest.update(a.content)
    boundary = f"----posyandu-sim-{digest.hexdigest()[:32]}"
    parts = [(
        'form-data; name="xml_submission_file"; filename="submission.xml"',
        "text/xml", xml,
    )]
    for a in attachments:
        parts.append((f'form-data; name="{a.filename}"; filename="{a.filename}"',
                      a.content_type, a.content))
    if incomplete:
        parts.append(('form-data; name="*isIncomplete*"', "text/plain", b"yes"))
    body = io.BytesIO()
    for disposition, content_type, content in parts:
        body.write(f"--{boundary}\r\n".encode())
        body.write(f"Content-Disposition: {disposition}\r\n".encode())
        body.write(f"Content-Type: {content_type}\r\n\r\n".encode())
        body.write(content)
        body.write(b"\r\n")
    body.write(f"--{boundary}--\r\n".encode())
    return body.getvalue(), f"multipart/form-data; boundary={boundary}"


class OpenRosaPhone:
    """The OpenRosa side of one phone: form list, downloads, HEAD and POST.

    `server_url` is the phone's configured server, `{server}/key/{token}` for a token
    URL. Pass `client` to share an `httpx.Client` (or a FastAPI `TestClient`); otherwise
    the phone makes its own and `close()` closes it. Only URLs on the same host as
    `server_url` are ever requested.
    """

    def __init__(self, server_url: str, client: httpx.Client | None = None, *,
                 timeout: float = 30.0):
        self.server_url = server_url.rstrip("/")
        self._own_client = client is None
        self.client = client or httpx.Client(timeout=timeout)
        self._origin = _origin(self.server_url)
        self.forms: dict[str, XFormTemplate] = {}
        self.form_hashes: dict[str, str] = {}
        self.media: dict[str, list[dict[str, str]]] = {}
        self.media_hashes: dict[str, str] = {}
        self.max_content_length: int | None = None

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    # --- requests

    def _request(self, method: str, url: str, **kwargs) -> httpx.Response:
        if _origin(url) != self._origin:
            raise OpenRosaError(f"refusing to follow {url!r}: not on {self._origin}")
        headers = {**OPENROSA_HEADERS, **kwargs.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kwargs)

    def _get_ok(self, url: str) -> bytes:
        response = self._request("GET", url)
        if response.status_code != 200:
            raise OpenRosaError(
                f"GET {url} -> {response.status_code}: {parse_openrosa_message(response.content)}"
            )
        return response.content

    # --- forms and media

    def form_list(self) -> list[FormInfo]:
        return parse_form_list(self._get_ok(f"{self.server_url}/formList"))

    def refresh(self) -> list[str]:
        """Download every form and media file whose hash changed; returns what changed."""
        changed = []
        for info in self.form_list():
            if self.form_hashes.get(info.form_id) != info.hash or info.form_id not in self.forms:
                self.forms[info.form_id] = XFormTemplate(self._get_ok(info.download_url))
                self.form_hashes[info.form_id] = info.hash
                changed.append(info.form_id)
            if not info.manifest_url:
                continue
            for media in parse_manifest(self._get_ok(info.manifest_url)):
                if self.media_hashes.get(media.filename) == media.hash:
                    continue
                data = self._get_ok(media.download_url)
                self.media[media.filename] = (read_media_csv(data)
                                              if media.filename.endswith(".csv") else [])
                self.media_hashes[media.filename] = media.hash
                changed.append(media.filename)
        return changed

    # --- submissions

    def head_submission(self) -> int:
        """`HEAD /submission` as Collect does before sending; returns the accepted size."""
        response = self._request("HEAD", f"{self.server_url}/submission",
                                 headers={"Date": _http_date()})
        if response.status_code != 204:
            raise OpenRosaError(f"HEAD /submission -> {response.status_code}")
        header = response.headers.get("X-OpenRosa-Accept-Content-Length")
        self.max_content_length = int(header) if header and header.isdigit() \
            else DEFAULT_MAX_CONTENT_LENGTH
        return self.max_content_length

    def post_submission(self, xml: bytes, attachments: tuple[Attachment, ...] = ()) -> PostResult:
        """`POST /submission`; attachments beyond the accepted size go in further POSTs
        flagged `*isIncomplete*` like Collect does. Returns the last response."""
        if self.max_content_length is None:
            self.head_submission()
        batches = _batches(xml, attachments, self.max_content_length)
        result = PostResult(0, "")
        for i, batch in enumerate(batches):
            body, content_type = multipart_body(xml, batch, incomplete=i < len(batches) - 1)
            response = self._request(
                "POST", f"{self.server_url}/submission", content=body,
                headers={"Content-Type": content_type, "Date": _http_date()},
            )
            result = PostResult(response.status_code, parse_openrosa_message(response.content))
            if not result.ok:
                return result
        return result


def _batches(xml: bytes, attachments: tuple[Attachment, ...], limit: int):
    batches: list[tuple[Attachment, ...]] = [()]
    size = len(xml)
    for a in attachments:
        if batches[-1] and size + len(a.content) > limit:
            batches.append(())
            size = len(xml)
        batches[-1] += (a,)
        size += len(a.content)
    return batches


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _http_date() -> str:
    return formatdate(usegmt=True)
