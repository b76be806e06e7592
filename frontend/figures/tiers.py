"""A run's memory tiers over time: the workload's memory on each tier, what moved between
them each epoch, and the share of memory accesses the fast tier served."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plotly.subplots import make_subplots

from frontend.figures.chart import Chart
from frontend.figures.grid import plot_text
from frontend.figures.layout import (
    TEMPLATE,
    run_color,
    subplot_axes,
    trace,
    unvalidated,
    with_traces,
)
from frontend.figures.metrics import metric_label, unit_for
from frontend.figures.runs import RunView
from frontend.figures.series import X_COLUMN, drawn_indices, drawn_values, line_mode
from pagelab.machine import metric_name

# The per-tier column every tiered result has, one per tier: it tells which tiers there are.
_TIER_MARKER = "memory_accesses_"
_MIGRATION_COLUMNS = ("promoted_bytes", "demoted_bytes")
# Up to the fast tier green, down from it red.
_MIGRATION_COLORS = {"promoted_bytes": "#2da44e", "demoted_bytes": "#cf222e"}
_RATIO_COLUMN = "fast_tier_access_ratio"
# Columns the tier chart draws, so a run's own page need not draw them again per panel.
TIER_CHART_COLUMNS = frozenset({*_MIGRATION_COLUMNS, _RATIO_COLUMN})


@dataclass(frozen=True)
class Tier:
    """A tier as the run reported it: ``name`` as the user wrote it (user text), and the
    form it takes in metric names (``resident_bytes_<metric>``)."""

    name: str
    metric: str


def run_tiers(run: RunView) -> list[Tier]:
    """The run's tiers, fast first, named as its spec named them where the result says so.

    The result's tier list (physical memory, else the heatmap's names) keeps the spec's
    order; series columns alone may come back in any order from a JSON store.
    """
    columns = [
        name.removeprefix(_TIER_MARKER) for name in run.series if name.startswith(_TIER_MARKER)
    ]
    result = run.result
    names: list[str] = []
    if result is not None and result.physical_memory:
        names = [tier.name for tier in result.physical_memory]
    elif result is not None and result.heatmap is not None:
        names = list(result.heatmap.tier_names)
    ordered = [Tier(name, metric_name(name)) for name in names if metric_name(name) in columns]
    known = {tier.metric for tier in ordered}
    return ordered + [Tier(column, column) for column in columns if column not in known]


def tier_chart(run: RunView) -> Chart | None:
    """Memory per tier (stacked), promoted and demoted bytes per epoch, and the fast-tier
    access ratio, over simulated accesses; None for a run with fewer than two tiers."""
    series = run.series
    tiers = [tier for tier in run_tiers(run) if f"resident_bytes_{tier.metric}" in series]
    if len(tiers) < 2 or X_COLUMN not in series:
        return None
    kept = drawn_indices(len(series[X_COLUMN]))
    figure = unvalidated(
        make_subplots(
            rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.07, row_heights=[0.45, 0.3, 0.25]
        )
    )
    resident, resident_unit = _resident_traces(series, tiers, kept)
    moved, moved_unit = _migration_traces(series, kept)
    traces = [*resident, *moved]
    if _RATIO_COLUMN in series:
        traces.append(
            trace(
                "scatter",
                **subplot_axes(3, 1, 1),
                x=[series[X_COLUMN][position] for position in kept],
                y=[series[_RATIO_COLUMN][position] for position in kept],
                name=f"{metric_label(_RATIO_COLUMN)} ({plot_text(tiers[0].name)})",
                mode=line_mode(len(kept)),
                line={"color": "#59636e"},
                hovertemplate="%{y:.4f}",
            )
        )
    figure.update_layout(
        template=TEMPLATE,
        height=620,
        hovermode="x unified",
        barmode="group",
        margin={"t": 60},
        # In trace order (fast tier first, promoted before demoted), not a stack's reverse.
        legend={
            "orientation": "h",
            "x": 0,
            "y": 1.02,
            "yanchor": "bottom",
            "traceorder": "grouped",
        },
    )
    figure.update_yaxes(title={"text": f"Resident ({resident_unit})"}, rangemode="tozero", row=1)
    figure.update_yaxes(
        title={"text": f"Moved per epoch ({moved_unit})"}, rangemode="tozero", row=2
    )
    figure.update_yaxes(title={"text": "Fast-tier share"}, range=[0, 1.02], row=3)
    figure.update_xaxes(title={"text": "Accesses simulated"}, row=3)
    title = "Memory tiers: residence, migration and fast-tier share"
    return Chart("tiers", title, with_traces(figure, traces))


def _resident_traces(
    series: Mapping[str, list[Any]], tiers: list[Tier], kept: list[int]
) -> tuple[list[dict[str, Any]], str]:
    """An area per tier, stacked fast tier first, and the unit their total reads well in."""
    columns = [f"resident_bytes_{tier.metric}" for tier in tiers]
    unit = unit_for(
        "resident_bytes", [sum(series[name][index] for name in columns) for index in kept]
    )
    traces = []
    for index, (tier, name) in enumerate(zip(tiers, columns, strict=True)):
        traces.append(
            trace(
                "scatter",
                **drawn_values(series, name, kept, unit.divisor),
                name=plot_text(tier.name),
                legendgroup="tiers",
                stackgroup="resident",
                mode="lines" if len(kept) > 1 else "markers",
                line={"color": run_color(index), "width": 1},
                hovertemplate=f"resident %{{customdata:,}}{unit.hover_suffix}",
            )
        )
    return traces, unit.name


def _migration_traces(
    series: Mapping[str, list[Any]], kept: list[int]
) -> tuple[list[dict[str, Any]], str]:
    """Bars of promoted and demoted bytes per epoch, and their unit."""
    columns = [name for name in _MIGRATION_COLUMNS if name in series]
    unit = unit_for("promoted_bytes", [series[name][index] for name in columns for index in kept])
    traces = []
    for name in columns:
        traces.append(
            trace(
                "bar",
                **subplot_axes(2, 1, 1),
                **drawn_values(series, name, kept, unit.divisor),
                name=metric_label(name),
                legendgroup="moved",
                marker={"color": _MIGRATION_COLORS[name]},
                hovertemplate=f"%{{customdata:,}}{unit.hover_suffix}",
            )
        )
    return traces, unit.name
