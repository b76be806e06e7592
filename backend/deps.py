"""FastAPI dependencies, as ``Annotated`` aliases: ``SessionDep``, ``SettingsDep``, ..."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from backend.auth import service as auth_service
from backend.problems import unauthorized
from backend.queue import TaskQueue
from backend.settings import Settings


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _session(request: Request) -> Iterator[Session]:
    # Handlers commit; whatever they did not commit is rolled back when the session closes.
    with request.app.state.session_factory() as session:
        yield session


def _queue(request: Request) -> TaskQueue:
    queue: TaskQueue = request.app.state.queue
    return queue


SettingsDep = Annotated[Settings, Depends(_settings)]
SessionDep = Annotated[Session, Depends(_session)]
QueueDep = Annotated[TaskQueue, Depends(_queue)]

_bearer = HTTPBearer(auto_error=False, description="An API token from `pagelab token create`.")


def require_write_access(
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
    if not auth_service.is_valid(session, secret=credentials.credentials):
        raise unauthorized("the API token is not valid (unknown or revoked)")


WriteAccessDep = Annotated[None, Depends(require_write_access)]
