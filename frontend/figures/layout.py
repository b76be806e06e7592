"""The look shared by every figure: a small template, run colours and hover formats.

A hand-written template instead of plotly's default keeps each embedded figure a few hundred
bytes of layout rather than ~10 KB of unused trace defaults.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from plotly.colors import qualitative

RUN_COLORS: tuple[str, ...] = tuple(qualitative.T10)

_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
_GRID = "#e6e8eb"

TEMPLATE = go.layout.Template(
    layout={
        "font": {"family": _FONT, "size": 12, "color": "#1f2328"},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "colorway": list(RUN_COLORS),
        "hoverlabel": {"font": {"family": "ui-monospace, SFMono-Regular, Menlo, monospace"}},
        "xaxis": {
            "gridcolor": _GRID,
            "zerolinecolor": _GRID,
            "linecolor": "#8c959f",
            "automargin": True,
        },
        "yaxis": {
            "gridcolor": _GRID,
            "zerolinecolor": _GRID,
            "linecolor": "#8c959f",
            "automargin": True,
        },
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
    }
)


def run_color(index: int) -> str:
    return RUN_COLORS[index % len(RUN_COLORS)]


_TEMPLATE_DATA = TEMPLATE.to_plotly_json()


def new_figure(*, height_px: int = 320, **layout: Any) -> go.Figure:
    """An empty figure in the project's template (unchecked: see :func:`unvalidated`)."""
    return unvalidated(
        go.Figure(
            layout={"template": _TEMPLATE_DATA, "height": height_px, **layout}, _validate=False
        )
    )


def unvalidated(figure: go.Figure) -> go.Figure:
    """``figure``, taking traces and layout from now on without plotly's per-property checks.

    A sweep's page builds hundreds of traces and annotations; checking each property of each
    cost most of the page's render time. The figure builders' tests and the browser tests
    draw every figure, which is where a wrong property shows.
    """
    figure._validate = False
    figure.layout._validate = False
    return figure


def trace(kind: str, **properties: Any) -> dict[str, Any]:
    """A trace of type ``kind`` as plain data (see :func:`with_traces`)."""
    return {"type": kind, **properties}


def with_traces(figure: go.Figure, traces: list[dict[str, Any]]) -> go.Figure:
    """``figure`` with ``traces`` added unchecked: ``add_trace`` checks every property of
    every trace, which for the hundreds of traces a sweep's page draws took most of its
    render time."""
    return unvalidated(
        go.Figure(data=[*figure.data, *traces], layout=figure.layout, _validate=False)
    )


def subplot_axes(row: int, column: int, columns: int) -> dict[str, str]:
    """The axes a trace in subplot (``row``, ``column``) of ``make_subplots`` refers to."""
    index = (row - 1) * columns + column
    suffix = "" if index == 1 else str(index)
    return {"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}


def dropdown_menu(buttons: list[dict[str, Any]], *, y: float, pad_bottom_px: int) -> dict[str, Any]:
    """A dropdown at the plot's top left, ``pad_bottom_px`` above ``y`` (paper coordinates)."""
    return {
        "type": "dropdown",
        "buttons": buttons,
        "active": 0,
        "showactive": True,
        "x": 0,
        "xanchor": "left",
        "y": y,
        "yanchor": "bottom",
        "pad": {"t": 0, "b": pad_bottom_px},
        "bgcolor": "#f6f8fa",
        "bordercolor": "#d1d9e0",
    }
