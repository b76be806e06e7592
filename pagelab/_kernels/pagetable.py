"""Radix page tables in two pools of table pages, sized to what is mapped.

Tables above the PTE level live in ``upper``, one int64 per entry: 0 (none),
``child << 2 | TABLE`` or ``info << 2 | LEAF``. PTE tables live in ``ptes``, one byte per
entry: 0 or ``info << 2 | LEAF``. ``info`` is ``tlb_size_id | folio_size_id << 3``. A TABLE
entry one level above the PTE level points into ``ptes``, any other into ``upper``. Table
``n`` of a pool occupies ``pool[n << fanout_bits : (n + 1) << fanout_bits]``; level 0 is the
top table (PGD).

An upper-level leaf (a huge page) also keeps the tier holding its folio, at ``TIER_SHIFT``, and
whether its THP deposited page tables (``DEPOSITED``); a PTE-level folio's tier is in its
region row (``regions``), which always exists for it.

PTE tables are nearly all of a large footprint's tables, so a byte per entry keeps the
simulator's page tables at an eighth of the simulated bytes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pagelab._kernels.config import at, borrowing_kernel, inline_kernel
from pagelab._kernels.prefetch import prefetch

TABLE = 1
LEAF = 2
SIZE_BITS = 3  # a size id (pagelab.units.PAGE_SIZES) in 3 bits
USED_UPPER = 0  # slots of the ``used`` array: tables taken from each pool
USED_PTES = 1
TIER_SHIFT = 8  # an upper-level leaf keeps the tier holding its folio in bits 8-9
DEPOSITED = 1 << 10  # an upper-level leaf whose THP deposited the tables a split needs
SIZE_SHIFT = np.array([12, 14, 15, 16, 21, 25, 29, 30], dtype=np.int64)
"""log2 bytes of each size id (pagelab.units.PAGE_SIZES)."""


@inline_kernel
def leaf_entry(tlb_size_id: int, folio_size_id: int) -> int:
    return ((tlb_size_id | (folio_size_id << SIZE_BITS)) << 2) | LEAF


@inline_kernel
def tlb_size_of(entry: int) -> int:
    return (entry >> 2) & ((1 << SIZE_BITS) - 1)


@inline_kernel
def folio_size_of(entry: int) -> int:
    return (entry >> (2 + SIZE_BITS)) & ((1 << SIZE_BITS) - 1)


@inline_kernel
def tier_of_leaf(entry: int) -> int:
    return (entry >> TIER_SHIFT) & 3


@inline_kernel
def size_id_of_shift(shift: int) -> int:
    """The size id of a mapping of ``1 << shift`` bytes (one of ``SIZE_SHIFT``)."""
    for size_id in range(SIZE_SHIFT.shape[0]):
        if SIZE_SHIFT[size_id] == shift:
            return size_id
    return -1


@inline_kernel
def descend(
    upper: npt.NDArray[np.int64],
    roots: npt.NDArray[np.int64],
    pid: int,
    va: int,
    level_shift: npt.NDArray[np.int64],
    fanout_bits: int,
    depth: int,
) -> tuple[int, int]:
    """Follow ``va`` down ``depth`` levels of upper tables: (``depth``, the table reached),
    or (the level where an entry other than a table stopped it, that entry), or (-1, 0)
    when ``pid`` has no tables."""
    node = roots[at(pid)]
    if node < 0:
        return -1, 0
    mask = (1 << fanout_bits) - 1
    for level in range(depth):
        entry = upper[at((node << fanout_bits) + ((va >> level_shift[at(level)]) & mask))]
        if entry & 3 != TABLE:
            return level, entry
        node = entry >> 2
    return depth, node


@inline_kernel
def walk(
    upper: npt.NDArray[np.int64],
    ptes: npt.NDArray[np.uint8],
    roots: npt.NDArray[np.int64],
    pid: int,
    va: int,
    level_shift: npt.NDArray[np.int64],
    fanout_bits: int,
) -> tuple[int, int]:
    """Follow ``va`` down the tables: (level reached, entry there); entry 0 means unmapped."""
    last = level_shift.shape[0] - 1
    level, found = descend(upper, roots, pid, va, level_shift, fanout_bits, last)
    if level < 0:
        return 0, 0
    if level < last:
        return level, found
    mask = (1 << fanout_bits) - 1
    return last, int(ptes[at((found << fanout_bits) + ((va >> level_shift[at(last)]) & mask))])


@inline_kernel
def prefetch_entry(
    upper: npt.NDArray[np.int64],
    ptes: npt.NDArray[np.uint8],
    roots: npt.NDArray[np.int64],
    pid: int,
    va: int,
    level_shift: npt.NDArray[np.int64],
    fanout_bits: int,
    level: int,
) -> None:
    """Start loading ``va``'s entry at ``level`` into the cache, reading the tables above it;
    nothing when one of them is missing or maps ``va`` with a leaf."""
    reached, node = descend(upper, roots, pid, va, level_shift, fanout_bits, level)
    if reached != level:
        return
    mask = (1 << fanout_bits) - 1
    slot = (node << fanout_bits) + ((va >> level_shift[at(level)]) & mask)
    if level == level_shift.shape[0] - 1:
        prefetch(ptes, at(slot))
    else:
        prefetch(upper, at(slot))


@borrowing_kernel
def table_for(
    upper: npt.NDArray[np.int64],
    roots: npt.NDArray[np.int64],
    level_tables: npt.NDArray[np.int64],
    used: npt.NDArray[np.int64],
    pid: int,
    va: int,
    target_level: int,
    level_shift: npt.NDArray[np.int64],
    fanout_bits: int,
) -> int:
    """The table holding ``va``'s entry at ``target_level``, allocating tables on the way:
    an index into ``ptes`` for the PTE level, else into ``upper``.

    Returns -1 when a leaf above ``target_level`` already maps ``va``. The caller guarantees
    both pools have room for ``target_level + 1`` more tables.
    """
    mask = (1 << fanout_bits) - 1
    last = level_shift.shape[0] - 1
    node = roots[pid]
    if node < 0:
        node = used[USED_UPPER]
        used[USED_UPPER] += 1
        level_tables[0] += 1
        roots[pid] = node
    for level in range(target_level):
        slot = (node << fanout_bits) + ((va >> level_shift[level]) & mask)
        entry = upper[slot]
        if entry == 0:
            pool = USED_PTES if level + 1 == last else USED_UPPER
            child = used[pool]
            used[pool] += 1
            level_tables[level + 1] += 1
            upper[slot] = (child << 2) | TABLE
            node = child
        elif entry & 3 == TABLE:
            node = entry >> 2
        else:
            return -1
    return node
