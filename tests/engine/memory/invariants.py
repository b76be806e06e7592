"""Recompute every index of ``PhysicalMemory`` from the in-use bitmap and compare."""

from __future__ import annotations

import numpy as np

from pagelab.memory import PhysicalMemory
from pagelab.memory.layout import (
    CLASSES,
    MIGRATETYPES,
    N_FREE_BLOCKS,
    N_FREE_FRAMES,
    N_INDEX_START,
    N_INDEX_STRIDE,
    N_INDEX_WORDS0,
    N_INDEX_WORDS1,
    N_INDEX_WORDS2,
    N_USED,
    N_WORD_START,
    ORDERS_CAP,
    PB_FREE,
    PB_FREE_BLOCKS,
    PB_MIGRATETYPE,
    PB_SPB_TAINT,
    PB_USED,
)


def free_bitmap(memory: PhysicalMemory, node: int) -> np.ndarray:
    """True for each free frame of the node."""
    row = memory.nodes[node]
    words = memory.frame_bits[
        row[N_WORD_START] : row[N_WORD_START] + memory.node_frames(node) // 64
    ]
    bits = np.unpackbits(words.view(np.uint8), bitorder="little").astype(bool)
    return ~bits


def decomposition(memory: PhysicalMemory, node: int) -> list[tuple[int, int]]:
    """The free blocks implied by eager merging: maximal aligned all-free blocks."""
    free = free_bitmap(memory, node)
    blocks = []
    offset = 0
    top = memory.max_page_order
    while offset < free.shape[0]:
        if not free[offset]:
            offset += 1
            continue
        order = top
        while order > 0 and (
            offset % (1 << order) or not free[offset : offset + (1 << order)].all()
        ):
            order -= 1
        blocks.append((offset, order))
        offset += 1 << order
    return blocks


def _bits(words: np.ndarray, count: int) -> np.ndarray:
    return np.unpackbits(words.view(np.uint8), bitorder="little")[:count].astype(bool)


def check(memory: PhysicalMemory, node: int = 0) -> None:
    rows = memory.pageblock_rows(node).astype(np.int64)
    row = memory.nodes[node]
    pb_order = memory.pageblock_order
    expected = np.zeros((rows.shape[0], ORDERS_CAP), dtype=np.int64)
    for offset, order in decomposition(memory, node):
        expected[offset >> pb_order, order] += 1
        # a free block never spans two pageblock labels
        first = offset >> pb_order
        span = max(1, 1 << (order - pb_order)) if order >= pb_order else 1
        assert len(set(rows[first : first + span, PB_MIGRATETYPE])) == 1
    assert (rows[:, PB_FREE_BLOCKS : PB_FREE_BLOCKS + ORDERS_CAP] == expected).all()
    free = free_bitmap(memory, node)
    per_pb = free.reshape(-1, 1 << pb_order).sum(axis=1)
    assert (rows[:, PB_FREE] == per_pb).all()
    assert (
        rows[:, PB_FREE] + rows[:, PB_USED : PB_USED + CLASSES].sum(axis=1) == 1 << pb_order
    ).all()
    assert row[N_FREE_FRAMES] == free.sum()
    for cls in range(CLASSES):
        assert row[N_USED + cls] == rows[:, PB_USED + cls].sum()
    stride = int(row[N_INDEX_STRIDE])
    words0, words1, words2 = (int(row[c]) for c in (N_INDEX_WORDS0, N_INDEX_WORDS1, N_INDEX_WORDS2))
    for mt in range(MIGRATETYPES):
        for order in range(ORDERS_CAP):
            has = (rows[:, PB_MIGRATETYPE] == mt) & (expected[:, order] > 0)
            assert row[N_FREE_BLOCKS + mt * ORDERS_CAP + order] == expected[has, order].sum()
            base = int(row[N_INDEX_START]) + (mt * ORDERS_CAP + order) * stride
            level0 = memory.free_index[base : base + words0]
            assert (_bits(level0, rows.shape[0]) == has).all()
            level1 = memory.free_index[base + words0 : base + words0 + words1]
            assert (_bits(level1, words0) == (level0 != 0)).all()
            level2 = memory.free_index[base + words0 + words1 : base + stride]
            assert (_bits(level2, words1) == (level1 != 0)).all()
            assert words2 == len(level2)
    per = 1 << (memory.superpageblock_order - pb_order)
    tainted = (rows[:, PB_MIGRATETYPE] != 1) | (rows[:, PB_USED] + rows[:, PB_USED + 2] > 0)
    for head in range(0, rows.shape[0], per):
        assert rows[head, PB_SPB_TAINT] == tainted[head : head + per].sum()
