"""The buddy allocator's kernels: allocation with fallback, claim and steal; free with merging.

Frames are addressed inside a kernel by their offset from the node's first frame; the public
kernels take and return global pfns. The array layout is described in ``layout``.

Choice rule: Linux's free lists are LIFO (``__free_one_page`` and ``expand`` put a block at
the head, and allocation takes the head) except that boot, ``move_freepages_block`` and a
freed block whose merge is likely (``buddy_merge_likely``) go to the tail. Without per-frame
links the lists' order is kept at pageblock granularity: each (migratetype, order) list
remembers the pageblock of its last head insertion and gives a block from there while it has
one (the lowest-addressed of them), otherwise the lowest-addressed block of the list, which
is the order boot leaves. So an allocation reuses the hole the last free left, as under
LIFO, but the list's older entries are not ordered by age. Superpageblock steering
(``alloc``) applies the same rule to the blocks of tainted, or of clean, superpageblocks
first.

Buddies merge as soon as both halves are free: per-CPU lists, which hide freed pages from
merging for a while, are not modelled. Watermark boosting, highatomic and CMA are not
modelled; with one zone per node ``ALLOC_NOFRAGMENT`` collapses to "claim before steal".
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pagelab._kernels.config import at, borrowing_kernel, inline_kernel
from pagelab.memory._bits import (
    ALL_ONES,
    ZERO,
    clear_index_bit,
    exact_order_mask,
    find_next,
    lowest_bit,
    run_mask,
    set_index_bit,
)
from pagelab.memory.layout import (
    CLASS_MOVABLE,
    CLASS_PINNED,
    CLASS_RECLAIMABLE,
    CLASS_UNMOVABLE,
    MIGRATE_MOVABLE,
    MIGRATE_RECLAIMABLE,
    MIGRATE_UNMOVABLE,
    N_ALLOC_FAIL,
    N_ALLOC_SUCCESS,
    N_FALLBACK_CLAIM,
    N_FALLBACK_STEAL,
    N_FRAME_START,
    N_FREE_BLOCKS,
    N_FREE_FRAMES,
    N_INDEX_START,
    N_INDEX_STRIDE,
    N_INDEX_WORDS0,
    N_INDEX_WORDS1,
    N_INDEX_WORDS2,
    N_MAX_ORDER,
    N_PAGEBLOCKS,
    N_PB_ORDER,
    N_PB_START,
    N_RECENT_PB,
    N_SPB_ORDER,
    N_STEERING,
    N_USED,
    N_WORD_START,
    ORDERS_CAP,
    PB_FREE,
    PB_FREE_BLOCKS,
    PB_HUGE,
    PB_MIGRATETYPE,
    PB_SPB_TAINT,
    PB_USED,
)

Words = npt.NDArray[np.uint64]
Blocks = npt.NDArray[np.int16]
Nodes = npt.NDArray[np.int64]

# Where a steered search looks: every superpageblock, tainted ones only, clean ones only.
ANYWHERE = 0
TAINTED = 1
CLEAN = 2


@inline_kernel
def migratetype_of(mobility: int) -> int:
    """The free list a page of this mobility class is allocated from."""
    return MIGRATE_MOVABLE if mobility == CLASS_PINNED else mobility


@inline_kernel
def fallback_type(migratetype: int, choice: int) -> int:
    """``fallbacks[migratetype][choice]`` of mm/page_alloc.c."""
    if migratetype == MIGRATE_UNMOVABLE:
        return MIGRATE_RECLAIMABLE if choice == 0 else MIGRATE_MOVABLE
    if migratetype == MIGRATE_MOVABLE:
        return MIGRATE_RECLAIMABLE if choice == 0 else MIGRATE_UNMOVABLE
    return MIGRATE_UNMOVABLE if choice == 0 else MIGRATE_MOVABLE


@inline_kernel
def index_base(nodes: Nodes, node: int, migratetype: int, order: int) -> int:
    stride = nodes[node, N_INDEX_STRIDE]
    return int(nodes[node, N_INDEX_START] + (migratetype * ORDERS_CAP + order) * stride)


@inline_kernel
def tainted(blocks: Blocks, row: int) -> bool:
    """Whether a pageblock keeps its superpageblock from being a clean 1 GiB candidate."""
    return bool(
        blocks[row, PB_MIGRATETYPE] != MIGRATE_MOVABLE
        or blocks[row, PB_USED + CLASS_UNMOVABLE] + blocks[row, PB_USED + CLASS_RECLAIMABLE] > 0
    )


@inline_kernel
def retaint(blocks: Blocks, nodes: Nodes, node: int, row: int, before: bool) -> None:
    """Update the superpageblock's taint count after a change to pageblock ``row``."""
    after = tainted(blocks, row)
    if after != before:
        first = nodes[node, N_PB_START]
        shift = nodes[node, N_SPB_ORDER] - nodes[node, N_PB_ORDER]
        head = first + (((row - first) >> shift) << shift)
        blocks[head, PB_SPB_TAINT] += 1 if after else -1


