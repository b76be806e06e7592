"""What each dashboard page shows, gathered from the services the REST API uses."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from backend.experiments import repository as experiment_repository
from backend.experiments import service as experiment_service
from backend.pages.html import PageError
from backend.pages.results import (
    ResultLoader,
    RunRecord,
    run_labels,
    run_views,
    stored_results,
    summary_views,
    with_result,
)
from backend.runs import service as run_service
from backend.shares import repository as share_repository
from frontend.chart_sets import (
    SweepOverview,
    overlay_charts,
    run_detail_charts,
    single_run_charts,
    sweep_overview,
)
from frontend.figures import RunView, headline_metrics
from frontend.summary_table import spec_differences, summary_rows

# At most this many runs on one compare page: beyond it the overlays stop being readable.
MAX_COMPARE_RUNS = 32


def table_metrics(views: Sequence[RunView]) -> list[str]:
    """A few summary columns for run tables: runtime, last-level TLB misses, faults, bloat."""
    present = headline_metrics(views)
    tlb = [name for name in present if re.fullmatch(r"tlb_\w+_misses", name)]
    wanted = ["est_runtime_ns", *tlb[-1:], "faults", "bloat_bytes", "page_table_bytes"]
    return [name for name in wanted if name in present]


def _pick_run(views: Mapping[int, RunView], wanted: int | None, parameter: str) -> RunView | None:
    if wanted is None:
        return next(iter(views.values()), None)
    if wanted not in views:
        raise PageError(400, f"{parameter}: run {wanted} is not a finished run on this page")
    return views[wanted]


@dataclass(frozen=True)
class ViewChoices:
    """What the user chose above an experiment's charts (query parameters); None: default."""

    x_axis: str | None = None
    color_axis: str | None = None
    metric: str | None = None
    pareto: str | None = None
    overlay: str | None = None
    baseline_id: int | None = None
    focus_id: int | None = None

    def overview(
        self,
        views: Sequence[RunView],
        *,
        baseline: RunView | None,
        declared: Mapping[str, Sequence[Any]] | None = None,
    ) -> SweepOverview:
        """The views across ``views`` as chosen."""
        return sweep_overview(
            views,
            declared=declared,
            metric=self.metric,
            x_path=self.x_axis,
            color_path=self.color_axis,
            pair=self.pareto,
            overlay=self.overlay,
            baseline=baseline,
        )

    def selection(self) -> dict[str, Any]:
        """What the page's links and forms carry over when they change one choice."""
        return {
            "x": self.x_axis,
            "color": self.color_axis,
            "metric": self.metric,
            "pareto": self.pareto,
            "overlay": self.overlay,
            "baseline": self.baseline_id,
            "focus": self.focus_id,
        }


def experiment_context(
    session: Session, *, experiment_id: int, choices: ViewChoices, token_id: int | None
) -> dict[str, Any]:
    """``token_id``: the caller's API token, whose share links the page lists."""
    experiment = experiment_service.read_experiment(session, experiment_id=experiment_id)
    run_ids = [run.id for run in experiment.runs]
    return {
        "experiment": experiment,
        "shares": share_repository.active_for_runs(session, run_ids, token_id=token_id),
        **runs_context(
            stored_results(session), experiment.runs, sweep=experiment.sweep, choices=choices
        ),
    }


def runs_context(
    load: ResultLoader,
    runs: Sequence[RunRecord],
    *,
    sweep: Mapping[str, Sequence[Any]] | None,
    choices: ViewChoices,
) -> dict[str, Any]:
    """Runs table, charts across runs and the focused run's own charts; ``sweep``: the
    values each swept path takes.

    Views across runs are drawn from the stored summaries; full results are read only for
    the few runs overlaid per epoch and the focused run.
    """
    labels = run_labels(runs)
    views = summary_views(runs, labels)
    # Path order, as in the run labels: stored JSON may not keep the order given.
    axes = dict(sorted((sweep or {}).items()))
    if choices.x_axis is not None and choices.x_axis not in axes:
        raise PageError(400, f"x: {choices.x_axis!r} is not swept here; choose one of {list(axes)}")
    baseline = _pick_run(views, choices.baseline_id, "baseline")
    focus_view = _pick_run(views, choices.focus_id, "focus")
    focus = with_result(load, focus_view) if focus_view else None
    overview = choices.overview(list(views.values()), declared=axes, baseline=baseline)
    series_note = ""
    if len(views) > 1:
        overlaid = [with_result(load, views[run_id]) for run_id in overview.overlay_run_ids]
        series, series_note = overlay_charts(
            overlaid,
            overview.axes,
            metric=overview.metric,
            max_panels=overview.max_series_panels,
        )
        charts = overview.charts + series
        focus_charts = run_detail_charts(focus) if focus else []
    else:
        charts, focus_charts = [], single_run_charts(focus) if focus else []
    return {
        "runs": runs,
        "labels": labels,
        "views": views,
        "metrics": table_metrics(list(views.values())),
        "axes": axes,
        "overview": overview,
        "series_note": series_note,
        "selection": choices.selection(),
        "baseline": baseline,
        "focus": focus_view,
        "charts": charts,
        "focus_charts": focus_charts,
        "run_ids": ",".join(str(run.id) for run in runs),
    }


