"""Kernels that move pages: contiguous-range allocation and compaction (reference §2.2, §3).

Migration moves occupancy, not identity: the allocator does not know which caller owns a
frame, so each moved frame is reported as an (old pfn, new pfn, frames) record in the
caller's ``moves`` buffer (consecutive frames that land consecutively share a record), and a
caller that keeps pfns of movable pages remaps them from it. Frames move one at a time, so a
large folio moved by ``contig_alloc`` is not kept contiguous; compaction skips pageblocks
that hold a huge page, as ``isolate_migratepages_block`` skips compound pages.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pagelab._kernels.config import at, borrowing_kernel, inline_kernel
from pagelab.memory._bits import ALL_ONES, ONE, ZERO, clear_index_bit, lowest_bit
from pagelab.memory._buddy import (
    account,
    add_free_block,
    alloc,
    del_free_block,
    first_block,
    free_block,
    free_range,
    index_base,
    mark_frames,
    migratetype_of,
    relabel,
    retaint,
    tainted,
)
from pagelab.memory._fragmentation import (
    extfrag_for_order,
    fragmentation_index,
    node_fragmentation_score,
)
from pagelab.memory.layout import (
    CLASS_MOVABLE,
    CLASS_PINNED,
    CLASS_RECLAIMABLE,
    CLASS_UNMOVABLE,
    CLASSES,
    COMPACT_COMPLETE,
    COMPACT_DEFERRED,
    COMPACT_MAX_DEFER_SHIFT,
    COMPACT_NOT_NEEDED,
    COMPACT_SKIPPED,
    COMPACT_SUCCESS,
    MIGRATE_MOVABLE,
    MIGRATETYPES,
    MOVE_WIDTH,
    N_CACHED_FREE_PB,
    N_CACHED_MIGRATE_PB,
    N_COMPACT_DEFERRED,
    N_COMPACT_FAIL,
    N_COMPACT_FREE_SCANNED,
    N_COMPACT_MIGRATE_SCANNED,
    N_COMPACT_PAGES_MIGRATED,
    N_COMPACT_STALL,
    N_COMPACT_SUCCESS,
    N_CONTIG_CANDIDATES,
    N_CONTIG_FAIL,
    N_CONTIG_PAGES_MIGRATED,
    N_CONTIG_PAGES_SCANNED,
    N_CONTIG_SUCCESS,
    N_DEFER_CONSIDERED,
    N_DEFER_SHIFT,
    N_EXTFRAG_THRESHOLD,
    N_FRAME_START,
    N_FRAMES,
    N_FREE_BLOCKS,
    N_FREE_FRAMES,
    N_INDEX_WORDS0,
    N_INDEX_WORDS1,
    N_MAX_ORDER,
    N_MOVES_DROPPED,
    N_MOVES_RECORDED,
    N_ORDER_FAILED,
    N_PAGEBLOCKS,
    N_PB_ORDER,
    N_PB_START,
    N_PROACTIVE_RUNS,
    N_RECENT_PB,
    N_SPB_ORDER,
    N_USED,
    N_WMARK_LOW,
    N_WMARK_MIN,
    N_WORD_START,
    ORDERS_CAP,
    PAGE_ALLOC_COSTLY_ORDER,
    PB_FREE,
    PB_FREE_BLOCKS,
    PB_HUGE,
    PB_MIGRATETYPE,
    PB_USED,
)

Words = npt.NDArray[np.uint64]
Blocks = npt.NDArray[np.int16]
Nodes = npt.NDArray[np.int64]
Moves = npt.NDArray[np.int64]


@borrowing_kernel
def init_node(frames: Words, blocks: Blocks, index: Words, nodes: Nodes, node: int) -> None:
    """List a new node's memory as free MAX_PAGE_ORDER blocks, in address order (boot
    frees to the tail, ``FPI_TO_TAIL``)."""
    max_order = nodes[node, N_MAX_ORDER]
    count = nodes[node, N_FRAMES]
    for offset in range(0, count, 1 << max_order):
        add_free_block(blocks, index, nodes, node, offset, max_order, False)
    nodes[node, N_FREE_FRAMES] = count
    nodes[node, N_RECENT_PB : N_RECENT_PB + MIGRATETYPES * ORDERS_CAP] = -1
    reset_cached_positions(nodes, node)


@borrowing_kernel
def reset_cached_positions(nodes: Nodes, node: int) -> None:
    """``reset_cached_positions``: the next run's scanners start from the node's ends."""
    nodes[node, N_CACHED_MIGRATE_PB] = 0
    nodes[node, N_CACHED_FREE_PB] = nodes[node, N_PAGEBLOCKS] - 1


@inline_kernel
def clear_moves(nodes: Nodes, node: int) -> None:
    """Start a call's move records (the caller's buffer is written from its start)."""
    nodes[node, N_MOVES_RECORDED] = 0
    nodes[node, N_MOVES_DROPPED] = 0


@inline_kernel
def stuck_frames(blocks: Blocks, row: int) -> int:
    """In-use frames of a pageblock that migration cannot move: unmovable, reclaimable
    (slab is not migrated) and pinned."""
    return int(
        blocks[row, PB_USED + CLASS_UNMOVABLE]
        + blocks[row, PB_USED + CLASS_RECLAIMABLE]
        + blocks[row, PB_USED + CLASS_PINNED]
    )


@borrowing_kernel
def record_move(moves: Moves, nodes: Nodes, node: int, old: int, new: int) -> None:
    """Append a one-frame move, extending the last record when both ends are consecutive."""
    recorded = nodes[node, N_MOVES_RECORDED]
    if recorded > 0:
        last = (recorded - 1) * MOVE_WIDTH
        count = moves[last + 2]
        if moves[last] + count == old and moves[last + 1] + count == new:
            moves[last + 2] = count + 1
            return
    if (recorded + 1) * MOVE_WIDTH <= moves.shape[0]:
        slot = recorded * MOVE_WIDTH
        moves[slot] = old
        moves[slot + 1] = new
        moves[slot + 2] = 1
        nodes[node, N_MOVES_RECORDED] = recorded + 1
    else:
        nodes[node, N_MOVES_DROPPED] += 1


@borrowing_kernel
def contig_alloc(
    frames: Words,
    blocks: Blocks,
    index: Words,
    nodes: Nodes,
    moves: Moves,
    node: int,
    order: int,
    mobility: int,
    may_migrate: bool,
) -> int:
    """``alloc_contig_pages`` for one node: the first aligned range of ``2^order`` frames
    (order > MAX_PAGE_ORDER) that can be made free; its first pfn, or -1.

    Candidates start at the node's first ``2^order``-aligned pfn and step by the size. The
    pre-check reads per-pageblock counts: any unmovable, reclaimable or pinned page fails the
    candidate at once (a pin would fail migration), as does a gigantic page already there.
    Otherwise its in-use (movable) frames move, one by one, to frames allocated from the
    buddy as movable, outside the range (its free blocks are taken off the lists first, as
    isolation does); a candidate fails if the node lacks that many free frames elsewhere, or
    if it holds movable pages and ``may_migrate`` is false. The range becomes one in-use
    block of ``mobility``, its pageblocks labelled with that class's type.

    Statistics: candidates, pages scanned (the frames of each pageblock the pre-check reads,
    plus every frame of a range that is migrated), pages migrated.
    """
    clear_moves(nodes, node)
    start = nodes[node, N_FRAME_START]
    end = start + nodes[node, N_FRAMES]
    count = 1 << order
    pb_order = nodes[node, N_PB_ORDER]
    pb_frames = 1 << pb_order
    spb_order = nodes[node, N_SPB_ORDER]
    per_range = count >> pb_order
    candidate = (start + count - 1) // count * count
    while candidate + count <= end:
        nodes[node, N_CONTIG_CANDIDATES] += 1
        offset = candidate - start
        first = nodes[node, N_PB_START] + (offset >> pb_order)
        movable = 0
        free = 0
        usable = True
        for row in range(first, first + per_range):
            nodes[node, N_CONTIG_PAGES_SCANNED] += pb_frames
            if stuck_frames(blocks, row) > 0 or blocks[row, PB_HUGE] >= spb_order:
                usable = False
                break
            movable += blocks[row, PB_USED + CLASS_MOVABLE]
            free += blocks[row, PB_FREE]
        short = not may_migrate or nodes[node, N_FREE_FRAMES] - free < movable
        if usable and movable > 0 and short:
            usable = False
        if usable:
            if movable > 0:
                nodes[node, N_CONTIG_PAGES_SCANNED] += count
            _take_range(frames, blocks, index, nodes, moves, node, offset, order, mobility)
            nodes[node, N_CONTIG_PAGES_MIGRATED] += movable
            nodes[node, N_CONTIG_SUCCESS] += 1
            return int(candidate)
        candidate += count
    nodes[node, N_CONTIG_FAIL] += 1
    return -1


@borrowing_kernel
def _take_range(
    frames: Words,
    blocks: Blocks,
    index: Words,
    nodes: Nodes,
    moves: Moves,
    node: int,
    offset: int,
    order: int,
    mobility: int,
) -> None:
    """Isolate, empty and allocate a range that the pre-check accepted."""
    count = 1 << order
    pb_order = nodes[node, N_PB_ORDER]
    first_local = offset >> pb_order
    first = nodes[node, N_PB_START] + first_local
    per_range = count >> pb_order
    max_order = nodes[node, N_MAX_ORDER]
    words0 = nodes[node, N_INDEX_WORDS0]
    words1 = nodes[node, N_INDEX_WORDS1]
    # Isolate: no free block of the range stays listed, so migration targets land outside.
    for local in range(first_local, first_local + per_range):
        row = first - first_local + local
        mt = int(blocks[row, PB_MIGRATETYPE])
        for found in range(max_order + 1):
            listed = blocks[row, PB_FREE_BLOCKS + found]
            if listed > 0:
                blocks[row, PB_FREE_BLOCKS + found] = 0
                nodes[node, N_FREE_BLOCKS + mt * ORDERS_CAP + found] -= listed
                clear_index_bit(index, index_base(nodes, node, mt, found), words0, words1, local)
    start = nodes[node, N_FRAME_START]
    word0 = nodes[node, N_WORD_START] + (offset >> 6)
    # A huge page in the range moves whole to a free block of its order, as migrate_pages
    # moves a THP when the destination has room (it stays a huge page, which its mapping and
    # a later free rely on); without room its frames move one by one below (the THP is split
    # to migrate). The range's frames are all overwritten below, so clearing a moved page's
    # bits here only keeps the loop below from moving them again.
    for local in range(first_local, first_local + per_range):
        huge = int(blocks[first - first_local + local, PB_HUGE])
        if huge == 0 or huge > max_order or (local - first_local) & ((1 << (huge - pb_order)) - 1):
            continue  # not the first pageblock of a huge page the buddy can give
        target = alloc(frames, blocks, index, nodes, node, huge, CLASS_MOVABLE)
        if target < 0:
            continue
        source = local << pb_order
        for frame in range(1 << huge):
            record_move(moves, nodes, node, start + source + frame, target + frame)
        first_word = nodes[node, N_WORD_START] + (source >> 6)
        for w in range(max(1, (1 << huge) >> 6)):
            frames[at(first_word + w)] = ZERO
    for w in range(count >> 6):
        used = frames[at(word0 + w)]
        while used != ZERO:
            source = offset + (w << 6) + lowest_bit(used)
            used &= used - ONE
            target = alloc(frames, blocks, index, nodes, node, 0, CLASS_MOVABLE)
            record_move(moves, nodes, node, start + source, target)
    # The range is one block now: every frame in use, of the caller's class.
    mt = migratetype_of(mobility)
    for w in range(count >> 6):
        frames[at(word0 + w)] = ALL_ONES
    free = 0
    movable = 0
    for local in range(first_local, first_local + per_range):
        row = first - first_local + local
        relabel(blocks, index, nodes, node, local, mt)
        before = tainted(blocks, row)
        free += blocks[row, PB_FREE]
        movable += blocks[row, PB_USED + CLASS_MOVABLE]
        for cls in range(CLASSES):
            blocks[row, PB_USED + cls] = 0
        blocks[row, PB_USED + mobility] = 1 << pb_order
        blocks[row, PB_FREE] = 0
        blocks[row, PB_HUGE] = order
        retaint(blocks, nodes, node, row, before)
    nodes[node, N_FREE_FRAMES] -= free
    nodes[node, N_USED + CLASS_MOVABLE] -= movable
    nodes[node, N_USED + mobility] += count


@borrowing_kernel
def suitable_block_free(nodes: Nodes, node: int, order: int) -> bool:
    """``__compact_finished``'s test: a free block of ``order`` or more on the movable list,
    or on a fallback list at an order a movable request may claim."""
    pb_order = nodes[node, N_PB_ORDER]
    for found in range(order, nodes[node, N_MAX_ORDER] + 1):
        if nodes[node, N_FREE_BLOCKS + MIGRATE_MOVABLE * ORDERS_CAP + found] > 0:
            return True
        if found >= pb_order // 2:
            for mt in range(MIGRATETYPES):
                if nodes[node, N_FREE_BLOCKS + mt * ORDERS_CAP + found] > 0:
                    return True
    return False


@borrowing_kernel
def goal_reached(nodes: Nodes, node: int, goal_order: int, goal_score: int) -> bool:
    """A compaction run's stop test: a free block of ``goal_order`` (≥ 0) usable by a
    movable request, or else the node's extfrag at pageblock order at most ``goal_score``."""
    if goal_order >= 0:
        return suitable_block_free(nodes, node, goal_order)
    return extfrag_for_order(nodes, node, nodes[node, N_PB_ORDER]) <= goal_score


