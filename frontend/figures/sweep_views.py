"""One view of the chosen metric across a sweep, picked by the sweep's shape.

One axis: a line over numeric values, bars over other values. Two axes: a heatmap of
axis A × axis B with every cell annotated. Three or more: small multiples, the x axis
across, a second axis as colour, a facet per value of a third, and a menu that fixes the
remaining axes. Each run is one point, so what the page embeds grows with the run count
only.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from plotly.subplots import make_subplots

from frontend.figures.chart import Chart
from frontend.figures.grid import Axis, cell_runs, plot_text, point_description
from frontend.figures.layout import (
    TEMPLATE,
    dropdown_menu,
    new_figure,
    run_color,
    subplot_axes,
    trace,
    unvalidated,
    with_traces,
)
from frontend.figures.metrics import Unit, axis_title, lower_is_better, metric_label, unit_for
from frontend.figures.runs import RunView

MAX_LEGEND_ENTRIES = 12
_FACET_COLUMNS = 4
# Beyond this many columns a heatmap's cells are too narrow for a number each.
_ANNOTATED_UP_TO_COLUMNS = 16


def compact_number(value: float) -> str:
    """``1234567`` → ``1.23M``: three significant digits, short enough for a heatmap cell."""
    magnitude = abs(value)
    for suffix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if magnitude >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def shape_chart(
    runs: Sequence[RunView],
    axes: Sequence[Axis],
    metric: str,
    *,
    x_path: str | None = None,
    color_path: str | None = None,
) -> Chart | None:
    """The chosen metric over the sweep, drawn as its number of axes suits; None if no axes."""
    if not axes or not any(run.summary_value(metric) is not None for run in runs):
        return None
    unit = unit_for(metric, [v for run in runs if (v := run.summary_value(metric)) is not None])
    ordered = _roles(axes, x_path, color_path)
    if len(axes) == 1:
        return _one_axis_chart(runs, ordered[0], metric, unit)
    if len(axes) == 2:
        return _heatmap(runs, ordered[0], ordered[1], metric, unit)
    return _facets(runs, ordered, metric, unit)


def _roles(axes: Sequence[Axis], x_path: str | None, color_path: str | None) -> list[Axis]:
    """Axes by role: x (chosen, else the one with most values), colour (chosen, else fewest
    values), facet (next fewest), then the ones a menu fixes. Run controls (the seed) go
    last: repeats of one point say less than a policy or workload axis."""
    by_path = {axis.path: axis for axis in axes}
    x_axis = by_path.get(x_path or "") or max(
        axes, key=lambda axis: (len(axis.values), axis.numeric)
    )
    rest = sorted(
        (axis for axis in axes if axis is not x_axis),
        key=lambda axis: (axis.path.startswith("controls."), len(axis.values)),
    )
    chosen_color = by_path.get(color_path or "")
    if chosen_color is not None and chosen_color is not x_axis:
        rest = [chosen_color, *(axis for axis in rest if axis is not chosen_color)]
    return [x_axis, *rest]


def _hover(unit: Unit) -> str:
    return (
        f"%{{customdata[0]}}<br>%{{customdata[1]:{unit.hover_format}}}{unit.hover_suffix}"
        "<extra></extra>"
    )


def _one_axis_chart(runs: Sequence[RunView], axis: Axis, metric: str, unit: Unit) -> Chart:
    cells = cell_runs(runs, [axis])
    points = [
        (index, run, value)
        for (index,), run in sorted(cells.items())
        if (value := run.summary_value(metric)) is not None
    ]
    customdata = [[point_description(run, [axis]), value] for _, run, value in points]
    y = [value / unit.divisor for _, _, value in points]
    figure = new_figure(
        height_px=340,
        yaxis={"title": {"text": axis_title(metric, unit)}, "rangemode": "tozero"},
        xaxis={"title": {"text": plot_text(axis.name)}},
        showlegend=False,
    )
    if axis.numeric:
        x_values = [axis.values[index] for index, _, _ in points]
        positive = all(value > 0 for value in x_values)
        spread = max(x_values) / min(x_values) if positive else 0
        figure.add_trace(
            trace(
                "scatter",
                x=x_values,
                y=y,
                customdata=customdata,
                mode="lines+markers",
                line={"color": run_color(0)},
                hovertemplate=_hover(unit),
            )
        )
        figure.update_xaxes(type="log" if spread >= 100 else "linear")
    else:
        figure.add_trace(
            trace(
                "bar",
                x=[plot_text(axis.texts[index]) for index, _, _ in points],
                y=y,
                customdata=customdata,
                marker={"color": run_color(0)},
                hovertemplate=_hover(unit),
            )
        )
        figure.update_xaxes(type="category")
    return Chart("sweep-view", f"{metric_label(metric)} against {axis.name}", figure)


def _heatmap(runs: Sequence[RunView], x_axis: Axis, y_axis: Axis, metric: str, unit: Unit) -> Chart:
    cells = cell_runs(runs, [x_axis, y_axis])
    z: list[list[float | None]] = []
    text: list[list[str]] = []
    customdata: list[list[list[Any]]] = []
    for row in range(len(y_axis.values)):
        z_row: list[float | None] = []
        text_row: list[str] = []
        data_row: list[list[Any]] = []
        for column in range(len(x_axis.values)):
            run = cells.get((column, row))
            value = run.summary_value(metric) if run is not None else None
            z_row.append(None if value is None else value / unit.divisor)
            text_row.append("" if value is None else compact_number(value / unit.divisor))
            description = point_description(run, [x_axis, y_axis]) if run else "no run"
            data_row.append([description, value])
        z.append(z_row)
        text.append(text_row)
        customdata.append(data_row)
    annotated = len(x_axis.values) <= _ANNOTATED_UP_TO_COLUMNS
    figure = new_figure(
        height_px=max(300, min(640, 110 + 34 * len(y_axis.values))),
        xaxis={"title": {"text": plot_text(x_axis.name)}, "type": "category"},
        yaxis={"title": {"text": plot_text(y_axis.name)}, "type": "category"},
    )
    figure.add_trace(
        trace(
            "heatmap",
            x=[plot_text(value) for value in x_axis.texts],
            y=[plot_text(value) for value in y_axis.texts],
            z=z,
            text=text,
            texttemplate="%{text}" if annotated else None,
            customdata=customdata,
            # Green is the good end whichever way the metric runs.
            colorscale="RdYlGn",
            reversescale=lower_is_better(metric) is not False,
            colorbar={"title": {"text": unit.name, "side": "right"}, "thickness": 14},
            xgap=2,
            ygap=2,
            hovertemplate=_hover(unit),
        )
    )
    return Chart("sweep-view", f"{metric_label(metric)} over {x_axis.name} × {y_axis.name}", figure)


def _facets(runs: Sequence[RunView], axes: Sequence[Axis], metric: str, unit: Unit) -> Chart:
    x_axis, color_axis, facet_axis, *fixed_axes = axes
    cells = cell_runs(runs, axes)
    facets = len(facet_axis.values)
    columns = min(_FACET_COLUMNS, facets)
    rows = math.ceil(facets / columns)
    figure = unvalidated(
        make_subplots(
            rows=rows,
            cols=columns,
            shared_yaxes=True,
            subplot_titles=[plot_text(facet_axis.describe(index)) for index in range(facets)],
            horizontal_spacing=0.04,
            vertical_spacing=min(0.16, 0.6 / rows),
        )
    )
    fixed_choices = list(itertools.product(*(range(len(axis.values)) for axis in fixed_axes)))
    trace_choice: list[int] = []
    traces: list[dict[str, Any]] = []
    for choice_index, fixed in enumerate(fixed_choices):
        for facet in range(facets):
            for color in range(len(color_axis.values)):
                points = [
                    (x, run, value)
                    for x in range(len(x_axis.values))
                    if (run := cells.get((x, color, facet, *fixed))) is not None
                    and (value := run.summary_value(metric)) is not None
                ]
                if not points:
                    continue
                name = plot_text(color_axis.texts[color])
                traces.append(
                    trace(
                        "scatter",
                        **subplot_axes(facet // columns + 1, facet % columns + 1, columns),
                        x=[
                            x_axis.values[x] if x_axis.numeric else plot_text(x_axis.texts[x])
                            for x, _, _ in points
                        ],
                        y=[value / unit.divisor for _, _, value in points],
                        customdata=[
                            [point_description(run, axes), value] for _, run, value in points
                        ],
                        mode="lines+markers",
                        name=name,
                        legendgroup=name,
                        showlegend=choice_index == 0 and facet == 0 and color < MAX_LEGEND_ENTRIES,
                        visible=choice_index == 0,
                        line={"color": run_color(color)},
                        hovertemplate=_hover(unit),
                    )
                )
                trace_choice.append(choice_index)
    figure.update_layout(
        template=TEMPLATE,
        height=110 + 250 * rows,
        margin={"t": 90 if fixed_axes else 60, "r": 20},
        legend={
            "orientation": "v",
            "x": 1.01,
            "y": 1,
            "yanchor": "top",
            "title": {"text": plot_text(color_axis.name)},
        },
    )
    if fixed_axes:
        figure.update_layout(updatemenus=[_fixed_menu(fixed_axes, fixed_choices, trace_choice)])
    figure.update_xaxes(
        type="linear" if x_axis.numeric else "category",
        **(
            {}
            if x_axis.numeric
            else {
                "categoryorder": "array",
                "categoryarray": [plot_text(text) for text in x_axis.texts],
            }
        ),
    )
    figure.update_xaxes(title={"text": plot_text(x_axis.name)}, row=rows)
    figure.update_yaxes(title={"text": axis_title(metric, unit)}, col=1, rangemode="tozero")
    figure.update_annotations(font={"size": 12})
    title = (
        f"{metric_label(metric)} against {x_axis.name}, by {color_axis.name} and {facet_axis.name}"
    )
    return Chart("sweep-view", title, with_traces(figure, traces))


def _fixed_menu(
    fixed_axes: Sequence[Axis], choices: Sequence[tuple[int, ...]], trace_choice: list[int]
) -> dict[str, Any]:
    """A dropdown above the plot that fixes the axes not drawn: one entry per combination."""
    buttons = [
        {
            "label": plot_text(
                " · ".join(
                    axis.describe(index) for axis, index in zip(fixed_axes, choice, strict=True)
                )
            ),
            "method": "restyle",
            "args": [{"visible": [owner == choice_index for owner in trace_choice]}],
        }
        for choice_index, choice in enumerate(choices)
    ]
    return dropdown_menu(buttons, y=1, pad_bottom_px=30)
