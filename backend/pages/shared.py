"""The page of a share link: the runs it froze, drawn from its own copy of them.

Nothing here reads the runs, results or experiments the link was made from: a rename, a
re-run or a deleted experiment does not change what the link shows.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy.orm import Session

from backend.experiments.schemas import ExperimentRead
from backend.pages.results import run_labels, run_views
from backend.pages.views import ViewChoices, compare_context, runs_context
from backend.runs.schemas import RunProgress, RunRead
from backend.shares import service as share_service
from backend.shares.schemas import SharedRun, SharedView
from frontend.chart_sets import single_run_charts


def as_run_read(run: SharedRun) -> RunRead:
    """A frozen run in the shape the run templates take; what was not frozen stays empty."""
    return RunRead.model_validate(
        {
            **run.model_dump(exclude={"accesses"}),
            "progress": RunProgress(
                accesses_done=run.accesses, accesses_total=run.accesses, fraction=1.0
            ),
            "worker_hostname": None,
            "error": None,
            "cancel_requested": False,
            "reused_result": False,
            "heartbeat_at": None,
        }
    )


def frozen_axes(runs: list[RunRead]) -> dict[str, list[Any]]:
    """The sweep values the frozen runs have, in point order: not the rest of the sweep."""
    axes: dict[str, list[Any]] = {}
    for run in sorted(runs, key=lambda run: run.point_index):
        for path, value in run.params.items():
            values = axes.setdefault(path, [])
            if value not in values:
                values.append(value)
    return dict(sorted(axes.items()))


def _frozen_experiment(shared: SharedView, runs: list[RunRead]) -> ExperimentRead:
    experiment = shared.experiments[0]
    axes = frozen_axes(runs)
    return ExperimentRead.model_validate(
        {
            **experiment.model_dump(),
            "kind": "sweep" if axes else "single",
            "status": "succeeded",
            "run_counts": {},
            "created_at": shared.created_at,
            "updated_at": shared.created_at,
            # The first run's spec: the runs differ only in their sweep values.
            "spec": runs[0].spec if runs else {},
            "sweep": axes or None,
            "runs": runs,
        }
    )


def shared_context(session: Session, *, token: str, choices: ViewChoices) -> dict[str, Any]:
    """A share link's frozen runs, in the view it was made from; nothing else is read."""
    share = share_service.open_share(session, token)
    shared = share_service.shared_view(share)
    load = functools.partial(share_service.frozen_result, session, share)
    runs = [as_run_read(run) for run in shared.runs]
    base = {"shared": shared, "token": token, "read_only": True, "runs": runs}
    if shared.view == "experiment" and len(shared.experiments) == 1 and len(runs) > 1:
        experiment = _frozen_experiment(shared, runs)
        return {
            **base,
            "layout": "experiment",
            "experiment": experiment,
            **runs_context(load, experiment, runs, choices=choices),
        }
    if len(runs) == 1:
        run = runs[0]
        view = run_views(load, [run], run_labels([run])).get(run.id)
        return {
            **base,
            "layout": "run",
            "run": run,
            "label": run_labels([run])[run.id],
            "summary": sorted((run.summary or {}).items()),
            "charts": single_run_charts(view) if view else [],
        }
    names = {experiment.id: experiment.name for experiment in shared.experiments}
    return {
        **base,
        "layout": "compare",
        **compare_context(load, runs=runs, names=names, choices=choices),
    }
