"""The Celery app the workers run: ``celery -A worker.app worker`` (or ``pagelab worker``).

Besides tasks, each worker process runs the maintenance loop (dispatcher and reaper, see
worker/maintenance.py) in a thread, so no separate beat process is needed in either setup.
"""

from __future__ import annotations

import os
from typing import Any

from celery import signals
from sqlalchemy.orm import Session, sessionmaker

from backend.db import make_engine, make_session_factory
from backend.queue import make_celery
from backend.settings import get_settings
from worker.maintenance import MaintenanceLoop

settings = get_settings()
settings.make_dirs()
app = make_celery(settings)
app.conf.include = ["worker.tasks"]

_factories: dict[int, sessionmaker[Session]] = {}
_maintenance: list[MaintenanceLoop] = []


def session_factory() -> sessionmaker[Session]:
    """This process's session factory: pooled connections must not cross a fork."""
    pid = os.getpid()
    if pid not in _factories:
        _factories[pid] = make_session_factory(make_engine(settings.database_url))
    return _factories[pid]


@signals.worker_ready.connect
def _start_maintenance(**_: Any) -> None:
    loop = MaintenanceLoop(session_factory(), settings)
    loop.start()
    _maintenance.append(loop)


@signals.worker_shutdown.connect
def _stop_maintenance(**_: Any) -> None:
    for loop in _maintenance:
        loop.stop()
