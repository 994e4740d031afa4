"""The JSON sync API for apps and integrations: the change feed, the snapshot, pushes,
conflict review and the devices that sync (logic in sync.offline)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api import access
from api.deps import PrincipalDep, ReadSessionDep, SessionDep, SupervisorDep
from api.pagination import Page, PageDep, RecordId
from sync import offline
from sync.minimise import minimise_all, sees_full_numbers

router = APIRouter(prefix="/api/v1", tags=["sync"])


def _json(body: dict) -> Response:
    """The feed's and snapshot's pages are plain JSON values already: encoded once with
    the standard library. FastAPI's jsonable_encoder walked every value of a 5,000-change
    page again (about 30 times the cost of the encoding itself)."""
    return Response(json.dumps(body, separators=(",", ":"), ensure_ascii=False),
                    media_type="application/json")


def _reset(detail: str) -> JSONResponse:
    return JSONResponse(status_code=410, content={
        "error": "sync.reset_required", "detail": f"{detail}: download GET /api/v1/sync/snapshot "
        "again"})


async def _touch(request: Request, principal, device_id: str | None, app: str | None, **what) -> None:
    if device_id:
        await request.app.state.submission_writer.store(lambda tx: offline.touch_device(
            tx.session, principal=principal, device_id=device_id[:64], app=app, **what))


@router.get("/sync/changes")
async def changes(request: Request, principal: PrincipalDep,
                  since: Annotated[str | None, Query(max_length=80)] = None,
                  limit: Annotated[int, Query(ge=1, le=5000)] = 500,
                  device_id: Annotated[str | None, Query(max_length=64)] = None,
                  user_agent: Annotated[str | None, Header()] = None) -> Any:
    """The changes to records in your scope after `since` (none: from the beginning), in
    commit-safe order: `{"changes", "next_cursor", "more"}`. 410 `sync.reset_required`:
    download the snapshot again."""
    from starlette.concurrency import run_in_threadpool

    def read():
        from sqlmodel import Session
        with Session(request.app.state.read_engine) as session:
            page = offline.feed(session, scope=principal.scope, since=since, limit=limit)
            session.commit()
            return page
    try:
        page = await run_in_threadpool(read)
    except offline.ResetRequired as exc:
        return _reset(str(exc))
    if page.persons or page.households:  # read with the page: no decoding of its JSON
        await access.log_read_async(request, principal, resource="sync_changes",
                                    persons=page.persons, households=page.households,
                                    rows=len(page.items))
    await _touch(request, principal, device_id, user_agent, pulled=True)
    if sees_full_numbers(principal):  # the page as encoded by the database
        return Response(page.to_json(), media_type="application/json")
    return _json({"changes": minimise_all(principal, page.changes),
                  "next_cursor": page.next_cursor, "more": page.more})


@router.get("/sync/snapshot")
def snapshot(request: Request, session: ReadSessionDep, principal: PrincipalDep,
             page: Annotated[str | None, Query(max_length=200)] = None,
             limit: Annotated[int, Query(ge=1, le=5000)] = 1000) -> Any:
    """Every current person and household in your scope, a page at a time (`next_page`);
    then follow the feed from `cursor`."""
    try:
        result = offline.snapshot_page(session, scope=principal.scope, page=page, limit=limit)
    except offline.ResetRequired as exc:
        return _reset(str(exc))
    persons, households = offline.subjects_of(result.records)
    access.log_read(request, principal, resource="sync_snapshot", action="download",
                    persons=persons, households=households, rows=len(result.records))
    return _json({"records": minimise_all(principal, result.records), "cursor": result.cursor,
                  "next_page": result.next_page, "more": result.next_page is not None})


def _stored(request: Request, principal, mutations: list[dict]) -> tuple[dict, set]:
    """What the push's units need not look up again in the writer: the results stored
    for its mutation ids, and which of its creates' ids exist (sync.offline)."""
    from sqlmodel import Session
    with Session(request.app.state.read_engine) as session:
        found = offline.stored_results(session, principal, [m["mutation_id"] for m in mutations])
        existing = offline.existing_ids(session, mutations)
        session.commit()
        return found, existing


