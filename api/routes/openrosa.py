"""OpenRosa for ODK Collect / KoboCollect: formList, form download, manifest, media.
Mounted twice: under `/key/{token}` (device token) and at the root (HTTP Basic).
HEAD and POST /submission are served ahead of the router (api.openrosa_submission)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from api import access
from api import openrosa_wire as wire
from api.deps import ReadSessionDep
from api.openrosa_auth import (
    accept_openrosa_version,
    mark_openrosa,
    openrosa_principal,
    url_prefix,
)
from api.urls import base_url
from core.errors import NotFound
from sync import forms as form_service
from sync import picklists
from sync.accounts import Principal
from sync.forms import md5_hex

# Every GET here follows one X-OpenRosa-Version rule (api.openrosa_auth.
# check_openrosa_version): a missing header is accepted, any value but 1.0 refused.
router = APIRouter(dependencies=[Depends(mark_openrosa), Depends(accept_openrosa_version)],
                   tags=["openrosa"])
OpenRosaPrincipal = Annotated[Principal, Depends(openrosa_principal)]


@router.get("/formList")
def form_list(request: Request, session: ReadSessionDep, principal: OpenRosaPrincipal,
              formID: str | None = None) -> Response:  # noqa: N803 - OpenRosa spelling
    """OpenRosa xformsList of the open forms."""
    return wire.form_list(
        (wire.FormEntry(form.form_id, form.title, form.version, form.md5, bool(form.media))
         for form in form_service.current_forms(session)
         if not formID or form.form_id == formID),
        f"{base_url(request)}{url_prefix(request)}")


@router.get("/forms/{form_id}/form.xml")
def form_download(form_id: str, session: ReadSessionDep, principal: OpenRosaPrincipal) -> Response:
    form = form_service.get_current_form_or_raise(session, form_id)
    return wire.xml_response(form.xml)


@router.get("/forms/{form_id}/manifest")
def manifest(form_id: str, request: Request, session: ReadSessionDep,
             principal: OpenRosaPrincipal) -> Response:
    """OpenRosa xformsManifest; pick lists are generated for the caller's scope."""
    form = form_service.get_current_form_or_raise(session, form_id)
    root = f"{base_url(request)}{url_prefix(request)}/forms/{form.form_id}/media"
    return wire.manifest(
        wire.MediaEntry(name, md5_hex(picklists.render_media(session, principal=principal,
                                                             name=name)), f"{root}/{name}")
        for name in filter(None, form.media.split(",")))


@router.get("/forms/{form_id}/media/{name}")
def media(form_id: str, name: str, request: Request, session: ReadSessionDep,
          principal: OpenRosaPrincipal) -> Response:
    """A form's media file; the pick lists are generated for the caller's scope (their
    download is in the access log)."""
    form = form_service.get_current_form_or_raise(session, form_id)
    if name not in form.media.split(","):
        raise NotFound(f"Form {form_id} has no media file {name!r}.", code="form.media_not_found")
    media = picklists.media_with_ids(session, principal=principal, name=name)
    if media.personal:
        access.log_read(request, principal, resource=f"picklist:{name}", action="download",
                        persons=media.persons, households=media.households,
                        subject=("form", form_id))
    return Response(media.content, media_type="text/csv; charset=utf-8",
                    headers=wire.openrosa_headers())