@borrowing_kernel
def compaction_suitable(nodes: Nodes, node: int, order: int) -> bool:
    """Order-0 free frames above min + ``compact_gap`` (2 << order), plus low − min for
    costly orders; then, for costly orders, a fragmentation index outside
    [0, extfrag_threshold] (inside it, failure is from lack of memory: reclaim instead)."""
    mark = nodes[node, N_WMARK_MIN] + (2 << order)
    if order > PAGE_ALLOC_COSTLY_ORDER:
        mark += nodes[node, N_WMARK_LOW] - nodes[node, N_WMARK_MIN]
    if nodes[node, N_FREE_FRAMES] <= mark:
        return False
    if order > PAGE_ALLOC_COSTLY_ORDER:
        index = fragmentation_index(nodes, node, order)
        if 0 <= index <= nodes[node, N_EXTFRAG_THRESHOLD]:
            return False
    return True


@borrowing_kernel
def compaction_deferred(nodes: Nodes, node: int, order: int) -> bool:
    """``compaction_deferred``: skip 2^compact_defer_shift attempts after a failure."""
    if order < nodes[node, N_ORDER_FAILED]:
        return False
    limit = 1 << nodes[node, N_DEFER_SHIFT]
    nodes[node, N_DEFER_CONSIDERED] += 1
    if nodes[node, N_DEFER_CONSIDERED] >= limit:
        nodes[node, N_DEFER_CONSIDERED] = limit
        return False
    return True


