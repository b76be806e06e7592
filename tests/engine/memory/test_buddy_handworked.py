"""Buddy allocator cases whose numbers were worked out by hand (4 KiB frames, pageblock
order 9 = 512 frames, MAX_PAGE_ORDER 10 = 1024 frames)."""

from __future__ import annotations

from pagelab.memory import PhysicalMemory
from pagelab.memory.layout import (
    CLASS_MOVABLE,
    CLASS_RECLAIMABLE,
    CLASS_UNMOVABLE,
    MAP_FREE,
    MAP_HUGE_PMD,
    MAP_MIXED,
    MAP_MOVABLE,
    MAP_UNMOVABLE,
    MIGRATE_MOVABLE,
    MIGRATE_UNMOVABLE,
)
from pagelab.memory.watermarks import node_watermarks

from .invariants import check

MIB = 1 << 20
GIB = 1 << 30


def test_order_0_from_a_fresh_4mib_block_leaves_one_block_of_each_order_0_to_9() -> None:
    memory = PhysicalMemory([4 * MIB])
    pfn = memory.alloc(0, 0, CLASS_MOVABLE)
    assert pfn == 0
    assert memory.free_blocks(0).tolist() == [1] * 10 + [0]
    memory.free(0, pfn, 0, CLASS_MOVABLE)
    assert memory.free_blocks(0).tolist() == [0] * 10 + [1]  # merged back to order 10
    check(memory)


