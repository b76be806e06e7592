"""FastAPI dependencies, as ``Annotated`` aliases: ``SessionDep``, ``SettingsDep``, ..."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from backend.auth import service as auth_service
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


async def require_write_access(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Let a write through if it carries a valid token, or if tokens are not required.

    A token that is sent is always checked, so a client with a wrong token learns so even on
    a server that does not require one.
    """
    if credentials is None:
        if "authorization" in request.headers:
            raise unauthorized("the Authorization header must be 'Bearer <token>'")
        if settings.api_tokens_required:
            raise unauthorized("this server requires an API token for writes")
        return
    if not await run_in_threadpool(auth_service.is_valid, session, secret=credentials.credentials):
        raise unauthorized("the API token is not valid (unknown or revoked)")


WriteAccessDep = Annotated[None, Depends(require_write_access)]
