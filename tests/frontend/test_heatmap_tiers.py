"""The access heatmap's tier view: which tier held each cell, on hover and as a colour view
behind buttons; a run with one tier keeps the plain heatmap."""

from __future__ import annotations

import numpy as np

from frontend.figures import heatmap_chart
from frontend.figures.heatmap import MAX_TIME_BINS
from pagelab import Heatmap

from .samples import single_tier_result, tiered_result


def test_one_tier_keeps_the_plain_heatmap() -> None:
    heatmap = single_tier_result().heatmap
    assert heatmap is not None and heatmap.tier is None
    figure = heatmap_chart(heatmap).figure
    assert [trace.name for trace in figure.data] == ["accesses", "page size"]
    assert not figure.layout.updatemenus
    assert "tier" not in figure.data[0].hovertemplate


def test_each_cell_names_the_tier_that_held_it_on_hover_and_in_the_tier_view() -> None:
    heatmap = tiered_result("oracle").heatmap
    assert heatmap is not None and heatmap.tier is not None
    assert heatmap.tier_names == ["DRAM", "CXL"]
    figure = heatmap_chart(heatmap).figure
    cells, strip, tiers = figure.data
    assert (cells.visible, strip.name, tiers.name, tiers.visible) == (
        None,
        "page size",
        "tier",
        False,
    )

    counts = np.asarray(heatmap.counts).T
    held = np.asarray(heatmap.tier).T
    hover = [[tuple(cell) for cell in row] for row in cells.customdata]
    expected = [
        [
            (int(count), heatmap.tier_names[tier] if count else "–")
            for count, tier in zip(count_row, tier_row, strict=True)
        ]
        for count_row, tier_row in zip(counts, held, strict=True)
    ]
    assert hover == expected
    assert "on %{customdata[1]}" in cells.hovertemplate
    # Both tiers held some cells of this run: the oracle moves the hot set.
    assert {name for row in hover for _, name in row} >= {"DRAM", "CXL"}

    # Tier k colours its cells within [k, k + 1); cells without accesses stay blank.
    z = np.asarray(tiers.z, dtype=float)
    assert np.isnan(z[counts == 0]).all()
    assert (np.floor(z[counts > 0]) == held[counts > 0]).all()
    assert list(tiers.colorbar.ticktext) == ["DRAM", "CXL"]


def test_buttons_switch_between_the_access_and_the_tier_colours() -> None:
    figure = heatmap_chart(tiered_result("oracle").heatmap).figure  # type: ignore[arg-type]
    (menu,) = figure.layout.updatemenus
    assert menu.type == "buttons"
    assert [(button.label, button.args[0]["visible"]) for button in menu.buttons] == [
        ("accesses", [True, True, False]),
        ("tier", [False, True, True]),
    ]


def test_tier_names_are_text_for_plotly() -> None:
    heatmap = tiered_result("oracle", fast_tier_name="<b>x</b>").heatmap
    assert heatmap is not None
    cells, _, tiers = heatmap_chart(heatmap).figure.data
    assert list(tiers.colorbar.ticktext) == ["&lt;b&gt;x&lt;/b&gt;", "CXL"]
    names = {cell[1] for row in cells.customdata for cell in row}
    assert "&lt;b&gt;x&lt;/b&gt;" in names and "<b>x</b>" not in names


def test_coarsened_time_bins_take_the_tier_that_served_most_of_their_accesses() -> None:
    # One address bin over 2 × MAX_TIME_BINS + 2 fine bins, so three fine bins per drawn one.
    # In each triple the fast tier (0) serves 5 + 1 accesses and the slow tier (1) 7: slow.
    fine = 2 * MAX_TIME_BINS + 2
    counts = [[(5, 1, 7)[time_bin % 3]] for time_bin in range(fine)]
    tiers = [[(0, 0, 1)[time_bin % 3]] for time_bin in range(fine)]
    heatmap = Heatmap(
        time_end_accesses=[10 * (time_bin + 1) for time_bin in range(fine)],
        address_start=[0],
        address_bytes=[4096],
        pid=[1],
        counts=counts,
        page_size=["4K"],
        tier=tiers,
        tier_names=["fast", "slow"],
    )
    cells = heatmap_chart(heatmap).figure.data[0]
    (row,) = cells.customdata
    assert len(row) == fine // 3
    assert all(list(cell) == [13, "slow"] for cell in row)
