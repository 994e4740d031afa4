"""The FastAPI application."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Path
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from api.console import install_console
from api.errors import JSON_ERRORS, OPENROSA_ERRORS, install_error_handlers
from api.http_security import SecurityMiddleware
from api.middleware import RequestContextMiddleware
from api.openrosa_submission import OpenRosaSubmissionMiddleware
from api.routes import (
    access_log,
    auth,
    health,
    identity,
    kobo,
    openrosa,
    records,
    regions,
    submissions,
    users,
)
from api.routes import caseloads as caseload_routes
from api.routes import sync as sync_routes
from api.routes.docs import install_docs
from core.config import get_settings
from core.db import get_engine, is_sqlite, read_only
from core.version import app_version
from indicators.anthro import growth_standards
from sync.writer import SubmissionWriter

log = logging.getLogger("posyandu.app")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    # Uvicorn has finished the requests in flight; submissions already handed to the
    # writer are committed before the worker exits.
    await asyncio.to_thread(app.state.submission_writer.close)


def warm_up(app: FastAPI, connections: int | None = None) -> None:
    """Before a worker serves its first request: what the first requests would
    otherwise wait for. The WHO tables are read, the submission writer starts and
    opens its connection, and the pool opens `connections` (default: its size on
    PostgreSQL), so that phones arriving together (a restart, a morning) do not each
    wait for a new database connection. Best effort: with the database down, the
    worker still starts (/readyz says what is wrong) and connects when it can."""
    growth_standards()
    if connections is None:  # SQLite opens a connection in well under a millisecond
        connections = 0 if is_sqlite(app.state.engine) else app.state.engine.pool.size()
    try:
        app.state.submission_writer.start()
        opened = [app.state.engine.connect() for _ in range(connections)]  # at once: new ones
    except SQLAlchemyError as error:
        log.warning("warm-up stopped, the database did not answer: %s", error)
        return
    for connection in opened:
        connection.close()


def freeze_startup() -> None:
    """What importing and building the app made lives as long as the worker. Frozen,
    the garbage collector's full collections no longer walk it: on the intake benchmark
    a worker's first full collection took about 90 ms (every phone waiting on that
    worker waited with it), and 3 ms with this; on bench/sync.py's pushes in the slow
    phase 220-280 ms each, and 14-45 ms."""
    gc.collect()
    gc.freeze()


def create_app(engine: Engine | None = None) -> FastAPI:
    app = FastAPI(
        lifespan=_lifespan,
        docs_url=None,  # FastAPI's pages load their assets from a CDN: see api/routes/docs.py
        redoc_url=None,
        title="posyandu-sync",
        version=app_version(),
        summary="Sync backend for posyandu kader phones (OpenRosa, Kobo, JSON) with WHO "
        "growth indicators and a person registry.",
    )
    app.state.engine = engine or get_engine()
    app.state.read_engine = read_only(app.state.engine)
    app.state.settings = get_settings()
    app.state.submission_writer = SubmissionWriter(
        app.state.engine, max_batch=app.state.settings.submission_batch,
        rebalance=app.state.settings.workers > 1)
    install_error_handlers(app)

    # The last added is the outermost: request context wraps everything, including
    # the phones' submissions, which are answered before FastAPI's router; every
    # answer then gets the security headers and every JSON body its limit
    # (api.http_security).
    app.add_middleware(OpenRosaSubmissionMiddleware)
    if app.state.settings.cors_origins:  # closed unless origins are listed
        app.add_middleware(CORSMiddleware, allow_origins=app.state.settings.cors_origins,
                           allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "Accept-Language"],
                           allow_credentials=False, max_age=600)
    app.add_middleware(SecurityMiddleware, settings=app.state.settings)
    app.add_middleware(RequestContextMiddleware)

    # OpenRosa first (phones' requests are most of the traffic, and routes are matched
    # in order): device-token URLs (what the QR code sets up) and HTTP Basic at the root.
    app.include_router(openrosa.router, prefix="/key/{token}", responses=OPENROSA_ERRORS,
                       dependencies=[Depends(_device_token_in_path)])
    app.include_router(openrosa.router, responses=OPENROSA_ERRORS)
    app.include_router(health.router)
    for module in (auth, users, regions, submissions, kobo):
        app.include_router(module.router, responses=JSON_ERRORS)
    app.include_router(records.router, responses=JSON_ERRORS)
    app.include_router(identity.router, responses=JSON_ERRORS)
    app.include_router(caseload_routes.router, responses=JSON_ERRORS)
    install_docs(app)
    install_console(app)
    app.include_router(sync_routes.router, responses=JSON_ERRORS)
    app.include_router(access_log.router, responses=JSON_ERRORS)
    return app


def _device_token_in_path(token: Annotated[str, Path(
        description="The phone's device token (set up by the Collect QR code)")]) -> None:
    """Declares /key/{token} for OpenAPI; the token is checked by the OpenRosa routes."""
