"""A figure with the key and title the page shows above it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go


@dataclass(frozen=True)
class Chart:
    """``key`` is stable across runs (``series-tlb``), for element ids and download names;
    ``title`` is shown as the chart's heading, outside the plot, so legends never collide with it.
    """

    key: str
    title: str
    figure: go.Figure

    @property
    def trace_count(self) -> int:
        return len(self.figure.data)

    @property
    def plot_data(self) -> dict[str, Any]:
        """The figure as plotly.js takes it, for the page to embed.

        The figure's own data and layout, not ``to_dict()``: that deep-copies every trace,
        which on a large sweep's page cost as much as building the figures.
        """
        return {"data": self.figure._data, "layout": self.figure._layout}
