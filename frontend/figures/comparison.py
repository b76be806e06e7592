"""Figures across runs: summary bars, sweep lines and bloat against speed-up."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from plotly.subplots import make_subplots

from frontend.figures.chart import Chart
from frontend.figures.grid import plot_text, short_path, value_text
from frontend.figures.layout import TEMPLATE, new_figure, run_color, trace, unvalidated
from frontend.figures.metrics import axis_title, metric_label, tier_count, unit_for
from frontend.figures.runs import RunView

# The summary metrics worth a bar each, in reading order; TLB levels are found by pattern.
HEADLINE_METRICS = (
    "est_runtime_ns",
    "amat_ns",
    re.compile(r"tlb_\w+_misses"),
    "walks",
    "walk_cycles",
    "faults",
    "resident_bytes",
    "bloat_bytes",
    "page_table_bytes",
    "fast_tier_access_ratio",
    "promoted_bytes",
    "demoted_bytes",
    "compaction_pages_migrated",
    "thp_1g_alloc_success_ratio",
)
_BAR_COLUMNS = 3
# Run labels give way to run numbers on bar axes (the full label is on hover) unless all of
# them fit side by side, unturned, in a third of the page: about this many characters.
_BAR_AXIS_CHARS = 48


# With one memory tier these say nothing (all on it, nothing moves): headlines only when
# some run has several.
_SEVERAL_TIERS_ONLY = frozenset({"fast_tier_access_ratio", "promoted_bytes", "demoted_bytes"})


def headline_metrics(runs: Sequence[RunView]) -> list[str]:
    """Headline metrics that at least one run reports, in HEADLINE_METRICS order."""
    present = sorted({name for run in runs for name in run.metrics})
    if not any(tier_count(run.metrics) > 1 for run in runs):
        present = [name for name in present if name not in _SEVERAL_TIERS_ONLY]
    chosen: list[str] = []
    for entry in HEADLINE_METRICS:
        if isinstance(entry, str):
            chosen += [entry] if entry in present else []
        else:
            chosen += [name for name in present if entry.fullmatch(name)]
    return chosen


def bar_axis_names(runs: Sequence[RunView]) -> list[str]:
    """Each run's name on a bar axis: its label where all fit, else its number."""
    fits = len(runs) * max(len(run.label) for run in runs) <= _BAR_AXIS_CHARS
    return [plot_text(run.label if fits else run.short_name) for run in runs]


def summary_bars_chart(runs: Sequence[RunView]) -> Chart | None:
    """One small bar chart per headline metric, one bar per run that reports it."""
    metrics = headline_metrics(runs)
    if not metrics:
        return None
    rows = math.ceil(len(metrics) / _BAR_COLUMNS)
    units = {name: unit_for(name, _reported(runs, name)) for name in metrics}
    names = bar_axis_names(runs)
    figure = unvalidated(
        make_subplots(
            rows=rows,
            cols=_BAR_COLUMNS,
            subplot_titles=[axis_title(name, units[name]) for name in metrics],
            vertical_spacing=min(0.12, 0.5 / rows),
            horizontal_spacing=0.08,
        )
    )
    for index, name in enumerate(metrics):
        unit = units[name]
        reporting = [
            (position, run, value)
            for position, run in enumerate(runs)
            if (value := run.summary_value(name)) is not None
        ]
        figure.add_trace(
            trace(
                "bar",
                x=[names[position] for position, _, _ in reporting],
                y=[value / unit.divisor for _, _, value in reporting],
                customdata=[[plot_text(run.label), value] for _, run, value in reporting],
                marker={"color": [run_color(position) for position, _, _ in reporting]},
                name=metric_label(name),
                hovertemplate=(
                    f"%{{customdata[0]}}<br>%{{customdata[1]:{unit.hover_format}}}"
                    f"{unit.hover_suffix}<extra></extra>"
                ),
                showlegend=False,
            ),
            row=index // _BAR_COLUMNS + 1,
            col=index % _BAR_COLUMNS + 1,
        )
    figure.update_layout(template=TEMPLATE, height=80 + 240 * rows, margin={"t": 50})
    figure.update_annotations(font={"size": 12})
    figure.update_xaxes(type="category", tickangle=0)
    return Chart("summary-bars", "Summary metrics per run", figure)


def sweep_metrics(runs: Sequence[RunView]) -> list[str]:
    """What sweep lines show: runtime, the last TLB level's misses, walk cycles and bloat."""
    present = {name for run in runs for name in run.metrics}
    tlb_levels = sorted(name for name in present if re.fullmatch(r"tlb_\w+_misses", name))
    wanted = ["est_runtime_ns", *tlb_levels[-1:], "walk_cycles", "bloat_bytes"]
    return [name for name in wanted if name in present]