def run_context(session: Session, *, run_id: int) -> dict[str, Any]:
    run = run_service.read_run(session, run_id=run_id)
    experiment = experiment_service.get_experiment(session, experiment_id=run.experiment_id)
    views = run_views(stored_results(session), [run], run_labels([run]))
    view = views.get(run.id)
    return {
        "run": run,
        "experiment": experiment,
        "label": run_labels([run])[run.id],
        "summary": sorted((run.summary or {}).items()),
        "charts": single_run_charts(view) if view else [],
    }


def parse_run_ids(text: str | None) -> list[int]:
    """``"3,7,9"`` → ``[3, 7, 9]``, or a 400 page naming what is wrong."""
    parts = [part.strip() for part in (text or "").split(",") if part.strip()]
    if len(parts) < 2:
        raise PageError(400, "runs: give at least two run ids, e.g. /compare?runs=3,7")
    if len(parts) > MAX_COMPARE_RUNS:
        raise PageError(400, f"runs: {len(parts)} runs; compare at most {MAX_COMPARE_RUNS}")
    if not all(part.isdigit() and 0 < int(part) < 2**63 for part in parts):
        raise PageError(400, f"runs: {text!r} is not a comma-separated list of run ids")
    return list(dict.fromkeys(int(part) for part in parts))


def compare_context(
    load: ResultLoader,
    *,
    runs: Sequence[RunRecord],
    names: Mapping[int, str],
    choices: ViewChoices,
) -> dict[str, Any]:
    """Runs side by side: summary with differences, spec differences, the views across runs
    (axes are the parameters that differ) and per-epoch overlays. ``names``: experiment
    names by id."""
    labels = run_labels(runs, with_ids=True)
    views = summary_views(runs, labels, number_by_id=True)
    baseline = _pick_run(views, choices.baseline_id, "baseline")
    # The baseline run is the first column: differences and speed-ups are relative to it.
    by_id = {run.id: run for run in runs}
    order = sorted(views, key=lambda run_id: views[run_id] is not baseline)
    columns = [
        {
            "run": by_id[run_id],
            "view": views[run_id],
            "experiment_name": names.get(by_id[run_id].experiment_id, ""),
        }
        for run_id in order
    ]
    reference = [views[run_id] for run_id in order]
    overview = choices.overview(reference, baseline=baseline)
    overlaid = [with_result(load, views[run_id]) for run_id in overview.overlay_run_ids]
    series, series_note = overlay_charts(
        overlaid, overview.axes, metric=overview.metric, max_panels=overview.max_series_panels
    )
    run_ids = ",".join(str(run.id) for run in runs)
    return {
        "runs": runs,
        "labels": labels,
        "views": views,
        "baseline": baseline,
        "summary_rows": summary_rows(reference),
        "columns": columns,
        "spec_rows": spec_differences([(labels[run.id], run.spec) for run in runs]),
        "overview": overview,
        "series_note": series_note,
        "charts": overview.charts + series if len(views) > 1 else [],
        "focus_charts": [],
        "run_ids": run_ids,
        "selection": {"runs": run_ids, **choices.selection(), "focus": None},
    }


def compare_runs_context(
    session: Session, *, run_ids: Sequence[int], choices: ViewChoices
) -> dict[str, Any]:
    runs = [run_service.read_run(session, run_id=run_id) for run_id in run_ids]
    names = {
        run.experiment_id: experiment.name
        for run in runs
        if (experiment := experiment_repository.get(session, run.experiment_id)) is not None
    }
    return compare_context(stored_results(session), runs=runs, names=names, choices=choices)
