"""The life of a run: queued → running → succeeded / failed / cancelled, and back to queued
when its worker dies. Every change goes through here, takes the experiment's lock first
(so lock order is always experiment, then run) and refreshes the experiment's status.
Nothing here commits: the request or task that calls it does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

import pagelab
from backend.db import utc_now
from backend.experiments import repository as experiment_repository
from backend.problems import conflict, not_found
from backend.runs import repository
from backend.runs.models import Run, RunResult
from backend.runs.result_blob import pack_arrays
from backend.runs.schemas import RunRead
from backend.settings import Settings

FINAL_STATUSES = ("succeeded", "failed", "cancelled")


def aggregate_status(counts: Mapping[str, int]) -> str:
    """An experiment's status from its runs', in the same words.

    While any run is queued or running the experiment is ``running`` once any run has
    started or finished, else ``queued``. When all are final: ``failed`` if any failed, else
    ``cancelled`` if any was cancelled, else ``succeeded``.
    """
    if counts.get("queued", 0) or counts.get("running", 0):
        started = counts.get("running", 0) + sum(counts.get(s, 0) for s in FINAL_STATUSES)
        return "running" if started else "queued"
    if counts.get("failed", 0):
        return "failed"
    if counts.get("cancelled", 0):
        return "cancelled"
    return "succeeded"


def refresh_experiment_status(session: Session, *, experiment_id: int) -> None:
    """Recount the runs (the caller holds the experiment's lock) and store the aggregate."""
    experiment = experiment_repository.get(session, experiment_id)
    if experiment is not None:
        status = aggregate_status(repository.status_counts(session, experiment_id))
        experiment_repository.set_status(session, experiment, status, utc_now())


def get_run(session: Session, *, run_id: int) -> Run:
    run = repository.get(session, run_id)
    if run is None:
        raise not_found("run", run_id)
    return run


def read_run(session: Session, *, run_id: int) -> RunRead:
    return RunRead.model_validate(get_run(session, run_id=run_id))


@dataclass(frozen=True)
class Claim:
    """A run this worker now owns, as attempt ``attempt``."""

    run_id: int
    attempt: int
    spec: dict[str, Any]


def claim_run(session: Session, *, run_id: int, worker_hostname: str) -> Claim | None:
    """Take a queued run for this worker, or None if it is not queued (a duplicate delivery,
    or it was cancelled, or another worker has it).

    Whether a stored result is reused is decided once, at submission
    (``experiments.service.create_experiment``): a run that was queued is simulated, even if
    an identical one stored its result in the meantime.
    """
    run = repository.get(session, run_id)
    if run is None or run.status != "queued":
        return None
    experiment_repository.lock(session, run.experiment_id)
    now = utc_now()
    if not repository.claim(
        session,
        run_id=run_id,
        seen_attempts=run.attempts,
        worker_hostname=worker_hostname,
        now=now,
    ):
        return None
    refresh_experiment_status(session, experiment_id=run.experiment_id)
    return Claim(run_id=run_id, attempt=run.attempts + 1, spec=run.spec)


def record_heartbeat(
    session: Session, *, claim: Claim, progress: pagelab.Progress | None
) -> tuple[bool, bool]:
    """Store liveness and progress. Returns (still owned by this attempt, cancel requested)."""
    owned = repository.heartbeat(
        session,
        run_id=claim.run_id,
        attempt=claim.attempt,
        now=utc_now(),
        accesses_done=progress.accesses_done if progress else 0,
        accesses_total=progress.accesses_total if progress else None,
    )
    return owned, repository.cancel_requested(session, claim.run_id)


def _finish(session: Session, *, claim: Claim, status: str, **changes: Any) -> bool:
    run = repository.get(session, claim.run_id)
    if run is None:
        return False
    experiment_repository.lock(session, run.experiment_id)
    if not repository.finish(
        session,
        run_id=claim.run_id,
        attempt=claim.attempt,
        status=status,
        now=utc_now(),
        **changes,
    ):
        return False
    refresh_experiment_status(session, experiment_id=run.experiment_id)
    return True


def complete_run(session: Session, *, claim: Claim, result: pagelab.Result) -> bool:
    """Store the result and mark the run succeeded; False if this attempt lost the run."""
    if not _finish(session, claim=claim, status="succeeded", accesses_done=result.meta.accesses):
        return False
    repository.add_result(
        session,
        RunResult(
            run_id=claim.run_id,
            spec_hash=result.meta.spec_hash,
            engine_version=result.meta.engine_version,
            meta=result.meta.model_dump(mode="json"),
            summary=result.summary,
            arrays=pack_arrays(result),
        ),
    )
    return True


def fail_run(session: Session, *, claim: Claim, error: str) -> bool:
    return _finish(session, claim=claim, status="failed", error=error)


def cancel_claimed_run(session: Session, *, claim: Claim) -> bool:
    return _finish(session, claim=claim, status="cancelled", error="cancelled on request")


def cancel_runs(session: Session, *, experiment_id: int, run_ids: Sequence[int]) -> None:
    """Cancel queued runs now; ask running ones to stop at their next chunk."""
    experiment_repository.lock(session, experiment_id)
    repository.cancel_queued(session, run_ids=run_ids, now=utc_now())
    repository.request_cancel_running(session, run_ids=run_ids)
    refresh_experiment_status(session, experiment_id=experiment_id)


def cancel_run(session: Session, *, run_id: int) -> RunRead:
    run = get_run(session, run_id=run_id)
    if run.status in FINAL_STATUSES:
        raise conflict(f"run {run_id} is already {run.status}")
    cancel_runs(session, experiment_id=run.experiment_id, run_ids=[run_id])
    session.refresh(run)
    return RunRead.model_validate(run)


def requeue_runs(session: Session, *, experiment_id: int, run_ids: Sequence[int]) -> None:
    experiment_repository.lock(session, experiment_id)
    repository.requeue_finished(session, run_ids=run_ids)
    refresh_experiment_status(session, experiment_id=experiment_id)


def stale_runs(session: Session, *, settings: Settings, limit: int = 100) -> list[Run]:
    cutoff = utc_now() - timedelta(seconds=settings.heartbeat_timeout_s)
    return repository.stale_running(session, heartbeat_before=cutoff, limit=limit)


def reap_run(session: Session, *, run: Run, settings: Settings) -> str | None:
    """Re-queue a run whose worker stopped heartbeating, or give up on it.

    Returns the run's new status, or None if it turned out to be alive or already handled.
    """
    now = utc_now()
    cutoff = now - timedelta(seconds=settings.heartbeat_timeout_s)
    lost = (
        f"attempt {run.attempts} lost: worker {run.worker_hostname} sent no heartbeat for "
        f"{settings.heartbeat_timeout_s:g} s"
    )
    status, error = "queued", lost
    if run.cancel_requested:
        status, error = "cancelled", "cancelled on request (its worker had stopped)"
    elif run.attempts >= settings.max_attempts:
        status, error = "failed", f"gave up after {run.attempts} attempts; {lost}"
    experiment_repository.lock(session, run.experiment_id)
    if not repository.reap(
        session, run=run, heartbeat_before=cutoff, status=status, error=error, now=now
    ):
        return None
    refresh_experiment_status(session, experiment_id=run.experiment_id)
    return status
