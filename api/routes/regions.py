"""Wilayah (read) and posyandu (scoped)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.deps import PrincipalDep, ReadSessionDep, SessionDep, require_role
from api.pagination import Page, PageDep, RecordId
from models.wilayah import LEVELS
from sync import posyandu as posyandu_service
from sync import wilayah as wilayah_service
from sync.accounts import Principal

router = APIRouter(prefix="/api/v1", tags=["regions"])


class WilayahOut(BaseModel):
    code: str
    name: str
    level: str
    parent_code: str | None


class PosyanduCreate(BaseModel):
    kelurahan_code: str = Field(pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")
    name: str = Field(min_length=1, max_length=120)
    rw: str | None = Field(default=None, max_length=8)


class PosyanduUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    is_active: bool | None = Field(default=None, description="false: no new submissions or "
                                   "kaders (what it holds stays)")


class PosyanduOut(BaseModel):
    id: int
    kelurahan_code: str
    name: str
    rw: str | None
    is_active: bool
    created_at: datetime


@router.get("/wilayah", response_model=Page[WilayahOut])
def list_wilayah(session: ReadSessionDep, _: PrincipalDep, page: PageDep,
                 parent: Annotated[str | None, Query(description="Parent code, e.g. 33.75")] = None,
                 level: Annotated[Literal[LEVELS] | None, Query()] = None,
                 name: Annotated[str | None, Query(
                     min_length=2, max_length=120,
                     description="Part of the name, any case (e.g. medono)")] = None,
                 ) -> Page[WilayahOut]:
    """Regions by parent, level and part of the name, in code order."""
    rows, total = wilayah_service.list_wilayah(session, parent=parent, level=level,
                                               name=name, limit=page.limit, offset=page.offset)
    return Page(items=[WilayahOut.model_validate(r, from_attributes=True) for r in rows],
                total=total, limit=page.limit, offset=page.offset)


@router.post("/posyandu", response_model=PosyanduOut, status_code=201)
def create_posyandu(body: PosyanduCreate, session: SessionDep,
                    principal: Annotated[Principal, Depends(require_role("supervisor"))]) -> PosyanduOut:
    row = posyandu_service.create_posyandu(session, principal=principal,
                                           kelurahan_code=body.kelurahan_code, name=body.name,
                                           rw=body.rw)
    return PosyanduOut.model_validate(row, from_attributes=True)


@router.patch("/posyandu/{posyandu_id}", response_model=PosyanduOut)
def update_posyandu(posyandu_id: RecordId, body: PosyanduUpdate, session: SessionDep,
                    principal: Annotated[Principal, Depends(require_role("supervisor"))]) -> PosyanduOut:
    """Rename a posyandu or switch it off (supervisors within their scope, admins)."""
    row = posyandu_service.update_posyandu(session, principal=principal, posyandu_id=posyandu_id,
                                           name=body.name, is_active=body.is_active)
    return PosyanduOut.model_validate(row, from_attributes=True)


@router.get("/posyandu", response_model=Page[PosyanduOut])
def list_posyandu(session: ReadSessionDep, principal: PrincipalDep, page: PageDep,
                  kelurahan_code: str | None = None) -> Page[PosyanduOut]:
    rows, total = posyandu_service.list_posyandu(session, principal=principal,
                                                 kelurahan_code=kelurahan_code,
                                                 limit=page.limit, offset=page.offset)
    return Page(items=[PosyanduOut.model_validate(r, from_attributes=True) for r in rows],
                total=total, limit=page.limit, offset=page.offset)
