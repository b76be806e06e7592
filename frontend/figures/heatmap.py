"""A DAMON-style access heatmap: time across, collapsed address space up, access counts as
colour, and a strip beside it showing which page size maps each address bin."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from frontend.figures.chart import Chart
from frontend.figures.layout import TEMPLATE, run_color
from pagelab import Heatmap
from pagelab.units import size_bytes

# Enough columns for a wide screen; adjacent time bins are summed to get there, which keeps
# the counts exact while capping what the page embeds.
MAX_TIME_BINS = 200
_MAX_ADDRESS_TICKS = 12


def heatmap_chart(heatmap: Heatmap) -> Chart:
    """Access counts per (time bin, address bin); colour is log-scaled, hover is exact."""
    counts = np.asarray(heatmap.counts, dtype=np.int64).reshape(
        len(heatmap.time_end_accesses), len(heatmap.address_start)
    )
    counts, time_end = _coarsen_time(counts, np.asarray(heatmap.time_end_accesses, np.int64))
    labels = [
        f"{start:#x} pid {pid}"
        for start, pid in zip(heatmap.address_start, heatmap.pid, strict=True)
    ]
    starts = _region_starts(heatmap)

    figure = make_subplots(
        rows=1, cols=2, shared_yaxes=True, column_widths=[0.96, 0.04], horizontal_spacing=0.01
    )
    by_address = counts.T
    figure.add_trace(
        go.Heatmap(
            x=time_end,
            y=labels,
            z=np.log10(by_address + 1.0).round(4),
            customdata=by_address,
            colorscale="Viridis",
            colorbar=_log_colorbar(int(counts.max(initial=0))),
            hovertemplate=(
                "%{y}<br>up to %{x:,} accesses<br>%{customdata:,} accesses in bin<extra></extra>"
            ),
            name="accesses",
        ),
        row=1,
        col=1,
    )
    figure.add_trace(_page_size_strip(heatmap, labels), row=1, col=2)

    ticks = _address_ticks(starts, len(labels))
    figure.update_layout(
        template=TEMPLATE,
        height=480,
        shapes=[_boundary(index) for index in starts[1:]],
        annotations=_page_size_legend(heatmap.page_size),
        margin={"r": 20, "t": 40},
    )
    figure.update_xaxes(title={"text": "Accesses simulated"}, row=1, col=1)
    figure.update_xaxes(showticklabels=False, row=1, col=2)
    figure.update_yaxes(
        type="category",
        title={"text": "Address (touched regions, gaps collapsed)"},
        tickmode="array",
        tickvals=[labels[index] for index in ticks],
        ticktext=[f"{heatmap.address_start[index]:#x}" for index in ticks],
        tickfont={"family": "ui-monospace, monospace", "size": 10},
        row=1,
        col=1,
    )
    figure.update_yaxes(ticks="", showticklabels=False, row=1, col=2)
    return Chart("heatmap", "Accesses over time and address space", figure)


def _coarsen_time(counts: np.ndarray, time_end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bins = counts.shape[0]
    if bins <= MAX_TIME_BINS:
        return counts, time_end
    factor = math.ceil(bins / MAX_TIME_BINS)
    first = np.arange(0, bins, factor)
    last = np.minimum(first + factor, bins) - 1
    return np.add.reduceat(counts, first, axis=0), time_end[last]


def _region_starts(heatmap: Heatmap) -> list[int]:
    """Bins where a new touched region begins: the collapsed gaps sit just below them."""
    starts = [0] if heatmap.address_start else []
    for index in range(1, len(heatmap.address_start)):
        previous_end = heatmap.address_start[index - 1] + heatmap.address_bytes[index - 1]
        new_process = heatmap.pid[index] != heatmap.pid[index - 1]
        if new_process or heatmap.address_start[index] != previous_end:
            starts.append(index)
    return starts


def _address_ticks(region_starts: list[int], bins: int) -> list[int]:
    """Label where regions start; add evenly spaced bins when there are only a few regions."""
    step = max(1, math.ceil(len(region_starts) / _MAX_ADDRESS_TICKS))
    ticks = set(region_starts[::step])
    if len(ticks) < _MAX_ADDRESS_TICKS // 2:
        spacing = max(1, bins // (_MAX_ADDRESS_TICKS // 2))
        ticks |= set(range(0, bins, spacing))
    return sorted(ticks)


def _boundary(index: int) -> dict[str, object]:
    return {
        "type": "line",
        "xref": "x domain",
        "x0": 0,
        "x1": 1,
        "yref": "y",
        "y0": index - 0.5,
        "y1": index - 0.5,
        "line": {"color": "#ffffff", "width": 1},
    }


def _log_colorbar(largest: int) -> dict[str, object]:
    """Ticks at 1, 2, 5 × 10^k on the log10(1 + count) colour scale, up to ``largest``."""
    counts = [0] + [
        step * 10**decade
        for decade in range(math.ceil(math.log10(largest + 1)) + 1)
        for step in (1, 2, 5)
        if step * 10**decade <= max(largest, 1)
    ]
    return {
        "title": {"text": "accesses"},
        "tickvals": [round(math.log10(count + 1), 4) for count in counts],
        "ticktext": [f"{count:,}" for count in counts],
        "thickness": 12,
    }


def _ordered_sizes(page_sizes: list[str]) -> list[str]:
    return sorted(set(page_sizes), key=size_bytes)


def _page_size_strip(heatmap: Heatmap, labels: list[str]) -> go.Heatmap:
    sizes = _ordered_sizes(heatmap.page_size)
    # A stepped colour scale: each size owns an equal band, so a cell's colour is its size's.
    steps: list[list[object]] = []
    for index in range(len(sizes)):
        color = run_color(index)
        steps += [[index / len(sizes), color], [(index + 1) / len(sizes), color]]
    return go.Heatmap(
        x=["page size"],
        y=labels,
        z=[[sizes.index(size)] for size in heatmap.page_size],
        text=[[size] for size in heatmap.page_size],
        zmin=-0.5,
        zmax=len(sizes) - 0.5,
        colorscale=steps,
        showscale=False,
        hovertemplate="%{y}<br>mapped mostly by %{text} pages<extra></extra>",
        name="page size",
    )


def _page_size_legend(page_sizes: list[str]) -> list[dict[str, object]]:
    """Colour key for the page-size strip, written above the plot."""
    keys = [
        f'<span style="color:{run_color(index)}">■</span> {size}'
        for index, size in enumerate(_ordered_sizes(page_sizes))
    ]
    return [
        {
            "text": "page size: " + "  ".join(keys),
            "xref": "paper",
            "yref": "paper",
            "x": 1,
            "y": 1.02,
            "xanchor": "right",
            "yanchor": "bottom",
            "showarrow": False,
        }
    ]
