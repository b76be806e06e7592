"""What splitting huge pages left each run: the leaf mappings in place per page-table level,
and the page-table memory in use beside the tables deposited for splits to come.

A full split of a 1 GiB THP leaves 262,144 PTE mappings where ``pmd_first`` leaves 511 PMD
mappings and the PTEs of the one cut 2 MiB range, beside a few PUD mappings: counts that far
apart are drawn on a log axis, the exact count on hover.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plotly.subplots import make_subplots

from frontend.figures.chart import Chart
from frontend.figures.comparison import bar_axis_names
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

SPLITS = "thp_splits"
LIVE_MAPPINGS = "live_mappings_"
# The levels whose entries the engine reports as leaf mappings, top down, as it names them
# (a 3-level geometry has no PUD).
LEVELS = ("pud", "pmd", "pte")
TABLES = "page_table_bytes"
DEPOSIT = "page_table_deposit_bytes"


def split_chart(runs: Sequence[RunView]) -> Chart | None:
    """Bars per run: leaf mappings by level (log axis), and page-table memory in use and
    deposited; None unless some run split a huge page (until then every run maps the same)."""
    if not any((run.summary_value(SPLITS) or 0) > 0 for run in runs):
        return None
    levels = [
        level
        for level in LEVELS
        if any(run.summary_value(LIVE_MAPPINGS + level) is not None for run in runs)
    ]
    if not levels:
        return None
    names = bar_axis_names(runs)
    tables = [_tables_in_use(run) for run in runs]
    deposits = [run.summary_value(DEPOSIT) for run in runs]
    unit = unit_for(TABLES, [value for value in [*tables, *deposits] if value is not None])
    figure = unvalidated(
        make_subplots(
            rows=1,
            cols=2,
            subplot_titles=["Leaf mappings in place", f"Page-table memory ({unit.name})"],
            horizontal_spacing=0.1,
        )
    )
    traces: list[dict[str, Any]] = []
    for level in levels:
        column = LIVE_MAPPINGS + level
        counts = [run.summary_value(column) for run in runs]
        traces.append(
            _bars(
                1,
                names,
                runs,
                counts,
                counts,
                name=level.upper(),
                # A level keeps its colour whichever levels the runs have.
                color=run_color(LEVELS.index(level)),
                hover=f"{metric_label(column)}: %{{customdata[1]:,}}",
            )
        )
    for offset, (values, name) in enumerate(
        ((tables, "tables in use"), (deposits, "deposited tables"))
    ):
        traces.append(
            _bars(
                2,
                names,
                runs,
                [None if value is None else value / unit.divisor for value in values],
                values,
                name=name,
                color=run_color(len(LEVELS) + offset),
                hover=f"{name}: %{{customdata[1]:,}}{unit.hover_suffix}",
            )
        )
    figure.update_layout(template=TEMPLATE, height=380, barmode="group", margin={"t": 70})
    figure.update_layout(legend={"y": 1.14})
    figure.update_xaxes(type="category", tickangle=0)
    # Zero mappings have no bar on a log axis; hover and the run table still say 0.
    figure.update_yaxes(type="log", title={"text": "mappings"}, row=1, col=1)
    figure.update_yaxes(rangemode="tozero", row=1, col=2)
    figure.update_annotations(font={"size": 12})
    return Chart(
        "splits",
        "What the splits left: mappings per level and page tables",
        with_traces(figure, traces),
    )


def _tables_in_use(run: RunView) -> float | None:
    """Page-table memory less the deposit (``page_table_bytes`` counts deposited tables)."""
    total, deposit = run.summary_value(TABLES), run.summary_value(DEPOSIT)
    return None if total is None else total - (deposit or 0.0)


def _bars(
    column: int,
    names: list[str],
    runs: Sequence[RunView],
    drawn: Sequence[float | None],
    exact: Sequence[float | None],
    *,
    name: str,
    color: str,
    hover: str,
) -> dict[str, Any]:
    """One bar per run that reports the value, in subplot ``column``; exact values on hover."""
    shown = [index for index, value in enumerate(exact) if value is not None]
    return trace(
        "bar",
        **subplot_axes(1, column, 2),
        x=[names[index] for index in shown],
        y=[drawn[index] for index in shown],
        customdata=[[plot_text(runs[index].label), exact[index]] for index in shown],
        name=name,
        marker={"color": color},
        hovertemplate=f"%{{customdata[0]}}<br>{hover}<extra></extra>",
    )
