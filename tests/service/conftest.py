"""Service-test fixtures: a real database and broker (chosen by environment), the API, and
real Celery worker processes.

``PAGELAB_TEST_DATABASE_URL`` (PostgreSQL; the database is created if missing and its schema
rebuilt) and ``PAGELAB_TEST_BROKER_URL`` (Redis or RabbitMQ) point the suite at real
services; without them it runs on the embedded default, SQLite and the filesystem transport,
in a temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kombu import Exchange, Queue
from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from backend.app import create_app
from backend.db import make_engine, make_session_factory
from backend.models import Base
from backend.queue import QUEUE_NAME, make_celery
from backend.schema import upgrade_to_head
from backend.settings import Settings

from .processes import Workers

TEST_DATABASE_URL = os.environ.get("PAGELAB_TEST_DATABASE_URL", "")
TEST_BROKER_URL = os.environ.get("PAGELAB_TEST_BROKER_URL", "")


def recreate_postgres_database(url: str) -> None:
    """Create the database if missing, and give it an empty public schema."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        found = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        )
        if not found:
            connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    engine = create_engine(target, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def fresh_database_url(home: Path, suffix: str) -> str:
    """A new, empty database of the kind the suite runs on, named for ``suffix``."""
    if TEST_DATABASE_URL.startswith("postgresql"):
        base = make_url(TEST_DATABASE_URL)
        url = base.set(database=f"{base.database}_{suffix}").render_as_string(hide_password=False)
        recreate_postgres_database(url)
        return url
    return f"sqlite:///{home / f'{suffix}.db'}"


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("pagelab-home")
    database_url = TEST_DATABASE_URL or f"sqlite:///{home / 'pagelab.db'}"
    if database_url.startswith("postgresql"):
        recreate_postgres_database(database_url)
    settings = Settings(
        home=home,
        database_url=database_url,
        broker_url=TEST_BROKER_URL,
        maintenance_interval_s=0.5,
        # Progress every 0.1 s, so a test sees a run move, and kills or cancels it, well
        # before it ends on a fast machine.
        progress_interval_s=0.1,
    )
    upgrade_to_head(settings)
    return settings


def purge_broker(settings: Settings) -> None:
    app = make_celery(settings)
    with app.connection_for_write() as connection:
        queue = Queue(QUEUE_NAME, Exchange(QUEUE_NAME), routing_key=QUEUE_NAME)
        bound = queue(connection.default_channel)
        bound.declare()
        bound.purge()


@pytest.fixture(autouse=True)
def clean_state(base_settings: Settings) -> Iterator[None]:
    """Each test starts with empty tables and an empty queue."""
    engine = make_engine(base_settings.database_url)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(delete(table))
    engine.dispose()
    purge_broker(base_settings)
    yield


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    return base_settings


@pytest.fixture
def db(settings: Settings) -> Iterator[Session]:
    """A session on the test database, to look at what the service stored."""
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        yield session
    engine.dispose()


def make_client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    with make_client(settings) as client:
        yield client


@pytest.fixture
def workers(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Workers]:
    manager = Workers(tmp_path)
    failed_before = request.session.testsfailed
    yield manager
    manager.stop_all()
    if request.session.testsfailed > failed_before or _call_failed(request):
        print(manager.logs())


def _call_failed(request: pytest.FixtureRequest) -> bool:
    report = getattr(request.node, "report_call", None)
    return bool(report is not None and report.failed)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.report_call = report  # type: ignore[attr-defined]
    return report
