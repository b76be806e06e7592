"""How the API process is set up: threads for handlers, connections for those threads."""

from __future__ import annotations

from anyio.to_thread import current_default_thread_limiter
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

from backend.settings import Settings

from .conftest import make_client


def test_api_threads_bounds_the_handler_threads_and_sizes_the_pool(settings: Settings) -> None:
    with make_client(settings.model_copy(update={"api_threads": 3})) as client:
        assert client.portal is not None
        threads = client.portal.call(lambda: current_default_thread_limiter().total_tokens)
        assert threads == 3
        assert isinstance(client.app, FastAPI)
        engine = client.app.state.session_factory.kw["bind"]
        assert isinstance(engine, Engine)
        assert isinstance(engine.pool, QueuePool)
        assert engine.pool.size() == 3
        assert client.get("/api/v1/experiments").status_code == 200
