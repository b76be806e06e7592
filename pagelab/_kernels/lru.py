"""Set-associative arrays with true LRU, kept in most-recently-used-first order.

A set is ``ways`` consecutive int64 slots starting at ``base``; slot 0 is the MRU entry and
-1 marks an empty slot. A stored word carries 4 low bits of payload that lookups ignore, so a
TLB entry can remember the size of the mapping it came from.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pagelab._kernels.config import kernel

EMPTY = -1


@kernel
def lookup(slots: npt.NDArray[np.int64], base: int, ways: int, key: int) -> int:
    """Find ``key`` (a stored word without its payload); on a hit move it to MRU.

    Returns the stored word, or -1 on a miss.
    """
    for way in range(ways):
        word = slots[base + way]
        if word >> 4 == key and word != EMPTY:
            for shift in range(way, 0, -1):
                slots[base + shift] = slots[base + shift - 1]
            slots[base] = word
            return word
    return EMPTY


@kernel
def insert(slots: npt.NDArray[np.int64], base: int, ways: int, word: int) -> None:
    """Insert ``word`` as MRU, dropping the LRU entry when the set is full."""
    for shift in range(ways - 1, 0, -1):
        slots[base + shift] = slots[base + shift - 1]
    slots[base] = word
