"""A broker or database restarted in the middle of a sweep: every run still succeeds, within
a minute of the restart, with a real Celery worker.

The broker is a Redis of the test's own that keeps nothing on disk, so its restart loses the
queued tasks; the watch in the worker's maintenance loop notices in seconds (not after
PAGELAB_REDISPATCH_AFTER_S, left at its 15 minutes here) and sends them again. The database
is a PostgreSQL cluster of the test's own, stopped while the first run runs and started
again once the run has ended and failed to store its outcome.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from backend.db import make_engine, make_session_factory
from backend.migrations import upgrade_to_head
from backend.queue import TaskQueue, make_celery
from backend.runs.models import Run, RunResult
from backend.settings import Settings

from ..real_services import Workers, fresh_database_url
from ..restartable_services import PrivatePostgres, PrivateRedis, postgres_unavailable_reason
from .conftest import make_client
from .helpers import wait_for, watched_spec

pytestmark = pytest.mark.slow

RUNS = 6
AFTER_RESTART_S = 60.0
# Generous: a worker compiling the engine (a cold cache) and the first run reaching its
# gate on a slow, shared machine.
SETUP_TIMEOUT_S = 400.0


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def _settings(settings: Settings, home: Path, *, database_url: str, broker_url: str) -> Settings:
    """The suite's settings on this test's own database and broker, migrated."""
    own = settings.model_copy(
        update={"home": home, "database_url": database_url, "broker_url": broker_url}
    )
    upgrade_to_head(own)
    return own


def _runs(settings: Settings) -> list[dict[str, Any]] | None:
    """Every run's state, read straight from the database; None while it is away."""
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            counted = select(RunResult.run_id, func.count()).group_by(RunResult.run_id)
            results = {run_id: count for run_id, count in session.execute(counted)}
            return [
                {
                    "id": run.id,
                    "status": run.status,
                    "attempts": run.attempts,
                    "dispatched": run.dispatched_at is not None,
                    "results": results.get(run.id, 0),
                    "accesses_done": run.accesses_done,
                }
                for run in session.scalars(select(Run).order_by(Run.point_index))
            ]
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def _start_held_sweep(settings: Settings, workers: Workers) -> int:
    """A sweep of RUNS runs whose first is running, held after its first chunk, while the
    others are queued and sent; returns the seed that holds it (Workers.release)."""
    spec = watched_spec()
    seed: int = spec["controls"]["seed"]
    workers.hold(seed)  # every run of the sweep shares the seed
    body = {
        "name": "restart",
        "spec": spec,
        "sweep": {"workload.generator.store_fraction": [0.1 * i for i in range(1, RUNS + 1)]},
    }
    with make_client(settings) as api:
        created = api.post("/api/v1/experiments", json=body)
        assert created.status_code == 201, created.text
    wait_for(
        lambda: _runs(settings),
        lambda runs: (
            runs is not None
            and runs[0]["status"] == "running"
            and runs[0]["accesses_done"] > 0
            and all(r["status"] == "queued" and r["dispatched"] for r in runs[1:])
        ),
        timeout_s=SETUP_TIMEOUT_S,
        what="the first run to run and the rest to be sent",
    )
    return seed


def _all_succeed_soon(settings: Settings, restarted: float) -> list[dict[str, Any]]:
    runs = wait_for(
        lambda: _runs(settings),
        lambda runs: (
            runs is not None and all(r["status"] not in ("queued", "running") for r in runs)
        ),
        timeout_s=AFTER_RESTART_S,
        what="every run to finish after the restart",
    )
    assert time.monotonic() - restarted < AFTER_RESTART_S
    assert [run["status"] for run in runs] == ["succeeded"] * RUNS, runs
    assert [run["results"] for run in runs] == [1] * RUNS, runs
    return runs


def test_a_broker_restart_that_loses_the_queue_mid_sweep_is_noticed_in_seconds(
    settings: Settings, tmp_path: Path, private_redis: PrivateRedis, workers: Workers
) -> None:
    settings = _settings(
        settings,
        tmp_path,
        database_url=fresh_database_url(tmp_path, "broker_restart"),
        broker_url=private_redis.url,
    )
    assert settings.redispatch_after_s == 900  # the old remedy, far too late to matter here
    queue = TaskQueue(make_celery(settings, fail_fast=True))
    workers.start("w1", settings)
    seed = _start_held_sweep(settings, workers)
    assert queue.waiting_count() == RUNS - 1

    private_redis.restart()
    restarted = time.monotonic()
    assert queue.waiting_count() == 0  # the queued tasks are gone with the old server
    workers.release(seed)
    runs = _all_succeed_soon(settings, restarted)
    # Sent again, not re-run: each started once.
    assert all(run["attempts"] == 1 for run in runs), runs


@pytest.mark.skipif(
    postgres_unavailable_reason() is not None, reason=postgres_unavailable_reason() or ""
)
def test_a_database_restart_mid_run_ends_with_every_run_succeeded(
    settings: Settings, tmp_path: Path, private_redis: PrivateRedis, workers: Workers
) -> None:
    postgres = PrivatePostgres()
    try:
        postgres.start()
        settings = _settings(
            settings, tmp_path, database_url=postgres.url, broker_url=private_redis.url
        )
        workers.start("w1", settings)
        seed = _start_held_sweep(settings, workers)

        # Down while the first run ends: its outcome must wait for the database to be back.
        postgres.stop()
        workers.release(seed)
        log = workers.log_path("w1")
        # Either the worker waits for the database, or its task failed (Celery logs "raised
        # unexpected"): the first is what must happen.
        text = wait_for(
            lambda: log.read_text(errors="replace"),
            lambda text: "outcome: database unavailable" in text or "raised unexpected" in text,
            timeout_s=SETUP_TIMEOUT_S,
            what="the first run to end while the database is down",
        )
        assert "raised unexpected" not in text, workers.logs()
        postgres.start()
        restarted = time.monotonic()
        _all_succeed_soon(settings, restarted)
    finally:
        workers.stop_all()
        postgres.remove()
