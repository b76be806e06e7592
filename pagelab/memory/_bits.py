"""Bit-level helpers: summarised bitmaps over pageblocks and free-block masks within words.

A summarised bitmap is three levels in consecutive words: ``words0`` words of one bit per
pageblock, then ``words1`` words with one bit per non-zero level-0 word, then ``words2`` words
with one bit per non-zero level-1 word. Finding the next set bit reads at most a few words
per level plus a scan of level 2 (one word per 2^18 pageblocks: 512 TiB of 2 MiB pageblocks).
All word arithmetic stays in uint64: numba turns a uint64 mixed with an int64 under ``+`` or
``-`` into a float.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
import numpy.typing as npt
from numba.cpython.unsafe.numbers import trailing_zeros as _compiled_trailing_zeros

from pagelab._kernels.config import COMPILED, at, inline_kernel


def _python_trailing_zeros(word: np.uint64) -> int:
    value = int(word)
    return (value & -value).bit_length() - 1


# numba's intrinsic runs only compiled: plain Python (NUMBA_DISABLE_JIT=1) counts itself.
trailing_zeros = cast(
    Callable[[np.uint64], int],
    _compiled_trailing_zeros if COMPILED else _python_trailing_zeros,
)

Words = npt.NDArray[np.uint64]

ALL_ONES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
ONE = np.uint64(1)
ZERO = np.uint64(0)

# ALIGNED[k]: bits at positions aligned to 2^k within a word (k = 0..6).
ALIGNED = np.array(
    [
        0xFFFF_FFFF_FFFF_FFFF,
        0x5555_5555_5555_5555,
        0x1111_1111_1111_1111,
        0x0101_0101_0101_0101,
        0x0001_0001_0001_0001,
        0x0000_0001_0000_0001,
        0x0000_0000_0000_0001,
    ],
    dtype=np.uint64,
)


@inline_kernel
def lowest_bit(word: np.uint64) -> int:
    """Index of the lowest set bit of a non-zero word."""
    return int(trailing_zeros(word))


@inline_kernel
def bit(position: int) -> np.uint64:
    """The word with only bit ``position & 63`` set."""
    return ONE << np.uint64(position & 63)


@inline_kernel
def run_mask(position: int, count: int) -> np.uint64:
    """``count`` (1..64) set bits from ``position & 63``; the run must fit in the word."""
    if count >= 64:
        return ALL_ONES
    return ((ONE << np.uint64(count)) - ONE) << np.uint64(position & 63)


@inline_kernel
def set_index_bit(index: Words, base: int, words0: int, words1: int, position: int) -> None:
    """Set bit ``position`` of the summarised bitmap at ``base``."""
    w0 = position >> 6
    old0 = index[at(base + w0)]
    index[at(base + w0)] = old0 | bit(position)
    if old0 == ZERO:
        w1 = w0 >> 6
        old1 = index[at(base + words0 + w1)]
        index[at(base + words0 + w1)] = old1 | bit(w0)
        if old1 == ZERO:
            w2 = w1 >> 6
            index[at(base + words0 + words1 + w2)] |= bit(w1)


@inline_kernel
def clear_index_bit(index: Words, base: int, words0: int, words1: int, position: int) -> None:
    """Clear bit ``position`` of the summarised bitmap at ``base``."""
    w0 = position >> 6
    new0 = index[at(base + w0)] & ~bit(position)
    index[at(base + w0)] = new0
    if new0 == ZERO:
        w1 = w0 >> 6
        new1 = index[at(base + words0 + w1)] & ~bit(w0)
        index[at(base + words0 + w1)] = new1
        if new1 == ZERO:
            w2 = w1 >> 6
            index[at(base + words0 + words1 + w2)] &= ~bit(w1)


@inline_kernel
def find_next(index: Words, base: int, words0: int, words1: int, words2: int, start: int) -> int:
    """The first set bit at or after ``start`` in the summarised bitmap, or -1."""
    w0 = start >> 6
    if w0 >= words0:
        return -1
    word = index[at(base + w0)] & (ALL_ONES << np.uint64(start & 63))
    if word != ZERO:
        return (w0 << 6) + lowest_bit(word)
    b1 = w0 + 1  # the next level-0 word that holds any bit
    if b1 >= words0:
        return -1
    w1 = b1 >> 6
    word = index[at(base + words0 + w1)] & (ALL_ONES << np.uint64(b1 & 63))
    if word == ZERO:
        b2 = w1 + 1
        if b2 >= words1:
            return -1
        w2 = b2 >> 6
        top = base + words0 + words1
        word = index[at(top + w2)] & (ALL_ONES << np.uint64(b2 & 63))
        while word == ZERO:
            w2 += 1
            if w2 >= words2:
                return -1
            word = index[at(top + w2)]
        w1 = (w2 << 6) + lowest_bit(word)
        word = index[at(base + words0 + w1)]
    w0 = (w1 << 6) + lowest_bit(word)
    return (w0 << 6) + lowest_bit(index[at(base + w0)])


@inline_kernel
def exact_order_mask(used: np.uint64, order: int) -> np.uint64:
    """Bits where a free block of exactly ``order`` (0..5) starts, within one word.

    ``a`` climbs the orders: bit p of level k is set when the 2^k frames from p (aligned) are
    all free. A block of order k is a free block when it is all free and its parent is not:
    eager merging leaves no all-free pair of buddies unmerged.
    """
    level = ~used
    below = level
    for k in range(order + 1):
        below = level
        level = level & (level >> np.uint64(1 << k)) & ALIGNED[k + 1]
    return below & ~(level | (level << np.uint64(1 << order)))
