"""Liveness and readiness; the only endpoints without auth."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from core.migrate import current_revision, head_revision

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request):
    """The database answers and its schema is at the latest migration."""
    try:
        current = current_revision(request.app.state.engine)
    except Exception as exc:  # noqa: BLE001 - any database failure means "not ready"
        return JSONResponse({"status": "unavailable", "detail": f"database: {exc.__class__.__name__}"},
                            status_code=503)
    head = head_revision()
    if current != head:
        return JSONResponse(
            {"status": "unavailable", "detail": f"migrations at {current}, expected {head}; "
             "run `posyandu-sync migrate`"}, status_code=503)
    return {"status": "ready", "migration": current}
