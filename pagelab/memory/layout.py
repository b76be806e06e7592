"""The packed state of physical memory: array layouts, column names and per-granule geometry.

All NUMA nodes share four flat arrays, each node at its own offsets:

``frame_bits`` (uint64)
    One bit per frame, set while the frame is in use. Bit ``i`` of word ``j`` is the node's
    frame ``64 j + i``, so the lowest set bit is the lowest address.
``pageblocks`` (int16, ``(pageblocks, PB_WIDTH)``)
    One row per pageblock: migratetype label, free frames, in-use frames per mobility class,
    the order of a huge page covering it, and the number of free buddy blocks of each order
    whose first frame lies in it. int16 holds every count: a pageblock has at most 8192 frames.
``free_index`` (uint64)
    Per node and (migratetype, order), a bitmap over pageblocks: bit set when the pageblock has
    a free block of that order on that type's list. Two summary levels (one bit per non-zero
    word of the level below) make the first candidate a few word reads away.
``nodes`` (int64, ``(nodes, NODE_WIDTH)``)
    Per node: offsets into the other arrays, geometry, watermarks, free-block counts per
    (migratetype, order) as ``/proc/pagetypeinfo`` shows them, compaction deferral and the
    scanners' cached positions, statistics.

The free lists themselves are not stored: with eager merging (no per-CPU lists), the free
blocks are exactly the maximal aligned all-free blocks of the in-use bitmap, cut at
``MAX_PAGE_ORDER``, and a block's list is its pageblock's label (merging relabels a buddy
pageblock to the freed page's type, as ``__free_one_page`` does). The arrays above only index
that decomposition.
"""

from __future__ import annotations

# Migratetypes, numbered as `enum migratetype` in include/linux/mmzone.h. Highatomic, CMA and
# isolate are not modelled (the reference's "may simplify").
MIGRATE_UNMOVABLE = 0
MIGRATE_MOVABLE = 1
MIGRATE_RECLAIMABLE = 2
MIGRATETYPES = 3
MIGRATETYPE_NAMES = ("unmovable", "movable", "reclaimable")

# Mobility classes of in-use pages. The first three match the migratetype they allocate from;
# a pinned page is a movable allocation that migration cannot move (long-term GUP pin).
CLASS_UNMOVABLE = 0
CLASS_MOVABLE = 1
CLASS_RECLAIMABLE = 2
CLASS_PINNED = 3
CLASSES = 4
CLASS_NAMES = ("unmovable", "movable", "reclaimable", "pinned")

ORDERS_CAP = 14  # orders 0..13: MAX_PAGE_ORDER is at most 13 (64 KiB granule)

# Pageblock table columns.
PB_MIGRATETYPE = 0
PB_FREE = 1  # free frames
PB_USED = 2  # + class: in-use frames of that mobility class (4 columns)
PB_HUGE = 6  # order of the huge page covering this pageblock (0: none)
PB_SPB_TAINT = 7  # on a superpageblock's first pageblock: its tainted pageblocks
PB_FREE_BLOCKS = 8  # + order: free buddy blocks of that order starting in this pageblock
PB_WIDTH = PB_FREE_BLOCKS + ORDERS_CAP

