"""Service-test fixtures: a real database and broker (chosen by environment, see
tests/real_services.py), the API, and real Celery worker processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.orm import Session

from backend.app import create_app
from backend.db import make_engine, make_session_factory
from backend.migrations import upgrade_to_head
from backend.models import Base
from backend.settings import Settings

from ..real_services import (
    TEST_BROKER_URL,
    TEST_DATABASE_URL,
    Workers,
    purge_broker,
    recreate_postgres_database,
)


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
    # Addressed to localhost, a name the server answers to by default (not "testserver").
    return TestClient(create_app(settings), base_url="http://localhost")


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
