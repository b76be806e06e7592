"""A slow, obvious buddy allocator to check the compiled one against.

Explicit free lists (a set of first frames per migratetype and order), a state per frame
and a label per pageblock; every count is recomputed by walking frames. Same rules and the
same choice as the kernels: of the blocks on one list, the lowest-addressed one in the
pageblock of the list's last head insertion, else the lowest-addressed one.
"""

from __future__ import annotations

from pagelab.memory.layout import (
    CLASS_MOVABLE,
    CLASS_PINNED,
    CLASS_RECLAIMABLE,
    CLASS_UNMOVABLE,
    MIGRATE_MOVABLE,
    MIGRATE_RECLAIMABLE,
    MIGRATE_UNMOVABLE,
)

FALLBACKS = {
    MIGRATE_UNMOVABLE: (MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE),
    MIGRATE_MOVABLE: (MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE),
    MIGRATE_RECLAIMABLE: (MIGRATE_UNMOVABLE, MIGRATE_MOVABLE),
}
FREE = -1


class ReferenceNode:
    """One node of ``frames`` frames, offsets from 0."""

    def __init__(
        self,
        frames: int,
        max_order: int = 10,
        pageblock_order: int = 9,
        superpageblock_order: int = 18,
        *,
        steering: bool = False,
    ) -> None:
        self.frames = frames
        self.max_order = max_order
        self.pb_order = pageblock_order
        self.spb_order = superpageblock_order
        self.steering = steering
        self.state = [FREE] * frames  # mobility class of each in-use frame
        self.labels = [MIGRATE_MOVABLE] * (frames >> pageblock_order)
        self.lists: dict[tuple[int, int], set[int]] = {
            (mt, order): set() for mt in range(3) for order in range(max_order + 1)
        }
        self.head_order: dict[int, int] = {}  # first frame of each free block → its order
        self.recent: dict[tuple[int, int], int] = {}  # list → pageblock of its last head add
        for offset in range(0, frames, 1 << max_order):
            self._list(offset, max_order, head=False)

    # -- lists ---------------------------------------------------------------------------------

    def _label(self, offset: int) -> int:
        return self.labels[offset >> self.pb_order]

    def _list(self, offset: int, order: int, *, head: bool) -> None:
        self.lists[(self._label(offset), order)].add(offset)
        self.head_order[offset] = order
        if head:
            self.recent[(self._label(offset), order)] = offset >> self.pb_order

    def _pick(self, mt: int, order: int, blocks: set[int]) -> int:
        recent = self.recent.get((mt, order))
        there = [b for b in blocks if b >> self.pb_order == recent]
        return min(there) if there else min(blocks)

    def _unlist(self, offset: int, order: int) -> None:
        self.lists[(self._label(offset), order)].remove(offset)
        del self.head_order[offset]

    def _relabel(self, pageblock: int, new: int) -> None:
        start = pageblock << self.pb_order
        heads = [
            (o, order)
            for o, order in self.head_order.items()
            if start <= o < start + (1 << self.pb_order)
        ]
        for offset, order in heads:
            self._unlist(offset, order)
        self.labels[pageblock] = new
        for offset, order in heads:
            self._list(offset, order, head=False)

    # -- counts --------------------------------------------------------------------------------

    def _pageblock_counts(self, pageblock: int) -> tuple[int, int]:
        """(free frames, movable or pinned frames)."""
        start = pageblock << self.pb_order
        states = self.state[start : start + (1 << self.pb_order)]
        free = sum(1 for s in states if s == FREE)
        movable = sum(1 for s in states if s in (CLASS_MOVABLE, CLASS_PINNED))
        return free, movable

    def _spb_tainted(self, offset: int) -> bool:
        size = 1 << self.spb_order
        start = offset // size * size
        end = min(start + size, self.frames)
        for pageblock in range(start >> self.pb_order, end >> self.pb_order):
            if self.labels[pageblock] != MIGRATE_MOVABLE:
                return True
        return any(s in (CLASS_UNMOVABLE, CLASS_RECLAIMABLE) for s in self.state[start:end])

    # -- allocation ----------------------------------------------------------------------------

    def _take(self, offset: int, found: int, order: int) -> None:
        self._unlist(offset, found)
        for k in range(found - 1, order - 1, -1):
            self._list(offset + (1 << k), k, head=True)

    def _smallest(self, order: int, mt: int, clean_only: bool = False) -> int:
        for found in range(order, self.max_order + 1):
            blocks = self.lists[(mt, found)]
            if clean_only:
                blocks = {b for b in blocks if not self._spb_tainted(b)}
            if blocks:
                offset = self._pick(mt, found, blocks)
                self._take(offset, found, order)
                return offset
        return -1

    def _fallback(self, mt: int, order: int, steered: bool) -> tuple[int, int]:
        for block_mt in FALLBACKS[mt]:
            blocks = self.lists[(block_mt, order)]
            if steered:
                blocks = {b for b in blocks if self._spb_tainted(b)}
            if blocks:
                return self._pick(block_mt, order, blocks), block_mt
        return -1, -1

    def _claim(self, order: int, mt: int, steered: bool) -> int:
        for found in range(self.max_order, order - 1, -1):
            if found < self.pb_order // 2 and mt == MIGRATE_MOVABLE:
                break
            offset, block_mt = self._fallback(mt, found, steered)
            if offset < 0:
                continue
            pageblock = offset >> self.pb_order
            if found >= self.pb_order:
                for pb in range(pageblock, pageblock + (1 << (found - self.pb_order))):
                    self._relabel(pb, mt)
                self._take(offset, found, order)
                return offset
            free, movable = self._pageblock_counts(pageblock)
            if mt == MIGRATE_MOVABLE:
                alike = movable
            elif block_mt == MIGRATE_MOVABLE:
                alike = (1 << self.pb_order) - free - movable
            else:
                alike = 0
            if free + alike >= 1 << (self.pb_order - 1):
                self._relabel(pageblock, mt)
                return self._smallest(order, mt)
        return -1

    def _steal(self, order: int, mt: int, steered: bool) -> int:
        for found in range(order, self.max_order + 1):
            offset, _ = self._fallback(mt, found, steered)
            if offset >= 0:
                self._take(offset, found, order)
                return offset
        return -1

    def alloc(self, order: int, mobility: int) -> int:
        mt = MIGRATE_MOVABLE if mobility == CLASS_PINNED else mobility
        offset = -1
        if self.steering and mt == MIGRATE_MOVABLE:
            offset = self._smallest(order, mt, clean_only=True)
        if offset < 0:
            offset = self._smallest(order, mt)
        if offset < 0 and self.steering and mt != MIGRATE_MOVABLE:
            offset = self._claim(order, mt, True)
            if offset < 0:
                offset = self._steal(order, mt, True)
        if offset < 0:
            offset = self._claim(order, mt, False)
        if offset < 0:
            offset = self._steal(order, mt, False)
        if offset < 0:
            return -1
        for f in range(offset, offset + (1 << order)):
            assert self.state[f] == FREE
            self.state[f] = mobility
        return offset

    def free(self, offset: int, order: int) -> None:
        for f in range(offset, offset + (1 << order)):
            assert self.state[f] != FREE
            self.state[f] = FREE
        mt = self._label(offset)
        k = order
        while k < self.max_order:
            buddy = offset ^ (1 << k)
            if self.head_order.get(buddy) != k:
                break
            self._unlist(buddy, k)
            if k >= self.pb_order:
                first = buddy >> self.pb_order
                for pb in range(first, first + (1 << (k - self.pb_order))):
                    self.labels[pb] = mt
            offset &= ~(1 << k)
            k += 1
        parent_buddy = (offset & ~(1 << k)) ^ (2 << k)
        merge_likely = k < self.max_order - 1 and self.head_order.get(parent_buddy) == k + 1
        self._list(offset, k, head=not merge_likely)

    # -- read-back -----------------------------------------------------------------------------

    def free_blocks_by_type(self) -> list[list[int]]:
        return [[len(self.lists[(mt, o)]) for o in range(self.max_order + 1)] for mt in range(3)]