# Node table columns: layout.
N_FRAME_START = 0  # global pfn of the node's first frame
N_FRAMES = 1
N_WORD_START = 2  # the node's first word in frame_bits
N_PB_START = 3  # the node's first row in pageblocks
N_PAGEBLOCKS = 4
N_INDEX_START = 5  # the node's first word in free_index
N_INDEX_STRIDE = 6  # words per (migratetype, order) bitmap, summaries included
N_INDEX_WORDS0 = 7  # words of each level
N_INDEX_WORDS1 = 8
N_INDEX_WORDS2 = 9
# Geometry and switches (the same for every node; kept per node so a kernel needs one row).
N_MAX_ORDER = 10  # MAX_PAGE_ORDER, inclusive
N_PB_ORDER = 11
N_SPB_ORDER = 12  # superpageblock (1 GiB) order
N_STEERING = 13  # 1: superpageblock steering (kernel allocations to tainted, movable to clean)
N_EXTFRAG_THRESHOLD = 14
# Watermarks in frames (§1.5).
N_WMARK_MIN = 15
N_WMARK_LOW = 16
N_WMARK_HIGH = 17
N_WMARK_PROMO = 18
# Live state.
N_FREE_FRAMES = 19
N_USED = 20  # + class (4 columns)
N_DEFER_CONSIDERED = 24  # compact_considered
N_DEFER_SHIFT = 25  # compact_defer_shift
N_ORDER_FAILED = 26  # compact_order_failed
N_MOVES_RECORDED = 27  # move records the last compact/contig call wrote
N_MOVES_DROPPED = 28  # records that did not fit the caller's buffer in that call
# Statistics (cumulative).
N_ALLOC_SUCCESS = 29
N_ALLOC_FAIL = 30
N_FALLBACK_CLAIM = 31  # allocations served by claiming a pageblock of another type
N_FALLBACK_STEAL = 32  # allocations served from another type's block without claiming it
N_CONTIG_CANDIDATES = 33
N_CONTIG_PAGES_SCANNED = 34
N_CONTIG_PAGES_MIGRATED = 35
N_CONTIG_SUCCESS = 36
N_CONTIG_FAIL = 37
N_COMPACT_STALL = 38
N_COMPACT_SUCCESS = 39
N_COMPACT_FAIL = 40
N_COMPACT_DEFERRED = 41
N_COMPACT_MIGRATE_SCANNED = 42
N_COMPACT_FREE_SCANNED = 43
N_COMPACT_PAGES_MIGRATED = 44
N_PROACTIVE_RUNS = 45
# Where compaction's scanners resume (compact_cached_migrate_pfn, compact_cached_free_pfn), as
# pageblocks from the node's first.
N_CACHED_MIGRATE_PB = 46
N_CACHED_FREE_PB = 47
N_FREE_BLOCKS = 48  # + migratetype * ORDERS_CAP + order
# + migratetype * ORDERS_CAP + order: the pageblock (from the node's first) of that free
# list's last head insertion, or -1; the allocator takes from there first (``_buddy``).
N_RECENT_PB = N_FREE_BLOCKS + MIGRATETYPES * ORDERS_CAP
# The pageblock (from the node's first) where the next search for a movable block to release
# starts (``_release``): tier migration frees its source frames round-robin over the node.
N_RELEASE_PB = N_RECENT_PB + MIGRATETYPES * ORDERS_CAP
N_RELEASED = N_RELEASE_PB + 1  # blocks released by tier migration (cumulative)
NODE_WIDTH = N_RELEASED + 1

STATISTICS = {
    "alloc_success": N_ALLOC_SUCCESS,
    "alloc_fail": N_ALLOC_FAIL,
    "fallback_claim": N_FALLBACK_CLAIM,
    "fallback_steal": N_FALLBACK_STEAL,
    "contig_candidates": N_CONTIG_CANDIDATES,
    "contig_pages_scanned": N_CONTIG_PAGES_SCANNED,
    "contig_pages_migrated": N_CONTIG_PAGES_MIGRATED,
    "contig_success": N_CONTIG_SUCCESS,
    "contig_fail": N_CONTIG_FAIL,
    "compact_stall": N_COMPACT_STALL,
    "compact_success": N_COMPACT_SUCCESS,
    "compact_fail": N_COMPACT_FAIL,
    "compact_deferred": N_COMPACT_DEFERRED,
    "compact_migrate_scanned": N_COMPACT_MIGRATE_SCANNED,
    "compact_free_scanned": N_COMPACT_FREE_SCANNED,
    "compact_pages_migrated": N_COMPACT_PAGES_MIGRATED,
    "proactive_compact_runs": N_PROACTIVE_RUNS,
}
"""Statistic name → node column, for reading results back."""

# A move record in the caller's buffer: frames [old, old + count) now live at [new, new + count).
MOVE_OLD = 0
MOVE_NEW = 1
MOVE_COUNT = 2
MOVE_WIDTH = 3

# compact() results, after enum compact_result.
COMPACT_SKIPPED = 0  # not suitable (watermark or fragmentation index): reclaim instead
COMPACT_DEFERRED = 1
COMPACT_SUCCESS = 2
COMPACT_COMPLETE = 3  # the scanners met without producing the block
COMPACT_NOT_NEEDED = 4  # a suitable free block already existed

# Per-pageblock classes for the dashboard map, in increasing severity (downsampling keeps the
# most severe class of a cell, so a single polluted pageblock stays visible).
MAP_FREE = 0
MAP_HUGE_PUD = 1  # part of a page of superpageblock order or larger (1 GiB)
MAP_HUGE_PMD = 2  # part of a huge page of at least pageblock order (2 MiB) below that
MAP_MOVABLE = 3
MAP_MIXED = 4  # labelled movable, but holds unmovable or reclaimable pages (polluted)
MAP_UNMOVABLE = 5  # labelled unmovable or reclaimable and holds such pages
MAP_NAMES = ("free", "huge_1g", "huge_2m", "movable", "mixed", "unmovable")

# Granule shift → (MAX_PAGE_ORDER, pageblock order): x86-64 and arm64 defaults (§1.1).
GRANULE_GEOMETRY = {12: (10, 9), 14: (11, 11), 16: (13, 13)}
SUPERPAGEBLOCK_SHIFT = 30  # 1 GiB, the superpageblock of van Riel's RFC
PAGE_ALLOC_COSTLY_ORDER = 3
COMPACT_MAX_DEFER_SHIFT = 6
EXTFRAG_THRESHOLD = 500
