"""Kernels of the ageing history: fill memory, free a random share, shrink, pin.

The live history is two arrays: the first pfn of each allocation, and its order and class
packed in an int16 (``order << 2 | class``). Random draws come from the caller's seeded
numpy Generator, in chunks, so the same seed gives the same state.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pagelab._kernels.config import borrowing_kernel
from pagelab.memory._buddy import alloc, free, reclass
from pagelab.memory.layout import (
    CLASS_MOVABLE,
    CLASS_PINNED,
    CLASS_RECLAIMABLE,
    CLASS_UNMOVABLE,
    CLASSES,
    N_FRAME_START,
    N_PB_ORDER,
    N_USED,
)

Words = npt.NDArray[np.uint64]
Blocks = npt.NDArray[np.int16]
Nodes = npt.NDArray[np.int64]
Pfns = npt.NDArray[np.int64]
Meta = npt.NDArray[np.int16]
Floats = npt.NDArray[np.float64]


@borrowing_kernel
def used_frames(nodes: Nodes, node: int) -> int:
    total = 0
    for cls in range(CLASSES):
        total += nodes[node, N_USED + cls]
    return int(total)


@borrowing_kernel
def _pick(cdf: Floats, draw: float) -> int:
    for order in range(cdf.shape[0]):
        if draw < cdf[order]:
            return order
    return cdf.shape[0] - 1


@borrowing_kernel
def fill(
    frames: Words,
    blocks: Blocks,
    index: Words,
    nodes: Nodes,
    node: int,
    target_frames: int,
    nonmovable_frames: int,
    reclaimable_share: float,
    huge_probability: float,
    nonmovable_cdf: Floats,
    movable_cdf: Floats,
    draws: Floats,
    pfns: Pfns,
    meta: Meta,
    count: int,
) -> tuple[int, int, bool]:
    """Allocate until ``target_frames`` are in use; (live count, draws used, memory full).

    The class of each allocation keeps unmovable plus reclaimable memory at the share
    ``nonmovable_frames / target_frames`` of what is in use, so the mix is the same at every
    stage of the fill. A pageblock-order (THP) request that fails falls back to order 0, as
    a fault would. Stops early when the draws or the history arrays run out.
    """
    used = used_frames(nodes, node)
    unmov = nodes[node, N_USED + CLASS_UNMOVABLE] + nodes[node, N_USED + CLASS_RECLAIMABLE]
    pb_order = nodes[node, N_PB_ORDER]
    start = nodes[node, N_FRAME_START]
    draw = 0
    while used < target_frames:
        if draw + 2 > draws.shape[0] or count >= pfns.shape[0]:
            return count, draw, False
        if unmov * target_frames < nonmovable_frames * used or used == 0:
            cls = CLASS_RECLAIMABLE if draws[draw] < reclaimable_share else CLASS_UNMOVABLE
            order = _pick(nonmovable_cdf, draws[draw + 1])
        else:
            cls = CLASS_MOVABLE
            if draws[draw] < huge_probability:
                order = pb_order
            else:
                order = _pick(movable_cdf, draws[draw + 1])
        draw += 2
        pfn = alloc(frames, blocks, index, nodes, node, order, cls)
        if pfn < 0 and order > 0:
            order = 0
            pfn = alloc(frames, blocks, index, nodes, node, 0, cls)
        if pfn < 0:
            return count, draw, True
        pfns[count] = pfn - start
        meta[count] = (order << 2) | cls
        count += 1
        used += 1 << order
        if cls != CLASS_MOVABLE:
            unmov += 1 << order
    return count, draw, False


@borrowing_kernel
def churn(
    frames: Words,
    blocks: Blocks,
    index: Words,
    nodes: Nodes,
    node: int,
    target_frames: int,
    nonmovable_from: int,
    nonmovable_to: int,
    first_step: int,
    steps: int,
    reclaimable_share: float,
    huge_probability: float,
    nonmovable_cdf: Floats,
    movable_cdf: Floats,
    draws: Floats,
    victims: Floats,
    pfns: Pfns,
    meta: Meta,
    count: int,
) -> tuple[int, int, int]:
    """Steady churn at the peak: free a random live allocation, refill to ``target_frames``,
    once per victim draw; (live count, draws used, victims used).

    Memory stays full while it churns, as under reclaim: what is free at any time is the
    scattered holes the last frees left. Kernel memory grows meanwhile, its target rising
    linearly from ``nonmovable_from`` to ``nonmovable_to`` over ``steps`` steps (this call
    starts at ``first_step``), so kernel allocations outrun kernel frees and must fall back
    into those holes. The freed entry's slot takes the last live entry.
    """
    start = nodes[node, N_FRAME_START]
    draw = 0
    for victim in range(victims.shape[0]):
        if count == 0 or draw + 64 > draws.shape[0]:
            return count, draw, victim
        i = int(victims[victim] * count)
        free(frames, blocks, index, nodes, node, start + pfns[i], meta[i] >> 2, meta[i] & 3)
        count -= 1
        pfns[i] = pfns[count]
        meta[i] = meta[count]
        step = first_step + victim
        nonmovable = nonmovable_from + (nonmovable_to - nonmovable_from) * step // steps
        count, used, _ = fill(
            frames,
            blocks,
            index,
            nodes,
            node,
            target_frames,
            nonmovable,
            reclaimable_share,
            huge_probability,
            nonmovable_cdf,
            movable_cdf,
            draws[draw:],
            pfns,
            meta,
            count,
        )
        draw += used
    return count, draw, victims.shape[0]


@borrowing_kernel
def shrink(
    frames: Words,
    blocks: Blocks,
    index: Words,
    nodes: Nodes,
    node: int,
    pfns: Pfns,
    meta: Meta,
    count: int,
    order: npt.NDArray[np.int64],
    target_frames: int,
) -> None:
    """Free movable allocations in the given (random) order until ``target_frames`` are in
    use, as exits and dropped caches leave free memory behind; freed entries get meta −1."""
    start = nodes[node, N_FRAME_START]
    used = used_frames(nodes, node)
    for i in order[:count]:
        if used <= target_frames:
            return
        if meta[i] & 3 == CLASS_MOVABLE:
            size_order = int(meta[i] >> 2)  # int16 in plain Python (NUMBA_DISABLE_JIT)
            free(frames, blocks, index, nodes, node, start + pfns[i], size_order, CLASS_MOVABLE)
            used -= 1 << size_order
            meta[i] = -1


@borrowing_kernel
def pin(
    blocks: Blocks,
    nodes: Nodes,
    node: int,
    pfns: Pfns,
    meta: Meta,
    count: int,
    chosen: npt.NDArray[np.bool_],
) -> None:
    """Pin the chosen live movable allocations."""
    for i in range(count):
        if chosen[i] and meta[i] >= 0 and meta[i] & 3 == CLASS_MOVABLE:
            reclass(blocks, nodes, node, pfns[i], 1 << (meta[i] >> 2), CLASS_MOVABLE, CLASS_PINNED)