def test_order_3_then_order_0_split_and_merge() -> None:
    memory = PhysicalMemory([8 * MIB])  # two order-10 blocks
    a = memory.alloc(0, 3, CLASS_MOVABLE)  # 0..7; halves of orders 3..9 remain
    b = memory.alloc(0, 0, CLASS_MOVABLE)  # the order-3 half at 8 splits: 8, free 9, 10-11, 12-15
    assert (a, b) == (0, 8)
    assert memory.free_blocks(0).tolist() == [1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1]
    memory.free(0, a, 3, CLASS_MOVABLE)  # 0..7 cannot merge with 8..15 while 8 is in use
    assert memory.free_blocks(0).tolist() == [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    memory.free(0, b, 0, CLASS_MOVABLE)
    assert memory.free_blocks(0).tolist() == [0] * 10 + [2]
    check(memory)


def test_unmovable_request_on_a_fresh_node_claims_a_whole_order_10_block() -> None:
    memory = PhysicalMemory([8 * MIB])
    assert memory.alloc(0, 0, CLASS_UNMOVABLE) == 0
    assert memory.pageblock_labels(0).tolist() == [0, 0, 1, 1]  # both pageblocks relabelled
    assert memory.free_blocks_by_type(0)[MIGRATE_UNMOVABLE].tolist() == [1] * 10 + [0]
    assert memory.statistics(0)["fallback_claim"] == 1


def _full_4mib_with_head_free(free_count: int) -> PhysicalMemory:
    """A 4 MiB node, every frame movable, then frames 0..free_count-1 freed."""
    memory = PhysicalMemory([4 * MIB])
    assert [memory.alloc(0, 0, CLASS_MOVABLE) for _ in range(1024)] == list(range(1024))
    for pfn in range(free_count):
        memory.free(0, pfn, 0, CLASS_MOVABLE)
    return memory


def test_a_pageblock_with_256_free_pages_is_claimed() -> None:
    memory = _full_4mib_with_head_free(256)  # one free order-8 block at 0
    assert memory.alloc(0, 0, CLASS_UNMOVABLE) == 0
    assert memory.pageblock_labels(0).tolist() == [MIGRATE_UNMOVABLE, MIGRATE_MOVABLE]
    assert memory.statistics(0)["fallback_claim"] == 1
    check(memory)


def test_a_pageblock_with_255_free_pages_is_stolen_from() -> None:
    # 255 free = orders 7..0 at 0, 128, 192, ..., 254: claiming fails at each of them (free
    # 255 + alike 0 < 256), so the smallest fallback block, the order-0 page at 254, is stolen.
    memory = _full_4mib_with_head_free(255)
    assert memory.alloc(0, 0, CLASS_UNMOVABLE) == 254
    assert memory.pageblock_labels(0).tolist() == [MIGRATE_MOVABLE, MIGRATE_MOVABLE]
    assert memory.statistics(0)["fallback_steal"] == 1
    assert memory.pageblock_map(0).tolist() == [MAP_MIXED, MAP_MOVABLE]
    check(memory)


def test_an_alike_page_makes_255_free_pages_enough_to_claim() -> None:
    memory = _full_4mib_with_head_free(0)
    memory.free(0, 300, 0, CLASS_MOVABLE)
    assert memory.alloc(0, 0, CLASS_RECLAIMABLE) == 300  # 1 free + 0 alike: stolen
    for pfn in range(255):
        memory.free(0, pfn, 0, CLASS_MOVABLE)
    # For an unmovable request the reclaimable page is alike (neither free nor movable):
    # 255 free + 1 alike = 256 claims the pageblock; the lowest order-0 block is 254.
    assert memory.alloc(0, 0, CLASS_UNMOVABLE) == 254
    assert memory.pageblock_labels(0).tolist() == [MIGRATE_UNMOVABLE, MIGRATE_MOVABLE]
    assert memory.pageblock_map(0).tolist() == [MAP_UNMOVABLE, MAP_MOVABLE]
    check(memory)


def test_unmovable_and_reclaimable_pages_are_not_alike_to_each_other() -> None:
    memory = _full_4mib_with_head_free(256)
    assert memory.alloc(0, 0, CLASS_RECLAIMABLE) == 0  # claims pageblock 0 for reclaimable
    # 255 free + 0 alike in a reclaimable block: the unmovable request steals frame 1.
    assert memory.alloc(0, 0, CLASS_UNMOVABLE) == 1
    assert memory.statistics(0)["fallback_steal"] == 1
    check(memory)


def test_thp_is_recorded_in_the_pageblock_map_and_forgotten_when_freed() -> None:
    memory = PhysicalMemory([4 * MIB])
    pfn = memory.alloc(0, 9, CLASS_MOVABLE)
    assert memory.pageblock_map(0).tolist() == [MAP_HUGE_PMD, MAP_FREE]
    memory.free(0, pfn, 9, CLASS_MOVABLE)
    assert memory.pageblock_map(0).tolist() == [MAP_FREE, MAP_FREE]
    assert memory.pageblock_map(0, max_cells=1).tolist() == [MAP_FREE]


def test_watermarks_of_a_256gib_node_with_thp_match_the_reference_example() -> None:
    # min_free_kbytes = isqrt(16 × 256 GiB in kB) = 65536 kB, raised by the THP floor to
    # 512 × 3 zones × 11 = 16896 pages (66 MiB); gap = max(16896/4, 67108864 × 10/10000).
    (marks,) = node_watermarks([256 * GIB >> 12], 12, 9)
    assert marks.min_frames == 16_896
    assert marks.low_frames == 16_896 + 67_108  # 328 MiB
    assert marks.high_frames == 16_896 + 2 * 67_108  # 590 MiB
    assert marks.promo_frames == 16_896 + 3 * 67_108  # 852 MiB


def test_a_1tib_node_fits_the_memory_budget() -> None:
    memory = PhysicalMemory([1 << 40])
    assert memory.nbytes <= 64 * MIB  # 32 MiB of in-use bits, the rest per pageblock
    assert memory.free_blocks(0)[10] == 1 << 18


def test_the_block_freed_last_is_given_first() -> None:
    # 12 MiB: three order-10 blocks, listed at boot in address order (the tail).
    memory = PhysicalMemory([12 * MIB])
    assert [memory.alloc(0, 10, CLASS_MOVABLE) for _ in range(3)] == [0, 1024, 2048]
    memory.free(0, 0, 10, CLASS_MOVABLE)
    memory.free(0, 2048, 10, CLASS_MOVABLE)  # to the head, after 0
    assert memory.alloc(0, 10, CLASS_MOVABLE) == 2048  # LIFO, not the lowest address
    assert memory.alloc(0, 10, CLASS_MOVABLE) == 0
    check(memory)


def _two_holes(steering: bool) -> PhysicalMemory:
    """16 MiB in four 4 MiB superpageblocks (two pageblocks each), every pageblock holding
    one movable order-9 page, then: pageblock 0 freed and taken whole by an unmovable
    order-9 page (superpageblock 0 tainted), pageblock 4 freed (superpageblock 2, clean),
    then pageblock 1 freed (superpageblock 0, the free list's most recent pageblock)."""
    memory = PhysicalMemory([16 * MIB], steering=steering, superpageblock_bytes=4 * MIB)
    assert [memory.alloc(0, 9, CLASS_MOVABLE) for _ in range(8)] == list(range(0, 4096, 512))
    memory.free(0, 0, 9, CLASS_MOVABLE)
    assert memory.alloc(0, 9, CLASS_UNMOVABLE) == 0  # claims pageblock 0
    memory.free(0, 2048, 9, CLASS_MOVABLE)
    memory.free(0, 512, 9, CLASS_MOVABLE)  # its buddy, pageblock 0, is in use: no merge
    assert memory.tainted_superpageblocks(0).tolist() == [True, False, False, False]
    return memory


def test_steering_keeps_the_hole_in_a_tainted_superpageblock_for_kernel_pages() -> None:
    # Steering: the movable request skips the newest hole (pageblock 1, in tainted
    # superpageblock 0) for the clean one's (pageblock 4 at 2048); the unmovable request then
    # has no unmovable block and claims pageblock 1 inside superpageblock 0. One tainted.
    memory = _two_holes(steering=True)
    assert memory.alloc(0, 9, CLASS_MOVABLE) == 2048
    assert memory.alloc(0, 0, CLASS_UNMOVABLE) == 512
    assert memory.tainted_superpageblocks(0).tolist() == [True, False, False, False]
    check(memory)
    # Without it, LIFO gives the movable request pageblock 1, and the only free pageblock
    # left for the unmovable request taints superpageblock 2.
    memory = _two_holes(steering=False)
    assert memory.alloc(0, 9, CLASS_MOVABLE) == 512
    assert memory.alloc(0, 0, CLASS_UNMOVABLE) == 2048
    assert memory.tainted_superpageblocks(0).tolist() == [True, False, True, False]
    check(memory)
