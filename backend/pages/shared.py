"""The page of a share link: the runs it froze, drawn from its own copy of them.

Nothing here reads the runs, results or experiments the link was made from: a rename, a
re-run or a deleted experiment does not change what the link shows. The templates take the
frozen records (``SharedRun``, ``SharedExperiment``) as they are; ``read_only`` tells them
that a run is one of these.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from backend.pages.results import run_labels, run_views
from backend.pages.views import ViewChoices, compare_context, runs_context
from backend.shares import service as share_service
from backend.shares.schemas import SharedRun
from frontend.chart_sets import single_run_charts


def frozen_axes(runs: Sequence[SharedRun]) -> dict[str, list[Any]]:
    """The sweep values the frozen runs have, in point order: not the rest of the sweep."""
    axes: dict[str, list[Any]] = {}
    for run in sorted(runs, key=lambda run: run.point_index):
        for path, value in run.params.items():
            values = axes.setdefault(path, [])
            if value not in values:
                values.append(value)
    return dict(sorted(axes.items()))


def shared_context(session: Session, *, token: str, choices: ViewChoices) -> dict[str, Any]:
    """A share link's frozen runs, in the view it was made from; nothing else is read."""
    share = share_service.open_share(session, token)
    shared = share_service.shared_view(share)
    load = functools.partial(share_service.frozen_result, session, share)
    runs = shared.runs
    base = {"shared": shared, "token": token, "read_only": True, "runs": runs}
    if shared.view == "experiment" and len(shared.experiments) == 1 and len(runs) > 1:
        return {
            **base,
            "layout": "experiment",
            "experiment": shared.experiments[0],
            **runs_context(load, runs, sweep=frozen_axes(runs), choices=choices),
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