@inline_kernel
def add_free_block(
    blocks: Blocks, index: Words, nodes: Nodes, node: int, offset: int, order: int, head: bool
) -> None:
    """List the free block of ``order`` at frame ``offset`` on its pageblock's type; at the
    list's head (``head``: its pageblock becomes the list's most recent) or its tail."""
    local = offset >> nodes[node, N_PB_ORDER]
    row = nodes[node, N_PB_START] + local
    count = blocks[row, PB_FREE_BLOCKS + order]
    blocks[row, PB_FREE_BLOCKS + order] = count + 1
    migratetype = int(blocks[row, PB_MIGRATETYPE])
    nodes[node, N_FREE_BLOCKS + migratetype * ORDERS_CAP + order] += 1
    if head:
        nodes[node, N_RECENT_PB + migratetype * ORDERS_CAP + order] = local
    if count == 0:
        base = index_base(nodes, node, migratetype, order)
        set_index_bit(index, base, nodes[node, N_INDEX_WORDS0], nodes[node, N_INDEX_WORDS1], local)


@inline_kernel
def del_free_block(
    blocks: Blocks, index: Words, nodes: Nodes, node: int, offset: int, order: int
) -> None:
    """Take the free block of ``order`` at frame ``offset`` off its list."""
    local = offset >> nodes[node, N_PB_ORDER]
    row = nodes[node, N_PB_START] + local
    count = blocks[row, PB_FREE_BLOCKS + order] - 1
    blocks[row, PB_FREE_BLOCKS + order] = count
    migratetype = int(blocks[row, PB_MIGRATETYPE])
    nodes[node, N_FREE_BLOCKS + migratetype * ORDERS_CAP + order] -= 1
    if count == 0:
        base = index_base(nodes, node, migratetype, order)
        clear_index_bit(
            index, base, nodes[node, N_INDEX_WORDS0], nodes[node, N_INDEX_WORDS1], local
        )


@borrowing_kernel
def relabel(blocks: Blocks, index: Words, nodes: Nodes, node: int, local: int, new: int) -> None:
    """Set a pageblock's migratetype, moving its listed free blocks to the new type's lists."""
    row = nodes[node, N_PB_START] + local
    old = int(blocks[row, PB_MIGRATETYPE])
    if old == new:
        return
    before = tainted(blocks, row)
    words0 = nodes[node, N_INDEX_WORDS0]
    words1 = nodes[node, N_INDEX_WORDS1]
    for order in range(nodes[node, N_MAX_ORDER] + 1):
        count = blocks[row, PB_FREE_BLOCKS + order]
        if count > 0:
            nodes[node, N_FREE_BLOCKS + old * ORDERS_CAP + order] -= count
            nodes[node, N_FREE_BLOCKS + new * ORDERS_CAP + order] += count
            clear_index_bit(index, index_base(nodes, node, old, order), words0, words1, local)
            set_index_bit(index, index_base(nodes, node, new, order), words0, words1, local)
    blocks[row, PB_MIGRATETYPE] = new
    retaint(blocks, nodes, node, row, before)


@inline_kernel
def mark_frames(
    frames: Words, nodes: Nodes, node: int, offset: int, count: int, used: bool
) -> None:
    """Set (``used``) or clear the in-use bits of an aligned power-of-two run of frames."""
    word = nodes[node, N_WORD_START] + (offset >> 6)
    if count < 64:
        mask = run_mask(offset, count)
        if used:
            frames[at(word)] |= mask
        else:
            frames[at(word)] &= ~mask
        return
    fill = ALL_ONES if used else ZERO
    for w in range(word, word + (count >> 6)):
        frames[at(w)] = fill


