"""Contiguous-range allocation, compaction and fragmentation indices, worked by hand
(4 KiB frames: a 1 GiB page is order 18 = 262,144 frames = 512 pageblocks)."""

from __future__ import annotations

import numpy as np

from pagelab.memory import PhysicalMemory
from pagelab.memory._fragmentation import (
    extfrag_for_order,
    fragmentation_index,
    unusable_free_index,
)
from pagelab.memory.layout import (
    CLASS_MOVABLE,
    CLASS_UNMOVABLE,
    COMPACT_COMPLETE,
    COMPACT_DEFERRED,
    COMPACT_SUCCESS,
    MAP_HUGE_PUD,
    N_FREE_BLOCKS,
    NODE_WIDTH,
)

from .invariants import check

MIB = 1 << 20
GIB = 1 << 30
ORDER_1G = 18
FRAMES_1G = 1 << ORDER_1G


def test_contig_alloc_skips_an_unmovable_page_and_a_pin_and_migrates_movable_pages() -> None:
    memory = PhysicalMemory([3 * GIB])
    assert [memory.alloc(0, 0, CLASS_MOVABLE) for _ in range(100)] == list(range(100))
    assert memory.alloc(0, 0, CLASS_UNMOVABLE) == 1024  # claims the next order-10 block
    # Without migration only a fully free range will do: the second 1 GiB.
    assert memory.contig_alloc(0, ORDER_1G, may_migrate=False) == FRAMES_1G
    assert memory.pageblock_map(0)[512:1024].tolist() == [MAP_HUGE_PUD] * 512
    memory.free(0, FRAMES_1G, ORDER_1G, CLASS_MOVABLE)
    # The unmovable page fails the first candidate at once, migration or not.
    assert memory.contig_alloc(0, ORDER_1G) == FRAMES_1G
    memory.free(0, FRAMES_1G, ORDER_1G, CLASS_MOVABLE)
    memory.free(0, 1024, 0, CLASS_UNMOVABLE)
    memory.pin(0, 5, 0)  # so does a pin
    assert memory.contig_alloc(0, ORDER_1G) == FRAMES_1G
    memory.free(0, FRAMES_1G, ORDER_1G, CLASS_MOVABLE)
    memory.unpin(0, 5, 0)
    before = memory.statistics(0)
    moves = np.zeros(30, dtype=np.int64)
    assert memory.contig_alloc(0, ORDER_1G, moves=moves) == 0
    after = memory.statistics(0)
    assert after["contig_pages_migrated"] - before["contig_pages_migrated"] == 100
    assert after["contig_candidates"] - before["contig_candidates"] == 1
    # The 100 pages land, in order, in the order-10 block freed last (LIFO): the top 4 MiB
    # of the second GiB, whose 1 GiB page went back as 256 order-10 blocks, lowest first.
    assert memory.moves_recorded(0) == 1
    assert moves[:3].tolist() == [0, 2 * FRAMES_1G - 1024, 100]
    assert memory.used_frames(0)["movable"] == FRAMES_1G + 100
    check(memory)


def test_contig_alloc_fails_without_enough_free_memory_outside_the_range() -> None:
    memory = PhysicalMemory([GIB + 4 * MIB])  # 1 GiB candidate + one spare order-10 block
    for _ in range(3):
        memory.alloc(0, 10, CLASS_MOVABLE)  # 3072 movable frames in the 1 GiB range
    assert memory.contig_alloc(0, ORDER_1G) == -1  # 1024 free outside < 3072 to move
    memory.free(0, 2048, 10, CLASS_MOVABLE)
    memory.free(0, 1024, 10, CLASS_MOVABLE)
    assert memory.contig_alloc(0, ORDER_1G) == 0  # 1024 to move, 1024 free outside
    assert memory.statistics(0)["contig_pages_migrated"] == 1024
    assert memory.free_frames(0) == 0
    check(memory)


def _every_other_frame_free(capacity: int) -> PhysicalMemory:
    memory = PhysicalMemory([capacity])
    frames = memory.node_frames(0)
    assert [memory.alloc(0, 0, CLASS_MOVABLE) for _ in range(frames)] == list(range(frames))
    for pfn in range(1, frames, 2):
        memory.free(0, pfn, 0, CLASS_MOVABLE)
    return memory


