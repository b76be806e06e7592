"""Per-2MiB-region bookkeeping: which 4 KiB pages were touched and how often the region was hit,
and what tiering needs per 4 KiB page: the tier holding it, its accessed ("young") bit and
whether its PTE is made inaccessible for a NUMA hint fault.

An open-addressing hash (linear probing) maps a region key ``pid << 27 | va >> 21`` to a row;
rows never move, so the hash can be rebuilt larger without touching them.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pagelab._kernels import pagetable
from pagelab._kernels.config import at, inline_kernel, kernel
from pagelab._kernels.prefetch import prefetch

REGION_SHIFT = 21
WORDS_PER_REGION = 8  # 512 bits, one per 4 KiB page of the region
TIER_WORDS_PER_REGION = 16  # 2 bits per 4 KiB page: the tier holding it
TIER_PATTERN = 0x5555555555555555  # × tier: every 2-bit field of a word set to the tier
_GOLDEN = -7046029254386353131  # 0x9E3779B97F4A7C15 as int64: Fibonacci hashing


@inline_kernel
def region_key(pid: int, va: int) -> int:
    return (pid << 27) | (va >> REGION_SHIFT)


@inline_kernel
def home_slot(key: int, mask: int) -> int:
    """Where linear probing for ``key`` starts in a table of ``mask + 1`` slots."""
    mixed = key * _GOLDEN
    return (mixed ^ (mixed >> 29)) & mask


@inline_kernel
def prefetch_slot(
    hash_keys: npt.NDArray[np.int64], hash_rows: npt.NDArray[np.int64], key: int
) -> None:
    """Start loading the hash slot where the lookup of ``key`` starts."""
    slot = home_slot(key, hash_keys.shape[0] - 1)
    prefetch(hash_keys, at(slot))
    prefetch(hash_rows, at(slot))


@inline_kernel
def find_or_add(
    hash_keys: npt.NDArray[np.int64],
    hash_rows: npt.NDArray[np.int64],
    row_keys: npt.NDArray[np.int64],
    used_rows: int,
    key: int,
) -> int:
    """Row of ``key``; a new key takes row ``used_rows`` (the caller counts it)."""
    mask = hash_keys.shape[0] - 1
    slot = home_slot(key, mask)
    while True:
        stored = hash_keys[at(slot)]
        if stored == key:
            return int(hash_rows[at(slot)])
        if stored == -1:
            hash_keys[slot] = key
            hash_rows[slot] = used_rows
            row_keys[used_rows] = key
            return used_rows
        slot = (slot + 1) & mask


@inline_kernel
def find_row(hash_keys: npt.NDArray[np.int64], hash_rows: npt.NDArray[np.int64], key: int) -> int:
    """Row of region ``key``, or -1 when no page of that region was ever touched."""
    mask = hash_keys.shape[0] - 1
    slot = home_slot(key, mask)
    while True:
        stored = hash_keys[at(slot)]
        if stored == key:
            return int(hash_rows[at(slot)])
        if stored == -1:
            return -1
        slot = (slot + 1) & mask


@kernel
def find_rows(
    hash_keys: npt.NDArray[np.int64], hash_rows: npt.NDArray[np.int64], keys: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """``find_row`` of every key."""
    rows = np.empty(keys.shape[0], dtype=np.int64)
    for i in range(keys.shape[0]):
        rows[i] = find_row(hash_keys, hash_rows, keys[i])
    return rows


@kernel
def rebuild(
    hash_keys: npt.NDArray[np.int64],
    hash_rows: npt.NDArray[np.int64],
    row_keys: npt.NDArray[np.int64],
    used_rows: int,
) -> None:
    """Fill empty (all -1) ``hash_keys`` from the rows in use."""
    mask = hash_keys.shape[0] - 1
    for row in range(used_rows):
        key = row_keys[row]
        slot = home_slot(key, mask)
        while hash_keys[slot] != -1:
            slot = (slot + 1) & mask
        hash_keys[slot] = key
        hash_rows[slot] = row


@inline_kernel
def tier_of(row_tiers: npt.NDArray[np.int64], row: int, page: int) -> int:
    """Tier of 4 KiB page ``page`` (0..511) of region row ``row``."""
    word = row_tiers[at((row << 4) + (page >> 5))]
    return int((word >> ((page & 31) << 1)) & 3)


@inline_kernel
def set_tiers(
    row_tiers: npt.NDArray[np.int64], row: int, first_page: int, end_page: int, tier: int
) -> None:
    """Record ``tier`` for pages ``[first_page, end_page)`` of region row ``row``."""
    for page in range(first_page, end_page):
        slot = (row << 4) + (page >> 5)
        shift = (page & 31) << 1
        row_tiers[slot] = (row_tiers[slot] & ~(np.int64(3) << shift)) | (np.int64(tier) << shift)


@kernel
def first_touched_sizes(
    row_keys: npt.NDArray[np.int64],
    row_touched: npt.NDArray[np.int64],
    rows: int,
    upper: npt.NDArray[np.int64],
    ptes: npt.NDArray[np.uint8],
    roots: npt.NDArray[np.int64],
    level_shift: npt.NDArray[np.int64],
    fanout_bits: int,
) -> npt.NDArray[np.int64]:
    """Per region row, the size id of the folio mapping its first touched page (its base
    when none is touched), or -1 where nothing maps it."""
    sizes = np.empty(rows, dtype=np.int64)
    for row in range(rows):
        key = row_keys[row]
        address = (key & ((1 << 27) - 1)) << REGION_SHIFT
        for word_index in range(WORDS_PER_REGION):
            word = row_touched[row * WORDS_PER_REGION + word_index]
            if word != 0:
                bit = 0
                while (word >> bit) & 1 == 0:
                    bit += 1
                address += (word_index * 64 + bit) << 12
                break
        _, entry = pagetable.walk(upper, ptes, roots, key >> 27, address, level_shift, fanout_bits)
        sizes[row] = pagetable.folio_size_of(entry) if entry & 3 == pagetable.LEAF else -1
    return sizes
