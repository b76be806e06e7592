"""Experiments: validate and expand a submission into runs, list, cancel, re-run, delete.

Nothing here commits; the route does, then sends the new runs to the broker.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

import pagelab
from backend.db import utc_now
from backend.experiments import repository, sweep
from backend.experiments.models import Experiment, ExperimentTag
from backend.experiments.schemas import (
    ExperimentCreate,
    ExperimentPage,
    ExperimentRead,
)
from backend.fields import check_json_document
from backend.problems import FieldError, ProblemError, conflict, invalid, not_found
from backend.runs import repository as run_repository
from backend.runs import service as run_service
from backend.runs.models import ACTIVE_STATUSES, Run, RunResult
from backend.settings import Settings
from backend.traces import repository as trace_repository


def _check_sweep(data: ExperimentCreate, settings: Settings) -> dict[str, list[Any]]:
    axes = dict(data.sweep or {})
    if len(axes) > settings.max_sweep_axes:
        raise invalid("sweep", f"{len(axes)} axes; the limit is {settings.max_sweep_axes}")
    points = sweep.grid_size(axes)
    if points > settings.max_sweep_points:
        raise invalid(
            "sweep", f"the grid has {points} points; the limit is {settings.max_sweep_points}"
        )
    return axes


def _describe(point: dict[str, Any]) -> str:
    return ", ".join(f"{path}={value!r}" for path, value in point.items())


def _sweep_axis_at_fault(point: dict[str, Any], field: str) -> str | None:
    """The sweep path whose value the engine rejected, if the error lies on one."""
    if not field:
        return None
    for path in point:
        if field == path or field.startswith(path + ".") or path.startswith(field + "."):
            return path
    return None


def _point_spec(
    data: ExperimentCreate, point: dict[str, Any], index: int, total: int
) -> pagelab.Spec:
    where = f"sweep point {index + 1} of {total} ({_describe(point)}): " if point else ""
    try:
        document = sweep.apply_point(data.spec, point)
    except sweep.SweepPathError as exc:
        raise invalid(f"sweep.{exc.path}", exc.message, detail=f"{where}{exc}") from exc
    try:
        return pagelab.load_spec(document)
    except pagelab.SpecError as exc:
        axis = _sweep_axis_at_fault(point, exc.field)
        field = f"sweep.{axis}" if axis else ".".join(filter(None, ("spec", exc.field)))
        message = exc.message
        if axis:
            message = f"{message} (value {point[axis]!r})"
        raise ProblemError(
            422,
            f"{where}{exc}",
            slug="invalid-spec",
            errors=[FieldError(field=field, message=message)],
        ) from exc


def _check_trace(session: Session, spec: pagelab.Spec) -> str | None:
    """The stored trace file the spec reads, after checking it was uploaded; None for a
    generator."""
    trace = spec.workload.trace
    if trace is None:
        return None
    field = "spec.workload.trace.path"
    if "/" in trace.path or "\\" in trace.path or ".." in trace.path:
        raise invalid(field, "must be the file name of an uploaded trace, not a path")
    stored = trace_repository.by_file_name(session, trace.path)
    if stored is None:
        raise invalid(field, f"no uploaded trace is named {trace.path!r}; upload it first")
    if stored.format != trace.format:
        raise invalid(
            "spec.workload.trace.format",
            f"trace {trace.path!r} was uploaded as {stored.format!r}, not {trace.format!r}",
        )
    return trace.path


def _check_accesses(
    session: Session,
    settings: Settings,
    spec: pagelab.Spec,
    point: dict[str, Any],
    where: str,
) -> None:
    """Refuse a run that would simulate more than ``max_run_accesses`` accesses, naming the
    field that sets its count (the sweep axis, if one does)."""
    limit = settings.max_run_accesses
    workload = spec.workload
    if workload.generator is not None:
        accesses, field = workload.generator.accesses, "spec.workload.generator.accesses"
    else:
        assert workload.trace is not None
        stored = trace_repository.by_file_name(session, workload.trace.path)
        accesses = 0 if stored is None else stored.accesses
        if stored is not None and workload.trace.include_instructions:
            accesses += stored.instructions
        field = "spec.controls.access_limit"
    if spec.controls.access_limit is not None and spec.controls.access_limit < accesses:
        accesses, field = spec.controls.access_limit, "spec.controls.access_limit"
    if accesses <= limit:
        return
    axis = _sweep_axis_at_fault(point, field.removeprefix("spec."))
    if axis is not None:
        field = f"sweep.{axis}"
    message = (
        f"the run would simulate {accesses} accesses; the limit per run is {limit} "
        "(PAGELAB_MAX_RUN_ACCESSES): set controls.access_limit or simulate fewer"
    )
    raise ProblemError(
        422,
        f"{where}{message}",
        slug="too-many-accesses",
        errors=[FieldError(field=field, message=message)],
    )


def create_experiment(
    session: Session, *, settings: Settings, data: ExperimentCreate
) -> tuple[ExperimentRead, list[int]]:
    """Validate every point, then write the experiment and its runs.

    Returns the experiment as written and the ids of the runs to send to the broker: runs
    whose spec already has a stored result (same spec hash and engine version) succeed at
    once, with a copy of it.
    """
    if len(set(data.tags)) > settings.max_tags:
        raise invalid("tags", f"{len(set(data.tags))} tags; the limit is {settings.max_tags}")
    axes = _check_sweep(data, settings)
    points = sweep.grid_points(axes) if axes else [{}]
    specs = [_point_spec(data, point, i, len(points)) for i, point in enumerate(points)]
    trace_files = [_check_trace(session, spec) for spec in specs]
    for index, (point, spec) in enumerate(zip(points, specs, strict=True)):
        where = f"sweep point {index + 1} of {len(points)} ({_describe(point)}): " if point else ""
        _check_accesses(session, settings, spec, point, where)

    # Hashing dumps the spec again: do it once per point.
    spec_hashes = [spec.spec_hash() for spec in specs]
    stored = {
        spec_hash: run_repository.find_result(
            session, spec_hash=spec_hash, engine_version=pagelab.ENGINE_VERSION
        )
        for spec_hash in set(spec_hashes)
    }
    now = utc_now()
    runs = [
        _new_run(index, point, spec, spec_hash, trace_file, stored[spec_hash], now)
        for index, (point, spec, spec_hash, trace_file) in enumerate(
            zip(points, specs, spec_hashes, trace_files, strict=True)
        )
    ]
    experiment = Experiment(
        name=data.name,
        description=data.description,
        kind="sweep" if axes else "single",
        spec=data.spec,
        sweep=axes or None,
        status=run_service.aggregate_status(Counter(run.status for run in runs)),
        created_at=now,
        updated_at=now,
        tag_rows=[ExperimentTag(tag=tag) for tag in dict.fromkeys(data.tags)],
        runs=runs,
    )
    repository.add(session, experiment)
    for run in runs:
        if run.result is not None:
            source = stored[run.spec_hash]
            assert source is not None
            run_repository.copy_result(session, source_result_id=source.id, run_id=run.id)
    # The objects as written: reading them back would cost a submission more CPU than the
    # rest of it.
    to_send = [run.id for run in runs if run.status == "queued"]
    return ExperimentRead.model_validate(experiment), to_send


def _new_run(
    index: int,
    point: dict[str, Any],
    spec: pagelab.Spec,
    spec_hash: str,
    trace_file: str | None,
    source: run_repository.StoredResult | None,
    now: datetime,
) -> Run:
    """A new run: queued, or succeeded at once with a copy of ``source``, a stored result."""
    accesses = int(source.meta["accesses"]) if source is not None else None
    return Run(
        point_index=index,
        params=point,
        spec=spec.model_dump(mode="json"),
        spec_hash=spec_hash,
        engine_version=pagelab.ENGINE_VERSION,
        trace_file=trace_file,
        status="queued" if source is None else "succeeded",
        cancel_requested=False,
        reused_result=source is not None,
        attempts=0,
        worker_hostname=None,
        accesses_done=accesses or 0,
        accesses_total=accesses,
        error=None,
        created_at=now,
        dispatched_at=None,
        started_at=None if source is None else now,
        heartbeat_at=None,
        finished_at=None if source is None else now,
        # What the copy will hold but its arrays, which the database copies.
        result=None
        if source is None
        else RunResult(
            spec_hash=spec_hash,
            engine_version=pagelab.ENGINE_VERSION,
            meta=source.meta,
            summary=source.summary,
            created_at=now,
        ),
    )


def get_experiment(session: Session, *, experiment_id: int) -> Experiment:
    experiment = repository.get(session, experiment_id)
    if experiment is None:
        raise not_found("experiment", experiment_id)
    return experiment


def read_experiment(session: Session, *, experiment_id: int) -> ExperimentRead:
    experiment = repository.with_runs(session, experiment_id)
    if experiment is None:
        raise not_found("experiment", experiment_id)
    return ExperimentRead.model_validate(experiment)


def _encode_cursor(sort: str, item: dict[str, Any]) -> str:
    key = item[repository.SORTS[sort][0].key]
    document = {
        "sort": sort,
        "key": key.isoformat() if isinstance(key, datetime) else key,
        "id": item["id"],
    }
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        document = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        check_json_document(document)
        key, last_id = document["key"], int(document["id"])
        if document["sort"] != sort:
            raise invalid("cursor", f"this cursor is for sort={document['sort']}, not {sort}")
        if repository.SORTS[sort][0].key == "created_at":
            key = datetime.fromisoformat(key)
        elif not isinstance(key, str):
            raise ValueError("bad key")
    except ProblemError:
        raise
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid("cursor", "not a cursor this API returned") from exc
    return key, last_id


def list_page(
    session: Session,
    *,
    where: repository.ListFilter,
    sort: str,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    """A page of experiments as the fields of an ``ExperimentPage``, unvalidated: the
    database's columns have the schema's types, and the API serialises the page as it is."""
    after = _decode_cursor(cursor, sort) if cursor else None
    rows = repository.page(session, where=where, sort=sort, after=after, limit=limit + 1)
    items, more = rows[:limit], len(rows) > limit
    return {
        "items": items,
        "next_cursor": _encode_cursor(sort, items[-1]) if more else None,
    }


def list_experiments(
    session: Session,
    *,
    where: repository.ListFilter,
    sort: str,
    cursor: str | None,
    limit: int,
) -> ExperimentPage:
    # One validation of the whole page: much cheaper than one model per row.
    return ExperimentPage.model_validate(
        list_page(session, where=where, sort=sort, cursor=cursor, limit=limit)
    )


def cancel_experiment(session: Session, *, experiment_id: int) -> None:
    experiment = get_experiment(session, experiment_id=experiment_id)
    active = [run.id for run in experiment.runs if run.status in ACTIVE_STATUSES]
    if not active:
        raise conflict(f"experiment {experiment_id} has no queued or running runs to cancel")
    run_service.cancel_runs(session, experiment_id=experiment_id, run_ids=active)


def rerun_experiment(session: Session, *, experiment_id: int) -> list[int]:
    """Queue the failed and cancelled runs again; returns their ids, to send."""
    experiment = get_experiment(session, experiment_id=experiment_id)
    again = [run.id for run in experiment.runs if run.status in ("failed", "cancelled")]
    if not again:
        raise conflict(f"experiment {experiment_id} has no failed or cancelled runs to run again")
    run_service.requeue_runs(session, experiment_id=experiment_id, run_ids=again)
    return again


def delete_experiment(session: Session, *, experiment_id: int) -> None:
    experiment = get_experiment(session, experiment_id=experiment_id)
    if any(run.status in ACTIVE_STATUSES for run in experiment.runs):
        raise conflict(f"experiment {experiment_id} has queued or running runs; cancel it first")
    repository.delete(session, experiment)
