"""How the API process is set up: threads for handlers, connections for those threads."""

from __future__ import annotations

import pytest
from anyio.to_thread import current_default_thread_limiter
from fastapi import FastAPI
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import QueuePool

from backend import db
from backend.db import make_engine
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


def test_a_pooled_connection_the_server_closed_while_idle_is_replaced(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("needs a database server that can close a connection")
    engine = make_engine(settings.database_url, pool_size=1)
    admin = create_engine(settings.database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            backend_pid = connection.scalar(text("SELECT pg_backend_pid()"))
        with admin.connect() as connection:
            # Waits (up to 5 s) until the backend is gone.
            connection.execute(
                text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": backend_pid}
            )
        # Every connection counts as idle past the limit: the closed one is pinged, replaced.
        monkeypatch.setattr(db, "PING_AFTER_IDLE_S", -1.0)
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT pg_backend_pid()")) != backend_pid
    finally:
        engine.dispose()
        admin.dispose()
