"""Per-epoch figures: metric panels over time (one run, or several overlaid) and the
page-size composition of resident memory."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from frontend.figures.chart import Chart
from frontend.figures.grid import plot_text
from frontend.figures.layout import dropdown_menu, new_figure, run_color, trace, with_traces
from frontend.figures.metrics import (
    metric_label,
    page_size_of_resident_column,
    tier_count,
    tier_of_metric,
    unit_for,
    unit_kind,
)
from frontend.figures.runs import RunView
from pagelab.units import size_bytes

X_COLUMN = "accesses_end"
_INDEX_COLUMNS = frozenset({"epoch", X_COLUMN})
_MARKERS_UP_TO_EPOCHS = 60
# Points drawn per line at most; longer series are thinned for drawing (downloads keep all).
MAX_DRAWN_POINTS = 400


def drawn_indices(length: int, limit: int = MAX_DRAWN_POINTS) -> list[int]:
    """Evenly spaced indices into a series of ``length``, always keeping the last one."""
    if length <= limit:
        return list(range(length))
    step = (length - 1) / (limit - 1)
    return sorted({round(position * step) for position in range(limit)})


def drawn_values(
    series: Mapping[str, list[Any]], column: str, kept: Sequence[int], divisor: float
) -> dict[str, list[Any]]:
    """A column at the drawn epochs as trace data: x, y in the plotted unit, and the exact
    stored values as ``customdata`` for hover."""
    raw = [series[column][index] for index in kept]
    return {
        "x": [series[X_COLUMN][index] for index in kept],
        "y": [value / divisor for value in raw],
        "customdata": raw,
    }


def line_mode(points: int) -> str:
    """One epoch is a value, not a series: a point, never a line to nowhere; a few epochs
    get a marker each."""
    if points == 1:
        return "markers"
    return "lines+markers" if points <= _MARKERS_UP_TO_EPOCHS else "lines"


@dataclass(frozen=True)
class SeriesPanel:
    """One plot of related series columns that share a unit."""

    key: str
    title: str
    columns: tuple[str, ...]


# Known groupings, each a list of patterns: a panel's columns come in pattern order, so the
# headline column (the menu's first choice) leads. Every panel's patterns match columns of one
# unit kind only. Columns no pattern claims are still plotted, grouped by unit kind, so new
# engine metrics show up.
_KNOWN_PANELS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("tlb", "TLB misses", (r"tlb_\w+_misses",)),
    ("walks", "Page walks", ("walks", "walk_references")),
    ("walk-cycles", "Page-walk cycles", ("walk_cycles",)),
    ("faults", "Page faults", ("faults", "faults_minor")),
    ("memory", "Resident memory and bloat", ("resident_bytes", "bloat_bytes", "touched_bytes")),
    ("page-tables", "Page-table memory", ("page_table_bytes", r"page_table_\w*bytes(_\w+)?")),
    # PTEs lead: where split strategies differ most (262,144 after a full 1 GiB split).
    ("mappings", "Live mappings per level", (r"live_mappings_pte", r"live_mappings_\w+")),
    # Every flush counts, whatever changed the mappings: a workload event, a migration batch
    # or a scan; so shootdowns sit with the splits and events, on single-tier runs too.
    (
        "splits",
        "THP splits, workload events and TLB shootdowns",
        ("thp_splits", r"thp_splits_\w+", r"events_\w+", "tlb_shootdowns"),
    ),
    (
        "time",
        "Estimated time",
        ("est_runtime_ns", r"(memory|fault|translation|compute|thp_collapse)_ns"),
    ),
    ("amat", "Average memory access time", ("amat_ns",)),
    ("memory-traffic", "Memory traffic", ("memory_accesses", "llc_misses")),
    ("tier-ratio", "Tier placement", (r"\w*tier\w*_ratio",)),
    ("tier-accesses", "Memory accesses per tier", (r"memory_accesses_\w+",)),
    ("tier-latency", "Memory latency per tier", (r"memory_latency_ns_\w+",)),
    ("tier-bandwidth", "Bandwidth utilisation per tier", (r"bandwidth_utilisation_\w+",)),
    ("tier-used", "Node memory used per tier", (r"used_bytes_\w+",)),
    ("tier-migration", "Tier migration", (r"(promoted|demoted|migrated)_bytes",)),
    (
        "migration-events",
        "Migration events",
        (
            "migrated_folios",
            "hint_faults",
            "migration_no_room",
            "thp_1g_migrations_refused",
            "shared_migrations_refused",
        ),
    ),
    ("migration-time", "Migration time", ("migration_ns",)),
    ("simulated-time", "Simulated time", ("time_ns",)),
    ("huge-pages", "Resident memory in huge pages", ("huge_page_ratio",)),
    (
        "thp-changes",
        "THP collapses and splits",
        ("thp_collapses", "thp_collapse_failures", "thp_splits"),
    ),
    ("accesses", "Accesses", ("accesses", "stores", "ifetches")),
)
# Panels that say nothing with a single memory tier (everything is on it, nothing moves):
# drawn only when some run has several.
_SEVERAL_TIERS_ONLY = frozenset(
    (
        "tier-ratio",
        "tier-accesses",
        "tier-used",
        "tier-migration",
        "migration-events",
        "migration-time",
    )
)
# Columns a tiering policy reports about itself, grouped per policy and unit kind.
_POLICY_PREFIXES = {
    "damon_": "DAMON",
    "tpp_": "TPP",
    "interleave_": "Interleave",
    "access_aware_": "Access-aware THP",
}
# Counters are per epoch; bytes are the state at the epoch's end.
_PER_EPOCH_KINDS = frozenset({"count", "cycles", "time"})
# Times and values that are a state at the epoch's end, not a sum over it.
_STATE_COLUMNS = re.compile(
    r"amat_ns|time_ns|huge_page_ratio|memory_latency_ns_\w+"
    r"|(damon|tpp|interleave|access_aware)_\w+|live_mappings_\w+"
)


def series_panels(runs: Sequence[RunView], skip: Collection[str] = ()) -> list[SeriesPanel]:
    """The panels worth drawing for these runs: only columns some run actually has, less
    ``skip`` (columns another chart on the page draws).

    Resident memory by page size and by tier is left to the charts that stack it.
    """
    present: list[str] = []
    for run in runs:
        present += [name for name in run.series if name not in present]
    candidates = [
        name
        for name in present
        if name not in _INDEX_COLUMNS
        and name not in skip
        and page_size_of_resident_column(name) is None
        and not (name.startswith("resident_bytes_") and tier_of_metric(name))
    ]
    tiered = any(tier_count(run.series) > 1 for run in runs)
    panels = []
    claimed: set[str] = set()
    for key, title, patterns in _KNOWN_PANELS:
        columns = list(
            dict.fromkeys(
                name
                for pattern in patterns
                for name in candidates
                if name not in claimed and re.fullmatch(pattern, name)
            )
        )
        claimed.update(columns)
        if columns and (tiered or key not in _SEVERAL_TIERS_ONLY):
            panels.append(SeriesPanel(key, title, tuple(columns)))
    by_policy: dict[tuple[str, str], list[str]] = {}
    by_kind: dict[str, list[str]] = {}
    for name in candidates:
        if name in claimed:
            continue
        prefix = next((prefix for prefix in _POLICY_PREFIXES if name.startswith(prefix)), None)
        if prefix is not None:
            by_policy.setdefault((prefix, unit_kind(name)), []).append(name)
        else:
            by_kind.setdefault(unit_kind(name), []).append(name)
    for (prefix, kind), names in by_policy.items():
        key, policy = prefix.rstrip("_"), _POLICY_PREFIXES[prefix]
        title = f"{policy} tuning ({kind})"
        panels.append(SeriesPanel(f"policy-{key}-{kind}", title, tuple(names)))
    for kind, names in by_kind.items():
        panels.append(SeriesPanel(f"other-{kind}", f"Other metrics ({kind})", tuple(names)))
    return panels


def series_chart(panel: SeriesPanel, runs: Sequence[RunView]) -> Chart:
    """The panel's columns over simulated accesses.

    One run: a line per column. Several runs: a line per run (its colour is the run's on
    every chart) for one column at a time, and a menu above the plot picks the column, so
    the legend names runs only.
    """
    values = [value for run in runs for name in panel.columns for value in run.series.get(name, [])]
    unit = unit_for(panel.columns[0], values)
    overlaid = len(runs) > 1
    first = panel.columns[0]
    # One run shows every column at once, so the axis takes the panel's name.
    y_text = panel.title if len(panel.columns) > 1 and not overlaid else metric_label(first)
    figure = new_figure(
        xaxis={"title": {"text": "Accesses simulated"}},
        yaxis={"title": {"text": _y_title(y_text, first, unit.name)}, "rangemode": "tozero"},
        showlegend=overlaid or len(panel.columns) > 1,
    )
    if overlaid:
        # Runs listed at the side: the top is kept for the column menu.
        figure.update_layout(legend={"orientation": "v", "x": 1.02, "y": 1, "yanchor": "top"})
    traces: list[dict[str, Any]] = []
    trace_columns: list[str] = []
    for column_index, name in enumerate(panel.columns):
        for run_index, run in enumerate(runs):
            series = run.series
            if name not in series or X_COLUMN not in series:
                continue
            kept = drawn_indices(len(series[name]))
            raw = [series[name][index] for index in kept]
            epochs = [series.get("epoch", range(len(series[name])))[index] for index in kept]
            traces.append(
                trace(
                    "scatter",
                    x=[series[X_COLUMN][index] for index in kept],
                    y=[value / unit.divisor for value in raw],
                    customdata=[[value, epoch] for value, epoch in zip(raw, epochs, strict=True)],
                    name=plot_text(run.label) if overlaid else metric_label(name),
                    visible=column_index == 0 or not overlaid,
                    mode=line_mode(len(raw)),
                    marker={"size": 9 if len(raw) == 1 else 6},
                    line={"color": run_color(run_index if overlaid else column_index)},
                    hovertemplate=(
                        f"{metric_label(name)}: %{{customdata[0]:{unit.hover_format}}}"
                        f"{unit.hover_suffix}<br>epoch %{{customdata[1]}}, "
                        "%{x:,} accesses"
                    ),
                )
            )
            trace_columns.append(name)
    if overlaid and len(panel.columns) > 1:
        figure.update_layout(
            updatemenus=[_column_menu(panel, trace_columns, unit.name)],
            margin={"t": 50},
        )
    single = [run for run in runs if len(run.series.get(X_COLUMN, [])) == 1]
    note = ""
    if single:
        note = (
            " · one epoch: shown as a point"
            if len(runs) == 1
            else (f" · {len(single)} of {len(runs)} runs have one epoch: shown as points")
        )
    return Chart(f"series-{panel.key}", panel.title + note, with_traces(figure, traces))


def _column_menu(panel: SeriesPanel, trace_columns: list[str], unit_name: str) -> dict[str, Any]:
    """A dropdown that shows one column's lines (one per run) and retitles the y axis."""
    buttons = [
        {
            "label": metric_label(name),
            "method": "update",
            "args": [
                {"visible": [column == name for column in trace_columns]},
                {"yaxis.title.text": _y_title(metric_label(name), name, unit_name)},
            ],
        }
        for name in panel.columns
        if name in trace_columns
    ]
    return dropdown_menu(buttons, y=1.03, pad_bottom_px=0)