@borrowing_kernel
def defer_compaction(nodes: Nodes, node: int, order: int) -> None:
    nodes[node, N_DEFER_CONSIDERED] = 0
    nodes[node, N_DEFER_SHIFT] = min(nodes[node, N_DEFER_SHIFT] + 1, COMPACT_MAX_DEFER_SHIFT)
    if order < nodes[node, N_ORDER_FAILED]:
        nodes[node, N_ORDER_FAILED] = order


@borrowing_kernel
def compaction_restarting(nodes: Nodes, node: int, order: int) -> bool:
    """``compaction_restarting``: deferral ran its full course (shift 6, 64 attempts
    considered), so the scanners start afresh (``__reset_isolation_suitable``)."""
    if order < nodes[node, N_ORDER_FAILED]:
        return False
    return bool(
        nodes[node, N_DEFER_SHIFT] == COMPACT_MAX_DEFER_SHIFT
        and nodes[node, N_DEFER_CONSIDERED] >= 1 << COMPACT_MAX_DEFER_SHIFT
    )


@borrowing_kernel
def compaction_defer_reset(nodes: Nodes, node: int, order: int) -> None:
    nodes[node, N_DEFER_CONSIDERED] = 0
    nodes[node, N_DEFER_SHIFT] = 0
    if order >= nodes[node, N_ORDER_FAILED]:
        nodes[node, N_ORDER_FAILED] = order + 1


