"""Plotly figures built from stored results; pages embed them as JSON for static/app.js."""

from frontend.figures.access_aware import access_aware_chart
from frontend.figures.chart import Chart
from frontend.figures.comparison import (
    bloat_speedup_chart,
    headline_metrics,
    summary_bars_chart,
    sweep_chart,
)
from frontend.figures.heatmap import heatmap_chart
from frontend.figures.oracle_gap import oracle_gap_chart
from frontend.figures.runs import RunView
from frontend.figures.series import SeriesPanel, page_size_chart, series_chart, series_panels
from frontend.figures.tiers import tier_chart

__all__ = [
    "Chart",
    "RunView",
    "SeriesPanel",
    "access_aware_chart",
    "bloat_speedup_chart",
    "headline_metrics",
    "heatmap_chart",
    "oracle_gap_chart",
    "page_size_chart",
    "series_chart",
    "series_panels",
    "summary_bars_chart",
    "sweep_chart",
    "tier_chart",
]
