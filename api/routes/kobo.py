"""KoboToolbox REST Service intake and hook administration."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.credentials import authorization, basic_credentials
from api.deps import AdminDep, ReadSessionDep, SessionDep
from api.openrosa_body import read_limited
from api.urls import base_url
from core.config import get_settings
from core.errors import InvalidInput
from sync import kobo

router = APIRouter(prefix="/api/v1", tags=["kobo"])


class HookCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    form_id: str
    username: str = Field(description="The account the hook submits as (its scope applies)")


class HookCreated(BaseModel):
    id: str
    url: str
    secret: str


class HookOut(BaseModel):
    id: str
    name: str
    form_id: str
    is_active: bool
    created_at: datetime


def _secret_from(request: Request) -> str | None:
    if secret := request.headers.get("X-Hook-Secret"):
        return secret
    scheme, value = authorization(request.headers.get("Authorization", ""))
    if scheme == "bearer":
        return value or None
    if scheme == "basic" and (credentials := basic_credentials(value)):
        return credentials[1] or None
    return None


async def kobo_payload(request: Request) -> object:
    """The JSON body, read with the same size limit as OpenRosa submissions."""
    body = await read_limited(request, get_settings().max_submission_bytes)
    try:
        payload = json.loads(body)
        # Storable: no unpaired surrogates (\ud800 is valid JSON, not valid UTF-8).
        json.dumps(payload, ensure_ascii=False).encode()
    except (ValueError, RecursionError) as exc:  # incl. JSON, UTF-8 and huge-number errors
        raise InvalidInput(f"The body is not usable JSON: {exc}", code="kobo.bad_json") from exc
    return payload


@router.post("/intake/kobo/{hook_id}", status_code=201,
             responses={200: {"description": "Already received (a retry)"}})
async def kobo_intake(hook_id: str, request: Request,
                      payload: Annotated[object, Depends(kobo_payload)]) -> JSONResponse:
    """Receive one submission from a KoboToolbox REST Service. The answer is 2xx only
    once the submission is committed (Kobo retries on 5xx). Stored and processed by the
    worker's writer, with other submissions arriving at the same time (group commit)."""
    result = await request.app.state.submission_writer.store(
        kobo.KoboSubmission(hook_id, _secret_from(request), payload))
    body = {"submission_id": result.submission_id, "instance_id": result.instance_id,
            "status": result.status, "duplicate": not result.created}
    return JSONResponse(body, status_code=201 if result.created else 200)


@router.post("/kobo-hooks", response_model=HookCreated, status_code=201)
def create_hook(body: HookCreate, request: Request, session: SessionDep, admin: AdminDep) -> HookCreated:
    """Create a hook; put `url` and `secret` (as the Basic password) into KoboToolbox's
    REST Services settings."""
    hook, secret = kobo.create_hook(session, name=body.name, form_id=body.form_id,
                                    username=body.username, actor_id=admin.user_id)
    return HookCreated(id=hook.id, url=f"{base_url(request)}/api/v1/intake/kobo/{hook.id}",
                       secret=secret)


@router.get("/kobo-hooks", response_model=list[HookOut])
def list_hooks(session: ReadSessionDep, admin: AdminDep) -> list[HookOut]:
    return [HookOut.model_validate(h, from_attributes=True) for h in kobo.list_hooks(session)]