@borrowing_kernel
def account(
    blocks: Blocks, nodes: Nodes, node: int, offset: int, count: int, mobility: int, sign: int
) -> None:
    """Count ``count`` frames from ``offset`` as in use (sign 1) or free (sign -1) by class."""
    pb_order = nodes[node, N_PB_ORDER]
    pb_frames = 1 << pb_order
    first = nodes[node, N_PB_START]
    watch = mobility in (CLASS_UNMOVABLE, CLASS_RECLAIMABLE)
    nodes[node, N_USED + mobility] += sign * count
    nodes[node, N_FREE_FRAMES] -= sign * count
    while count > 0:
        row = first + (offset >> pb_order)
        part = min(count, pb_frames - (offset & (pb_frames - 1)))
        before = tainted(blocks, row)
        blocks[row, PB_USED + mobility] += sign * part
        blocks[row, PB_FREE] -= sign * part
        if watch:
            retaint(blocks, nodes, node, row, before)
        offset += part
        count -= part


@borrowing_kernel
def reclass(
    blocks: Blocks, nodes: Nodes, node: int, offset: int, count: int, old: int, new: int
) -> None:
    """Move in-use frames from one mobility class to another (pin, unpin)."""
    account(blocks, nodes, node, offset, count, old, -1)
    account(blocks, nodes, node, offset, count, new, 1)


@inline_kernel
def all_free(
    frames: Words, blocks: Blocks, nodes: Nodes, node: int, offset: int, order: int
) -> bool:
    """Whether every frame of the aligned block of ``order`` at ``offset`` is free."""
    word = nodes[node, N_WORD_START] + (offset >> 6)
    if order < 6:
        return bool(frames[at(word)] & run_mask(offset, 1 << order) == ZERO)
    pb_order = nodes[node, N_PB_ORDER]
    if order < pb_order:
        for w in range(word, word + (1 << (order - 6))):  # noqa: SIM110 (no generators in numba)
            if frames[at(w)] != ZERO:
                return False
        return True
    first = nodes[node, N_PB_START] + (offset >> pb_order)
    for row in range(first, first + (1 << (order - pb_order))):
        if blocks[row, PB_FREE] != 1 << pb_order:
            return False
    return True


@borrowing_kernel
def first_block(frames: Words, nodes: Nodes, node: int, local: int, order: int) -> int:
    """Offset of the lowest free block of exactly ``order`` in pageblock ``local``, or -1."""
    pb_order = nodes[node, N_PB_ORDER]
    start = local << pb_order
    if order >= pb_order:
        return start
    word0 = nodes[node, N_WORD_START] + (start >> 6)
    words = 1 << (pb_order - 6)
    if order < 6:
        for w in range(words):
            used = frames[at(word0 + w)]
            if used != ALL_ONES:
                mask = exact_order_mask(used, order)
                if mask != ZERO:
                    return start + (w << 6) + lowest_bit(mask)
        return -1
    group = 1 << (order - 6)
    for g in range(0, words, group):
        free = True
        for w in range(word0 + g, word0 + g + group):
            if frames[at(w)] != ZERO:
                free = False
                break
        if free:
            sibling = word0 + (g ^ group)
            for w in range(sibling, sibling + group):
                if frames[at(w)] != ZERO:
                    return start + (g << 6)
    return -1


@inline_kernel
def take(
    blocks: Blocks, index: Words, nodes: Nodes, node: int, offset: int, found: int, order: int
) -> None:
    """Unlist the free block of ``found`` order at ``offset`` and give back its upper halves
    down to ``order`` (``expand``); each half goes to its own pageblock's list."""
    del_free_block(blocks, index, nodes, node, offset, found)
    for k in range(found - 1, order - 1, -1):
        add_free_block(blocks, index, nodes, node, offset + (1 << k), k, True)


@borrowing_kernel
def rmqueue_smallest(
    frames: Words,
    blocks: Blocks,
    index: Words,
    nodes: Nodes,
    node: int,
    order: int,
    mt: int,
    where: int,
) -> int:
    """``__rmqueue_smallest``: split the smallest free block of type ``mt`` among the
    superpageblocks ``where`` allows (``pick_pageblock``); offset or -1."""
    for found in range(order, nodes[node, N_MAX_ORDER] + 1):
        if nodes[node, N_FREE_BLOCKS + mt * ORDERS_CAP + found] == 0:
            continue
        local = pick_pageblock(blocks, index, nodes, node, mt, found, where)
        if local < 0:
            continue
        offset = first_block(frames, nodes, node, local, found)
        take(blocks, index, nodes, node, offset, found, order)
        return offset
    return -1


