"""Hand-made results in the engine's Result shape, small enough to check figures by eye."""

from __future__ import annotations

from typing import Any

from pagelab import Heatmap, Result, ResultMeta

KIB = 1 << 10
MIB = 1 << 20


def make_result(
    *,
    summary: dict[str, int | float],
    series: dict[str, list[Any]] | None = None,
    heatmap: Heatmap | None = None,
) -> Result:
    epochs = len(next(iter(series.values()))) if series else 0
    return Result(
        meta=ResultMeta(
            engine_version="test",
            spec_hash="0" * 64,
            seed=1,
            accesses=epochs * 1000,
            epochs=epochs,
            sim_seconds=0.5,
        ),
        summary=summary,
        series=series or {},
        heatmap=heatmap,
    )


def epoch_series(epochs: int, **columns: list[Any]) -> dict[str, list[Any]]:
    """A series with the index columns every result has, plus ``columns``."""
    return {
        "epoch": list(range(epochs)),
        "accesses_end": [(epoch + 1) * 1000 for epoch in range(epochs)],
        **columns,
    }


def two_region_heatmap() -> Heatmap:
    """3 time bins × 4 address bins: two bins in each of two far-apart regions of pid 1 and 2."""
    return Heatmap(
        time_end_accesses=[1000, 2000, 3000],
        address_start=[0x1000_0000, 0x1001_0000, 0x7F00_0000_0000, 0x7F00_0020_0000],
        address_bytes=[64 * KIB, 64 * KIB, 2 * MIB, 2 * MIB],
        pid=[1, 1, 2, 2],
        counts=[[5, 0, 100, 0], [0, 7, 0, 900], [1, 1, 10_000, 3]],
        page_size=["4K", "64K", "2M", "2M"],
    )
