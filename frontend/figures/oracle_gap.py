"""How far each tiering policy is from the oracle: for every run of a sweep over
``policy.tiering.name`` that includes ``oracle``, its fast-tier access ratio and AMAT
against the oracle run that shares its other sweep values.

Both are shown as distances, so 0 is the oracle and more is worse: the fast-tier share
below the oracle's (oracle − policy, in percentage points) and the AMAT above it
(policy − oracle, in ns).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from plotly.subplots import make_subplots

from frontend.figures.chart import Chart
from frontend.figures.grid import Axis, plot_text, point_description, value_key
from frontend.figures.layout import (
    TEMPLATE,
    run_color,
    subplot_axes,
    trace,
    unvalidated,
    with_traces,
)
from frontend.figures.runs import RunView

TIERING_PATH = "policy.tiering.name"
ORACLE = "oracle"
RATIO = "fast_tier_access_ratio"
AMAT = "amat_ns"
# Up to this many bars a chart writes each gap on its bar.
_LABELLED_UP_TO_BARS = 24


@dataclass(frozen=True)
class OracleGap:
    """One run against its oracle: ``ratio_points`` = (oracle − run) × 100 and ``amat_ns`` =
    run − oracle; None where either run does not report the metric."""

    run: RunView
    oracle: RunView
    ratio_points: float | None
    amat_ns: float | None


def oracle_gaps(runs: Sequence[RunView], axes: Sequence[Axis]) -> list[OracleGap]:
    """Each non-oracle run with the oracle run at the same values of the other axes; empty
    unless the runs sweep the tiering policy and one of its values is the oracle."""
    tiering = next(
        (axis for axis in axes if axis.path == TIERING_PATH and ORACLE in axis.values), None
    )
    if tiering is None:
        return []
    others = [axis for axis in axes if axis is not tiering]

    def elsewhere(run: RunView) -> tuple[str, ...]:
        return tuple(value_key(run.point.get(axis.path)) for axis in others)

    oracles: dict[tuple[str, ...], RunView] = {}
    for run in runs:
        if run.point.get(TIERING_PATH) == ORACLE:
            oracles.setdefault(elsewhere(run), run)
    gaps = []
    for run in runs:
        oracle = oracles.get(elsewhere(run))
        on_axis = tiering.index_of(run) is not None
        if oracle is None or not on_axis or run.point.get(TIERING_PATH) == ORACLE:
            continue
        ratio = _difference(oracle, run, RATIO)
        amat = _difference(run, oracle, AMAT)
        if ratio is None and amat is None:
            continue
        gaps.append(OracleGap(run, oracle, None if ratio is None else 100 * ratio, amat))
    return gaps


def oracle_gap_chart(runs: Sequence[RunView], axes: Sequence[Axis]) -> Chart | None:
    """Bars of each policy's distance to the oracle, a group per policy and a colour per
    combination of the other axes; None when the sweep has no oracle to measure against."""
    gaps = oracle_gaps(runs, axes)
    if not gaps:
        return None
    tiering = next(axis for axis in axes if axis.path == TIERING_PATH)
    others = [axis for axis in axes if axis is not tiering]
    groups: dict[str, list[OracleGap]] = {}
    for gap in gaps:
        groups.setdefault(_other_values(gap.run, others), []).append(gap)
    figure = unvalidated(
        make_subplots(
            rows=1,
            cols=2,
            subplot_titles=[
                "Fast-tier share below the oracle (points)",
                "AMAT above the oracle (ns)",
            ],
            horizontal_spacing=0.1,
        )
    )
    labelled = len(gaps) <= _LABELLED_UP_TO_BARS
    traces: list[dict[str, Any]] = []
    for index, (name, members) in enumerate(groups.items()):
        for column, (metric, unit) in enumerate(((RATIO, "points"), (AMAT, "ns")), start=1):
            shown = [(gap, value) for gap in members if (value := _gap(gap, metric)) is not None]
            traces.append(
                trace(
                    "bar",
                    **subplot_axes(1, column, 2),
                    x=[plot_text(_policy(gap.run, tiering)) for gap, _ in shown],
                    y=[value for _, value in shown],
                    text=[f"{value:.3g}" for _, value in shown] if labelled else None,
                    textposition="outside",
                    cliponaxis=False,
                    customdata=[_hover_data(gap, metric, axes) for gap, _ in shown],
                    name=plot_text(name) or "runs",
                    legendgroup=name,
                    showlegend=column == 1 and bool(others),
                    marker={"color": run_color(index)},
                    hovertemplate=(
                        "%{customdata[0]}<br>policy %{customdata[1]}, oracle %{customdata[2]}"
                        f"<br>gap %{{y:.4g}} {unit}<extra></extra>"
                    ),
                )
            )
    figure.update_layout(
        template=TEMPLATE,
        height=380,
        barmode="group",
        showlegend=bool(others),
        # The legend of the other axes' values sits above the subplot titles.
        margin={"t": 70 if others else 40},
        legend={"y": 1.14},
    )
    order = [plot_text(text) for text in tiering.texts if text != ORACLE]
    figure.update_xaxes(type="category", categoryorder="array", categoryarray=order)
    figure.update_xaxes(title={"text": "tiering policy"})
    figure.update_yaxes(zeroline=True, zerolinecolor="#8c959f")
    figure.update_annotations(font={"size": 12})
    return Chart(
        "oracle-gap", "Distance to the oracle (0 is the oracle)", with_traces(figure, traces)
    )


def _difference(minuend: RunView, subtrahend: RunView, metric: str) -> float | None:
    left, right = minuend.summary_value(metric), subtrahend.summary_value(metric)
    return None if left is None or right is None else left - right


def _gap(gap: OracleGap, metric: str) -> float | None:
    return gap.ratio_points if metric == RATIO else gap.amat_ns


def _other_values(run: RunView, others: Sequence[Axis]) -> str:
    return " · ".join(
        axis.describe(index) for axis in others if (index := axis.index_of(run)) is not None
    )


def _policy(run: RunView, tiering: Axis) -> str:
    index = tiering.index_of(run)
    return "" if index is None else tiering.texts[index]


def _hover_data(gap: OracleGap, metric: str, axes: Sequence[Axis]) -> list[str]:
    """The run, its value and the oracle's, as hover writes them (ratios to four places)."""
    written = "{:.4f}" if metric == RATIO else "{:,.1f} ns"
    return [
        point_description(gap.run, axes),
        written.format(gap.run.summary_value(metric)),
        written.format(gap.oracle.summary_value(metric)),
    ]