def test_compaction_evacuates_the_lowest_pageblock_into_the_highest() -> None:
    # 16 MiB = 8 pageblocks, every other frame free: 2048 free order-0 blocks, nothing larger.
    # Suitable: 2048 free > min 204 + compact_gap 1024 + (low − min) 51; fragmentation index
    # for order 9 = 1000 − (1000 + 1000·2048/512)/2048 = 998 > 500.
    memory = _every_other_frame_free(16 * MIB)
    assert memory.fragmentation_index(0, 9) == 998
    moves = np.zeros(3 * 300, dtype=np.int64)
    assert memory.compact(0, 9, moves=moves)
    assert memory.compact_result == COMPACT_SUCCESS
    stats = memory.statistics(0)
    # Pageblock 0's 256 movable pages go to pageblock 7's 256 free frames (odd pfns).
    assert stats["compact_pages_migrated"] == 256
    assert stats["compact_migrate_scanned"] == 512
    assert stats["compact_free_scanned"] == 512
    assert (stats["compact_stall"], stats["compact_success"]) == (1, 1)
    assert memory.free_blocks(0)[9] == 1
    assert moves[:6].tolist() == [0, 3585, 1, 2, 3587, 1]
    assert memory.moves_recorded(0) == 256
    check(memory)


def _compact_work(memory: PhysicalMemory, moves: np.ndarray) -> tuple[int, int, list[int]]:
    """Compact for order 9; (migrate-scanned frames, free-scanned frames, first move)."""
    before = memory.statistics(0)
    memory.compact(0, 9, moves=moves)
    after = memory.statistics(0)
    return (
        after["compact_migrate_scanned"] - before["compact_migrate_scanned"],
        after["compact_free_scanned"] - before["compact_free_scanned"],
        moves[:3].tolist() if memory.moves_recorded(0) else [],
    )


def test_compaction_resumes_where_the_last_run_stopped_until_the_scanners_meet() -> None:
    # 64 MiB = 32 pageblocks, every other frame free (256 used, 256 free in each). Suitable
    # for order 9 throughout: free ≥ 7168 > min 819 + compact_gap 1024 + (low − min) 204.
    memory = _every_other_frame_free(64 * MIB)
    moves = np.zeros(3 * 300, dtype=np.int64)
    # Run 1 from the ends: pageblock 0's pages go to pageblock 31's free frames.
    assert _compact_work(memory, moves) == (512, 512, [0, 31 * 512 + 1, 1])
    assert memory.alloc(0, 9, CLASS_MOVABLE) == 0  # the block it made
    # Run 2 resumes: the migrate scanner at pageblock 1 (0 is not scanned again), the free
    # scanner at 31 (it took pages there, so it looks again, finds it full) then 30.
    assert _compact_work(memory, moves) == (512, 1024, [512, 30 * 512 + 1, 1])
    assert memory.compact_result == COMPACT_SUCCESS
    assert memory.alloc(0, 9, CLASS_MOVABLE) == 512
    # A pin in each of pageblocks 2..29: run 3 scans them from 2 and meets the free scanner
    # at 30 without moving a page. The positions go back to the ends and the run is retried
    # from there: 0 and 1 hold huge pages, 2..29 pins; 30 (full, movable) could move, but
    # the free scanner finds 31 full and meets it. The run fails.
    for pageblock in range(2, 30):
        memory.pin(0, pageblock * 512, 0)
    assert _compact_work(memory, moves) == (28 * 512 + 31 * 512, 512, [])
    assert memory.compact_result == COMPACT_COMPLETE
    memory.unpin(0, 2 * 512, 0)
    assert not memory.compact(0, 9)  # deferred once after the failure
    assert memory.compact_result == COMPACT_DEFERRED
    # Run 4 from the ends: pageblocks 0 and 1 hold huge pages, 2 is evacuated into 29, the
    # free scanner passing the full 31 and 30 on the way.
    assert _compact_work(memory, moves) == (3 * 512, 3 * 512, [1024, 29 * 512 + 1, 1])
    assert memory.compact_result == COMPACT_SUCCESS
    check(memory)


