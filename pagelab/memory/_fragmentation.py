"""Fragmentation indices exactly as ``mm/vmstat.c`` computes them (reference §4).

Each takes a node's free-block counts (``nr_free`` per order, all migratetypes together) from
the node table, so the same code serves the compaction kernels and the Python read-back.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pagelab._kernels.config import borrowing_kernel
from pagelab.memory.layout import MIGRATETYPES, N_FRAMES, N_FREE_BLOCKS, N_MAX_ORDER, ORDERS_CAP

Nodes = npt.NDArray[np.int64]


@borrowing_kernel
def contig_page_info(nodes: Nodes, node: int, order: int) -> tuple[int, int, int]:
    """``fill_contig_page_info``: free pages F, free blocks B and blocks usable at ``order`` S."""
    free_pages = 0
    free_blocks = 0
    suitable = 0
    for found in range(nodes[node, N_MAX_ORDER] + 1):
        blocks = 0
        for mt in range(MIGRATETYPES):
            blocks += nodes[node, N_FREE_BLOCKS + mt * ORDERS_CAP + found]
        free_blocks += blocks
        free_pages += blocks << found
        if found >= order:
            suitable += blocks << (found - order)
    return free_pages, free_blocks, suitable


@borrowing_kernel
def unusable_free_index(nodes: Nodes, node: int, order: int) -> int:
    """(F − S·2^order)·1000 / F, 1000 when nothing is free: 0 = no fragmentation."""
    free_pages, _, suitable = contig_page_info(nodes, node, order)
    if free_pages == 0:
        return 1000
    return (free_pages - (suitable << order)) * 1000 // free_pages


@borrowing_kernel
def fragmentation_index(nodes: Nodes, node: int, order: int) -> int:
    """``__fragmentation_index``: −1000 when a block of ``order`` is free, 0 when nothing is
    free, else 1000 − (1000 + 1000·F/2^order)/B (near 1000: failure from fragmentation)."""
    free_pages, free_blocks, suitable = contig_page_info(nodes, node, order)
    if free_blocks == 0:
        return 0
    if suitable > 0:
        return -1000
    return 1000 - (1000 + (free_pages * 1000 // (1 << order))) // free_blocks


@borrowing_kernel
def extfrag_for_order(nodes: Nodes, node: int, order: int) -> int:
    """The percentage of free memory unusable at ``order``; 0 when nothing is free."""
    free_pages, _, suitable = contig_page_info(nodes, node, order)
    if free_pages == 0:
        return 0
    return (free_pages - (suitable << order)) * 100 // free_pages


@borrowing_kernel
def node_fragmentation_score(nodes: Nodes, node: int, order: int) -> int:
    """``fragmentation_score_node`` with one zone: zone score × present / (present + 1)."""
    present = nodes[node, N_FRAMES]
    return int(present * extfrag_for_order(nodes, node, order) // (present + 1))
