"""The broker side of runs: the Celery app both the API and the worker use, and sending.

The API only sends tasks by name; the worker package registers them on the same app
configuration (worker/app.py).
"""

from __future__ import annotations

from celery import Celery
from kombu.exceptions import KombuError

from backend.settings import Settings

EXECUTE_RUN_TASK = "runs.execute"
QUEUE_NAME = "pagelab"


class QueueUnavailable(Exception):
    """The broker could not be reached; the run stays queued in the database."""


def make_celery(settings: Settings, *, fail_fast: bool = False) -> Celery:
    """A Celery app configured for pagelab's reliability rules (DESIGN.md "Reliability").

    ``fail_fast`` is for apps that only send: a broker that is down fails the send at once
    (the run waits in the database) instead of after seconds of reconnecting.
    """
    transport_options = settings.broker_transport_options()
    if fail_fast:
        transport_options["max_retries"] = 0
    app = Celery("pagelab", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        broker_transport_options=transport_options,
        broker_connection_timeout=3,
        broker_connection_retry_on_startup=True,
        task_default_queue=QUEUE_NAME,
        task_serializer="json",
        accept_content=["json"],
        # The database holds results; no result backend.
        task_ignore_result=True,
        # Acknowledge after the task ran, give the message back if the worker dies, and take
        # one message at a time so a long run does not hold others hostage.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        # A run stops itself at its time limit between chunks (worker/execution.py); this
        # kills a pool process whose run is stuck inside one, a minute later. The reaper
        # then deals with the run as with any dead worker's.
        task_time_limit=settings.run_time_limit_s + 60,
    )
    return app


class TaskQueue:
    """Sends run tasks; a broker that is down raises QueueUnavailable at once, never hangs."""

    def __init__(self, celery: Celery) -> None:
        self.celery = celery

    def send_run(self, run_id: int) -> None:
        try:
            self.celery.send_task(EXECUTE_RUN_TASK, args=[run_id], retry=False)
        except (KombuError, OSError) as exc:
            raise QueueUnavailable(str(exc)) from exc

    def waiting_count(self) -> int:
        """Messages in the run queue that no worker has taken yet; QueueUnavailable if the
        broker cannot be asked."""
        with self.celery.connection_for_read() as connection:
            # The client library's own errors too (redis-py's are not OSErrors).
            errors = (KombuError, OSError, *connection.connection_errors)
            try:
                queue = self.celery.amqp.queues[QUEUE_NAME].bind(connection.default_channel)
                # Declaring with the queue's own arguments is what every broker answers with
                # a count (a passive declare fails on Redis when the queue is empty).
                declared = queue.queue_declare()
            except errors as exc:
                raise QueueUnavailable(str(exc)) from exc
        return int(declared.message_count)

    def check(self, timeout_s: float) -> None:
        """Connect to the broker once, or raise QueueUnavailable."""
        try:
            with self.celery.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=timeout_s)
        except (KombuError, OSError) as exc:
            raise QueueUnavailable(str(exc)) from exc
