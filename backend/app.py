"""The FastAPI application: REST API under /api/v1, probes, and the dashboard's pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio.to_thread import current_default_thread_limiter
from fastapi import FastAPI

import pagelab
from backend.catalog.router import router as catalog_router
from backend.db import make_engine, make_session_factory
from backend.experiments.router import router as experiments_router
from backend.health.router import router as health_router
from backend.limits import BodySizeLimit
from backend.pages.router import router as pages_router
from backend.problems import install_problem_handlers
from backend.queue import TaskQueue, make_celery
from backend.runs.router import router as runs_router
from backend.settings import Settings, get_settings
from backend.shares.router import router as shares_router
from backend.traces.router import router as traces_router

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app for ``settings`` (default: from the environment). The schema must be migrated."""
    settings = settings or get_settings()
    settings.make_dirs()
    # Every handler thread can hold a connection; a connection opened past the pool's size
    # is closed again when handed back, and opening one costs the database a new process.
    engine = make_engine(settings.database_url, pool_size=settings.api_threads)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Synchronous handlers and dependencies run on anyio's default thread limiter (40
        # threads unless set), one per event loop: this one's.
        current_default_thread_limiter().total_tokens = settings.api_threads
        yield
        engine.dispose()

    app = FastAPI(
        title="pagelab",
        version=pagelab.ENGINE_VERSION,
        summary="A lab for Linux memory-management policy experiments.",
        description=(
            "Submit experiments (a spec and optional sweep axes), follow their runs, read and "
            "export results, upload traces, and share runs by link. Errors are "
            "application/problem+json (RFC 9457). Writes need `Authorization: Bearer <token>` "
            "when the server requires tokens (PAGELAB_API_TOKENS_REQUIRED)."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.session_factory = make_session_factory(engine)
    app.state.queue = TaskQueue(make_celery(settings, fail_fast=True))
    install_problem_handlers(app)
    app.add_middleware(
        BodySizeLimit,
        max_request_bytes=settings.max_request_bytes,
        max_upload_bytes=settings.max_upload_bytes,
    )
    for router in (experiments_router, runs_router, traces_router, shares_router, catalog_router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(health_router)
    app.include_router(pages_router)
    return app
