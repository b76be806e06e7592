"""Where the fault path puts a new folio: a small int64 row a tiering policy fills.

``PLACE_MODE`` is ``FIRST_TOUCH`` (the first node, then the zonelist's fallback order) or
``INTERLEAVE`` (weighted interleave by page offset, as ``weighted_interleave_nid`` in
mm/mempolicy.c: ``ilx = vm_pgoff >> order + (addr − vm_start) >> (PAGE_SHIFT + order)``,
then the node whose cumulative weight first exceeds ``ilx mod Σw``). A node that cannot
give the folio falls back to the others, first node first.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pagelab._kernels.config import inline_kernel

FIRST_TOUCH = 0
INTERLEAVE = 1
PLACE_MODE = 0
PLACE_NODES = 1
PLACE_TOTAL = 2  # Σ weights
PLACE_WEIGHTS = 3  # + node
PLACE_WIDTH = PLACE_WEIGHTS + 4


def first_touch(nodes: int) -> npt.NDArray[np.int64]:
    row = np.zeros(PLACE_WIDTH, dtype=np.int64)
    row[PLACE_MODE] = FIRST_TOUCH
    row[PLACE_NODES] = nodes
    return row


def interleave(weights: list[int]) -> npt.NDArray[np.int64]:
    row = np.zeros(PLACE_WIDTH, dtype=np.int64)
    row[PLACE_MODE] = INTERLEAVE
    row[PLACE_NODES] = len(weights)
    row[PLACE_TOTAL] = sum(weights)
    row[PLACE_WEIGHTS : PLACE_WEIGHTS + len(weights)] = weights
    return row


@inline_kernel
def preferred_node(
    placement: npt.NDArray[np.int64], vma_start: int, map_start: int, block_shift: int
) -> int:
    """The node a folio of ``2^block_shift`` bytes mapped at ``map_start`` should take."""
    if placement[PLACE_MODE] != INTERLEAVE or placement[PLACE_TOTAL] == 0:
        return 0
    ilx = (vma_start >> block_shift) + ((map_start - vma_start) >> block_shift)
    target = ilx % placement[PLACE_TOTAL]
    for node in range(placement[PLACE_NODES]):
        weight = placement[PLACE_WEIGHTS + node]
        if target < weight:
            return node
        target -= weight
    return 0
