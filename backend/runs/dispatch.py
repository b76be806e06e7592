"""Handing queued runs to the broker. The database says what is queued; the broker is told
after the commit, and a run it could not be told about waits for the dispatcher. A broker
that lost what it was told (restarted without keeping its queue, or a worker that took a
task and could not start it) is noticed by ``LostTaskWatch`` and told again."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

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


class LostTaskWatch:
    """Notices, within two passes, that the broker holds fewer run tasks than the database
    says were sent and not started, and sends those runs again.

    The database is counted before the broker: a run sent in between is then counted by the
    broker only, never by the database only. A worker that has just taken a task but not yet
    started its run makes the broker look short for a moment; so the shortfall must still be
    there on the next pass, and only runs sent before it was first seen are sent again (a
    second worker's watch, or a second pass, finds them sent after it and leaves them).
    Sending one twice is harmless: only a queued run is taken.
    """

    def __init__(self) -> None:
        self._short_since: datetime | None = None

    def check(self, session: Session, *, queue: TaskQueue, limit: int = 200) -> int:
        """One look; returns how many runs were sent again."""
        expected = repository.count_sent_waiting(session)
        if not expected:
            self._short_since = None
            return 0
        try:
            waiting = queue.waiting_count()
        except QueueUnavailable:
            return 0  # the broker is down: runs sent meanwhile wait for the dispatcher
        if waiting >= expected:
            self._short_since = None
            return 0
        if self._short_since is None:
            self._short_since = utc_now()
            return 0
        short_since, self._short_since = self._short_since, None
        logger.warning(
            "the broker holds %d run task(s) of %d sent and not started: sending again",
            waiting,
            expected,
        )
        run_ids = repository.lock_ids_to_dispatch(session, sent_before=short_since, limit=limit)
        return send_runs(session, queue=queue, run_ids=run_ids) if run_ids else 0
