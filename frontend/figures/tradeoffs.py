"""Views of every run at once: parallel coordinates over the swept axes and a few metrics,
and the Pareto front of two metrics that trade off."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from frontend.figures.chart import Chart
from frontend.figures.grid import Axis, plot_text, point_description
from frontend.figures.layout import new_figure, run_color, trace, with_traces
from frontend.figures.metrics import lower_is_better, metric_label, unit_for
from frontend.figures.runs import RunView
from frontend.figures.sweep_views import compact_number

# Short names for the narrow space above a parallel-coordinates axis.
_SHORT_LABELS = {
    "est_runtime_ns": "runtime",
    "amat_ns": "AMAT",
    "bloat_bytes": "bloat",
    "page_table_bytes": "page tables",
    "resident_bytes": "resident",
    "walk_cycles": "walk cycles",
    "walks": "walks",
    "faults": "faults",
}
_MAX_TICKS_PER_AXIS = 16
# Best to worst, for parallel-coordinate lines in five colour groups.
_BUCKET_COLORS = ("#1a9850", "#91cf60", "#d9d26a", "#fc8d59", "#d73027")
_NEUTRAL_COLOR = "#8c959f"
_FRONT_COLOR = run_color(2)


def short_metric_label(metric: str) -> str:
    return _SHORT_LABELS.get(metric) or metric_label(metric)


def parallel_chart(
    runs: Sequence[RunView], axes: Sequence[Axis], metrics: Sequence[str], color_metric: str
) -> Chart | None:
    """One line per run through its axis values and metrics, coloured by ``color_metric``.

    Drawn in SVG (Plotly's own parallel-coordinates trace needs WebGL, whose shader
    compiler the page's content-security policy rightly forbids): each dimension is a
    vertical axis scaled to 0–1, each run a polyline through marker points. Box-selecting
    points on an axis brushes it; the markers' ``customdata`` name the run behind each point
    and ``meta.run_ids`` lists every run drawn, so the page filters its run table to match.
    """
    shown = [run for run in runs if all(run.summary_value(m) is not None for m in metrics)]
    if len(shown) < 2 or not metrics:
        return None
    dimensions = [_axis_dimension(axis, shown) for axis in axes]
    dimensions += [_metric_dimension(metric, shown) for metric in metrics]
    colors = _color_buckets([run.summary_value(color_metric) or 0.0 for run in shown], color_metric)
    figure = new_figure(
        height_px=400,
        margin={"l": 20, "r": 20, "t": 40, "b": 20},
        meta={"run_ids": [run.run_id for run in shown]},
        dragmode="select",
        showlegend=False,
        hovermode="closest",
        xaxis={"visible": False, "range": [-0.15, len(dimensions) - 0.35], "fixedrange": True},
        yaxis={"visible": False, "range": [-0.06, 1.06], "fixedrange": True},
    )
    traces: list[dict[str, Any]] = []
    # Lines in a few colour groups (a line has one colour), under the points.
    for bucket, color in enumerate(_BUCKET_COLORS):
        x: list[float | None] = []
        y: list[float | None] = []
        for index, run_bucket in enumerate(colors):
            if run_bucket == bucket:
                x += [*range(len(dimensions)), None]
                y += [*(dimension.positions[index] for dimension in dimensions), None]
        if x:
            traces.append(
                trace(
                    "scatter",
                    x=x,
                    y=y,
                    mode="lines",
                    line={"color": color, "width": 1.2},
                    opacity=0.55,
                    hoverinfo="skip",
                )
            )
    # The points, one trace per colour group; each names its run for hover and brushing.
    descriptions = [point_description(run, axes) for run in shown]
    for bucket, color in enumerate(_BUCKET_COLORS):
        members = [index for index, run_bucket in enumerate(colors) if run_bucket == bucket]
        if not members:
            continue
        traces.append(
            trace(
                "scatter",
                x=[column for column in range(len(dimensions)) for _ in members],
                y=[dimension.positions[index] for dimension in dimensions for index in members],
                customdata=[
                    [shown[index].run_id, descriptions[index], dimension.hover[index]]
                    for dimension in dimensions
                    for index in members
                ],
                mode="markers",
                marker={"size": 5, "color": color},
                selected={"marker": {"size": 7}},
                unselected={"marker": {"opacity": 0.25}},
                hovertemplate="%{customdata[1]}<br>%{customdata[2]}<extra></extra>",
            )
        )
    annotations = []
    for column, dimension in enumerate(dimensions):
        annotations.append(
            {"x": column, "y": 1.06, "text": f"<b>{dimension.label}</b>", "yanchor": "bottom"}
        )
        annotations += [
            {
                "x": column,
                "y": position,
                "text": text,
                "xanchor": "left",
                "xshift": 5,
                "font": {"size": 10, "color": "#59636e"},
            }
            for position, text in dimension.ticks
        ]
    figure.update_layout(
        annotations=[{"showarrow": False, "xref": "x", "yref": "y", **a} for a in annotations],
        shapes=[
            {
                "type": "line",
                "x0": column,
                "x1": column,
                "y0": 0,
                "y1": 1,
                "xref": "x",
                "yref": "y",
                "line": {"color": "#8c959f", "width": 1},
            }
            for column in range(len(dimensions))
        ],
    )
    title = f"Every run across the sweep, coloured by {metric_label(color_metric).lower()}"
    return Chart("parallel", title, with_traces(figure, traces))


@dataclass(frozen=True)
class _Dimension:
    """One vertical axis: each run's position on it (0–1), tick texts and hover texts."""

    label: str
    positions: list[float]
    ticks: list[tuple[float, str]]
    hover: list[str]


def _axis_dimension(axis: Axis, runs: Sequence[RunView]) -> _Dimension:
    span = max(1, len(axis.values) - 1)
    indices = [axis.index_of(run) for run in runs]
    step = max(1, -(-len(axis.values) // _MAX_TICKS_PER_AXIS))
    return _Dimension(
        label=plot_text(axis.name),
        positions=[0.0 if index is None else round(index / span, 4) for index in indices],
        ticks=[
            (index / span, plot_text(axis.texts[index]))
            for index in range(0, len(axis.values), step)
        ],
        # The point's description already says where the run sits on every axis.
        hover=[""] * len(runs),
    )


def _metric_dimension(metric: str, runs: Sequence[RunView]) -> _Dimension:
    values = [run.summary_value(metric) or 0.0 for run in runs]
    unit = unit_for(metric, values)
    low, high = min(values), max(values)
    span = high - low or 1.0
    label = f"{short_metric_label(metric)} ({unit.name})"
    ticks = [(0.0, low), (1.0, high)] if high > low else [(0.0, low)]
    return _Dimension(
        label=plot_text(label),
        positions=[round((value - low) / span, 4) for value in values],
        ticks=[(position, compact_number(value / unit.divisor)) for position, value in ticks],
        hover=[f"{plot_text(label)} = {compact_number(v / unit.divisor)}" for v in values],
    )


def _color_buckets(values: Sequence[float], metric: str) -> list[int]:
    """Each value's colour group: 0 is the best end of ``metric``, the last the worst."""
    low, high = min(values), max(values)
    span = high - low or 1.0
    groups = len(_BUCKET_COLORS)
    lower_better = lower_is_better(metric) is not False
    buckets = []
    for value in values:
        goodness = (high - value) / span if lower_better else (value - low) / span
        buckets.append(min(groups - 1, int((1 - goodness) * groups)))
    return buckets


def pareto_pairs(runs: Sequence[RunView]) -> list[tuple[str, str]]:
    """Pairs of metrics that trade off, of those these runs report and that vary."""
    present = {name for run in runs for name in run.metrics}
    tlb = sorted(name for name in present if re.fullmatch(r"tlb_\w+_misses", name))
    wanted = [
        ("est_runtime_ns", "bloat_bytes"),
        *[("page_table_bytes", name) for name in tlb[-1:]],
        ("est_runtime_ns", "page_table_bytes"),
        ("walk_cycles", "bloat_bytes"),
    ]

    def varies(metric: str) -> bool:
        return len({run.summary_value(metric) for run in runs}) > 1

    return [(a, b) for a, b in wanted if a in present and b in present and varies(a) and varies(b)]


def pareto_front(
    points: Sequence[tuple[float, float]], *, lower_x: bool, lower_y: bool
) -> list[int]:
    """Indices of the points no other point beats on both coordinates, along x."""
    sign_x = 1 if lower_x else -1
    sign_y = 1 if lower_y else -1
    order = sorted(range(len(points)), key=lambda i: (sign_x * points[i][0], sign_y * points[i][1]))
    front: list[int] = []
    best_y = float("inf")
    for index in order:
        y = sign_y * points[index][1]
        if y < best_y:
            front.append(index)
            best_y = y
    return front


def pareto_chart(
    runs: Sequence[RunView], pair: tuple[str, str], axes: Sequence[Axis] = ()
) -> Chart | None:
    """Every run as a point of the two metrics; the front joined and labelled by run number."""
    x_metric, y_metric = pair
    shown = [
        (run, x, y)
        for run in runs
        if (x := run.summary_value(x_metric)) is not None
        and (y := run.summary_value(y_metric)) is not None
    ]
    if len(shown) < 2:
        return None
    x_unit = unit_for(x_metric, [x for _, x, _ in shown])
    y_unit = unit_for(y_metric, [y for _, _, y in shown])
    lower_x = lower_is_better(x_metric) is not False
    lower_y = lower_is_better(y_metric) is not False
    front = pareto_front([(x, y) for _, x, y in shown], lower_x=lower_x, lower_y=lower_y)
    figure = new_figure(
        height_px=400,
        xaxis={"title": {"text": f"{metric_label(x_metric)} ({x_unit.name})"}},
        yaxis={"title": {"text": f"{metric_label(y_metric)} ({y_unit.name})"}},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
    )
    hover = (
        f"%{{customdata[0]}}<br>{plot_text(short_metric_label(x_metric))} "
        f"%{{customdata[1]:{x_unit.hover_format}}}{x_unit.hover_suffix}<br>"
        f"{plot_text(short_metric_label(y_metric))} "
        f"%{{customdata[2]:{y_unit.hover_format}}}{y_unit.hover_suffix}<extra></extra>"
    )
    others = [entry for index, entry in enumerate(shown) if index not in set(front)]
    for name, entries, on_front in (
        ("other runs", others, False),
        ("Pareto front", [shown[index] for index in front], True),
    ):
        if not entries:
            continue
        figure.add_trace(
            trace(
                "scatter",
                x=[x / x_unit.divisor for _, x, _ in entries],
                y=[y / y_unit.divisor for _, _, y in entries],
                customdata=[
                    [point_description(run, axes) or plot_text(run.label), x, y]
                    for run, x, y in entries
                ],
                text=[plot_text(run.short_name) for run, _, _ in entries] if on_front else None,
                mode="lines+markers+text" if on_front else "markers",
                textposition="top right",
                textfont={"size": 11},
                name=name,
                marker={
                    "size": 10 if on_front else 7,
                    "color": _FRONT_COLOR if on_front else _NEUTRAL_COLOR,
                    "opacity": 1 if on_front else 0.6,
                },
                line={"color": _FRONT_COLOR, "shape": "hv" if lower_x == lower_y else "vh"},
                hovertemplate=hover,
            )
        )
    corner = ("lower" if lower_y else "upper") + (" left" if lower_x else " right")
    title = (
        f"{metric_label(y_metric)} against {metric_label(x_metric).lower()}: "
        f"the Pareto front ({corner} is better)"
    )
    return Chart("pareto", title, figure)
