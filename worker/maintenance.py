"""The maintenance loop each worker runs in a thread: reap runs whose worker died, send
queued runs the broker has not got, then send again runs whose tasks the broker lost.

Several workers run it at once: the reaper's updates are compare-and-set and the
dispatcher locks the rows it sends with SKIP LOCKED, so they share the work instead of
repeating it (and a task delivered twice is harmless anyway).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from backend.queue import TaskQueue, make_celery
from backend.runs import service
from backend.runs.dispatch import LostTaskWatch, dispatch_waiting
from backend.settings import Settings

logger = logging.getLogger(__name__)


class MaintenanceLoop:
    def __init__(self, session_factory: sessionmaker[Session], settings: Settings) -> None:
        self._session_factory = session_factory
        self._settings = settings
        # Its own Celery app: the thread sends on its own connections, not the consumer's.
        self._queue = TaskQueue(make_celery(settings, fail_fast=True))
        self._lost = LostTaskWatch()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pagelab-maintenance", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self._settings.maintenance_interval_s):
            try:
                self.run_once()
            except SQLAlchemyError:
                logger.warning("maintenance: database error; trying again", exc_info=True)
            except Exception:
                # A broker client error that slipped past the queue's own handling: the loop
                # must outlive any one pass, or runs wait for no one.
                logger.exception("maintenance: unexpected error; trying again")

    def run_once(self) -> tuple[int, int]:
        """One pass; returns (runs reaped, runs dispatched or sent again)."""
        reaped = 0
        with self._session_factory() as session:
            for run in service.stale_runs(session, settings=self._settings):
                outcome = service.reap_run(session, run=run, settings=self._settings)
                session.commit()
                if outcome:
                    reaped += 1
                    logger.warning(
                        "run %d: worker %s stopped heartbeating; now %s",
                        run.id,
                        run.worker_hostname,
                        outcome,
                    )
        with self._session_factory() as session:
            sent = dispatch_waiting(session, queue=self._queue, settings=self._settings)
            session.commit()
        if sent:
            logger.info("dispatched %d waiting run(s)", sent)
        with self._session_factory() as session:
            resent = self._lost.check(session, queue=self._queue)
            session.commit()
        if resent:
            logger.warning("sent %d run(s) again whose tasks the broker had lost", resent)
        return reaped, sent + resent