@inline_kernel
def in_scope(blocks: Blocks, head: int, where: int) -> bool:
    """Whether the superpageblock whose first pageblock is row ``head`` is in ``where``."""
    if where == ANYWHERE:
        return True
    return (blocks[head, PB_SPB_TAINT] > 0) == (where == TAINTED)


@borrowing_kernel
def pick_pageblock(
    blocks: Blocks, index: Words, nodes: Nodes, node: int, mt: int, order: int, where: int
) -> int:
    """The pageblock whose free block of ``order`` type ``mt``'s list gives next, or -1:
    the list's most recent pageblock while it still has one there, else the lowest.

    ``where``: only pageblocks of tainted (``TAINTED``) or clean (``CLEAN``)
    superpageblocks count. The search alternates between the bitmap and the taint counts,
    so it costs at most one lookup per superpageblock.
    """
    if nodes[node, N_FREE_BLOCKS + mt * ORDERS_CAP + order] == 0:
        return -1
    shift = nodes[node, N_SPB_ORDER] - nodes[node, N_PB_ORDER]
    first = nodes[node, N_PB_START]
    recent = nodes[node, N_RECENT_PB + mt * ORDERS_CAP + order]
    if recent >= 0:
        row = first + recent
        if (
            blocks[row, PB_MIGRATETYPE] == mt
            and blocks[row, PB_FREE_BLOCKS + order] > 0
            and in_scope(blocks, first + ((recent >> shift) << shift), where)
        ):
            return int(recent)
    base = index_base(nodes, node, mt, order)
    words0 = nodes[node, N_INDEX_WORDS0]
    words1 = nodes[node, N_INDEX_WORDS1]
    words2 = nodes[node, N_INDEX_WORDS2]
    local = find_next(index, base, words0, words1, words2, 0)
    if where == ANYWHERE:
        return local
    count = nodes[node, N_PAGEBLOCKS]
    while local >= 0:
        spb = local >> shift
        if in_scope(blocks, first + (spb << shift), where):
            return local
        spb += 1
        while (spb << shift) < count and not in_scope(blocks, first + (spb << shift), where):
            spb += 1
        if (spb << shift) >= count:
            return -1
        local = find_next(index, base, words0, words1, words2, spb << shift)
    return -1


@borrowing_kernel
def try_to_claim(
    frames: Words,
    blocks: Blocks,
    index: Words,
    nodes: Nodes,
    node: int,
    offset: int,
    found: int,
    order: int,
    mt: int,
    block_mt: int,
) -> int:
    """``try_to_claim_block``: take over the pageblock(s) of a fallback block, or -1."""
    pb_order = nodes[node, N_PB_ORDER]
    local = offset >> pb_order
    if found >= pb_order:
        for pb in range(local, local + (1 << (found - pb_order))):
            relabel(blocks, index, nodes, node, pb, mt)
        take(blocks, index, nodes, node, offset, found, order)
        return offset
    row = nodes[node, N_PB_START] + local
    free = int(blocks[row, PB_FREE])
    movable = int(blocks[row, PB_USED + CLASS_MOVABLE] + blocks[row, PB_USED + CLASS_PINNED])
    if mt == MIGRATE_MOVABLE:
        alike = movable
    elif block_mt == MIGRATE_MOVABLE:
        alike = (1 << pb_order) - free - movable
    else:
        alike = 0  # unmovable and reclaimable pages cannot be told apart
    if free + alike >= 1 << (pb_order - 1):
        relabel(blocks, index, nodes, node, local, mt)
        return rmqueue_smallest(frames, blocks, index, nodes, node, order, mt, ANYWHERE)
    return -1


@borrowing_kernel
def find_fallback(
    blocks: Blocks, index: Words, nodes: Nodes, node: int, mt: int, order: int, where: int
) -> tuple[int, int]:
    """``find_suitable_fallback``: the pageblock of a free block of ``order`` on the first of
    ``mt``'s fallback types that has one, and that type; (-1, -1) if none."""
    for choice in range(2):
        block_mt = fallback_type(mt, choice)
        local = pick_pageblock(blocks, index, nodes, node, block_mt, order, where)
        if local >= 0:
            return local, block_mt
    return -1, -1


