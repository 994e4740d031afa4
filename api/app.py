"""The FastAPI application."""

from __future__ import annotations

import logging
import time
import uuid

from fastapi import FastAPI, Request
from sqlalchemy.engine import Engine

from api.errors import install_error_handlers
from api.routes import auth, health, kobo, openrosa, regions, submissions, users
from core.config import get_settings
from core.db import get_engine
from core.logging import reset_request_id, set_request_id

log = logging.getLogger("posyandu.access")


def create_app(engine: Engine | None = None) -> FastAPI:
    app = FastAPI(
        title="posyandu-sync",
        version="0.1.0",
        summary="Sync backend for posyandu kader phones (OpenRosa, Kobo, JSON) with WHO "
        "growth indicators and a person registry.",
    )
    app.state.engine = engine or get_engine()
    app.state.settings = get_settings()
    install_error_handlers(app)

    @app.middleware("http")
    async def request_context(request: Request, call_next):
        request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex[:16]
        token = set_request_id(request_id)
        started = time.perf_counter()
        try:
            response = await call_next(request)
        finally:
            reset_request_id(token)
        response.headers["X-Request-ID"] = request_id
        log.info("%s %s %s", request.method, request.url.path, response.status_code,
                 extra={"method": request.method, "path": request.url.path,
                        "status": response.status_code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
        return response

    for module in (health, auth, users, regions, submissions, kobo):
        app.include_router(module.router)
    # OpenRosa: device-token URLs (what the QR code sets up) and HTTP Basic at the root.
    app.include_router(openrosa.router, prefix="/key/{token}")
    app.include_router(openrosa.router)
    return app
