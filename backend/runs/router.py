"""Run routes: state, result, exports, cancel."""

from __future__ import annotations

from fastapi import APIRouter, Response

from backend.deps import SessionDep, WriteAccessDep
from backend.fields import Id
from backend.problems import problem_responses
from backend.runs import exports, service
from backend.runs.schemas import ResultRead, RunExport, RunRead

router = APIRouter(prefix="/runs", tags=["runs"])


@router.get("/{run_id}", response_model=RunRead, responses=problem_responses(404, 422))
def get_run(run_id: Id, session: SessionDep) -> RunRead:
    """A run's status, progress, attempts and summary."""
    return service.read_run(session, run_id=run_id)


@router.get(
    "/{run_id}/result", response_model=ResultRead, responses=problem_responses(404, 409, 422)
)
def get_result(run_id: Id, session: SessionDep) -> ResultRead:
    """A succeeded run's full result: meta, summary, per-epoch series and heatmap."""
    return exports.read_result(session, run_id=run_id)


@router.get(
    "/{run_id}/export.json", response_model=RunExport, responses=problem_responses(404, 409, 422)
)
def export_json(run_id: Id, session: SessionDep, response: Response) -> RunExport:
    """Download the run and its full result as one JSON file."""
    export = RunExport(
        result=exports.read_result(session, run_id=run_id),
        run=service.read_run(session, run_id=run_id),
    )
    response.headers["Content-Disposition"] = f'attachment; filename="run-{run_id}.json"'
    return export


@router.get(
    "/{run_id}/export.csv",
    response_class=Response,
    responses={**exports.CSV_RESPONSE, **problem_responses(404, 409, 422)},
)
def export_csv(run_id: Id, session: SessionDep) -> Response:
    """Download the run's per-epoch series as CSV, one row per epoch."""
    text = exports.series_csv(exports.read_result(session, run_id=run_id))
    return exports.csv_download(text, f"run-{run_id}-series.csv")


@router.post(
    "/{run_id}/cancel", response_model=RunRead, responses=problem_responses(401, 404, 409, 422)
)
def cancel_run(run_id: Id, session: SessionDep, _: WriteAccessDep) -> RunRead:
    """Cancel a queued run now, or ask a running one to stop at its next chunk."""
    run = service.cancel_run(session, run_id=run_id)
    session.commit()
    return run
