"""OpenRosa for ODK Collect / KoboCollect: formList, form download, manifest, media.
Mounted twice: under `/key/{token}` (device token) and at the root (HTTP Basic).
HEAD and POST /submission are served ahead of the router (api.openrosa_submission)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response

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
from sync import entities, picklists
from sync import forms as form_service
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
    """OpenRosa xformsManifest; pick lists are generated for the caller's scope. In a
    form that declares ODK entities, children/women/households.csv are entity lists
    (hash: the list's fingerprint, so asking costs no rendering)."""
    form = form_service.get_current_form_or_raise(session, form_id)
    prefix = f"{base_url(request)}{url_prefix(request)}"
    root = f"{prefix}/forms/{form.form_id}/media"

    def entry(name: str) -> wire.MediaEntry:
        listed = entities.entity_list_media(form.xml, name)
        if listed is None:
            return wire.MediaEntry(name, md5_hex(picklists.render_media(
                session, principal=principal, name=name)), f"{root}/{name}")
        return wire.MediaEntry(name, entities.list_etag(session, scope=principal.scope, name=listed),
                               f"{root}/{name}", f"{prefix}/entity-lists/{listed}/integrity")
    return wire.manifest(entry(name) for name in filter(None, form.media.split(",")))


@router.get("/forms/{form_id}/media/{name}")
def media(form_id: str, name: str, request: Request, session: ReadSessionDep,
          principal: OpenRosaPrincipal,
          if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """A media file for the caller's scope (a download of personal data is in the access
    log). An entity list carries its fingerprint as ETag and answers 304 when the phone
    already has it (If-None-Match)."""
    form = form_service.get_current_form_or_raise(session, form_id)
    if name not in form.media.split(","):
        raise NotFound(f"Form {form_id} has no media file {name!r}.", code="form.media_not_found")
    listed = entities.entity_list_media(form.xml, name)
    headers = wire.openrosa_headers()
    if listed is not None:
        etag = f'"{entities.list_etag(session, scope=principal.scope, name=listed)}"'
        headers = {**headers, "ETag": etag, "Cache-Control": "private, no-cache"}
        if if_none_match and etag in [t.strip() for t in if_none_match.split(",")]:
            return Response(status_code=304, headers=headers)
    media = picklists.media_with_ids(session, principal=principal, name=name,
                                     entity_list=listed is not None)
    if media.personal:
        access.log_read(request, principal, resource=f"picklist:{name}", action="download",
                        persons=media.persons, households=media.households,
                        subject=("form", form_id))
    return Response(media.content, media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/entity-lists/{name}/integrity")
def entity_integrity(name: str, session: ReadSessionDep, principal: OpenRosaPrincipal,
                     id: str = "") -> Response:  # noqa: A002 - Collect's parameter name
    """Which of the entities a phone holds offline were merged away (deleted=true, the
    survivor in mergedInto); ids the server has not received yet are not deleted."""
    ids = [i.strip() for i in id.split(",") if i.strip()]
    return wire.entity_integrity(entities.integrity(session, scope=principal.scope, name=name,
                                                    ids=ids))
