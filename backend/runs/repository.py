"""Queries on runs and results. State changes are compare-and-set UPDATEs: each names the
state it expects (status, and the attempt that owns a running run), so two processes racing
on one run cannot both win.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import CursorResult, bindparam, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from backend.db import Base
from backend.runs.models import ACTIVE_STATUSES, Run, RunResult

# populate_existing on reads: runs change by UPDATE statements that bypass the ORM's
# identity map, and a read must show their current state.


def get(session: Session, run_id: int) -> Run | None:
    return session.get(Run, run_id, populate_existing=True)


def existing_ids(session: Session, run_ids: Sequence[int]) -> set[int]:
    return set(session.scalars(select(Run.id).where(Run.id.in_(run_ids))))


def result(session: Session, run_id: int) -> RunResult | None:
    return session.scalars(select(RunResult).where(RunResult.run_id == run_id)).first()


class StoredResult(NamedTuple):
    id: int
    meta: dict[str, Any]
    summary: dict[str, Any]


# The statements every submission runs are built once, and on the tables rather than the
# mapped classes: building a statement, or the ORM's handling of one, costs more CPU than
# running it.
_RUN = Base.metadata.tables["run"]
_RESULT = Base.metadata.tables["result"]

_FIND_RESULT = (
    select(_RESULT.c.id, _RESULT.c.meta, _RESULT.c.summary)
    .where(
        _RESULT.c.spec_hash == bindparam("spec_hash"),
        _RESULT.c.engine_version == bindparam("engine_version"),
    )
    .order_by(_RESULT.c.id)
    .limit(1)
)


def find_result(session: Session, *, spec_hash: str, engine_version: str) -> StoredResult | None:
    """A stored result for this spec and engine version: its id, meta and summary (not its
    arrays)."""
    row = session.execute(
        _FIND_RESULT, {"spec_hash": spec_hash, "engine_version": engine_version}
    ).first()
    return StoredResult(*row) if row is not None else None


def copy_result(session: Session, *, source_result_id: int, run_id: int) -> None:
    """Give ``run_id`` its own copy of a stored result, without reading the blob into Python."""
    source = select(
        literal(run_id),
        RunResult.spec_hash,
        RunResult.engine_version,
        RunResult.meta,
        RunResult.summary,
        RunResult.arrays,
        RunResult.created_at,
    ).where(RunResult.id == source_result_id)
    session.execute(
        insert(RunResult).from_select(
            ["run_id", "spec_hash", "engine_version", "meta", "summary", "arrays", "created_at"],
            source,
        )
    )


def add_result(session: Session, row: RunResult) -> None:
    session.add(row)
    session.flush()


def status_counts(session: Session, experiment_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Run.status, func.count())
        .where(Run.experiment_id == experiment_id)
        .group_by(Run.status)
    )
    return {status: count for status, count in rows}


def _changed(session: Session, statement: Any) -> int:
    outcome = session.execute(statement, execution_options={"synchronize_session": False})
    assert isinstance(outcome, CursorResult)
    return outcome.rowcount


def claim(
    session: Session, *, run_id: int, seen_attempts: int, worker_hostname: str, now: datetime
) -> bool:
    """queued → running, by this worker, as attempt ``seen_attempts + 1``; a lost earlier
    attempt's error is cleared, as it no longer describes the run."""
    return bool(
        _changed(
            session,
            update(Run)
            .where(
                Run.id == run_id,
                Run.status == "queued",
                Run.attempts == seen_attempts,
                Run.cancel_requested.is_(False),
            )
            .values(
                status="running",
                attempts=seen_attempts + 1,
                worker_hostname=worker_hostname,
                started_at=now,
                heartbeat_at=now,
                finished_at=None,
                error=None,
                accesses_done=0,
                accesses_total=None,
            ),
        )
    )


def heartbeat(
    session: Session,
    *,
    run_id: int,
    attempt: int,
    now: datetime,
    accesses_done: int,
    accesses_total: int | None,
) -> bool:
    """Record liveness and progress; False if this attempt no longer owns the run."""
    return bool(
        _changed(
            session,
            update(Run)
            .where(Run.id == run_id, Run.status == "running", Run.attempts == attempt)
            .values(heartbeat_at=now, accesses_done=accesses_done, accesses_total=accesses_total),
        )
    )


def cancel_requested(session: Session, run_id: int) -> bool:
    return bool(session.scalar(select(Run.cancel_requested).where(Run.id == run_id)))


