"""The touched extent of every 2 MiB region of a chunk of accesses, for inferring the VMAs
of a trace that declares none (``pagelab.address_space``).

An open-addressing hash (linear probing) maps a region key ``pid << 27 | va >> 21`` to its
slot, where ``lows`` and ``highs`` keep the lowest and highest 4 KiB page touched in it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pagelab._kernels.config import at, kernel
from pagelab._kernels.regions import home_slot, region_key

I64 = npt.NDArray[np.int64]


@kernel
def add_extents(
    address: npt.NDArray[np.uint64],
    pid_of: npt.NDArray[np.uint16],
    start: int,
    keys: I64,
    lows: I64,
    highs: I64,
    used: int,
) -> tuple[int, int]:
    """Fold accesses from ``start`` into the table; returns (next access, slots used).

    Stops early, before the access that would fill the table past half, so the caller can
    grow it (``rehash``) and call again.
    """
    mask = keys.shape[0] - 1
    limit = keys.shape[0] >> 1
    last_key = -1
    last_slot = 0
    for i in range(start, address.shape[0]):
        va = np.int64(address[at(i)])
        key = region_key(np.int64(pid_of[at(i)]), va)
        page = va >> 12
        if key != last_key:
            slot = home_slot(key, mask)
            while keys[at(slot)] != key and keys[at(slot)] != -1:
                slot = (slot + 1) & mask
            if keys[at(slot)] == -1:
                if used >= limit:
                    return i, used
                keys[at(slot)] = key
                lows[at(slot)] = page
                highs[at(slot)] = page
                used += 1
            last_key = key
            last_slot = slot
        if page < lows[at(last_slot)]:
            lows[at(last_slot)] = page
        elif page > highs[at(last_slot)]:
            highs[at(last_slot)] = page
    return address.shape[0], used


@kernel
def rehash(keys: I64, lows: I64, highs: I64, new_keys: I64, new_lows: I64, new_highs: I64) -> None:
    """Move every entry of the table into the larger, empty (all -1 keys) one."""
    mask = new_keys.shape[0] - 1
    for old in range(keys.shape[0]):
        key = keys[old]
        if key == -1:
            continue
        slot = home_slot(key, mask)
        while new_keys[slot] != -1:
            slot = (slot + 1) & mask
        new_keys[slot] = key
        new_lows[slot] = lows[old]
        new_highs[slot] = highs[old]
