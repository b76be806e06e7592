"""The FastAPI application: REST API under /api/v1, probes, and the dashboard's pages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from anyio.to_thread import current_default_thread_limiter
from fastapi import Depends, FastAPI

import pagelab
from backend.api_docs import router as api_docs_router
from backend.auth import router as auth
from backend.catalog.router import router as catalog_router
from backend.db import make_engine, make_session_factory
from backend.deps import require_access
from backend.experiments.router import router as experiments_router
from backend.health import router as health
from backend.hosts import AllowedHosts
from backend.limits import BodySizeLimit
from backend.pages import router as pages
from backend.problems import install_problem_handlers
from backend.queue import TaskQueue, make_celery
from backend.runs.router import router as runs_router
from backend.settings import Settings, get_settings
from backend.shares import router as shares
from backend.traces.router import router as traces_router

API_PREFIX = "/api/v1"

# Routes anyone may call, even where tokens are required: the probes, share links (the link
# is the capability: its page and the two API reads it makes), signing in and out, and
# plotly.js, which the share page loads. Every other route needs a token there
# (backend/auth/access.py); /static serves only the dashboard's own files. Named by their
# handlers, which stay the same whatever prefix a router is mounted under.
PUBLIC_ENDPOINTS: frozenset[Callable[..., Any]] = frozenset(
    {
        health.healthz,
        health.readyz,
        shares.read_shared,
        shares.read_shared_result,
        pages.shared_page,
        pages.plotly_js,
        auth.sign_in_page,
        auth.sign_in,
        auth.sign_out,
    }
)


def allowed_hosts(settings: Settings) -> tuple[str, ...]:
    """The configured host names, and the public base URL's."""
    public_host = urlsplit(settings.public_base_url).hostname if settings.public_base_url else None
    return settings.allowed_hosts + ((public_host,) if public_host else ())


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
            "application/problem+json (RFC 9457). When the server requires tokens "
            "(PAGELAB_API_TOKENS_REQUIRED), every route but the probes and share links needs "
            "`Authorization: Bearer <token>`: a read token for GET, a write token otherwise "
            "(401 without a valid token, 403 when its scope is short)."
        ),
        lifespan=lifespan,
        dependencies=[Depends(require_access)],
        # Served by backend/api_docs.py instead, so that they pass the access rule too.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.session_factory = make_session_factory(engine)
    app.state.queue = TaskQueue(make_celery(settings, fail_fast=True))
    app.state.public_endpoints = PUBLIC_ENDPOINTS
    install_problem_handlers(app)
    app.add_middleware(
        BodySizeLimit,
        max_request_bytes=settings.max_request_bytes,
        max_upload_bytes=settings.max_upload_bytes,
    )
    # Added last, so it runs first: a request for another host name is refused unread.
    app.add_middleware(AllowedHosts, allowed_hosts=allowed_hosts(settings))
    for router in (experiments_router, runs_router, traces_router, shares.router, catalog_router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(health.router)
    app.include_router(api_docs_router)
    app.include_router(auth.router)
    app.include_router(pages.router)
    return app
