"""OpenRosa on the wire, in one place: the headers every OpenRosa answer carries, the
OpenRosaResponse message (successes and errors alike), the xformsList and the
xformsManifest. Route handlers and the error renderer build their answers here; no
OpenRosa XML is written anywhere else.

What a phone shows a kader is in Bahasa Indonesia (the messages below, and the
catalogue's for errors: core.problems).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape

from starlette.responses import Response

from core.config import get_settings

OPENROSA_VERSION = "1.0"
OPENROSA_NS = "http://openrosa.org/http/response"
XML = "text/xml; charset=utf-8"

# What Collect shows after sending (Bahasa Indonesia).
RECEIVED = "Terima kasih! Data sudah diterima dan diolah."
RECEIVED_NOT_PROCESSED = ("Terima kasih! Data sudah diterima dan tersimpan, tetapi belum "
                          "dapat diolah; petugas akan memeriksanya.")
ALREADY_RECEIVED = "Data ini sudah pernah diterima; tidak perlu dikirim lagi."
RECEIVED_HELD = ("Terima kasih! Data sudah diterima dan tersimpan; akan diolah setelah formulir "
                 "sebelumnya untuk orang ini dari HP Anda tiba.")
METHOD_NOT_USED = "Metode {method} tidak dipakai di /submission; kirim dengan HEAD atau POST."


def openrosa_headers() -> dict[str, str]:
    return {
        "X-OpenRosa-Version": OPENROSA_VERSION,
        "X-OpenRosa-Accept-Content-Length": str(get_settings().max_submission_bytes),
    }


def xml_response(body: str | bytes, *, status_code: int = 200,
                 headers: dict | None = None) -> Response:
    all_headers = openrosa_headers()
    all_headers.update(headers or {})
    return Response(body, status_code=status_code, media_type=XML, headers=all_headers)


def message(text: str, *, status_code: int, headers: dict | None = None,
            nature: str = "") -> Response:
    """An OpenRosaResponse with one message (Collect shows it to the kader)."""
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<OpenRosaResponse xmlns="{OPENROSA_NS}">'
            f'<message nature="{escape(nature)}">{escape(text)}</message>'
            "</OpenRosaResponse>")
    return xml_response(body, status_code=status_code, headers=headers)


@dataclass(frozen=True)
class FormEntry:
    form_id: str
    title: str
    version: str
    md5: str
    has_media: bool


def form_list(forms: Iterable[FormEntry], root: str) -> Response:
    """OpenRosa xformsList; `root` is the URL the phone reaches the server by."""
    items = []
    for form in forms:
        manifest = (f"<manifestUrl>{escape(root)}/forms/{escape(form.form_id)}/manifest"
                    "</manifestUrl>" if form.has_media else "")
        items.append(
            "<xform>"
            f"<formID>{escape(form.form_id)}</formID><name>{escape(form.title)}</name>"
            f"<version>{escape(form.version)}</version><hash>md5:{form.md5}</hash>"
            f"<downloadUrl>{escape(root)}/forms/{escape(form.form_id)}/form.xml</downloadUrl>"
            f"{manifest}</xform>")
    return xml_response('<?xml version="1.0" encoding="UTF-8"?>\n'
                        '<xforms xmlns="http://openrosa.org/xforms/xformsList">'
                        + "".join(items) + "</xforms>")


@dataclass(frozen=True)
class MediaEntry:
    filename: str
    md5: str
    url: str
    integrity_url: str | None = None  # set: an ODK entity list (type="entityList")


def manifest(files: Iterable[MediaEntry]) -> Response:
    """OpenRosa xformsManifest; an entity list is `type="entityList"` with the URL
    Collect asks which of its offline entities were deleted (as ODK Central)."""
    entries = "".join(
        ('<mediaFile type="entityList">' if f.integrity_url else "<mediaFile>")
        + f"<filename>{escape(f.filename)}</filename><hash>md5:{f.md5}</hash>"
        f"<downloadUrl>{escape(f.url)}</downloadUrl>"
        + (f"<integrityUrl>{escape(f.integrity_url)}</integrityUrl>" if f.integrity_url else "")
        + "</mediaFile>" for f in files)
    return xml_response('<?xml version="1.0" encoding="UTF-8"?>\n'
                        '<manifest xmlns="http://openrosa.org/xforms/xformsManifest">'
                        + entries + "</manifest>")


def entity_integrity(items: Iterable) -> Response:
    """The integrity answer Collect reads (`<data><entities><entity id><deleted>`), with
    the survivor of a merged entity in `<mergedInto>` (ours; Collect reads `deleted`)."""
    entities = "".join(
        f'<entity id="{escape(i.id, {chr(34): "&quot;"})}"><deleted>{"true" if i.deleted else "false"}'
        "</deleted>" + (f"<mergedInto>{escape(i.merged_into)}</mergedInto>" if i.merged_into else "")
        + "</entity>" for i in items)
    return xml_response('<?xml version="1.0" encoding="UTF-8"?>\n<data><entities>' + entities
                        + "</entities></data>")
