"""``PhysicalMemory``: the buddy allocators of every NUMA node (tier), in four flat arrays.

The class builds and owns the arrays (``layout`` describes them), validates what reaches the
kernels, and reads results back. The compiled fault path calls the kernels directly with
``arrays`` (see ``pagelab.memory`` for the list).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from pagelab.memory import _buddy, _fragmentation, _migrate, _release
from pagelab.memory.layout import (
    CLASS_MOVABLE,
    CLASS_PINNED,
    CLASS_RECLAIMABLE,
    CLASS_UNMOVABLE,
    CLASSES,
    COMPACT_NOT_NEEDED,
    COMPACT_SUCCESS,
    EXTFRAG_THRESHOLD,
    GRANULE_GEOMETRY,
    MAP_FREE,
    MAP_HUGE_PMD,
    MAP_HUGE_PUD,
    MAP_MIXED,
    MAP_MOVABLE,
    MAP_UNMOVABLE,
    MIGRATE_MOVABLE,
    MIGRATETYPES,
    MOVE_WIDTH,
    N_EXTFRAG_THRESHOLD,
    N_FRAME_START,
    N_FRAMES,
    N_FREE_BLOCKS,
    N_FREE_FRAMES,
    N_INDEX_START,
    N_INDEX_STRIDE,
    N_INDEX_WORDS0,
    N_INDEX_WORDS1,
    N_INDEX_WORDS2,
    N_MAX_ORDER,
    N_MOVES_DROPPED,
    N_MOVES_RECORDED,
    N_PAGEBLOCKS,
    N_PB_ORDER,
    N_PB_START,
    N_SPB_ORDER,
    N_STEERING,
    N_USED,
    N_WMARK_HIGH,
    N_WMARK_LOW,
    N_WMARK_MIN,
    N_WMARK_PROMO,
    N_WORD_START,
    NODE_WIDTH,
    ORDERS_CAP,
    PB_FREE,
    PB_HUGE,
    PB_MIGRATETYPE,
    PB_USED,
    PB_WIDTH,
    STATISTICS,
    SUPERPAGEBLOCK_SHIFT,
)
from pagelab.memory.watermarks import Watermarks, node_watermarks

_EMPTY_MOVES = np.zeros(0, dtype=np.int64)


def _words(bits: int) -> int:
    return (bits + 63) >> 6


class PhysicalMemory:
    """Physical memory of one machine: a buddy allocator per node, Linux's rules.

    Parameters
    ----------
    node_capacities_bytes
        One capacity per node. Each is rounded down to whole MAX_PAGE_ORDER blocks (4 MiB
        with 4 KiB frames), and nodes start 1 GiB-aligned in the global pfn space, so a
        contiguous range aligned to its size in the node is aligned in pfns too.
    granule_shift
        12, 14 or 16: 4 KiB, 16 KiB or 64 KiB frames (reference §1.1 geometry).
    steering
        Superpageblock steering (van Riel's RFC): unmovable and reclaimable fallbacks go to
        1 GiB blocks that already hold such pages before tainting a clean one, and movable
        allocations take clean blocks' free blocks first (``_buddy.alloc``).
    thp_enabled
        Raise ``min_free_kbytes`` to the THP floor.
    superpageblock_bytes
        The steering unit, 1 GiB in the RFC; smaller values let tests use small nodes.
    """

    def __init__(
        self,
        node_capacities_bytes: Sequence[int],
        granule_shift: int = 12,
        *,
        steering: bool = False,
        thp_enabled: bool = True,
        superpageblock_bytes: int = 1 << SUPERPAGEBLOCK_SHIFT,
    ) -> None:
        if granule_shift not in GRANULE_GEOMETRY:
            raise ValueError(f"granule_shift must be one of {sorted(GRANULE_GEOMETRY)}")
        if not node_capacities_bytes:
            raise ValueError("physical memory needs at least one node")
        self.granule_shift = granule_shift
        self.max_page_order, self.pageblock_order = GRANULE_GEOMETRY[granule_shift]
        block = 1 << self.max_page_order
        spb_frames = superpageblock_bytes >> granule_shift
        if spb_frames < block or spb_frames & (spb_frames - 1):
            raise ValueError("superpageblock_bytes must be a power of two of at least one block")
        self.superpageblock_order = spb_frames.bit_length() - 1
        frames = [(int(c) >> granule_shift) // block * block for c in node_capacities_bytes]
        if min(frames) < block:
            smallest = block << granule_shift
            raise ValueError(f"every node needs at least {smallest} bytes (one largest block)")
        nodes = np.zeros((len(frames), NODE_WIDTH), dtype=np.int64)
        align = 1 << self.superpageblock_order
        pfn = words = pageblocks = index_words = 0
        for node, count in enumerate(frames):
            row = nodes[node]
            row[N_FRAME_START] = pfn
            row[N_FRAMES] = count
            row[N_WORD_START] = words
            row[N_PB_START] = pageblocks
            row[N_PAGEBLOCKS] = count >> self.pageblock_order
            words0 = _words(int(row[N_PAGEBLOCKS]))
            words1 = _words(words0)
            words2 = _words(words1)
            row[N_INDEX_START] = index_words
            row[N_INDEX_STRIDE] = words0 + words1 + words2
            row[N_INDEX_WORDS0], row[N_INDEX_WORDS1], row[N_INDEX_WORDS2] = words0, words1, words2
            row[N_MAX_ORDER] = self.max_page_order
            row[N_PB_ORDER] = self.pageblock_order
            row[N_SPB_ORDER] = self.superpageblock_order
            row[N_STEERING] = int(steering)
            row[N_EXTFRAG_THRESHOLD] = EXTFRAG_THRESHOLD
            pfn = (pfn + count + align - 1) // align * align
            words += count >> 6
            pageblocks += int(row[N_PAGEBLOCKS])
            index_words += MIGRATETYPES * ORDERS_CAP * int(row[N_INDEX_STRIDE])
        marks = node_watermarks(
            frames, granule_shift, self.pageblock_order, thp_enabled=thp_enabled
        )
        for node, mark in enumerate(marks):
            nodes[node, N_WMARK_MIN] = mark.min_frames
            nodes[node, N_WMARK_LOW] = mark.low_frames
            nodes[node, N_WMARK_HIGH] = mark.high_frames
            nodes[node, N_WMARK_PROMO] = mark.promo_frames
        self.frame_bits = np.zeros(words, dtype=np.uint64)
        self.pageblocks = np.zeros((pageblocks, PB_WIDTH), dtype=np.int16)
        self.pageblocks[:, PB_MIGRATETYPE] = MIGRATE_MOVABLE  # memmap_init marks every block
        self.pageblocks[:, PB_FREE] = 1 << self.pageblock_order
        self.free_index = np.zeros(index_words, dtype=np.uint64)
        self.nodes = nodes
        for node in range(len(frames)):
            _migrate.init_node(*self.arrays, node)

    # -- layout -------------------------------------------------------------------------------

    @property
    def arrays(
        self,
    ) -> tuple[
        npt.NDArray[np.uint64], npt.NDArray[np.int16], npt.NDArray[np.uint64], npt.NDArray[np.int64]
    ]:
        """``(frame_bits, pageblocks, free_index, nodes)``, the kernels' first four arguments."""
        return self.frame_bits, self.pageblocks, self.free_index, self.nodes

    @property
    def node_count(self) -> int:
        return int(self.nodes.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes held by the four arrays."""
        return sum(int(a.nbytes) for a in self.arrays)

    def node_frames(self, node: int) -> int:
        return int(self.nodes[self._node(node), N_FRAMES])

    def node_start_pfn(self, node: int) -> int:
        return int(self.nodes[self._node(node), N_FRAME_START])

    def pageblock_rows(self, node: int) -> npt.NDArray[np.int16]:
        """The node's rows of the pageblock table (a view)."""
        row = self.nodes[self._node(node)]
        first = int(row[N_PB_START])
        return self.pageblocks[first : first + int(row[N_PAGEBLOCKS])]

    # -- allocation ---------------------------------------------------------------------------

    def alloc(self, node: int, order: int, mobility: int = CLASS_MOVABLE) -> int:
        """Allocate ``2^order`` frames (order ≤ MAX_PAGE_ORDER); the first pfn, or -1."""
        self._order(order, self.max_page_order)
        return int(_buddy.alloc(*self.arrays, self._node(node), order, self._class(mobility)))

    def free(self, node: int, pfn: int, order: int, mobility: int = CLASS_MOVABLE) -> None:
        """Free a block from ``alloc`` or ``contig_alloc`` with the class it has now."""
        node = self._node(node)
        self._order(order, 62)
        self._block(node, pfn, order)
        _buddy.free(*self.arrays, node, pfn, order, self._class(mobility))

    def release(self, node: int, order: int, mobility: int = CLASS_MOVABLE) -> int:
        """Free some in-use block of ``order`` and class ``mobility`` (what a migrated or
        unmapped folio leaves behind, see ``_release``); its pfn, or -1 when the node holds
        none."""
        self._order(order, self.max_page_order)
        return int(_release.release(*self.arrays, self._node(node), order, self._class(mobility)))

    def pin(self, node: int, pfn: int, order: int) -> None:
        """Pin an in-use movable block: migration can no longer move it."""
        self._reclass(node, pfn, order, CLASS_MOVABLE, CLASS_PINNED)

    def unpin(self, node: int, pfn: int, order: int) -> None:
        self._reclass(node, pfn, order, CLASS_PINNED, CLASS_MOVABLE)

    def mark_huge(self, node: int, pfn: int, order: int) -> None:
        """Record that an in-use block of ``order`` ≥ pageblock order is one huge page (the
        dashboard shows it); order 0 forgets a mark on the pageblock holding ``pfn``."""
        node = self._node(node)
        if order and order < self.pageblock_order:
            raise ValueError("a huge page covers at least one pageblock")
        self._block(node, pfn, order)
        offset = pfn - self.node_start_pfn(node)
        _buddy.set_huge(self.pageblocks, self.nodes, node, offset, order, order)

    def contig_alloc(
        self,
        node: int,
        order: int,
        mobility: int = CLASS_MOVABLE,
        *,
        may_migrate: bool = True,
        moves: npt.NDArray[np.int64] | None = None,
    ) -> int:
        """An aligned range of ``2^order`` frames above MAX_PAGE_ORDER (1 GiB is order 18 with
        4 KiB frames), migrating movable pages out of it if allowed; the first pfn or -1.

        ``moves`` (int64, a multiple of 3 long) receives (old pfn, new pfn, frames) records
        of the pages moved; ``moves_recorded`` says how many fitted.
        """
        self._order(order, 40)
        if order <= self.max_page_order:
            raise ValueError(f"order {order} comes from the buddy: use alloc")
        return int(
            _migrate.contig_alloc(
                *self.arrays,
                self._moves(moves),
                self._node(node),
                order,
                self._class(mobility),
                may_migrate,
            )
        )

    def compact(self, node: int, order: int, *, moves: npt.NDArray[np.int64] | None = None) -> bool:
        """Direct compaction for ``order`` (≤ MAX_PAGE_ORDER): whether a block of that order
        is free afterwards (already free, or produced). ``compact_result`` gives the code."""
        self._order(order, self.max_page_order)
        self.compact_result = int(
            _migrate.compact(*self.arrays, self._moves(moves), self._node(node), order)
        )
        return self.compact_result in (COMPACT_SUCCESS, COMPACT_NOT_NEEDED)

    def proactive_compact(
        self, node: int, proactiveness: int = 20, *, moves: npt.NDArray[np.int64] | None = None
    ) -> bool:
        """One proactive-compaction check: compact when the node's score exceeds the high
        mark, until it is at most the low mark. Whether the score ended at or below low."""
        if not 0 <= proactiveness <= 100:
            raise ValueError("proactiveness is 0..100")
        self.compact_result = int(
            _migrate.proactive_compact(
                *self.arrays, self._moves(moves), self._node(node), proactiveness
            )
        )
        return self.compact_result in (COMPACT_SUCCESS, COMPACT_NOT_NEEDED)

    def moves_recorded(self, node: int) -> int:
        """Move records the last ``compact``/``contig_alloc`` on ``node`` wrote."""
        return int(self.nodes[self._node(node), N_MOVES_RECORDED])

    def moves_dropped(self, node: int) -> int:
        return int(self.nodes[self._node(node), N_MOVES_DROPPED])

    # -- read-back ----------------------------------------------------------------------------

    def free_blocks(self, node: int) -> npt.NDArray[np.int64]:
        """Free blocks per order 0..MAX_PAGE_ORDER, all types: a ``/proc/buddyinfo`` row."""
        return self.free_blocks_by_type(node).sum(axis=0)

    def free_blocks_by_type(self, node: int) -> npt.NDArray[np.int64]:
        """Free blocks per (migratetype, order), as ``/proc/pagetypeinfo`` lists them."""
        row = self.nodes[self._node(node)]
        table = row[N_FREE_BLOCKS : N_FREE_BLOCKS + MIGRATETYPES * ORDERS_CAP]
        return table.reshape(MIGRATETYPES, ORDERS_CAP)[:, : self.max_page_order + 1].copy()

    def free_frames(self, node: int) -> int:
        return int(self.nodes[self._node(node), N_FREE_FRAMES])

    def used_frames(self, node: int) -> dict[str, int]:
        """In-use frames per mobility class."""
        row = self.nodes[self._node(node)]
        names = ("unmovable", "movable", "reclaimable", "pinned")
        return {name: int(row[N_USED + cls]) for cls, name in enumerate(names)}

    def unusable_free_index(self, node: int, order: int) -> int:
        """Unusable free space index ×1000 (debugfs ``extfrag/unusable_index``)."""
        return int(_fragmentation.unusable_free_index(self.nodes, self._node(node), order))

    def fragmentation_index(self, node: int, order: int) -> int:
        """External fragmentation index ×1000 (debugfs ``extfrag/extfrag_index``)."""
        return int(_fragmentation.fragmentation_index(self.nodes, self._node(node), order))

    def extfrag_for_order(self, node: int, order: int) -> int:
        return int(_fragmentation.extfrag_for_order(self.nodes, self._node(node), order))

    def fragmentation_score(self, node: int) -> int:
        """Proactive compaction's node score (extfrag at the PMD order = pageblock order)."""
        node = self._node(node)
        return int(_fragmentation.node_fragmentation_score(self.nodes, node, self.pageblock_order))

    def watermarks(self, node: int) -> Watermarks:
        row = self.nodes[self._node(node)]
        return Watermarks(
            int(row[N_WMARK_MIN]),
            int(row[N_WMARK_LOW]),
            int(row[N_WMARK_HIGH]),
            int(row[N_WMARK_PROMO]),
        )

    def statistics(self, node: int) -> dict[str, int]:
        row = self.nodes[self._node(node)]
        return {name: int(row[column]) for name, column in STATISTICS.items()}

    def pageblock_labels(self, node: int) -> npt.NDArray[np.int16]:
        return self.pageblock_rows(node)[:, PB_MIGRATETYPE].copy()

    def polluted_pageblocks(self, node: int) -> npt.NDArray[np.bool_]:
        """Pageblocks holding any unmovable or reclaimable page."""
        rows = self.pageblock_rows(node)
        # Each count is ≥ 0, so the sum is positive exactly when either is (no int16 sum).
        return (rows[:, PB_USED + CLASS_UNMOVABLE] > 0) | (rows[:, PB_USED + CLASS_RECLAIMABLE] > 0)

    def tainted_superpageblocks(self, node: int) -> npt.NDArray[np.bool_]:
        """1 GiB blocks holding an unmovable or reclaimable page or such a pageblock label."""
        rows = self.pageblock_rows(node)
        bad = (rows[:, PB_MIGRATETYPE] != MIGRATE_MOVABLE) | self.polluted_pageblocks(node)
        per = 1 << (self.superpageblock_order - self.pageblock_order)
        cells = -(-bad.shape[0] // per)
        padded = np.zeros(cells * per, dtype=bool)
        padded[: bad.shape[0]] = bad
        return np.asarray(padded.reshape(cells, per).any(axis=1), dtype=bool)

    def pageblock_map(self, node: int, max_cells: int | None = None) -> npt.NDArray[np.uint8]:
        """One ``MAP_*`` class per pageblock; with ``max_cells``, consecutive pageblocks are
        merged into at most that many cells, each keeping its most severe class."""
        rows = self.pageblock_rows(node)
        classes = np.full(rows.shape[0], MAP_MOVABLE, dtype=np.uint8)
        classes[rows[:, PB_FREE] == 1 << self.pageblock_order] = MAP_FREE
        huge = rows[:, PB_HUGE]
        classes[(huge > 0) & (huge < self.superpageblock_order)] = MAP_HUGE_PMD
        classes[huge >= self.superpageblock_order] = MAP_HUGE_PUD
        polluted = self.polluted_pageblocks(node)
        labelled_movable = rows[:, PB_MIGRATETYPE] == MIGRATE_MOVABLE
        classes[polluted & labelled_movable] = MAP_MIXED
        classes[polluted & ~labelled_movable] = MAP_UNMOVABLE
        if max_cells is None or classes.shape[0] <= max_cells:
            return classes
        if max_cells < 1:
            raise ValueError("max_cells must be positive")
        per = -(-classes.shape[0] // max_cells)
        starts = np.arange(0, classes.shape[0], per)
        reduced: npt.NDArray[np.uint8] = np.maximum.reduceat(classes, starts)
        return reduced

    # -- validation ---------------------------------------------------------------------------

    def _node(self, node: int) -> int:
        if not 0 <= node < self.node_count:
            raise ValueError(f"node {node} does not exist ({self.node_count} nodes)")
        return int(node)

    @staticmethod
    def _order(order: int, largest: int) -> None:
        if not 0 <= order <= largest:
            raise ValueError(f"order {order} is outside 0..{largest}")

    @staticmethod
    def _class(mobility: int) -> int:
        if not 0 <= mobility < CLASSES:
            raise ValueError(f"mobility class {mobility} is not one of CLASS_*")
        return int(mobility)

    def _block(self, node: int, pfn: int, order: int) -> None:
        start = self.node_start_pfn(node)
        offset = pfn - start
        if offset < 0 or offset + (1 << order) > self.node_frames(node) or offset % (1 << order):
            raise ValueError(f"pfn {pfn} is not an aligned order-{order} block of node {node}")

    def _reclass(self, node: int, pfn: int, order: int, old: int, new: int) -> None:
        node = self._node(node)
        self._block(node, pfn, order)
        offset = pfn - self.node_start_pfn(node)
        _buddy.reclass(self.pageblocks, self.nodes, node, offset, 1 << order, old, new)

    @staticmethod
    def _moves(moves: npt.NDArray[np.int64] | None) -> npt.NDArray[np.int64]:
        if moves is None:
            return _EMPTY_MOVES
        if moves.dtype != np.int64 or moves.ndim != 1 or moves.shape[0] % MOVE_WIDTH:
            raise ValueError("moves must be a flat int64 array of (old, new, frames) records")
        return moves
