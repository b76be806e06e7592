"""The access heatmap: orientation, exact counts on hover, collapsed-gap boundaries, page sizes."""

from __future__ import annotations

import math

import numpy as np

from frontend.figures import heatmap_chart
from frontend.figures.heatmap import MAX_TIME_BINS
from pagelab import Heatmap

from .samples import two_region_heatmap


def _decoded(values: object) -> np.ndarray:
    """Figure arrays as numpy, whether plotly kept them as lists or arrays."""
    return np.asarray(values)


def test_cells_are_address_by_time_with_exact_counts_kept_for_hover() -> None:
    heatmap = two_region_heatmap()
    figure = heatmap_chart(heatmap).figure
    cells, strip = figure.data

    counts = np.asarray(heatmap.counts)
    # Plotly draws z[row][column] as y × x: address bins up, time across.
    assert _decoded(cells.customdata).tolist() == counts.T.tolist()
    assert _decoded(cells.z)[2][2] == round(math.log10(10_000 + 1), 4)
    assert list(cells.x) == [1000, 2000, 3000]
    assert list(cells.y) == [
        "0x10000000 pid 1",
        "0x10010000 pid 1",
        "0x7f0000000000 pid 2",
        "0x7f0000200000 pid 2",
    ]
    assert "%{customdata:,} accesses" in cells.hovertemplate
    assert [row[0] for row in strip.text] == ["4K", "64K", "2M", "2M"]


def test_collapsed_gaps_are_marked_and_labelled_with_real_addresses() -> None:
    figure = heatmap_chart(two_region_heatmap()).figure
    # Bins 0-1 are contiguous, bin 2 starts a new region (another process, far away): one
    # boundary line, just below bin 2.
    assert [shape.y0 for shape in figure.layout.shapes] == [1.5]
    ticks = dict(zip(figure.layout.yaxis.tickvals, figure.layout.yaxis.ticktext, strict=True))
    assert ticks["0x10000000 pid 1"] == "0x10000000"
    assert ticks["0x7f0000000000 pid 2"] == "0x7f0000000000"


def test_long_runs_are_coarsened_in_time_without_losing_accesses() -> None:
    time_bins = 3 * MAX_TIME_BINS + 1
    counts = [[time_bin % 7, 1] for time_bin in range(time_bins)]
    heatmap = Heatmap(
        time_end_accesses=[100 * (time_bin + 1) for time_bin in range(time_bins)],
        address_start=[0, 4096],
        address_bytes=[4096, 4096],
        pid=[1, 1],
        counts=counts,
        page_size=["4K", "4K"],
    )
    cells = heatmap_chart(heatmap).figure.data[0]
    exact = _decoded(cells.customdata)
    assert exact.shape[1] <= MAX_TIME_BINS
    assert exact.sum(axis=1).tolist() == np.asarray(counts).sum(axis=0).tolist()
    # Each coarse bin ends where its last fine bin ended; the last one at the run's end.
    assert list(cells.x)[-1] == 100 * time_bins
