"""Running one run in a worker: claim it, simulate with a monitor beside, store the outcome.

This is a task boundary, like worker/maintenance.py: it commits (the claim, each heartbeat,
the outcome). The task (worker/tasks.py) is a thin call to ``execute_run``; importing this
module does not create the Celery app, so a test can call it without a broker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType

from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

import pagelab
from backend.runs import service
from backend.settings import Settings

logger = logging.getLogger(__name__)


class RunMonitor:
    """A thread beside the simulation that, every ``interval_s``, writes the heartbeat and the
    latest progress and reads the cancel flag; and the run's deadline (``time_limit_s``).

    Doing the database work here keeps the engine's callbacks to an attribute write and an
    Event check, and the heartbeat goes on even while one chunk takes long.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        claim: service.Claim,
        interval_s: float,
        time_limit_s: float,
    ) -> None:
        self._session_factory = session_factory
        self._claim = claim
        self._interval_s = interval_s
        self._deadline = time.monotonic() + time_limit_s
        self.timed_out = False
        self._latest: pagelab.Progress | None = None
        self._stop = threading.Event()
        self._cancel = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"run-{claim.run_id}-monitor", daemon=True
        )

    def on_progress(self, progress: pagelab.Progress) -> None:
        self._latest = progress

    def should_cancel(self) -> bool:
        # The engine asks between chunks: a run past its time limit stops there, like a
        # cancelled one, and is failed saying why.
        if not self.timed_out and time.monotonic() > self._deadline:
            self.timed_out = True
        return self.timed_out or self._cancel.is_set()

    def __enter__(self) -> RunMonitor:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            self._beat()

    def _beat(self) -> None:
        try:
            with self._session_factory() as session:
                owned, cancel = service.record_heartbeat(
                    session, claim=self._claim, progress=self._latest
                )
                session.commit()
        except SQLAlchemyError:
            # A missed beat is survivable; the reaper only acts after a whole timeout.
            logger.warning("run %d: heartbeat failed", self._claim.run_id, exc_info=True)
            return
        if not owned:
            logger.warning(
                "run %d: attempt %d no longer owns the run; stopping",
                self._claim.run_id,
                self._claim.attempt,
            )
        if cancel or not owned:
            self._cancel.set()


def execute_run(
    session_factory: sessionmaker[Session],
    settings: Settings,
    *,
    run_id: int,
    worker_hostname: str,
) -> str:
    """Run ``run_id`` if it is queued; returns what happened (for the log)."""
    with session_factory() as session:
        claim = service.claim_run(session, run_id=run_id, worker_hostname=worker_hostname)
        session.commit()
    if claim is None:
        return "not queued (already handled, or cancelled)"

    interval_s = min(settings.progress_interval_s, settings.heartbeat_timeout_s / 3)
    outcome: Callable[[Session], bool]
    time_limit_s = settings.run_time_limit_s
    with RunMonitor(session_factory, claim, interval_s, time_limit_s) as monitor:
        try:
            result = pagelab.simulate(
                pagelab.load_spec(claim.spec),
                base_dir=settings.traces_dir,
                on_progress=monitor.on_progress,
                should_cancel=monitor.should_cancel,
            )
        except pagelab.Cancelled:
            if monitor.timed_out:
                error = (
                    f"stopped after {time_limit_s:g} s: the time limit per run "
                    "(PAGELAB_RUN_TIME_LIMIT_S)"
                )
                outcome = lambda s: service.fail_run(s, claim=claim, error=error)  # noqa: E731
                label = "failed (time limit)"
            else:
                outcome = lambda s: service.cancel_claimed_run(s, claim=claim)  # noqa: E731
                label = "cancelled"
        except pagelab.PagelabError as exc:
            error = str(exc)
            outcome, label = (lambda s: service.fail_run(s, claim=claim, error=error)), "failed"
        except Exception as exc:
            # Not the input's fault, but running it again would most likely fail the same way.
            logger.exception("run %d: the engine raised", run_id)
            error = f"internal error: {type(exc).__name__}: {exc}"
            outcome, label = (lambda s: service.fail_run(s, claim=claim, error=error)), "failed"
        else:
            outcome = lambda s: service.complete_run(s, claim=claim, result=result)  # noqa: E731
            label = "succeeded"

    stored = _store(session_factory, outcome, patience_s=settings.heartbeat_timeout_s)
    return label if stored else f"{label}, but attempt {claim.attempt} had lost the run"


def _store(
    session_factory: sessionmaker[Session], outcome: Callable[[Session], bool], *, patience_s: float
) -> bool:
    """Store a run's outcome, waiting out a database that is briefly away (restarting).

    Past ``patience_s`` (the heartbeat timeout, after which the reaper takes the run anyway)
    the error is raised.
    """
    deadline = time.monotonic() + patience_s
    pause_s = 0.2
    while True:
        with session_factory() as session:
            try:
                stored = outcome(session)
                session.commit()
                return stored
            except IntegrityError:
                # The unique result.run_id: another delivery stored this run's result first.
                session.rollback()
                return False
            except OperationalError:
                if time.monotonic() + pause_s > deadline:
                    raise
                logger.warning("storing a run's outcome: database unavailable; trying again")
        time.sleep(pause_s)
        pause_s = min(2 * pause_s, 2.0)
