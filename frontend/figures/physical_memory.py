"""A tier's physical memory at the start and end of a run: its address range in cells of
pageblocks, each coloured by the most telling thing it holds (a single polluted pageblock
colours its cell, as it decides whether a huge page fits there)."""

from __future__ import annotations

import plotly.graph_objects as go

from frontend.figures.chart import Chart
from frontend.figures.layout import TEMPLATE
from pagelab.memory.report import TierMemory
from pagelab.units import format_bytes

CLASS_COLORS = {
    "free": "#e6e6e6",
    "huge_1g": "#08519c",
    "huge_2m": "#6baed6",
    "movable": "#a1d99b",
    "mixed": "#fd8d3c",
    "unmovable": "#cb181d",
}
CLASS_LABELS = {
    "free": "free",
    "huge_1g": "1 GiB page",
    "huge_2m": "2 MiB page",
    "movable": "movable",
    "mixed": "movable, polluted",
    "unmovable": "unmovable",
}


def _discrete_scale(classes: list[str]) -> list[list[float | str]]:
    """A colour scale with one flat band per class, for z = class number."""
    scale: list[list[float | str]] = []
    for index, name in enumerate(classes):
        color = CLASS_COLORS.get(name, "#999999")
        scale.append([index / len(classes), color])
        scale.append([(index + 1) / len(classes), color])
    return scale


def memory_map_chart(tier: TierMemory, index: int = 0) -> Chart:
    """The tier's pageblock map before and after the run, one row each."""
    cells = len(tier.map_start)
    cell_bytes = tier.map_cell_bytes
    starts = [cell * cell_bytes for cell in range(cells)]
    names = [CLASS_LABELS.get(name, name) for name in tier.map_classes]
    hover = [
        [f"{format_bytes(start)}–{format_bytes(start + cell_bytes)}: {names[value]}"
         for start, value in zip(starts, row, strict=True)]
        for row in (tier.map_start, tier.map_end)
    ]  # fmt: skip
    classes = len(tier.map_classes)
    figure = go.Figure(
        go.Heatmap(
            x=[start / (1 << 30) for start in starts],
            y=["start", "end"],
            z=[tier.map_start, tier.map_end],
            text=hover,
            hovertemplate="%{text}<extra></extra>",
            zmin=-0.5,
            zmax=classes - 0.5,
            colorscale=_discrete_scale(list(tier.map_classes)),
            colorbar={
                "tickvals": list(range(classes)),
                "ticktext": names,
                "lenmode": "pixels",
                "len": 160,
            },
            xgap=0,
            ygap=4,
        )
    )
    figure.update_layout(template=TEMPLATE, height=230, margin={"t": 20, "b": 50})
    figure.update_xaxes(
        title={"text": f"Physical address, GiB (a cell is {format_bytes(cell_bytes)})"}
    )
    title = f"Physical memory of {tier.name} ({format_bytes(tier.capacity_bytes)}): pageblocks"
    return Chart(f"memory-map-{index}", title, figure)
