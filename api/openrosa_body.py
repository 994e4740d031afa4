"""Reading an OpenRosa multipart submission body, with a hard size limit.

The body is read whole (it is bounded) and split with python-multipart's parser into
in-memory parts: no spooled temporary files, no form objects.
"""

from __future__ import annotations

from dataclasses import dataclass

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from core.config import get_settings
from core.errors import InvalidInput, PayloadTooLarge
from sync.intake import IncomingFile

XML_PART = "xml_submission_file"
MAX_PARTS = 200


@dataclass(frozen=True)
class SubmissionUpload:
    xml: bytes
    files: list[IncomingFile]


@dataclass(frozen=True)
class Part:
    name: str
    filename: str | None
    content_type: str
    data: bytes


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The submission is larger than {limit} bytes; send attachments "
                              "separately.", code="submission.too_large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The submission is larger than {limit} bytes.",
                                  code="submission.too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def _bad(message: str) -> InvalidInput:
    return InvalidInput(f"Malformed multipart body: {message}", code="submission.bad_multipart")


def parse_multipart(body: bytes, content_type: str) -> list[Part]:
    """The parts of a multipart/form-data body (at most MAX_PARTS)."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise _bad("the Content-Type has no boundary.")
    parts: list[Part] = []
    headers: dict[bytes, bytes] = {}
    field, value, data = bytearray(), bytearray(), []
    ended = False

    def on_part_begin():
        headers.clear()
        data.clear()

    def on_header_field(buf, start, end):
        field.extend(buf[start:end])

    def on_header_value(buf, start, end):
        value.extend(buf[start:end])

    def on_header_end():
        headers[bytes(field).lower()] = bytes(value)
        field.clear()
        value.clear()

    def on_part_data(buf, start, end):
        data.append(buf[start:end])

    def on_part_end():
        if len(parts) >= MAX_PARTS:
            raise _bad(f"more than {MAX_PARTS} parts.")
        disposition, options = parse_options_header(headers.get(b"content-disposition", b""))
        if disposition != b"form-data" or b"name" not in options:
            raise _bad("a part has no Content-Disposition: form-data name.")
        filename = options.get(b"filename")
        parts.append(Part(
            name=options[b"name"].decode("utf-8", "replace"),
            filename=filename.decode("utf-8", "replace") if filename is not None else None,
            content_type=headers.get(b"content-type", b"").decode("latin-1"),
            data=b"".join(data)))

    def on_end():
        nonlocal ended
        ended = True

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_part_data": on_part_data, "on_part_end": on_part_end, "on_end": on_end})
    try:
        parser.write(body)
        parser.finalize()
    except InvalidInput:
        raise
    except Exception as exc:  # python-multipart raises several types
        raise _bad(str(exc)) from exc
    if not ended:
        raise _bad("the body ends before the closing boundary.")
    return parts


async def read_submission_upload(request: Request) -> SubmissionUpload:
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise InvalidInput("Submissions are multipart/form-data with an xml_submission_file part.",
                           code="submission.not_multipart")
    body = await read_limited(request, get_settings().max_submission_bytes)
    parts = parse_multipart(body, content_type)
    xml = next((p.data for p in parts if p.name == XML_PART), None)
    if xml is None:
        raise InvalidInput("The request has no xml_submission_file part.",
                           code="submission.no_xml_part")
    # Attachments are the other parts with a file name (Collect also sends plain fields
    # such as *isIncomplete*, which are not files).
    files = [IncomingFile(name=p.filename or p.name,
                          content_type=p.content_type or "application/octet-stream", data=p.data)
             for p in parts if p.name != XML_PART and p.filename is not None]
    return SubmissionUpload(xml=xml, files=files)