@borrowing_kernel
def rmqueue_claim(
    frames: Words,
    blocks: Blocks,
    index: Words,
    nodes: Nodes,
    node: int,
    order: int,
    mt: int,
    where: int,
) -> int:
    """``__rmqueue_claim``: the largest fallback block first, claiming its pageblock."""
    pb_order = nodes[node, N_PB_ORDER]
    for found in range(nodes[node, N_MAX_ORDER], order - 1, -1):
        # should_try_claim_block: small movable requests only steal.
        if found < pb_order // 2 and mt == MIGRATE_MOVABLE:
            break
        local, block_mt = find_fallback(blocks, index, nodes, node, mt, found, where)
        if local < 0:
            continue
        offset = first_block(frames, nodes, node, local, found)
        got = try_to_claim(frames, blocks, index, nodes, node, offset, found, order, mt, block_mt)
        if got >= 0:
            return got
    return -1


@borrowing_kernel
def rmqueue_steal(
    frames: Words,
    blocks: Blocks,
    index: Words,
    nodes: Nodes,
    node: int,
    order: int,
    mt: int,
    where: int,
) -> int:
    """``__rmqueue_steal``: the smallest fallback block, its pageblock label left alone."""
    for found in range(order, nodes[node, N_MAX_ORDER] + 1):
        local, _ = find_fallback(blocks, index, nodes, node, mt, found, where)
        if local >= 0:
            offset = first_block(frames, nodes, node, local, found)
            take(blocks, index, nodes, node, offset, found, order)
            return offset
    return -1


@borrowing_kernel
def rmqueue_fallback(
    frames: Words,
    blocks: Blocks,
    index: Words,
    nodes: Nodes,
    node: int,
    order: int,
    mt: int,
    where: int,
) -> int:
    """Claim, else steal, a fallback block (counted as such); its offset, or -1."""
    offset = rmqueue_claim(frames, blocks, index, nodes, node, order, mt, where)
    if offset >= 0:
        nodes[node, N_FALLBACK_CLAIM] += 1
        return offset
    offset = rmqueue_steal(frames, blocks, index, nodes, node, order, mt, where)
    if offset >= 0:
        nodes[node, N_FALLBACK_STEAL] += 1
    return offset


@borrowing_kernel
def set_huge(blocks: Blocks, nodes: Nodes, node: int, offset: int, order: int, value: int) -> None:
    """Record (value = order) or forget (0) a huge page over the pageblocks it covers."""
    pb_order = nodes[node, N_PB_ORDER]
    first = nodes[node, N_PB_START] + (offset >> pb_order)
    count = 1 << (order - pb_order) if order > pb_order else 1
    for row in range(first, first + count):
        blocks[row, PB_HUGE] = value


@borrowing_kernel
def alloc(
    frames: Words, blocks: Blocks, index: Words, nodes: Nodes, node: int, order: int, mobility: int
) -> int:
    """Allocate ``2^order`` frames (order ≤ MAX_PAGE_ORDER) of a mobility class; pfn or -1.

    Linux ``__rmqueue``: the requested type's lists, then claiming a fallback pageblock, then
    stealing from one. An allocation of pageblock order or above is recorded as a huge page.

    Superpageblock steering (van Riel's RFC), both halves needed to keep kernel pages
    packed: an unmovable or reclaimable request that must fall back first claims, then
    steals, inside superpageblocks that already hold such pages (its own type's blocks lie
    in those already); and a movable request takes a block from a clean superpageblock
    while one has room, so that the holes movable frees leave in tainted superpageblocks
    stay free for kernel allocations instead of being refilled at once by the LIFO lists.

    Parameters
    ----------
    frames, blocks, index, nodes
        ``PhysicalMemory.arrays``.
    node
        Node (tier) number.
    order
        log2 of the frames wanted, 0..MAX_PAGE_ORDER.
    mobility
        ``CLASS_*``: unmovable, movable, reclaimable or pinned (a movable allocation that
        migration cannot move).
    """
    mt = migratetype_of(mobility)
    steering = nodes[node, N_STEERING] != 0
    offset = -1
    if steering and mt == MIGRATE_MOVABLE:
        offset = rmqueue_smallest(frames, blocks, index, nodes, node, order, mt, CLEAN)
    if offset < 0:
        offset = rmqueue_smallest(frames, blocks, index, nodes, node, order, mt, ANYWHERE)
    if offset < 0 and steering and mt != MIGRATE_MOVABLE:
        offset = rmqueue_fallback(frames, blocks, index, nodes, node, order, mt, TAINTED)
    if offset < 0:
        offset = rmqueue_fallback(frames, blocks, index, nodes, node, order, mt, ANYWHERE)
    if offset < 0:
        nodes[node, N_ALLOC_FAIL] += 1
        return -1
    count = 1 << order
    mark_frames(frames, nodes, node, offset, count, True)
    account(blocks, nodes, node, offset, count, mobility, 1)
    if order >= nodes[node, N_PB_ORDER]:
        set_huge(blocks, nodes, node, offset, order, order)
    nodes[node, N_ALLOC_SUCCESS] += 1
    return int(nodes[node, N_FRAME_START] + offset)