def page_size_chart(run: RunView) -> Chart | None:
    """Resident memory stacked by the page size mapping it; None if the run has no such columns."""
    series = run.series
    columns = sorted(
        (name for name in series if page_size_of_resident_column(name)),
        key=lambda name: size_bytes(page_size_of_resident_column(name) or "0"),
    )
    if not columns or X_COLUMN not in series:
        return None
    unit = unit_for("resident_bytes", [value for name in columns for value in series[name]])
    figure = new_figure(
        xaxis={"title": {"text": "Accesses simulated"}},
        yaxis={"title": {"text": f"Resident memory ({unit.name})"}},
        hovermode="x unified",
    )
    kept = drawn_indices(len(series[X_COLUMN]))
    if len(kept) > 1:
        # Areas end at the plot's edge; a margin keeps the first x label off the y axis's.
        first, last = series[X_COLUMN][0], series[X_COLUMN][-1]
        figure.update_xaxes(range=[first - 0.04 * (last - first), last])
    if len(kept) == 1:
        # One epoch: a bar per page size, not a stack of areas one point wide.
        sizes = [f"{page_size_of_resident_column(name)} pages" for name in columns]
        figure.update_layout(hovermode="closest", showlegend=False)
        figure.update_xaxes(title={"text": "Mapped by"}, type="category")
        figure.add_trace(
            trace(
                "bar",
                x=sizes,
                y=[series[name][0] / unit.divisor for name in columns],
                customdata=[series[name][0] for name in columns],
                marker={"color": [run_color(index) for index in range(len(columns))]},
                hovertemplate=f"%{{x}}: %{{customdata:,}}{unit.hover_suffix}<extra></extra>",
            )
        )
        return Chart("page-sizes", "Resident memory by page size · one epoch", figure)
    kept = drawn_indices(len(series[X_COLUMN]))
    for index, name in enumerate(columns):
        figure.add_trace(
            trace(
                "scatter",
                **drawn_values(series, name, kept, unit.divisor),
                name=f"{page_size_of_resident_column(name)} pages",
                stackgroup="page-size",
                mode="lines",
                line={"color": run_color(index), "width": 1},
                hovertemplate=f"%{{customdata:,}}{unit.hover_suffix}",
            )
        )
    return Chart("page-sizes", "Resident memory by page size", figure)


def _y_title(text: str, column: str, unit_name: str) -> str:
    summed = unit_kind(column) in _PER_EPOCH_KINDS and not _STATE_COLUMNS.fullmatch(column)
    per_epoch = " per epoch" if summed else ""
    return f"{text}{per_epoch} ({unit_name})"
