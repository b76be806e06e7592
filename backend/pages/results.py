"""Runs as the dashboard's figures take them: stored results with labels and sweep points."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy.orm import Session

import pagelab
from backend.runs import exports
from frontend.chart_sets import point_label, unique_labels
from frontend.figures import RunView

# Where a page reads a run's full result from: the run's own (``stored_results``), or the copy
# a share link froze.
ResultLoader = Callable[[int], pagelab.Result]


class RunRecord(Protocol):
    """What the pages' tables and figures read of a run: a live one (``RunRead``) or the
    copy a share link froze (``SharedRun``)."""

    @property
    def id(self) -> int: ...
    @property
    def experiment_id(self) -> int: ...
    @property
    def point_index(self) -> int: ...
    @property
    def params(self) -> Mapping[str, Any]: ...
    @property
    def status(self) -> str: ...
    @property
    def spec(self) -> Mapping[str, Any]: ...
    @property
    def summary(self) -> Mapping[str, int | float] | None: ...


def load_result(session: Session, run_id: int) -> pagelab.Result:
    stored = exports.read_result(session, run_id=run_id)
    return pagelab.Result(
        meta=stored.meta,
        summary=stored.summary,
        series=stored.series,
        heatmap=stored.heatmap,
        physical_memory=stored.physical_memory,
    )


def stored_results(session: Session) -> ResultLoader:
    """Results as the runs stored them."""
    return functools.partial(load_result, session)


def run_labels(runs: Sequence[RunRecord], *, with_ids: bool = False) -> dict[int, str]:
    """A distinct short name per run: its sweep values (``#id`` added where needed)."""
    labels = [point_label(run.params) for run in runs]
    if with_ids:
        labels = [f"#{run.id} {label}".strip() for run, label in zip(runs, labels, strict=True)]
    named = unique_labels(labels, [run.id for run in runs])
    return {run.id: label for run, label in zip(runs, named, strict=True)}


def run_views(
    load: ResultLoader, runs: Sequence[RunRecord], labels: dict[int, str]
) -> dict[int, RunView]:
    """RunViews of the runs that succeeded (the others have no result to plot), by run id."""
    return {
        run_id: with_result(load, view)
        for run_id, view in summary_views(runs, labels, number_by_id=True).items()
    }


def summary_views(
    runs: Sequence[RunRecord], labels: dict[int, str], *, number_by_id: bool = False
) -> dict[int, RunView]:
    """RunViews of the succeeded runs from their stored summaries alone: no result is read.

    Runs are numbered as their table numbers them (``#`` point number), or by run id where
    they come from several experiments.
    """
    return {
        run.id: RunView(
            labels[run.id],
            None,
            run.params,
            summary=run.summary or {},
            number=f"#{run.id if number_by_id else run.point_index + 1}",
            run_id=run.id,
        )
        for run in runs
        if run.status == "succeeded"
    }


def with_result(load: ResultLoader, view: RunView) -> RunView:
    """``view`` with its full result (series, heatmap) read by ``load``."""
    if view.result is not None or view.run_id is None:
        return view
    return dataclasses.replace(view, result=load(view.run_id))