@borrowing_kernel
def _lowest_target(
    frames: Words, blocks: Blocks, nodes: Nodes, node: int, local: int, below: int
) -> tuple[int, int]:
    """The lowest free block of order < ``below`` in pageblock ``local``: (offset, order)."""
    row = nodes[node, N_PB_START] + local
    best = -1
    best_order = -1
    for found in range(min(below, nodes[node, N_PB_ORDER])):
        if blocks[row, PB_FREE_BLOCKS + found] > 0:
            offset = first_block(frames, nodes, node, local, found)
            if best < 0 or offset < best:
                best = offset
                best_order = found
    return best, best_order


@borrowing_kernel
def _scanners(
    frames: Words,
    blocks: Blocks,
    index: Words,
    nodes: Nodes,
    moves: Moves,
    node: int,
    target_below: int,
    goal_order: int,
    goal_score: int,
    whole_node: bool,
) -> bool:
    """One compaction run over the node; whether the goal was reached.

    Modelled at pageblock granularity: the migrate scanner walks up and evacuates, whole,
    each pageblock whose in-use pages are all movable and unpinned (and that is not a huge
    page); a pageblock holding any other page is skipped (Linux would still move its movable
    pages, which cannot free the block). The free scanner walks down and takes free blocks of
    order < ``target_below`` in MOVABLE pageblocks, lowest first within a pageblock
    (``suitable_migration_target``). The goal is checked after each source pageblock: a free
    block of ``goal_order`` (≥ 0) usable by a movable request, or else the node score at or
    below ``goal_score``.

    The scanners start where the last run left them (``compact_cached_migrate_pfn``,
    ``compact_cached_free_pfn``), or at the node's ends for a ``whole_node`` run (proactive
    compaction, ``cc->whole_zone``). A run that stops at its goal leaves the migrate position
    after the last source pageblock and the free position at the pageblock the free scanner
    was taking from (its unused pages are released there, so it is scanned again); the cached
    positions only move inwards, so a whole-node run does not undo a direct run's progress.
    When the scanners meet, both go back to the ends (``reset_cached_positions``). Linux
    advances the migrate position past a block only when nothing was isolated from it, so it
    rescans a block it emptied once more; here an evacuated block is not revisited.
    """
    pb_order = nodes[node, N_PB_ORDER]
    pb_frames = 1 << pb_order
    first = nodes[node, N_PB_START]
    start = nodes[node, N_FRAME_START]
    if whole_node:
        source = 0
        target_pb = nodes[node, N_PAGEBLOCKS] - 1
    else:
        source = nodes[node, N_CACHED_MIGRATE_PB]
        target_pb = nodes[node, N_CACHED_FREE_PB]
    target_visited = False
    target = 0  # next frame of the isolated target block
    target_left = 0
    met = False
    done = False
    while source < target_pb and not met:
        row = first + source
        nodes[node, N_COMPACT_MIGRATE_SCANNED] += pb_frames
        movable = blocks[row, PB_USED + CLASS_MOVABLE]
        if movable > 0 and stuck_frames(blocks, row) == 0 and blocks[row, PB_HUGE] == 0:
            word0 = nodes[node, N_WORD_START] + ((source << pb_order) >> 6)
            for w in range(pb_frames >> 6):
                used = frames[at(word0 + w)]
                while used != ZERO:
                    while target_left == 0:
                        if target_pb <= source:
                            met = True
                            break
                        if not target_visited:
                            nodes[node, N_COMPACT_FREE_SCANNED] += pb_frames
                            target_visited = True
                        trow = first + target_pb
                        offset = -1
                        found = -1
                        if (
                            blocks[trow, PB_MIGRATETYPE] == MIGRATE_MOVABLE
                            and blocks[trow, PB_FREE] > 0
                        ):
                            offset, found = _lowest_target(
                                frames, blocks, nodes, node, target_pb, target_below
                            )
                        if offset < 0:
                            target_pb -= 1
                            target_visited = False
                            continue
                        del_free_block(blocks, index, nodes, node, offset, found)
                        mark_frames(frames, nodes, node, offset, 1 << found, True)
                        account(blocks, nodes, node, offset, 1 << found, CLASS_MOVABLE, 1)
                        target = offset
                        target_left = 1 << found
                    if met:
                        break
                    moved = (source << pb_order) + (w << 6) + lowest_bit(used)
                    used &= used - ONE
                    record_move(moves, nodes, node, start + moved, start + target)
                    free_block(frames, blocks, index, nodes, node, moved, 0, CLASS_MOVABLE)
                    nodes[node, N_COMPACT_PAGES_MIGRATED] += 1
                    target += 1
                    target_left -= 1
                if met:
                    break
        done = goal_reached(nodes, node, goal_order, goal_score)
        if done:
            break
        source += 1
    if target_left > 0:  # release_freepages: isolated targets left unused go back
        free_range(frames, blocks, index, nodes, node, target, target_left, CLASS_MOVABLE)
    if met or source >= target_pb:
        reset_cached_positions(nodes, node)
    else:
        nodes[node, N_CACHED_MIGRATE_PB] = max(nodes[node, N_CACHED_MIGRATE_PB], source + 1)
        nodes[node, N_CACHED_FREE_PB] = min(nodes[node, N_CACHED_FREE_PB], target_pb)
    return done or goal_reached(nodes, node, goal_order, goal_score)


