"""Per-2MiB-region bookkeeping: which 4 KiB pages were touched and how often the region was hit.

An open-addressing hash (linear probing) maps a region key ``pid << 27 | va >> 21`` to a row;
rows never move, so the hash can be rebuilt larger without touching them.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pagelab._kernels.config import at, inline_kernel, kernel

REGION_SHIFT = 21
WORDS_PER_REGION = 8  # 512 bits, one per 4 KiB page of the region
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