def finish(
    session: Session,
    *,
    run_id: int,
    attempt: int,
    status: str,
    now: datetime,
    error: str | None = None,
    reused_result: bool = False,
    accesses_done: int | None = None,
) -> bool:
    """running (by ``attempt``) → a final status."""
    values: dict[str, Any] = {
        "status": status,
        "finished_at": now,
        "error": error,
        "reused_result": reused_result,
    }
    if accesses_done is not None:
        # A finished run's progress is complete: the total is what it did.
        values.update(accesses_done=accesses_done, accesses_total=accesses_done)
    return bool(
        _changed(
            session,
            update(Run)
            .where(Run.id == run_id, Run.status == "running", Run.attempts == attempt)
            .values(**values),
        )
    )


def cancel_queued(session: Session, *, run_ids: Sequence[int], now: datetime) -> int:
    return _changed(
        session,
        update(Run)
        .where(Run.id.in_(run_ids), Run.status == "queued")
        .values(status="cancelled", cancel_requested=True, finished_at=now),
    )


def request_cancel_running(session: Session, *, run_ids: Sequence[int]) -> int:
    return _changed(
        session,
        update(Run)
        .where(Run.id.in_(run_ids), Run.status == "running")
        .values(cancel_requested=True),
    )


def requeue_finished(session: Session, *, run_ids: Sequence[int]) -> int:
    """failed or cancelled → queued, as new (for a re-run)."""
    return _changed(
        session,
        update(Run)
        .where(Run.id.in_(run_ids), Run.status.in_(("failed", "cancelled")))
        .values(
            status="queued",
            cancel_requested=False,
            attempts=0,
            error=None,
            worker_hostname=None,
            dispatched_at=None,
            started_at=None,
            heartbeat_at=None,
            finished_at=None,
            accesses_done=0,
            accesses_total=None,
        ),
    )


def lock_ids_to_dispatch(session: Session, *, sent_before: datetime, limit: int) -> list[int]:
    """Queued runs never sent, or sent so long ago the broker may have lost them.

    SKIP LOCKED (PostgreSQL) lets several workers' dispatchers share the work.
    """
    return list(
        session.scalars(
            select(Run.id)
            .where(
                Run.status == "queued",
                or_(Run.dispatched_at.is_(None), Run.dispatched_at < sent_before),
            )
            .order_by(Run.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def count_sent_waiting(session: Session) -> int:
    """Queued runs whose task was handed to the broker: each should be a message there."""
    return (
        session.scalar(
            select(func.count()).where(Run.status == "queued", Run.dispatched_at.is_not(None))
        )
        or 0
    )


# Built once on the table, like _FIND_RESULT: every submission runs it.
_MARK_DISPATCHED = (
    update(_RUN)
    .where(_RUN.c.id.in_(bindparam("run_ids", expanding=True)), _RUN.c.status == "queued")
    .values(dispatched_at=bindparam("now", type_=_RUN.c.dispatched_at.type))
)


def mark_dispatched(session: Session, *, run_ids: Sequence[int], now: datetime) -> None:
    """Set ``dispatched_at``; runs loaded in the session keep the value they had."""
    if run_ids:
        session.execute(_MARK_DISPATCHED, {"run_ids": list(run_ids), "now": now})


def stale_running(session: Session, *, heartbeat_before: datetime, limit: int) -> list[Run]:
    return list(
        session.scalars(
            select(Run)
            .where(Run.status == "running", Run.heartbeat_at < heartbeat_before)
            .order_by(Run.experiment_id, Run.id)
            .limit(limit)
        )
    )


def reap(
    session: Session,
    *,
    run: Run,
    heartbeat_before: datetime,
    status: str,
    error: str | None,
    now: datetime,
) -> bool:
    """A running run whose worker stopped heartbeating → ``status`` (queued or final)."""
    values: dict[str, Any] = {"status": status, "error": error}
    if status == "queued":
        values.update(dispatched_at=None, heartbeat_at=None)
    else:
        values["finished_at"] = now
    return bool(
        _changed(
            session,
            update(Run)
            .where(
                Run.id == run.id,
                Run.status == "running",
                Run.attempts == run.attempts,
                Run.heartbeat_at < heartbeat_before,
            )
            .values(**values),
        )
    )


def count_active_using_trace(session: Session, file_name: str) -> int:
    return (
        session.scalar(
            select(func.count()).where(Run.trace_file == file_name, Run.status.in_(ACTIVE_STATUSES))
        )
        or 0
    )
