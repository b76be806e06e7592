"""FastAPI dependencies, as ``Annotated`` aliases: ``SessionDep``, ``SettingsDep``, ..."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from backend.auth import access
from backend.auth.access import Caller
from backend.db import use_autocommit, utc_now
from backend.problems import unauthorized
from backend.queue import TaskQueue
from backend.settings import Settings

# Dependencies that do no I/O are coroutines: FastAPI runs a plain function in a worker
# thread, and each such hop costs more CPU than most of these dependencies do.


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _session(request: Request) -> AsyncIterator[Session]:
    # Making a session opens no connection. Handlers commit; whatever they did not commit is
    # rolled back when the session closes.
    session: Session = request.app.state.session_factory()
    try:
        yield session
    finally:
        if session.in_transaction():
            # Rolling back talks to the database: off the event loop. Shielded, so that a
            # request cancelled (client gone) still gives its connection back.
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(session.close)
        else:
            # Committed or rolled back already: the connection is back in the pool, and
            # closing is bookkeeping only.
            session.close()


async def _queue(request: Request) -> TaskQueue:
    queue: TaskQueue = request.app.state.queue
    return queue


SettingsDep = Annotated[Settings, Depends(_settings)]
SessionDep = Annotated[Session, Depends(_session)]
QueueDep = Annotated[TaskQueue, Depends(_queue)]

_bearer = HTTPBearer(auto_error=False, description="An API token from `pagelab token create`.")


async def require_access(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller | None:
    """The access rule (backend/auth/access.py), run for every route of the app: who calls,
    and whether they may. Public routes (app.PUBLIC_ENDPOINTS) let anyone through."""
    request.state.caller = None
    cookie = request.cookies.get(access.SESSION_COOKIE)
    access.check_origin(request, settings, has_cookie=cookie is not None)
    public_endpoints: frozenset[object] = request.app.state.public_endpoints
    if request.scope.get("endpoint") in public_endpoints:
        return None
    if credentials is None and "authorization" in request.headers:
        raise unauthorized("the Authorization header must be 'Bearer <token>'")
    bearer = credentials.credentials if credentials else None
    caller = None
    if bearer is not None or cookie is not None:
        caller = await run_in_threadpool(
            _identify, session, bearer=bearer, cookie=cookie, settings=settings
        )
    access.authorize(request, caller, tokens_required=settings.api_tokens_required)
    request.state.caller = caller
    return caller


def _identify(
    session: Session, *, bearer: str | None, cookie: str | None, settings: Settings
) -> Caller | None:
    # One statement, in autocommit, and the connection handed back at once: the handler
    # then starts afresh, free to choose autocommit for itself (use_autocommit).
    use_autocommit(session)
    try:
        return access.identify(
            session,
            bearer=bearer,
            cookie=cookie,
            tokens_required=settings.api_tokens_required,
            now=utc_now(),
        )
    finally:
        session.rollback()


# Every route runs require_access (the app's dependency); FastAPI runs it once per request,
# so a route that names it again, to say it writes, costs nothing more.
AccessDep = Annotated[Caller | None, Depends(require_access)]
WriteAccessDep = AccessDep
