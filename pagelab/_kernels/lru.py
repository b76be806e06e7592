"""Set-associative arrays with true LRU, kept as last-use stamps.

A set is ``ways`` consecutive int64 slots starting at ``base`` in ``words``, with the time of
each slot's last use in ``stamps`` (-1: never used, so empty slots are filled first). A hit
stamps its slot; a fill replaces the slot with the oldest stamp. Comparing stamps instead of
keeping the set in recency order makes both operations branch-free scans. A stored word
carries 4 low bits of payload that lookups ignore (a TLB entry remembers the size of the
mapping it came from); -1 marks an empty word.

A kernel finds a structure through its *row*: ``ROW_WIDTH`` int64 in a flat descriptor array
holding the page size id its entries cover, the address shift that gives the tag, the first
slot of the structure, the set-index mask and the ways. One flat array of rows keeps the
per-access path to one pointer per kind of structure, where separate arrays per field cost
a register (or a stack reload) each.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pagelab._kernels.config import at, inline_kernel

EMPTY = -1
ROW_SIZE_ID = 0
ROW_SHIFT = 1
ROW_BASE = 2
ROW_SET_MASK = 3
ROW_WAYS = 4
ROW_WIDTH = 5
WAY_BITS = 16  # a set has at most 65,536 ways (the spec's bound)
_NEWEST = (1 << 63) - 1  # above every stamp << WAY_BITS


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
    # Four ways per step: one loop test per four compares instead of one per compare.
    slot = base
    for _ in range(ways >> 2):
        if words[at(slot)] >> 4 == key:
            break
        if words[at(slot + 1)] >> 4 == key:
            slot += 1
            break
        if words[at(slot + 2)] >> 4 == key:
            slot += 2
            break
        if words[at(slot + 3)] >> 4 == key:
            slot += 3
            break
        slot += 4
    else:
        for _ in range(ways & 3):
            if words[at(slot)] >> 4 == key:
                break
            slot += 1
        else:
            return EMPTY
    stamps[at(slot)] = now
    return int(words[at(slot)])


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
    # The way number rides in the low bits, so one branch-free min finds the oldest slot.
    # Starting from a sentinel newer than any stamp, the scan covers every way: a trip count
    # (4, 12, ...) the compiler's vectorised loop takes whole, with no scalar remainder.
    oldest = _NEWEST
    for way in range(ways):
        oldest = min(oldest, (stamps[at(base + way)] << WAY_BITS) | way)
    victim = at(base + (oldest & ((1 << WAY_BITS) - 1)))
    words[victim] = word
    stamps[victim] = now


@inline_kernel
def set_of(rows: npt.NDArray[np.int64], row: int, va: int) -> tuple[int, int, int]:
    """(first slot of ``va``'s set, ways, tag) in the structure that row ``row`` describes."""
    offset = row * ROW_WIDTH
    tag = va >> rows[at(offset + ROW_SHIFT)]
    ways = rows[at(offset + ROW_WAYS)]
    return rows[at(offset + ROW_BASE)] + (tag & rows[at(offset + ROW_SET_MASK)]) * ways, ways, tag


def describe(
    size_id: int, shift: int, base: int, sets: int, ways: int
) -> tuple[int, int, int, int, int]:
    """One descriptor row, in column order."""
    return size_id, shift, base, sets - 1, ways
