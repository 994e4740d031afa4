"""OpenRosa for ODK Collect / KoboCollect: formList, form download, manifest, media.
Mounted twice: under `/key/{token}` (device token) and at the root (HTTP Basic).
HEAD and POST /submission are served ahead of the router (api.openrosa_submission)."""

from __future__ import annotations

from typing import Annotated
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, Request, Response

from api.deps import ReadSessionDep
from api.openrosa_auth import (
    mark_openrosa,
    openrosa_principal,
    require_openrosa_version,
    url_prefix,
)
from api.openrosa_wire import openrosa_headers
from api.urls import base_url
from core.errors import NotFound
from sync import forms as form_service
from sync import picklists
from sync.accounts import Principal
from sync.forms import md5_hex

router = APIRouter(dependencies=[Depends(mark_openrosa)], tags=["openrosa"])
OpenRosaPrincipal = Annotated[Principal, Depends(openrosa_principal)]
Versioned = Depends(require_openrosa_version)

XML = "text/xml; charset=utf-8"


def _xml(body: str, status_code: int = 200) -> Response:
    return Response(body, status_code=status_code, media_type=XML, headers=openrosa_headers())


@router.get("/formList", dependencies=[Versioned])
def form_list(request: Request, session: ReadSessionDep, principal: OpenRosaPrincipal,
              formID: str | None = None) -> Response:  # noqa: N803 - OpenRosa spelling
    """OpenRosa xformsList of the open forms."""
    root = f"{base_url(request)}{url_prefix(request)}"
    items = []
    for form in form_service.current_forms(session):
        if formID and form.form_id != formID:
            continue
        manifest = (f"<manifestUrl>{escape(root)}/forms/{form.form_id}/manifest</manifestUrl>"
                    if form.media else "")
        items.append(
            "<xform>"
            f"<formID>{escape(form.form_id)}</formID><name>{escape(form.title)}</name>"
            f"<version>{escape(form.version)}</version><hash>md5:{form.md5}</hash>"
            f"<downloadUrl>{escape(root)}/forms/{form.form_id}/form.xml</downloadUrl>"
            f"{manifest}</xform>")
    return _xml('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<xforms xmlns="http://openrosa.org/xforms/xformsList">'
                + "".join(items) + "</xforms>")


@router.get("/forms/{form_id}/form.xml")
def form_download(form_id: str, session: ReadSessionDep, principal: OpenRosaPrincipal) -> Response:
    form = form_service.get_current_form_or_raise(session, form_id)
    return Response(form.xml, media_type=XML, headers=openrosa_headers())


@router.get("/forms/{form_id}/manifest", dependencies=[Versioned])
def manifest(form_id: str, request: Request, session: ReadSessionDep,
             principal: OpenRosaPrincipal) -> Response:
    """OpenRosa xformsManifest; pick lists are generated for the caller's scope."""
    form = form_service.get_current_form_or_raise(session, form_id)
    root = f"{base_url(request)}{url_prefix(request)}"
    files = []
    for name in filter(None, form.media.split(",")):
        content = picklists.render_media(session, principal=principal, name=name)
        files.append(
            f"<mediaFile><filename>{escape(name)}</filename><hash>md5:{md5_hex(content)}</hash>"
            f"<downloadUrl>{escape(root)}/forms/{form.form_id}/media/{escape(name)}</downloadUrl>"
            "</mediaFile>")
    return _xml('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<manifest xmlns="http://openrosa.org/xforms/xformsManifest">'
                + "".join(files) + "</manifest>")


@router.get("/forms/{form_id}/media/{name}")
def media(form_id: str, name: str, session: ReadSessionDep, principal: OpenRosaPrincipal) -> Response:
    form = form_service.get_current_form_or_raise(session, form_id)
    if name not in form.media.split(","):
        raise NotFound(f"Form {form_id} has no media file {name!r}.", code="form.media_not_found")
    content = picklists.render_media(session, principal=principal, name=name)
    return Response(content, media_type="text/csv; charset=utf-8", headers=openrosa_headers())
