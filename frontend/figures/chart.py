"""A figure with the key and title the page shows above it."""

from __future__ import annotations

from dataclasses import dataclass

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