@router.post("/sync/push")
async def push(request: Request, principal: PrincipalDep, body: Annotated[Any, Body()],
               user_agent: Annotated[str | None, Header()] = None) -> Any:
    """Versioned mutations, each in its own transaction with its own result, in order:
    `applied`, `merged` (stale base, no overlap), `conflict` (overlapping fields kept as
    they are, `conflict_id`), `rejected` (`reason`). A replayed mutation_id returns the
    stored result."""
    device_id, mutations = offline.validate_envelope(body, principal)
    writer = request.app.state.submission_writer
    stored, existing = await run_in_threadpool(_stored, request, principal, mutations)
    units = offline.push_units(principal, device_id, mutations, stored, existing)
    outcomes = await writer.store_all([u for u in units if u is not None],
                                      group=offline.PUSH_GROUP)
    results, written = [], iter(outcomes)
    for m, unit in zip(mutations, units):  # in the push's order
        if unit is None:  # a replay: its stored result, nothing written
            results.append(stored[m["mutation_id"]])
            continue
        result, error = next(written)
        if error is not None:
            raise error
        results.append(result)
    await _touch(request, principal, device_id, user_agent, pushed=True)
    return _json({"results": results})


class ConflictOut(BaseModel):
    id: int
    entity: str
    entity_id: str
    kelurahan_code: str
    posyandu_id: int | None
    base_version: int
    version: int
    fields: dict
    status: str
    incoming_by: int | None
    device_id: str | None
    mutation_id: str | None
    submission_id: int | None
    created_at: datetime
    resolved_by: int | None
    resolved_at: datetime | None
    resolution: dict | None


class ConflictDetail(ConflictOut):
    sources: dict


class Resolution(BaseModel):
    choose: Literal["incoming", "current"] | None = None
    values: dict | None = None
    expected_version: int | None = None


@router.get("/conflicts", response_model=Page[ConflictOut])
def list_conflicts(request: Request, session: ReadSessionDep, principal: SupervisorDep,
                   page: PageDep,
                   status: Literal["open", "resolved"] | None = None,
                   kelurahan_code: Annotated[str | None, Query(max_length=13)] = None,
                   entity: Literal["person", "household", "measurement"] | None = None
                   ) -> Page[ConflictOut]:
    rows, total = offline.list_conflicts(session, principal=principal, status=status,
                                         kelurahan_code=kelurahan_code, entity=entity,
                                         limit=page.limit, offset=page.offset)
    items = [ConflictOut.model_validate(r, from_attributes=True) for r in rows]
    access.log_read(request, principal, resource="conflicts", rows=len(items),
                    persons=[i.entity_id for i in items if i.entity == "person"],
                    households=[i.entity_id for i in items if i.entity == "household"])
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/conflicts/{conflict_id}", response_model=ConflictDetail)
def get_conflict(conflict_id: RecordId, request: Request, session: ReadSessionDep,
                 principal: SupervisorDep) -> ConflictDetail:
    row = offline.get_conflict_or_raise(session, principal=principal, conflict_id=conflict_id)
    access.log_read(request, principal, resource="conflict", action="read",
                    subject=("conflict", str(conflict_id)),
                    **{"persons" if row.entity == "person" else "households": [row.entity_id]})
    return ConflictDetail(**ConflictOut.model_validate(row, from_attributes=True).model_dump(),
                          sources=offline.conflict_detail(session, row))


@router.post("/conflicts/{conflict_id}/resolve", response_model=ConflictOut)
def resolve_conflict(conflict_id: RecordId, resolution: Resolution, session: SessionDep,
                     principal: SupervisorDep) -> ConflictOut:
    """Pick `incoming` or `current` for every field, or type `values`; writes a new
    version, an audit entry and a change-log row. 409 if `expected_version` is stale."""
    row, _ = offline.resolve_conflict(session, principal=principal, conflict_id=conflict_id,
                                      choose=resolution.choose, values=resolution.values,
                                      expected_version=resolution.expected_version)
    return ConflictOut.model_validate(row, from_attributes=True)


@router.get("/devices")
def list_devices(session: ReadSessionDep, principal: SupervisorDep) -> Any:
    items = offline.list_devices(session, principal=principal)
    return {"items": items, "total": len(items), "limit": len(items), "offset": 0}