@borrowing_kernel
def free_block(
    frames: Words,
    blocks: Blocks,
    index: Words,
    nodes: Nodes,
    node: int,
    offset: int,
    order: int,
    mobility: int,
) -> None:
    """``__free_one_page``: free an in-use block (order ≤ MAX_PAGE_ORDER) and merge buddies.

    A buddy in another pageblock is relabelled to the freed page's type, as Linux does since
    6.10 so that a later ``expand`` puts the halves on the right lists.
    """
    mark_frames(frames, nodes, node, offset, 1 << order, False)
    account(blocks, nodes, node, offset, 1 << order, mobility, -1)
    set_huge(blocks, nodes, node, offset, order, 0)  # a freed page ends any huge page here
    pb_order = nodes[node, N_PB_ORDER]
    mt = int(blocks[nodes[node, N_PB_START] + (offset >> pb_order), PB_MIGRATETYPE])
    max_order = nodes[node, N_MAX_ORDER]
    k = order
    while k < max_order:
        buddy = offset ^ (1 << k)
        if not all_free(frames, blocks, nodes, node, buddy, k):
            break
        del_free_block(blocks, index, nodes, node, buddy, k)
        if k >= pb_order:
            first = buddy >> pb_order
            for local in range(first, first + (1 << (k - pb_order))):
                relabel(blocks, index, nodes, node, local, mt)
        offset &= ~(1 << k)
        k += 1
    # buddy_merge_likely: when the parent's buddy is a free block, this one goes to the tail,
    # to be left alone until its own buddy frees.
    parent_buddy = (offset & ~(1 << k)) ^ (2 << k)
    merge_likely = k < max_order - 1 and all_free(frames, blocks, nodes, node, parent_buddy, k + 1)
    add_free_block(blocks, index, nodes, node, offset, k, not merge_likely)


@borrowing_kernel
def free(
    frames: Words,
    blocks: Blocks,
    index: Words,
    nodes: Nodes,
    node: int,
    pfn: int,
    order: int,
    mobility: int,
) -> None:
    """Free a block ``alloc`` or ``contig_alloc`` returned, with the class it was given.

    A block above MAX_PAGE_ORDER (a contiguous-range page) goes back as MAX_PAGE_ORDER
    blocks, which is as far as the buddy merges.
    """
    offset = pfn - nodes[node, N_FRAME_START]
    max_order = nodes[node, N_MAX_ORDER]
    if order <= max_order:
        free_block(frames, blocks, index, nodes, node, offset, order, mobility)
        return
    for part in range(offset, offset + (1 << order), 1 << max_order):
        free_block(frames, blocks, index, nodes, node, part, max_order, mobility)


@borrowing_kernel
def free_range(
    frames: Words,
    blocks: Blocks,
    index: Words,
    nodes: Nodes,
    node: int,
    offset: int,
    count: int,
    mobility: int,
) -> None:
    """Free any run of in-use frames, as the largest aligned blocks that tile it."""
    max_order = nodes[node, N_MAX_ORDER]
    while count > 0:
        order = max_order
        while order > 0 and ((offset & ((1 << order) - 1)) != 0 or (1 << order) > count):
            order -= 1
        free_block(frames, blocks, index, nodes, node, offset, order, mobility)
        offset += 1 << order
        count -= 1 << order


@borrowing_kernel
def watermark_ok(nodes: Nodes, node: int, order: int, mark: int) -> bool:
    """``__zone_watermark_ok`` without reserves: free frames above ``mark`` after the request
    and, for order > 0, a free block of at least ``order`` on any list."""
    free = nodes[node, N_FREE_FRAMES] - ((1 << order) - 1)
    if free <= mark:
        return False
    if order == 0:
        return True
    for found in range(order, nodes[node, N_MAX_ORDER] + 1):
        for mt in range(3):
            if nodes[node, N_FREE_BLOCKS + mt * ORDERS_CAP + found] > 0:
                return True
    return False


@inline_kernel
def frames_word(frames: Words, nodes: Nodes, node: int, offset: int) -> np.uint64:
    """The in-use bits of the 64 frames from ``offset`` (a multiple of 64)."""
    return frames[at(nodes[node, N_WORD_START] + (offset >> 6))]
