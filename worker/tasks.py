"""Celery tasks: thin, id-taking calls into the backend."""

from __future__ import annotations

import logging
from typing import Any

from backend.queue import EXECUTE_RUN_TASK
from worker.app import app, session_factory, settings
from worker.execution import execute_run

logger = logging.getLogger(__name__)


@app.task(name=EXECUTE_RUN_TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
def execute(self: Any, run_id: int) -> None:
    """Run one run; safe to deliver twice (only a queued run is taken)."""
    outcome = execute_run(
        session_factory(), settings, run_id=run_id, worker_hostname=self.request.hostname
    )
    logger.info("run %d: %s", run_id, outcome)
