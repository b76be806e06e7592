"""Which charts each page shows, and how runs are named on them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
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


def comparison_charts(
    runs: Sequence[RunView],
    *,
    axes: Mapping[str, Sequence[Any]] | None = None,
    x_axis: str | None = None,
    baseline: RunView | None = None,
) -> list[Chart]:
    """Charts across runs: bars, sweep lines, bloat against speed-up, overlaid series."""
    charts: list[Chart | None] = [summary_bars_chart(runs)]
    if axes and x_axis:
        charts.append(sweep_chart(runs, axes, x_axis))
    if len(runs) > 1:
        charts.append(bloat_speedup_chart(runs, baseline or runs[0]))
    charts += [series_chart(panel, runs) for panel in series_panels(runs)]
    return [chart for chart in charts if chart is not None]


def run_detail_charts(run: RunView) -> list[Chart]:
    """What only one run at a time can show: page-size composition and the heatmap."""
    charts = [page_size_chart(run)]
    if run.result.heatmap is not None:
        charts.append(heatmap_chart(run.result.heatmap))
    return [chart for chart in charts if chart is not None]


def single_run_charts(run: RunView) -> list[Chart]:
    """Charts of one run: its series, then page-size composition and heatmap."""
    series = [series_chart(panel, [run]) for panel in series_panels([run])]
    return [*series, *run_detail_charts(run)]
