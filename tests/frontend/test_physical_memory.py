"""The physical-memory map: one row before and one after the run, a cell per stretch of
pageblocks, its class as the colour."""

from __future__ import annotations

import pagelab
from frontend.figures.physical_memory import CLASS_COLORS, memory_map_chart


def test_the_map_shows_the_tier_at_start_and_end_with_one_colour_per_class() -> None:
    spec = pagelab.load_spec(
        {
            "workload": {"generator": {"name": "uniform", "size_bytes": "64M",
                                       "accesses": 5000, "align_bytes": "2M"}},
            "machine": {"tiers": [{"name": "DRAM <b>", "capacity_bytes": "256M",
                                   "idle_latency_ns": 90, "bandwidth_gbps": 100}]},
            "policy": {"thp": "always"},
        }
    )  # fmt: skip
    (tier,) = pagelab.simulate(spec).physical_memory or []
    chart = memory_map_chart(tier)
    (heatmap,) = chart.figure.data
    # 256 MiB is 128 pageblocks of 2 MiB, one cell each.
    assert tier.map_cell_bytes == 2 << 20
    assert [list(row) for row in heatmap.z] == [tier.map_start, tier.map_end]
    classes = tier.map_classes
    # Fresh: the kernel's unmovable blocks at the low end, the rest free. After: the 32
    # THPs of the 64 MiB region are 2 MiB pages.
    assert set(tier.map_start) == {classes.index("unmovable"), classes.index("free")}
    assert tier.map_end.count(classes.index("huge_2m")) == 32
    colors = {color for _, color in heatmap.colorscale}
    assert colors == {CLASS_COLORS[name] for name in classes}
    assert "DRAM <b>" in chart.title  # escaped by the page template, not here
