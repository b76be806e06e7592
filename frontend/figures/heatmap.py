"""A DAMON-style access heatmap: time across, collapsed address space up, access counts as
colour, and a strip beside it showing which page size maps each address bin."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from frontend.figures.chart import Chart
from frontend.figures.grid import plot_text
from frontend.figures.layout import TEMPLATE, dropdown_menu, run_color
from pagelab import Heatmap
from pagelab.units import size_bytes

# Enough columns for a wide screen; adjacent time bins are summed to get there, which keeps
# the counts exact while capping what the page embeds.
MAX_TIME_BINS = 200
# Cells sit this far inside their tier's colour band, so neither the palest nor the deepest
# takes the colour of the neighbouring tier's band.
_PALEST = 0.02
_MAX_ADDRESS_TICKS = 12


def heatmap_chart(heatmap: Heatmap) -> Chart:
    """Access counts per (time bin, address bin); colour is log-scaled, hover is exact.

    With several memory tiers, hover names the tier that held each cell, and buttons above
    the plot switch the colour to a tier view: the tier's colour, deeper with more accesses.
    """
    shape = (len(heatmap.time_end_accesses), len(heatmap.address_start))
    fine_counts = np.asarray(heatmap.counts, dtype=np.int64).reshape(shape)
    time_end = np.asarray(heatmap.time_end_accesses, np.int64)
    counts, coarse_end = _coarsen_time(fine_counts, time_end)
    labels = [
        f"{start:#x} pid {pid}"
        for start, pid in zip(heatmap.address_start, heatmap.pid, strict=True)
    ]
    starts = _region_starts(heatmap)
    tiers = _cell_tiers(heatmap, fine_counts, time_end)

    figure = make_subplots(
        rows=1, cols=2, shared_yaxes=True, column_widths=[0.96, 0.04], horizontal_spacing=0.01
    )
    by_address = counts.T
    hover = "%{y}<br>up to %{x:,} accesses<br>%{customdata:,} accesses in bin<extra></extra>"
    customdata: object = by_address
    if tiers is not None:
        customdata = _count_and_tier(by_address, tiers.T, heatmap.tier_names)
        hover = (
            "%{y}<br>up to %{x:,} accesses<br>%{customdata[0]:,} accesses in bin"
            "<br>on %{customdata[1]}<extra></extra>"
        )
    figure.add_trace(
        go.Heatmap(
            x=coarse_end,
            y=labels,
            z=np.log10(by_address + 1.0).round(4),
            customdata=customdata,
            colorscale="Viridis",
            colorbar=_log_colorbar(int(counts.max(initial=0))),
            hovertemplate=hover,
            name="accesses",
        ),
        row=1,
        col=1,
    )
    figure.add_trace(_page_size_strip(heatmap, labels), row=1, col=2)
    if tiers is not None:
        figure.add_trace(
            _tier_cells(heatmap.tier_names, counts, tiers, coarse_end, labels, customdata),
            row=1,
            col=1,
        )
        figure.update_layout(updatemenus=[_view_buttons()])

    ticks = _address_ticks(starts, len(labels))
    figure.update_layout(
        template=TEMPLATE,
        height=480,
        shapes=[_boundary(index) for index in starts[1:]],
        annotations=_page_size_legend(heatmap.page_size),
        margin={"r": 20, "t": 40 if tiers is None else 64},
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


def _cell_tiers(heatmap: Heatmap, counts: np.ndarray, time_end: np.ndarray) -> np.ndarray | None:
    """Each drawn cell's tier (time × address), -1 where the cell had no accesses; None
    with one tier. Where time bins are summed, the tier that served most of them wins."""
    if heatmap.tier is None or len(heatmap.tier_names) < 2:
        return None
    tiers = np.asarray(heatmap.tier, dtype=np.int64).reshape(counts.shape)
    by_tier = np.stack(
        [_coarsen_time(np.where(tiers == tier, counts, 0), time_end)[0]
         for tier in range(len(heatmap.tier_names))]
    )  # fmt: skip
    return np.where(by_tier.sum(axis=0) > 0, by_tier.argmax(axis=0), -1)


def _count_and_tier(
    by_address: np.ndarray, tiers: np.ndarray, tier_names: list[str]
) -> list[list[list[object]]]:
    """Per cell (address × time): its access count and its tier's name, as hover shows them."""
    names = [plot_text(name) for name in tier_names]
    return [
        [
            [count, names[tier] if tier >= 0 else "–"]
            for count, tier in zip(counts, row, strict=True)
        ]
        for counts, row in zip(by_address.tolist(), tiers.tolist(), strict=True)
    ]


def _tier_cells(
    tier_names: list[str],
    counts: np.ndarray,
    tiers: np.ndarray,
    time_end: np.ndarray,
    labels: list[str],
    customdata: object,
) -> go.Heatmap:
    """The tier view: tier ``k`` owns the colour band [k, k + 1), pale for few accesses and
    deep for many (log-scaled, as in the access view); empty cells stay blank."""
    depth = np.log10(counts + 1.0) / max(np.log10(counts.max(initial=0) + 1.0), 1e-9)
    z = np.where(tiers >= 0, tiers + _PALEST + (1 - 2 * _PALEST) * depth, np.nan).round(4)
    scale: list[list[object]] = []
    for index in range(len(tier_names)):
        color = run_color(index)
        scale += [
            [index / len(tier_names), _pale(color)],
            [(index + 1) / len(tier_names), color],
        ]
    return go.Heatmap(
        x=time_end,
        y=labels,
        z=z.T,
        customdata=customdata,
        zmin=0,
        zmax=len(tier_names),
        colorscale=scale,
        colorbar={
            "title": {"text": "tier"},
            "tickvals": [index + 0.5 for index in range(len(tier_names))],
            "ticktext": [plot_text(name) for name in tier_names],
            "thickness": 12,
        },
        hovertemplate=(
            "%{y}<br>up to %{x:,} accesses<br>on %{customdata[1]}"
            "<br>%{customdata[0]:,} accesses in bin<extra></extra>"
        ),
        name="tier",
        visible=False,
    )


def _pale(color: str) -> str:
    """``color`` (``#rrggbb``) mixed one part to four of white."""
    red, green, blue = (int(color[index : index + 2], 16) for index in (1, 3, 5))
    return "rgb({}, {}, {})".format(
        *(round(255 - (255 - part) * 0.2) for part in (red, green, blue))
    )


def _view_buttons() -> dict[str, object]:
    """Buttons above the plot: colour by accesses or by tier (the strip stays either way)."""
    buttons = [
        {"label": "accesses", "method": "restyle", "args": [{"visible": [True, True, False]}]},
        {"label": "tier", "method": "restyle", "args": [{"visible": [False, True, True]}]},
    ]
    return {
        **dropdown_menu(buttons, y=1.02, pad_bottom_px=0),
        "type": "buttons",
        "direction": "right",
    }


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
