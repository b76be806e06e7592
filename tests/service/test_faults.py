"""Faults with real processes: a worker killed mid-run, a broker down at submission, a
cancelled run; and the reaper's limits, a duplicate delivery and stored-result reuse, on the
real database."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.db import make_engine, make_session_factory, utc_now
from backend.queue import TaskQueue, make_celery
from backend.runs.models import Run, RunResult
from backend.runs.service import claim_run
from backend.settings import Settings
from worker.execution import execute_run
from worker.maintenance import MaintenanceLoop

from ..real_services import Workers, purge_broker
from .conftest import make_client
from .helpers import WATCHED_ACCESSES, assert_problem, tiny_spec, wait_for, watched_spec

# Short, so a dead worker's run is noticed within the test; live runs (held ones too) beat
# every 0.1 s here (the tests' progress interval).
FAULT_SETTINGS = {"heartbeat_timeout_s": 3.0, "max_attempts": 3}


def _run(api: TestClient, run_id: int) -> dict[str, Any]:
    body: dict[str, Any] = api.get(f"/api/v1/runs/{run_id}").json()
    return body


def _submit(api: TestClient, spec: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/api/v1/experiments", json={"name": "fault", "spec": spec})
    assert response.status_code == 201, response.text
    run: dict[str, Any] = response.json()["runs"][0]
    return run


def _results(db: Session, run_id: int) -> int:
    return db.scalar(select(func.count()).where(RunResult.run_id == run_id)) or 0


def test_a_run_whose_worker_is_killed_is_requeued_and_succeeds_on_a_new_worker(
    settings: Settings, workers: Workers, db: Session
) -> None:
    settings = settings.model_copy(update=FAULT_SETTINGS)
    with make_client(settings) as api:
        workers.start("doomed", settings)
        spec = watched_spec()
        workers.hold(spec["controls"]["seed"])
        run = _submit(api, spec)
        wait_for(lambda: _run(api, run["id"]),
                 lambda r: r["status"] == "running" and r["progress"]["accesses_done"] > 0,
                 timeout_s=60, what="the run to make progress")  # fmt: skip
        workers.kill("doomed")
        time.sleep(1.0)
        # Nobody is left to notice: the run still looks running, with a heartbeat going stale.
        assert _run(api, run["id"])["status"] == "running"

        workers.release(spec["controls"]["seed"])
        workers.start("rescuer", settings)
        done = wait_for(lambda: _run(api, run["id"]),
                        lambda r: r["status"] not in ("queued", "running") and r["attempts"] >= 2,
                        timeout_s=120, what="the run to be re-queued and finish")  # fmt: skip
    assert done["status"] == "succeeded", done
    assert done["attempts"] == 2
    assert done["worker_hostname"] == workers.hostname("rescuer")
    assert _results(db, run["id"]) == 1


def _down_broker_url(settings: Settings) -> str:
    # Port 1 on loopback: nothing listens there, so connections are refused at once.
    if settings.broker_url.startswith("amqp"):
        return "amqp://guest:guest@127.0.0.1:1//"
    return "redis://127.0.0.1:1/0"


def test_a_run_submitted_while_the_broker_is_down_waits_and_is_dispatched_later(
    settings: Settings, workers: Workers, db: Session
) -> None:
    down = settings.model_copy(update={"broker_url": _down_broker_url(settings)})
    with make_client(down) as api:
        started = time.monotonic()
        run = _submit(api, tiny_spec())
        assert time.monotonic() - started < 2  # refused at once, not retried
        assert run["status"] == "queued"
        assert_problem(api.get("/readyz"), 503)
    time.sleep(1.0)
    db.expire_all()
    waiting = db.get(Run, run["id"])
    assert waiting is not None and waiting.status == "queued" and waiting.dispatched_at is None

    # A worker on the real broker runs the dispatcher, which sends the waiting run.
    workers.start("w1", settings)
    with make_client(settings) as api:
        done = wait_for(lambda: _run(api, run["id"]),
                        lambda r: r["status"] not in ("queued", "running"),
                        timeout_s=60, what="the waiting run to be dispatched and run")  # fmt: skip
    assert done["status"] == "succeeded", done
    assert _results(db, run["id"]) == 1


def test_cancelling_a_running_run_stops_it_within_seconds_and_stores_nothing(
    api: TestClient, settings: Settings, workers: Workers, db: Session
) -> None:
    workers.start("w1", settings)
    spec = watched_spec()
    workers.hold(spec["controls"]["seed"])  # never released: only the cancel lets it go on
    run = _submit(api, spec)
    wait_for(lambda: _run(api, run["id"]),
             lambda r: r["status"] == "running" and r["progress"]["accesses_done"] > 0,
             timeout_s=60, what="the run to make progress")  # fmt: skip
    asked = time.monotonic()
    response = api.post(f"/api/v1/experiments/{run['experiment_id']}/cancel")
    assert response.status_code == 200, response.text
    assert response.json()["runs"][0]["cancel_requested"] is True
    done = wait_for(lambda: _run(api, run["id"]), lambda r: r["status"] != "running",
                    timeout_s=20, what="the run to stop")  # fmt: skip
    assert done["status"] == "cancelled", done
    assert time.monotonic() - asked < 5
    assert done["progress"]["accesses_done"] < WATCHED_ACCESSES
    assert api.get(f"/api/v1/experiments/{run['experiment_id']}").json()["status"] == "cancelled"
    assert_problem(api.get(f"/api/v1/runs/{run['id']}/result"), 409)
    assert _results(db, run["id"]) == 0


def _make_stale(db: Session, run_id: int, *, attempts: int, cancel: bool = False) -> None:
    db.execute(
        update(Run)
        .where(Run.id == run_id)
        .values(
            status="running", attempts=attempts, worker_hostname="gone@host",
            heartbeat_at=utc_now() - timedelta(seconds=60), cancel_requested=cancel,
        )
    )  # fmt: skip
    db.commit()


def test_the_reaper_requeues_a_dead_run_then_gives_up_after_the_attempt_limit(
    api: TestClient, settings: Settings, db: Session
) -> None:
    settings = settings.model_copy(update=FAULT_SETTINGS)
    first, second, third = (_submit(api, tiny_spec()) for _ in range(3))
    _make_stale(db, first["id"], attempts=1)
    _make_stale(db, second["id"], attempts=3)
    _make_stale(db, third["id"], attempts=1, cancel=True)
    engine = make_engine(settings.database_url)
    loop = MaintenanceLoop(make_session_factory(engine), settings)
    try:
        reaped, _ = loop.run_once()
        assert reaped == 3
        assert loop.run_once()[0] == 0  # nothing is reaped twice
    finally:
        engine.dispose()

    requeued, failed, cancelled = (_run(api, run["id"]) for run in (first, second, third))
    assert requeued["status"] == "queued" and requeued["attempts"] == 1
    assert "attempt 1 lost: worker gone@host" in requeued["error"]
    assert failed["status"] == "failed"
    assert failed["error"].startswith("gave up after 3 attempts")
    assert cancelled["status"] == "cancelled"
    db.expire_all()
    assert db.get(Run, first["id"]).dispatched_at is not None  # type: ignore[union-attr]


def test_tasks_the_broker_lost_are_sent_again_once_the_loss_is_seen_twice(
    api: TestClient, settings: Settings, db: Session
) -> None:
    for _ in range(3):
        _submit(api, tiny_spec())
    queue = TaskQueue(make_celery(settings, fail_fast=True))
    assert queue.waiting_count() == 3
    purge_broker(settings)  # what a broker restarted without its queue leaves
    engine = make_engine(settings.database_url)
    loop = MaintenanceLoop(make_session_factory(engine), settings)
    try:
        # The first look could be a worker between taking a task and starting its run.
        assert loop.run_once() == (0, 0)
        assert loop.run_once() == (0, 3)
        assert queue.waiting_count() == 3
        assert loop.run_once() == (0, 0)  # the broker holds them all again
    finally:
        engine.dispose()


def test_a_restarted_run_no_longer_shows_the_previous_attempts_error(
    api: TestClient, settings: Settings, db: Session
) -> None:
    settings = settings.model_copy(update=FAULT_SETTINGS)
    requeued, given_up = (_submit(api, tiny_spec()) for _ in range(2))
    _make_stale(db, requeued["id"], attempts=1)
    _make_stale(db, given_up["id"], attempts=3)
    engine = make_engine(settings.database_url)
    try:
        assert MaintenanceLoop(make_session_factory(engine), settings).run_once()[0] == 2
    finally:
        engine.dispose()
    assert "attempt 1 lost" in _run(api, requeued["id"])["error"]
    assert _run(api, given_up["id"])["error"].startswith("gave up after 3 attempts")

    # Re-queued after a dead worker: the next attempt starts without the lost one's error.
    assert claim_run(db, run_id=requeued["id"], worker_hostname="next@host") is not None
    db.commit()
    restarted = _run(api, requeued["id"])
    assert restarted["status"] == "running" and restarted["attempts"] == 2
    assert restarted["error"] is None

    # Re-run after it failed: queued again as new, without the failure's error.
    experiment_id = db.get(Run, given_up["id"]).experiment_id  # type: ignore[union-attr]
    assert api.post(f"/api/v1/experiments/{experiment_id}/rerun").status_code == 200
    rerun = _run(api, given_up["id"])
    assert rerun["status"] == "queued" and rerun["attempts"] == 0 and rerun["error"] is None


def test_a_task_delivered_twice_runs_once_and_stores_one_result(
    api: TestClient, settings: Settings, db: Session
) -> None:
    run = _submit(api, tiny_spec())
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    try:
        first = execute_run(factory, settings, run_id=run["id"], worker_hostname="a@host")
        second = execute_run(factory, settings, run_id=run["id"], worker_hostname="b@host")
    finally:
        engine.dispose()
    assert first == "succeeded"
    assert second.startswith("not queued")
    assert _run(api, run["id"])["worker_hostname"] == "a@host"
    assert _results(db, run["id"]) == 1


def test_reuse_is_decided_at_submission_so_a_queued_run_is_simulated(
    api: TestClient, settings: Settings, db: Session
) -> None:
    spec = tiny_spec()
    first, second = (_submit(api, spec) for _ in range(2))  # nothing stored yet: both queued
    assert (first["status"], second["status"]) == ("queued", "queued")
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    try:
        for run, host in ((first, "a@host"), (second, "b@host")):
            assert execute_run(factory, settings, run_id=run["id"], worker_hostname=host) == (
                "succeeded"
            )
    finally:
        engine.dispose()
    simulated = _run(api, second["id"])
    assert (simulated["reused_result"], simulated["attempts"]) == (False, 1)
    assert _results(db, second["id"]) == 1
    # Submitted once a result is stored: reused at once, no worker involved.
    third = _submit(api, spec)
    assert (third["status"], third["reused_result"], third["attempts"]) == ("succeeded", True, 0)