def test_compaction_is_deferred_after_a_failure() -> None:
    memory = _every_other_frame_free(16 * MIB)
    for pfn in range(0, 4096, 512):  # a pinned page in every pageblock: nothing can move
        memory.pin(0, pfn, 0)
    assert not memory.compact(0, 9)
    assert memory.statistics(0)["compact_fail"] == 1
    assert not memory.compact(0, 9)  # defer shift 1: the next attempt is skipped
    assert memory.statistics(0)["compact_deferred"] == 1
    assert not memory.compact(0, 9)  # and the one after runs (and fails) again
    assert memory.statistics(0)["compact_fail"] == 2
    check(memory)


def test_proactive_compaction_runs_above_90_and_stops_at_80() -> None:
    memory = _every_other_frame_free(16 * MIB)
    # extfrag(9) = 100 → node score 4096·100/4097 = 99 > high 90 with proactiveness 20.
    assert memory.fragmentation_score(0) == 99
    assert memory.proactive_compact(0, 20)
    # One evacuated pageblock: (2048 − 512)·100/2048 = 75 ≤ low 80.
    assert memory.extfrag_for_order(0, 9) == 75
    assert memory.statistics(0)["compact_pages_migrated"] == 256
    assert memory.statistics(0)["proactive_compact_runs"] == 1
    assert memory.proactive_compact(0, 20)  # 74 ≤ 90: nothing to do
    assert memory.statistics(0)["proactive_compact_runs"] == 1


def _hand_made(counts: dict[int, int]) -> np.ndarray:
    nodes = np.zeros((1, NODE_WIDTH), dtype=np.int64)
    nodes[0, 10] = 10  # N_MAX_ORDER
    for order, count in counts.items():
        nodes[0, N_FREE_BLOCKS + order] = count
    return nodes


def test_fragmentation_indices_of_a_hand_made_free_list() -> None:
    # nr_free: 10 × order 0, 5 × order 1, 2 × order 2, 1 × order 3.
    # F = 10 + 10 + 8 + 8 = 36 free pages, B = 18 blocks.
    nodes = _hand_made({0: 10, 1: 5, 2: 2, 3: 1})
    # order 2: S = 2 + 1·2 = 4 usable blocks of 4 pages.
    assert unusable_free_index(nodes, 0, 2) == (36 - 16) * 1000 // 36 == 555
    assert extfrag_for_order(nodes, 0, 2) == 55
    assert fragmentation_index(nodes, 0, 2) == -1000  # a block is free: not a failure
    # order 4: S = 0; index = 1000 − (1000 + 36000/16)/18 = 1000 − 3250/18 = 820.
    assert unusable_free_index(nodes, 0, 4) == 1000
    assert fragmentation_index(nodes, 0, 4) == 820
    assert extfrag_for_order(nodes, 0, 4) == 100
    assert unusable_free_index(nodes, 0, 0) == 0
    empty = _hand_made({})
    assert fragmentation_index(empty, 0, 4) == 0
    assert unusable_free_index(empty, 0, 4) == 1000
    assert extfrag_for_order(empty, 0, 4) == 0


def test_contig_alloc_moves_a_2m_huge_page_whole() -> None:
    """A 2 MiB THP inside the candidate range moves to a free 2 MiB block outside it and
    stays a huge page: its mapping maps a 2 MiB folio still, and freeing that folio later
    finds one."""
    memory = PhysicalMemory([2 * GIB])
    assert memory.alloc(0, 9, CLASS_MOVABLE) == 0
    moves = np.zeros(30, dtype=np.int64)
    assert memory.contig_alloc(0, ORDER_1G, moves=moves) == 0
    assert memory.moves_recorded(0) == 1
    old, new, count = moves[:3].tolist()
    assert (old, count) == (0, 512) and new >= FRAMES_1G and new % 512 == 0
    assert memory.release(0, 9) == new
    assert memory.free_frames(0) == FRAMES_1G
    check(memory)
