"""Freeing the frames a folio or a page-table page leaves behind.

The simulator does not record which frames back which virtual page (page-table entries hold
no pfn), and every in-use frame of one mobility class in a pageblock is alike to the
allocator: it keeps counts per pageblock and mobility class, not per frame. So when a folio
leaves a node (tier migration, munmap, a split that frees part of it), the node frees *an*
in-use block of the folio's order and class: a huge page of that order (pageblock order and
above), or an aligned all-in-use block inside a pageblock that holds at least that many
frames of the class and no huge page. The search starts at the pageblock of the last free
and goes round the node from there: a bulk free (an munmap of pages faulted together, which
the buddy allocator gave neighbouring frames) frees neighbouring frames, and finds them in
one step each, where moving on after each free would scan a large, mostly free node for
every page. A freed page table is an in-use unmovable frame, found the same way.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pagelab._kernels.config import borrowing_kernel
from pagelab.memory._bits import ALL_ONES, ZERO
from pagelab.memory._buddy import free, set_huge
from pagelab.memory.layout import (
    CLASS_UNMOVABLE,
    N_FRAME_START,
    N_PAGEBLOCKS,
    N_PB_ORDER,
    N_PB_START,
    N_RELEASE_PB,
    N_RELEASED,
    N_WORD_START,
    PB_HUGE,
    PB_USED,
)

Words = npt.NDArray[np.uint64]
Blocks = npt.NDArray[np.int16]
Nodes = npt.NDArray[np.int64]


@borrowing_kernel
def _used_block(frames: Words, nodes: Nodes, node: int, pb_offset: int, pb_order: int,
                order: int) -> int:  # fmt: skip
    """Offset of the first aligned block of ``2^order`` in-use frames in the pageblock at
    ``pb_offset``, or -1."""
    first_word = nodes[node, N_WORD_START] + (pb_offset >> 6)
    words = max(1, (1 << pb_order) >> 6)
    if order >= 6:
        group = 1 << (order - 6)
        for start in range(0, words, group):
            full = True
            for w in range(start, start + group):
                if frames[first_word + w] != ALL_ONES:
                    full = False
                    break
            if full:
                return pb_offset + (start << 6)
        return -1
    width = 1 << order
    mask = (np.uint64(1) << np.uint64(width)) - np.uint64(1) if width < 64 else ALL_ONES
    for w in range(words):
        word = frames[first_word + w]
        if word == ZERO:
            continue
        for bit in range(0, 64, width):
            if (word >> np.uint64(bit)) & mask == mask:
                return pb_offset + (w << 6) + bit
    return -1


@borrowing_kernel
def release(
    frames: Words, blocks: Blocks, index: Words, nodes: Nodes, node: int, order: int,
    mobility: int,
) -> int:  # fmt: skip
    """Free one in-use block of ``order`` and class ``mobility`` on ``node`` (see the
    module); its pfn, or -1 when the node holds none.

    Below pageblock order, when no aligned all-in-use block is left (earlier single-frame
    frees, which pick their frame anywhere, punched holes into every such block), as many
    single frames are freed instead: the counts stay right, the place was never known."""
    pfn = _release_block(frames, blocks, index, nodes, node, order, mobility)
    if pfn >= 0 or order == 0 or order >= nodes[node, N_PB_ORDER]:
        return pfn
    for _ in range(1 << order):
        pfn = _release_block(frames, blocks, index, nodes, node, 0, mobility)
    return pfn


@borrowing_kernel
def _release_block(
    frames: Words, blocks: Blocks, index: Words, nodes: Nodes, node: int, order: int,
    mobility: int,
) -> int:  # fmt: skip
    """``release`` of one aligned block, or -1."""
    pb_order = nodes[node, N_PB_ORDER]
    count = nodes[node, N_PAGEBLOCKS]
    step = 1 << (order - pb_order) if order > pb_order else 1
    start = nodes[node, N_RELEASE_PB] // step * step
    first_row = nodes[node, N_PB_START]
    for i in range(0, count, step):
        local = (start + i) % count
        row = first_row + local
        if order >= pb_order:
            if blocks[row, PB_HUGE] != order or blocks[row, PB_USED + mobility] == 0:
                continue
            offset = local << pb_order
        else:
            if blocks[row, PB_HUGE] != 0 or blocks[row, PB_USED + mobility] < (1 << order):
                continue
            offset = _used_block(frames, nodes, node, local << pb_order, pb_order, order)
            if offset < 0:
                continue
        pfn = nodes[node, N_FRAME_START] + offset
        free(frames, blocks, index, nodes, node, pfn, order, mobility)
        nodes[node, N_RELEASE_PB] = local
        nodes[node, N_RELEASED] += 1
        return pfn
    return -1


@borrowing_kernel
def release_table(frames: Words, blocks: Blocks, index: Words, nodes: Nodes) -> int:
    """Free one page-table page: an in-use unmovable frame on the first node holding one
    (tables are allocated fast tier first). Its node, or -1 when no node holds one."""
    for node in range(nodes.shape[0]):
        if release(frames, blocks, index, nodes, node, 0, CLASS_UNMOVABLE) >= 0:
            return node
    return -1


@borrowing_kernel
def split_huge(blocks: Blocks, nodes: Nodes, node: int, order: int, new_order: int) -> int:
    """A huge page of ``order`` on ``node`` becomes folios of ``new_order`` (a THP split):
    the first one found from the release cursor is re-marked, as huge pages of
    ``new_order`` from pageblock order up, else as no huge page. Its offset, or -1 when the
    node holds none."""
    pb_order = nodes[node, N_PB_ORDER]
    count = nodes[node, N_PAGEBLOCKS]
    step = 1 << (order - pb_order)
    start = nodes[node, N_RELEASE_PB] // step * step
    first_row = nodes[node, N_PB_START]
    for i in range(0, count, step):
        local = (start + i) % count
        if blocks[first_row + local, PB_HUGE] != order:
            continue
        mark = new_order if new_order >= pb_order else 0
        for part in range(local, local + step, 1 << max(0, new_order - pb_order)):
            set_huge(blocks, nodes, node, part << pb_order, max(new_order, pb_order), mark)
        return local << pb_order
    return -1
