"""Reading an OpenRosa multipart submission body, with a hard size limit."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import UploadFile

from core.config import get_settings
from core.errors import InvalidInput, PayloadTooLarge
from sync.intake import IncomingFile

XML_PART = "xml_submission_file"
MAX_PARTS = 200


@dataclass(frozen=True)
class SubmissionUpload:
    xml: bytes
    files: list[IncomingFile]


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


async def read_submission_upload(request: Request) -> SubmissionUpload:
    limit = get_settings().max_submission_bytes
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise InvalidInput("Submissions are multipart/form-data with an xml_submission_file part.",
                           code="submission.not_multipart")
    body = await read_limited(request, limit)

    async def replay():
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(
            max_files=MAX_PARTS, max_fields=MAX_PARTS, max_part_size=limit)
    except Exception as exc:  # python-multipart / starlette raise several types
        raise InvalidInput(f"Malformed multipart body: {exc}", code="submission.bad_multipart") from exc
    xml_part = form.get(XML_PART)
    if not isinstance(xml_part, UploadFile):
        raise InvalidInput("The request has no xml_submission_file part.",
                           code="submission.no_xml_part")
    xml = await xml_part.read()
    files = []
    for key, value in form.multi_items():
        if key != XML_PART and isinstance(value, UploadFile):
            files.append(IncomingFile(name=value.filename or key,
                                      content_type=value.content_type or "application/octet-stream",
                                      data=await value.read()))
    await form.close()
    return SubmissionUpload(xml=xml, files=files)
