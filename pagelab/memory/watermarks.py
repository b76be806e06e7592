"""Per-node watermarks as ``__setup_per_zone_wmarks`` computes them (reference §1.5).

One zone per node. ``min_free_kbytes`` is global and shared among nodes in proportion to
their size; the THP floor (``set_recommended_min_free_kbytes``) counts populated zones, which
on x86 is DMA and DMA32 on the first node plus one NORMAL zone per node, although the small
zones' memory is not modelled separately.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pagelab.memory.layout import MIGRATETYPES

WATERMARK_SCALE_FACTOR = 10  # vm.watermark_scale_factor default: 0.1% of the zone
MIN_FREE_KBYTES_FLOOR = 128
MIN_FREE_KBYTES_CAP = 262_144


@dataclass(frozen=True)
class Watermarks:
    """One node's watermarks, in frames."""

    min_frames: int
    low_frames: int
    high_frames: int
    promo_frames: int


def min_free_kbytes(
    node_frames: Sequence[int],
    granule_shift: int,
    pageblock_order: int,
    *,
    thp_enabled: bool = True,
    populated_zones: int | None = None,
) -> int:
    """``calculate_min_free_kbytes``, raised by the THP floor when THP is enabled.

    ``populated_zones`` defaults to two small zones plus one NORMAL zone per node.
    """
    lowmem_frames = sum(node_frames)
    lowmem_kbytes = lowmem_frames << (granule_shift - 10)
    kbytes = min(max(math.isqrt(lowmem_kbytes * 16), MIN_FREE_KBYTES_FLOOR), MIN_FREE_KBYTES_CAP)
    if thp_enabled:
        zones = 2 + len(node_frames) if populated_zones is None else populated_zones
        # Two free pageblocks per zone, and per zone 3 × 3 nearly free pageblocks so that each
        # migratetype has a block to fall back to and another to avoid further fallbacks.
        recommended = (1 << pageblock_order) * zones * (2 + MIGRATETYPES * MIGRATETYPES)
        recommended = min(recommended, lowmem_frames // 20)
        kbytes = max(kbytes, recommended << (granule_shift - 10))
    return kbytes


def node_watermarks(
    node_frames: Sequence[int],
    granule_shift: int,
    pageblock_order: int,
    *,
    thp_enabled: bool = True,
    populated_zones: int | None = None,
) -> list[Watermarks]:
    """min/low/high/promo per node: ``min`` is the node's share of ``min_free_kbytes``, and
    each step above it is ``max(min/4, managed × watermark_scale_factor / 10000)``."""
    kbytes = min_free_kbytes(
        node_frames,
        granule_shift,
        pageblock_order,
        thp_enabled=thp_enabled,
        populated_zones=populated_zones,
    )
    pages_min = kbytes >> (granule_shift - 10)
    lowmem = sum(node_frames)
    marks = []
    for managed in node_frames:
        low_min = pages_min * managed // lowmem
        gap = max(low_min >> 2, managed * WATERMARK_SCALE_FACTOR // 10_000)
        marks.append(Watermarks(low_min, low_min + gap, low_min + 2 * gap, low_min + 3 * gap))
    return marks
