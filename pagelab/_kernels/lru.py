"""Set-associative arrays with true LRU, kept as last-use stamps.

A set is ``ways`` consecutive int64 slots starting at ``base`` in ``words``, with the time of
each slot's last use in ``stamps`` (-1: never used, so empty slots are filled first). A hit
stamps its slot; a fill replaces the slot with the oldest stamp. Comparing stamps instead of
keeping the set in recency order makes both operations branch-free scans. A stored word
carries 4 low bits of payload that lookups ignore (a TLB entry remembers the size of the
mapping it came from); -1 marks an empty word.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pagelab._kernels.config import inline_kernel

EMPTY = -1


@inline_kernel
def lookup(
    words: npt.NDArray[np.int64],
    stamps: npt.NDArray[np.int64],
    base: int,
    ways: int,
    key: int,
    now: int,
) -> int:
    """Find ``key`` (a word without its payload) and stamp it; returns the word or -1."""
    found = -1
    for way in range(ways):
        if words[base + way] >> 4 == key:
            found = way
    if found < 0:
        return EMPTY
    stamps[base + found] = now
    return int(words[base + found])


@inline_kernel
def insert(
    words: npt.NDArray[np.int64],
    stamps: npt.NDArray[np.int64],
    base: int,
    ways: int,
    word: int,
    now: int,
) -> None:
    """Put ``word`` in the least recently used slot of the set."""
    victim = 0
    oldest = stamps[base]
    for way in range(1, ways):
        stamp = stamps[base + way]
        if stamp < oldest:
            oldest = stamp
            victim = way
    words[base + victim] = word
    stamps[base + victim] = now
