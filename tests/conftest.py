"""Shared pytest setup: markers from the test folder, and which services a run is using."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).parent

# Tests in these folders get the marker of the same name, so `-m "not browser"` works
# without every module remembering to mark itself.
_FOLDER_MARKERS = ("service", "browser")
# Tests that use these fixtures start worker or server processes: marked `processes`, which
# `make test-fast` leaves out (as it does modules marked `processes` themselves).
_PROCESS_FIXTURES = frozenset({"workers", "live_server"})
# The services a run may be pointed at (tests/real_services.py); unset: the embedded default.
_SERVICE_URLS = ("PAGELAB_TEST_DATABASE_URL", "PAGELAB_TEST_BROKER_URL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    del config
    for item in items:
        if not item.path.is_relative_to(TESTS_DIR):
            continue
        folder = item.path.relative_to(TESTS_DIR).parts[0]
        if folder in _FOLDER_MARKERS:
            item.add_marker(folder)
        if _PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker("processes")


def pytest_configure(config: pytest.Config) -> None:
    """Refuse parallel workers (pytest-xdist's ``-n``) on a database or broker given by
    environment: the workers would share its tables and queue, and each test empties both."""
    workers = config.getoption("numprocesses", default=None)
    shared = [name for name in _SERVICE_URLS if os.environ.get(name)]
    if workers and shared:
        raise pytest.UsageError(
            f"-n {workers} with {' and '.join(shared)} set: parallel workers would share "
            "that database and queue; unset them (each worker then has its own embedded "
            "database and queue) or run without -n"
        )


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Name the database and broker up front: CI runs the suite against more than one setup."""
    del config
    embedded = "unset: embedded default"
    return [
        f"PAGELAB_TEST_DATABASE_URL: {os.environ.get('PAGELAB_TEST_DATABASE_URL', embedded)}",
        f"PAGELAB_TEST_BROKER_URL: {os.environ.get('PAGELAB_TEST_BROKER_URL', embedded)}",
    ]
