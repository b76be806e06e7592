"""Which charts each page shows, and how runs are named on them."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from frontend.figures import (
    Chart,
    RunView,
    bloat_speedup_chart,
    heatmap_chart,
    page_size_chart,
    series_chart,
    series_panels,
    summary_bars_chart,
    sweep_chart,
)
from frontend.figures.access_aware import access_aware_chart
from frontend.figures.comparison import headline_metrics, sweep_metrics
from frontend.figures.grid import Axis, sweep_axes, value_key
from frontend.figures.layout import RUN_COLORS
from frontend.figures.metrics import lower_is_better, metric_label
from frontend.figures.oracle_gap import oracle_gap_chart
from frontend.figures.physical_memory import memory_map_chart
from frontend.figures.splits import split_chart
from frontend.figures.sweep_views import shape_chart
from frontend.figures.tiers import TIER_CHART_COLUMNS, tier_chart
from frontend.figures.tradeoffs import (
    parallel_chart,
    pareto_chart,
    pareto_pairs,
    short_metric_label,
)

# Per-epoch charts overlay at most this many runs; a menu picks which.
MAX_OVERLAY_RUNS = 8
# Per-epoch panels drawn for larger sets.
MAX_SERIES_PANELS = 4
# Up to this many runs, a bar per run and a marker per run in a legend still read well.
SMALL_SET_RUNS = 12
# Metrics beside the swept axes in parallel coordinates (the chosen one is added).
_PARALLEL_METRICS = 3


def point_label(point: Mapping[str, Any]) -> str:
    """A run's sweep values, short: ``64K · always · thp_deposit=false``.

    Strings stand alone (they say what they are); numbers, booleans and lists get their
    field name, since ``0.8`` or ``true`` alone would not. Values come in path order: the
    database may not keep the order the axes were given in (PostgreSQL's JSONB does not).
    """
    parts = []
    for path, value in sorted(point.items()):
        if isinstance(value, str):
            parts.append(value)
        else:
            text = "+".join(map(str, value)) if isinstance(value, list) else json.dumps(value)
            parts.append(f"{path.rsplit('.', 1)[-1]}={text}")
    return " · ".join(parts)


def unique_labels(labels: Sequence[str], run_ids: Sequence[int]) -> list[str]:
    """Prefix ``#id`` where labels are empty or repeat, so no two runs share a name."""
    repeated = {label for label in labels if labels.count(label) > 1}
    return [
        f"#{run_id} {label}".strip() if not label or label in repeated else label
        for label, run_id in zip(labels, run_ids, strict=True)
    ]


def label_by_axes(runs: Sequence[RunView], axes: Sequence[Axis]) -> list[RunView]:
    """The runs named by the values of the axes that vary only (the number where none do)."""
    paths = {axis.path for axis in axes}
    labels = [
        point_label({path: value for path, value in run.point.items() if path in paths})
        for run in runs
    ]
    return [
        dataclasses.replace(run, label=label or run.short_name)
        for run, label in zip(runs, labels, strict=True)
    ]


@dataclass(frozen=True)
class Choice:
    """One option of a selector above the charts: the query value and what the user reads."""

    value: str
    text: str


@dataclass(frozen=True)
class SweepOverview:
    """The charts across runs and the choices that shaped them, for the page's selectors.

    ``overlay_run_ids`` are the runs whose per-epoch series the page should load and pass to
    :func:`overlay_charts`: per-epoch data is read for those few runs only.
    """

    charts: list[Chart]
    axes: list[Axis]
    metrics: list[Choice] = field(default_factory=list)
    metric: str = ""
    x_path: str = ""
    color_path: str = ""
    pairs: list[Choice] = field(default_factory=list)
    pair: str = ""
    overlays: list[Choice] = field(default_factory=list)
    overlay: str = ""
    overlay_run_ids: list[int] = field(default_factory=list)
    # Large sets draw only a few per-epoch panels: each is a figure for the browser to draw.
    max_series_panels: int | None = None

    @property
    def axis_choices(self) -> list[Choice]:
        return [Choice("", "auto"), *(Choice(axis.path, axis.name) for axis in self.axes)]


def run_choices(runs: Iterable[RunView]) -> list[Choice]:
    """Runs for a selector: ``#12 · 64K · always``, valued by run id."""
    return [
        Choice(str(run.run_id), " · ".join(part for part in (run.number, run.label) if part))
        for run in runs
    ]


def _ranked(runs: Sequence[RunView], metric: str) -> list[RunView]:
    """Best first on ``metric``; runs that do not report it last."""
    sign = -1 if lower_is_better(metric) is False else 1
    reporting = [run for run in runs if run.summary_value(metric) is not None]
    reporting.sort(key=lambda run: sign * (run.summary_value(metric) or 0.0))
    return reporting + [run for run in runs if run.summary_value(metric) is None]


def _overlay_choices(
    runs: Sequence[RunView], axes: Sequence[Axis], metric: str
) -> dict[str, tuple[str, list[RunView]]]:
    """Ways to pick the runs overlaid per epoch: value → (text, runs, best first)."""
    ranked = _ranked(runs, metric)
    label = short_metric_label(metric)
    k = MAX_OVERLAY_RUNS
    choices: dict[str, tuple[str, list[RunView]]] = {}
    if len(runs) <= k:
        choices["all"] = (f"all {len(runs)} runs", ranked)
    else:
        choices["best"] = (f"best {k} by {label}", ranked[:k])
        choices["worst"] = (f"worst {k} by {label}", ranked[-k:][::-1])
    for axis in axes:
        on_value: dict[int, list[RunView]] = {}
        for run in ranked:
            index = axis.index_of(run)
            if index is not None:
                on_value.setdefault(index, []).append(run)
        for index, text in enumerate(axis.texts):
            chosen = on_value.get(index, [])
            if chosen:
                shown = f"{axis.name} = {text}: " + (
                    f"best {k} of {len(chosen)} by {label}"
                    if len(chosen) > k
                    else f"{len(chosen)} runs"
                )
                choices[f"{axis.path}={index}"] = (shown, chosen[:k])
    return choices


def sweep_overview(
    runs: Sequence[RunView],
    *,
    declared: Mapping[str, Sequence[Any]] | None = None,
    metric: str | None = None,
    x_path: str | None = None,
    color_path: str | None = None,
    pair: str | None = None,
    overlay: str | None = None,
    baseline: RunView | None = None,
) -> SweepOverview:
    """Charts across runs chosen by the sweep's shape; choices not on offer fall back to
    defaults (a shared link may outlive a metric)."""
    axes = sweep_axes(runs, declared)
    runs = label_by_axes(runs, axes)
    metrics = headline_metrics(runs)
    if not metrics or len(runs) < 2:
        return SweepOverview(charts=[], axes=axes)
    chosen = metric if metric in metrics else metrics[0]
    paths = [axis.path for axis in axes]
    x_chosen = x_path if x_path in paths else ""
    color_chosen = color_path if color_path in paths and color_path != x_chosen else ""

    charts: list[Chart | None] = [
        shape_chart(runs, axes, chosen, x_path=x_chosen, color_path=color_chosen),
        oracle_gap_chart(runs, axes),
        access_aware_chart(runs, axes),
    ]
    if len(runs) <= SMALL_SET_RUNS:
        charts.append(summary_bars_chart(runs))
        charts.append(split_chart(runs))
    # Every metric against one axis, a line per combination of the others: while the lines
    # keep colours of their own; beyond two axes the small multiples say it better.
    if 0 < len(axes) <= 2 and _lines_per_chart(axes, x_chosen) <= len(RUN_COLORS):
        sweep_x = x_chosen or _widest(axes).path
        values = {axis.path: list(axis.values) for axis in axes}
        charts.append(sweep_chart(runs, values, sweep_x))
    others = [name for name in sweep_metrics(runs) if name != chosen]
    charts.append(parallel_chart(runs, axes, [chosen, *others][:_PARALLEL_METRICS], chosen))
    pairs = pareto_pairs(runs)
    pair_values = [f"{a},{b}" for a, b in pairs]
    pair_chosen = pair if pair in pair_values else (pair_values[0] if pair_values else "")
    if pair_chosen:
        x_metric, y_metric = pair_chosen.split(",")
        charts.append(pareto_chart(runs, (x_metric, y_metric), axes))
    if len(runs) <= SMALL_SET_RUNS and baseline is not None:
        by_label = {run.short_name: run for run in runs}
        charts.append(bloat_speedup_chart(runs, by_label.get(baseline.short_name, runs[0])))

    overlays = _overlay_choices(runs, axes, chosen)
    overlay_chosen = overlay if overlay in overlays else next(iter(overlays))
    return SweepOverview(
        charts=[chart for chart in charts if chart is not None],
        axes=axes,
        metrics=[Choice(name, metric_label(name)) for name in metrics],
        metric=chosen,
        x_path=x_chosen,
        color_path=color_chosen,
        pairs=[
            Choice(value, f"{metric_label(a)} × {metric_label(b)}")
            for value, (a, b) in zip(pair_values, pairs, strict=True)
        ],
        pair=pair_chosen,
        overlays=[Choice(value, text) for value, (text, _) in overlays.items()],
        overlay=overlay_chosen,
        overlay_run_ids=[
            run.run_id for run in overlays[overlay_chosen][1] if run.run_id is not None
        ],
        max_series_panels=None if len(runs) <= SMALL_SET_RUNS else MAX_SERIES_PANELS,
    )


def _widest(axes: Sequence[Axis]) -> Axis:
    return max(axes, key=lambda axis: len(axis.values))


def _lines_per_chart(axes: Sequence[Axis], x_path: str) -> int:
    """How many lines "metrics against x" draws: one per combination of the other axes."""
    x_axis = next((axis for axis in axes if axis.path == x_path), _widest(axes))
    count = 1
    for axis in axes:
        if axis is not x_axis:
            count *= len(axis.values)
    return count


def overlay_charts(
    runs: Sequence[RunView],
    axes: Sequence[Axis],
    *,
    metric: str = "",
    max_panels: int | None = None,
) -> tuple[list[Chart], str]:
    """Per-epoch charts of the overlaid runs, and a note when there is nothing to draw over
    time or when only ``max_panels`` of the panels are drawn (``metric``'s panel first).

    Runs are named by number and the values that vary among them, so legends stay short.
    """
    if not runs:
        return [], ""
    if all(len(run.series.get("accesses_end", [])) <= 1 for run in runs):
        return [], (
            "Each of these runs has one epoch, so there is no series over time: its values "
            "are the summary in the run table and the views above."
        )
    varying = [
        axis for axis in axes if len({value_key(run.point.get(axis.path)) for run in runs}) > 1
    ]
    named = [
        dataclasses.replace(run, label=f"{run.short_name} {labelled.label}".strip())
        for run, labelled in zip(runs, label_by_axes(runs, varying), strict=True)
    ]
    panels = series_panels(named)
    panels.sort(key=lambda panel: metric not in panel.columns)
    note = ""
    if max_panels is not None and len(panels) > max_panels:
        note = (
            f"{max_panels} of {len(panels)} per-epoch panels: the chosen metric's first. "
            "Compare a few runs for all of them; the downloads hold every epoch."
        )
        panels = panels[:max_panels]
    return [series_chart(panel, named) for panel in panels], note


def run_detail_charts(run: RunView) -> list[Chart]:
    """What only one run at a time can show: page-size composition, memory per tier, the
    heatmap and each tier's physical memory."""
    charts = [page_size_chart(run), tier_chart(run)]
    if run.result is not None and run.result.heatmap is not None:
        charts.append(heatmap_chart(run.result.heatmap))
    if run.result is not None and run.result.physical_memory:
        charts.extend(
            memory_map_chart(tier, index) for index, tier in enumerate(run.result.physical_memory)
        )
    return [chart for chart in charts if chart is not None]


def single_run_charts(run: RunView) -> list[Chart]:
    """Charts of one run: its series, then page-size composition, tiers and heatmap."""
    details = run_detail_charts(run)
    # The tier chart has the fast-tier ratio and migration: no panels of their own as well.
    drawn = TIER_CHART_COLUMNS if any(chart.key == "tiers" for chart in details) else ()
    series = [series_chart(panel, [run]) for panel in series_panels([run], skip=drawn)]
    return [*series, *details]