def sweep_chart(
    runs: Sequence[RunView], axes: Mapping[str, Sequence[Any]], x_axis: str
) -> Chart | None:
    """Each metric against ``x_axis``; one line per combination of the other axes' values.

    ``axes`` maps swept spec paths to their values in the order the user gave them, which is
    also the order along the x axis. None when ``x_axis`` is not swept or nothing is reported.
    """
    metrics = sweep_metrics(runs)
    if x_axis not in axes or not metrics:
        return None
    others = [path for path in axes if path != x_axis]
    combinations = list(itertools.product(*(axes[path] for path in others)))
    x_values = list(axes[x_axis])
    figure = unvalidated(
        make_subplots(
            rows=1,
            cols=len(metrics),
            subplot_titles=[
                axis_title(name, unit_for(name, _reported(runs, name))) for name in metrics
            ],
            horizontal_spacing=0.07,
        )
    )
    for column, name in enumerate(metrics, start=1):
        unit = unit_for(name, _reported(runs, name))
        for line_index, combination in enumerate(combinations):
            fixed = dict(zip(others, combination, strict=True))
            points = _line_points(runs, name, x_axis, x_values, fixed)
            if not points:
                continue
            label = plot_text(_combination_label(fixed)) or metric_label(name)
            figure.add_trace(
                trace(
                    "scatter",
                    x=[plot_text(_category(value)) for value, _ in points],
                    y=[raw / unit.divisor for _, raw in points],
                    customdata=[raw for _, raw in points],
                    mode="lines+markers",
                    name=label,
                    legendgroup=label,
                    showlegend=column == 1,
                    line={"color": run_color(line_index)},
                    hovertemplate=(
                        f"{short_path(x_axis)} = %{{x}}<br>"
                        f"%{{customdata:{unit.hover_format}}}{unit.hover_suffix}"
                    ),
                ),
                row=1,
                col=column,
            )
    figure.update_layout(
        template=TEMPLATE,
        height=340,
        showlegend=bool(others),
        margin={"t": 70},
        legend={"y": 1.12},
    )
    figure.update_xaxes(
        type="category",
        categoryorder="array",
        categoryarray=[plot_text(_category(value)) for value in x_values],
        title={"text": short_path(x_axis)},
    )
    figure.update_annotations(font={"size": 12})
    return Chart("sweep", f"Metrics against {short_path(x_axis)}", figure)


def bloat_speedup_chart(runs: Sequence[RunView], baseline: RunView) -> Chart | None:
    """Bloat against speed-up over ``baseline`` (its est_runtime_ns / the run's), per run.

    Runs without a runtime or bloat are left out; None if the baseline has no runtime.
    """
    baseline_ns = baseline.summary_value("est_runtime_ns")
    if not baseline_ns:
        return None
    bloats = _reported(runs, "bloat_bytes")
    unit = unit_for("bloat_bytes", bloats)
    figure = new_figure(
        height_px=380,
        xaxis={"title": {"text": f"Speed-up over {plot_text(baseline.label)} (×)"}},
        yaxis={"title": {"text": f"Bloat ({unit.name})"}, "rangemode": "tozero"},
        shapes=[
            {
                "type": "line",
                "xref": "x",
                "x0": 1,
                "x1": 1,
                "yref": "y domain",
                "y0": 0,
                "y1": 1,
                "line": {"color": "#8c959f", "dash": "dot", "width": 1},
            }
        ],
    )
    for index, run in enumerate(runs):
        runtime_ns = run.summary_value("est_runtime_ns")
        bloat = run.summary_value("bloat_bytes")
        if not runtime_ns or bloat is None:
            continue
        figure.add_trace(
            trace(
                "scatter",
                x=[baseline_ns / runtime_ns],
                y=[bloat / unit.divisor],
                customdata=[[bloat, runtime_ns]],
                mode="markers",
                cliponaxis=False,
                marker={
                    "size": 12,
                    "color": run_color(index),
                    "symbol": "diamond" if run is baseline else "circle",
                },
                name=plot_text(run.label),
                hovertemplate=(
                    "speed-up ×%{x:.4f}<br>bloat %{customdata[0]:,} bytes"
                    "<br>runtime %{customdata[1]:,} ns"
                ),
            )
        )
    return Chart("bloat-speedup", f"Bloat against speed-up over {baseline.label}", figure)


def _reported(runs: Sequence[RunView], metric: str) -> list[float]:
    return [value for run in runs if (value := run.summary_value(metric)) is not None]


def _line_points(
    runs: Sequence[RunView],
    metric: str,
    x_axis: str,
    x_values: list[Any],
    fixed: Mapping[str, Any],
) -> list[tuple[Any, float]]:
    """(x value, metric) for the runs on one line, in the axis order; gaps where unreported."""
    points = []
    for x_value in x_values:
        for run in runs:
            on_line = all(run.point.get(path) == value for path, value in fixed.items())
            value = run.summary_value(metric)
            if on_line and run.point.get(x_axis) == x_value and value is not None:
                points.append((x_value, value))
                break
    return points


def _category(value: Any) -> str:
    return value_text(value)


def _combination_label(fixed: Mapping[str, Any]) -> str:
    return ", ".join(f"{short_path(path)}={value}" for path, value in fixed.items())
