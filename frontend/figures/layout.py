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


def new_figure(*, height_px: int = 320, **layout: Any) -> go.Figure:
    """An empty figure in the project's template."""
    figure = go.Figure()
    figure.update_layout(template=TEMPLATE, height=height_px, **layout)
    return figure


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
