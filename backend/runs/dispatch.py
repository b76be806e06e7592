"""Handing queued runs to the broker. The database says what is queued; the broker is told
after the commit, and a run it could not be told about waits for the dispatcher."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.orm import Session

from backend.db import utc_now
from backend.queue import QueueUnavailable, TaskQueue
from backend.runs import repository
from backend.settings import Settings

logger = logging.getLogger(__name__)


def send_runs(session: Session, *, queue: TaskQueue, run_ids: Sequence[int]) -> int:
    """Send each run's task and mark it dispatched; stop at the first broker failure.

    Call after the runs are committed, so a worker never receives an id it cannot read.
    Returns how many were sent; the rest stay undispatched for the dispatcher.
    """
    sent: list[int] = []
    for run_id in run_ids:
        try:
            queue.send_run(run_id)
        except QueueUnavailable as exc:
            logger.warning(
                "broker unavailable, %d run(s) left for the dispatcher: %s",
                len(run_ids) - len(sent),
                exc,
            )
            break
        sent.append(run_id)
    repository.mark_dispatched(session, run_ids=sent, now=utc_now())
    return len(sent)


def dispatch_waiting(
    session: Session, *, queue: TaskQueue, settings: Settings, limit: int = 200
) -> int:
    """Send queued runs the broker was never told about (or may have lost)."""
    sent_before = utc_now() - timedelta(seconds=settings.redispatch_after_s)
    run_ids = repository.lock_ids_to_dispatch(session, sent_before=sent_before, limit=limit)
    return send_runs(session, queue=queue, run_ids=run_ids) if run_ids else 0
