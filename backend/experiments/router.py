"""Experiment routes: create (with sweeps), list, get, cancel, re-run, delete, export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel
from pydantic_core import to_json

from backend.db import use_autocommit
from backend.deps import QueueDep, SessionDep, SettingsDep, WriteAccessDep
from backend.experiments import repository, service
from backend.experiments.schemas import (
    ExperimentCreate,
    ExperimentExport,
    ExperimentKind,
    ExperimentPage,
    ExperimentRead,
    ExperimentSort,
    Tag,
)
from backend.fields import Id, Line
from backend.problems import problem_responses
from backend.runs import exports
from backend.runs.dispatch import send_runs
from backend.runs.schemas import RunStatus

router = APIRouter(prefix="/experiments", tags=["experiments"])


def _json(
    model: BaseModel,
    *,
    status_code: int = status.HTTP_200_OK,
    headers: dict[str, str] | None = None,
) -> Response:
    """The JSON FastAPI would send for ``model`` (its ``response_model``), serialised here:
    a returned Response skips FastAPI's re-check of the model, a hop to a worker thread for a
    synchronous route, on the busiest routes."""
    return Response(
        model.model_dump_json(),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )


@router.post(
    "",
    response_model=ExperimentRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 413, 422),
)
def create_experiment(
    body: ExperimentCreate,
    session: SessionDep,
    settings: SettingsDep,
    queue: QueueDep,
    request: Request,
    _: WriteAccessDep,
) -> Response:
    """Submit an experiment: one run, or one per point of the sweep grid.

    Every point is validated before anything is stored. The runs are committed, then sent to
    the workers; if the broker is down they wait in the database for the dispatcher.
    """
    experiment, to_send = service.create_experiment(session, settings=settings, data=body)
    session.commit()
    if to_send:
        # Marking the runs dispatched is one UPDATE.
        use_autocommit(session)
        send_runs(session, queue=queue, run_ids=to_send)
        session.commit()
    return _json(
        experiment,
        status_code=status.HTTP_201_CREATED,
        headers={"Location": _experiment_url(request, experiment.id)},
    )


def _experiment_url(request: Request, experiment_id: int) -> str:
    """What ``request.url_for("get_experiment", ...)`` gives, without its search through the
    routes by name: an experiment's URL is the collection's (this request's) and its id."""
    collection = str(request.url.replace(query="", fragment="")).rstrip("/")
    return f"{collection}/{experiment_id}"


@router.get("", response_model=ExperimentPage, responses=problem_responses(422))
def list_experiments(
    session: SessionDep,
    status: Annotated[list[RunStatus] | None, Query(description="Keep these statuses.")] = None,
    tag: Annotated[Tag | None, Query(description="Keep this tag.")] = None,
    q: Annotated[
        Line | None, Query(max_length=200, description="Text in the name or description.")
    ] = None,
    kind: ExperimentKind | None = None,
    sort: ExperimentSort = "-created_at",
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """List experiments, newest first by default; follow ``next_cursor`` for more."""
    where = repository.ListFilter(statuses=status or (), tag=tag, text=q or None, kind=kind)
    # The page is one statement: in autocommit it reads one snapshot all the same.
    use_autocommit(session)
    page = service.list_page(session, where=where, sort=sort, cursor=cursor, limit=limit)
    # End the read here, in this worker thread, so closing the session needs no second one.
    session.rollback()
    # Serialised as it is, by pydantic's own serialiser: the same JSON as an ExperimentPage
    # gives, without validating fifty models first, which cost as much as serialising them.
    return Response(to_json(page), media_type="application/json")


@router.get(
    "/{experiment_id}", response_model=ExperimentRead, responses=problem_responses(404, 422)
)
def get_experiment(experiment_id: Id, session: SessionDep) -> ExperimentRead:
    """An experiment with its runs."""
    return service.read_experiment(session, experiment_id=experiment_id)


@router.post(
    "/{experiment_id}/cancel",
    response_model=ExperimentRead,
    responses=problem_responses(401, 404, 409, 422),
)
def cancel_experiment(experiment_id: Id, session: SessionDep, _: WriteAccessDep) -> ExperimentRead:
    """Cancel queued runs now and ask running ones to stop."""
    service.cancel_experiment(session, experiment_id=experiment_id)
    session.commit()
    return service.read_experiment(session, experiment_id=experiment_id)


@router.post(
    "/{experiment_id}/rerun",
    response_model=ExperimentRead,
    responses=problem_responses(401, 404, 409, 422),
)
def rerun_experiment(
    experiment_id: Id, session: SessionDep, queue: QueueDep, _: WriteAccessDep
) -> ExperimentRead:
    """Queue the experiment's failed and cancelled runs again."""
    to_send = service.rerun_experiment(session, experiment_id=experiment_id)
    session.commit()
    send_runs(session, queue=queue, run_ids=to_send)
    session.commit()
    return service.read_experiment(session, experiment_id=experiment_id)


@router.delete(
    "/{experiment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 404, 409, 422),
)
def delete_experiment(experiment_id: Id, session: SessionDep, _: WriteAccessDep) -> None:
    """Delete an experiment with its runs and results (cancel it first if it is active)."""
    service.delete_experiment(session, experiment_id=experiment_id)
    session.commit()


@router.get(
    "/{experiment_id}/export.json",
    response_model=ExperimentExport,
    responses=problem_responses(404, 422),
)
def export_json(experiment_id: Id, session: SessionDep, response: Response) -> ExperimentExport:
    """Download the experiment, its runs and every succeeded run's full result."""
    experiment = service.read_experiment(session, experiment_id=experiment_id)
    results = {
        str(run.id): exports.read_result(session, run_id=run.id)
        for run in experiment.runs
        if run.status == "succeeded"
    }
    response.headers["Content-Disposition"] = (
        f'attachment; filename="experiment-{experiment_id}.json"'
    )
    return ExperimentExport(experiment=experiment, results=results)


@router.get(
    "/{experiment_id}/export.csv",
    response_class=Response,
    responses={**exports.CSV_RESPONSE, **problem_responses(404, 422)},
)
def export_csv(experiment_id: Id, session: SessionDep) -> Response:
    """Download one CSV row per run: sweep values and summary metrics."""
    experiment = service.read_experiment(session, experiment_id=experiment_id)
    text = exports.runs_csv(experiment.runs)
    return exports.csv_download(text, f"experiment-{experiment_id}.csv")
