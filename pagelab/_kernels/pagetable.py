"""Radix page tables in one flat pool of table pages.

Table ``n`` occupies ``pool[n << fanout_bits : (n + 1) << fanout_bits]``. An entry is 0 (none),
``child << 2 | 1`` (points to a table) or ``info << 2 | 2`` (a leaf), where ``info`` is
``tlb_size_id | folio_size_id << 4``. Level 0 is the top table (PGD).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pagelab._kernels.config import at, inline_kernel, kernel

TABLE = 1
LEAF = 2


@kernel
def leaf_entry(tlb_size_id: int, folio_size_id: int) -> int:
    return ((tlb_size_id | (folio_size_id << 4)) << 2) | LEAF


@inline_kernel
def walk(
    pool: npt.NDArray[np.int64],
    roots: npt.NDArray[np.int64],
    pid: int,
    va: int,
    level_shift: npt.NDArray[np.int64],
    fanout_bits: int,
) -> tuple[int, int]:
    """Follow ``va`` down the tables: (level reached, entry there); entry 0 means unmapped."""
    node = roots[at(pid)]
    if node < 0:
        return 0, 0
    mask = (1 << fanout_bits) - 1
    levels = level_shift.shape[0]
    for level in range(levels):
        entry = pool[at((node << fanout_bits) + ((va >> level_shift[at(level)]) & mask))]
        if entry & 3 != TABLE:
            return level, entry
        node = entry >> 2
    return levels - 1, 0


@kernel
def table_for(
    pool: npt.NDArray[np.int64],
    roots: npt.NDArray[np.int64],
    level_tables: npt.NDArray[np.int64],
    used: npt.NDArray[np.int64],
    pid: int,
    va: int,
    target_level: int,
    level_shift: npt.NDArray[np.int64],
    fanout_bits: int,
) -> int:
    """The table holding ``va``'s entry at ``target_level``, allocating tables on the way.

    Returns -1 when a leaf above ``target_level`` already maps ``va``. The caller guarantees
    the pool has room for ``target_level + 1`` more tables; ``used[0]`` counts tables.
    """
    mask = (1 << fanout_bits) - 1
    node = roots[pid]
    if node < 0:
        node = used[0]
        used[0] += 1
        level_tables[0] += 1
        roots[pid] = node
    for level in range(target_level):
        slot = (node << fanout_bits) + ((va >> level_shift[level]) & mask)
        entry = pool[slot]
        if entry == 0:
            child = used[0]
            used[0] += 1
            level_tables[level + 1] += 1
            pool[slot] = (child << 2) | TABLE
            node = child
        elif entry & 3 == TABLE:
            node = entry >> 2
        else:
            return -1
    return node