@borrowing_kernel
def compact(
    frames: Words, blocks: Blocks, index: Words, nodes: Nodes, moves: Moves, node: int, order: int
) -> int:
    """Direct compaction for ``order`` ≤ MAX_PAGE_ORDER; a ``COMPACT_*`` code.

    Not needed when a suitable free block exists; deferred (``compaction_deferred``); skipped
    when ``compaction_suitable`` says no (watermark min); otherwise one run of the scanners
    (``_scanners``, from the cached positions; from the ends when ``compaction_restarting``),
    counted as a stall, then a success (deferral reset) or a failure (``defer_compaction``).
    A run that resumed part-way and met the free scanner without success is retried once
    from the ends, as the slow path retries Linux's ``COMPACT_PARTIAL_SKIPPED``; only a run
    over the whole node fails. Async and sync modes are one mode here.
    """
    clear_moves(nodes, node)
    if suitable_block_free(nodes, node, order):
        return COMPACT_NOT_NEEDED
    if compaction_deferred(nodes, node, order):
        nodes[node, N_COMPACT_DEFERRED] += 1
        return COMPACT_DEFERRED
    if not compaction_suitable(nodes, node, order):
        return COMPACT_SKIPPED
    if compaction_restarting(nodes, node, order):
        reset_cached_positions(nodes, node)
    nodes[node, N_COMPACT_STALL] += 1
    resumed = (
        nodes[node, N_CACHED_MIGRATE_PB] > 0
        or nodes[node, N_CACHED_FREE_PB] < nodes[node, N_PAGEBLOCKS] - 1
    )
    done = _scanners(frames, blocks, index, nodes, moves, node, order, order, 0, False)
    if not done and resumed:
        # The scanners met part-way (COMPACT_PARTIAL_SKIPPED) and went back to the ends:
        # the allocation's slow path retries (should_compact_retry), from there.
        done = _scanners(frames, blocks, index, nodes, moves, node, order, order, 0, False)
    if done:
        nodes[node, N_COMPACT_SUCCESS] += 1
        compaction_defer_reset(nodes, node, order)
        return COMPACT_SUCCESS
    nodes[node, N_COMPACT_FAIL] += 1
    defer_compaction(nodes, node, order)
    return COMPACT_COMPLETE


@borrowing_kernel
def proactive_compact(
    frames: Words,
    blocks: Blocks,
    index: Words,
    nodes: Nodes,
    moves: Moves,
    node: int,
    proactiveness: int,
) -> int:
    """One kcompactd proactive check (§3.1): low = 100 − proactiveness, high = min(low +
    min(10, low/2), 100); when the node score exceeds high, compact the whole node (free
    blocks below pageblock order are targets) until the score is at most low. The run
    scans from the node's ends (``whole_zone``), as ``proactive_compact_node`` does."""
    clear_moves(nodes, node)
    if proactiveness == 0:
        return COMPACT_SKIPPED
    low = 100 - proactiveness
    high = min(low + min(10, low // 2), 100)
    pb_order = nodes[node, N_PB_ORDER]
    if node_fragmentation_score(nodes, node, pb_order) <= high:
        return COMPACT_NOT_NEEDED
    nodes[node, N_PROACTIVE_RUNS] += 1
    if _scanners(frames, blocks, index, nodes, moves, node, pb_order, -1, low, True):
        return COMPACT_SUCCESS
    return COMPACT_COMPLETE
