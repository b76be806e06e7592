"""Results for the figure tests: hand-made ones in the engine's Result shape, small enough
to check figures by eye, and small runs of the engine itself."""

from __future__ import annotations

import functools
from typing import Any

import pagelab
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


def tiering_spec(
    tiering: str | None = None, *, fast_tier_bytes: str = "16M", fast_tier_name: str = "DRAM"
) -> dict[str, Any]:
    """A small two-tier spec: a 4 MiB hot set that moves every 100,000 accesses over a
    32 MiB footprint, a fast tier too small for all of it, 12 epochs; ``tiering`` None
    leaves the policy to a sweep."""
    spec: dict[str, Any] = {
        "workload": {
            "generator": {
                "name": "phase",
                "size_bytes": "32M",
                "hot_set_bytes": "4M",
                "phase_accesses": 100_000,
                "hot_fraction": 0.9,
                "accesses": 300_000,
            }
        },
        "machine": {
            "tiers": [
                {"name": fast_tier_name, "preset": "ddr4_local", "capacity_bytes": fast_tier_bytes},
                {"name": "CXL", "preset": "cxl_expander", "capacity_bytes": "1G"},
            ],
            "llc": "none",
        },
        "controls": {"seed": 1, "epoch_accesses": 25_000},
    }
    if tiering is not None:
        spec["policy"] = {"tiering": {"name": tiering}}
    return spec


@functools.cache
def tiered_result(
    tiering: str = "oracle", *, fast_tier_bytes: str = "16M", fast_tier_name: str = "DRAM"
) -> Result:
    """:func:`tiering_spec` run by the engine; cached, as several tests look at one run."""
    spec = tiering_spec(tiering, fast_tier_bytes=fast_tier_bytes, fast_tier_name=fast_tier_name)
    return pagelab.simulate(pagelab.load_spec(spec))


@functools.cache
def single_tier_result() -> Result:
    """The same workload on one tier (the first, made large enough for all of it)."""
    spec = tiering_spec(fast_tier_bytes="1G")
    del spec["machine"]["tiers"][1:]
    return pagelab.simulate(pagelab.load_spec(spec))
