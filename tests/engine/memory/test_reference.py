"""The compiled allocator against the slow reference on seeded random operation sequences."""

from __future__ import annotations

import numpy as np
import pytest

from pagelab.memory import PhysicalMemory
from pagelab.memory.layout import CLASS_MOVABLE, CLASS_PINNED, CLASSES

from .invariants import check
from .reference import ReferenceNode

MIB = 1 << 20

# (capacity, granule shift, steering, superpageblock bytes, seed)
CASES = [
    (16 * MIB, 12, False, 1 << 30, 1),
    (32 * MIB, 12, False, 1 << 30, 2),
    (64 * MIB, 12, True, 8 * MIB, 3),
    (128 * MIB, 14, False, 1 << 30, 4),
]


@pytest.mark.parametrize(("capacity", "shift", "steering", "spb_bytes", "seed"), CASES)
def test_random_sequences_match_the_reference(
    capacity: int, shift: int, steering: bool, spb_bytes: int, seed: int
) -> None:
    memory = PhysicalMemory([capacity], shift, steering=steering, superpageblock_bytes=spb_bytes)
    ref = ReferenceNode(
        memory.node_frames(0),
        memory.max_page_order,
        memory.pageblock_order,
        memory.superpageblock_order,
        steering=steering,
    )
    rng = np.random.default_rng(seed)
    live: list[tuple[int, int, int]] = []
    orders = np.arange(memory.max_page_order + 1)
    weights = 0.5**orders
    weights /= weights.sum()
    reserve = memory.node_frames(0) // 50
    filled = False
    for step in range(4000):
        # Fill to ~98% in use, then churn around it, so fallbacks of every kind happen.
        filled = filled or memory.free_frames(0) < 2 * reserve
        if filled and (rng.random() < 0.45 or memory.free_frames(0) < reserve):
            pfn, order, cls = live.pop(int(rng.integers(len(live))))
            memory.free(0, pfn, order, cls)
            ref.free(pfn, order)
        else:
            order = int(rng.choice(orders, p=weights))
            cls = int(rng.integers(CLASSES))
            pfn = memory.alloc(0, order, cls)
            assert pfn == ref.alloc(order, cls), f"step {step}"
            if pfn >= 0:
                live.append((pfn, order, cls))
                if cls == CLASS_MOVABLE and rng.random() < 0.05:
                    memory.pin(0, pfn, order)
                    live[-1] = (pfn, order, CLASS_PINNED)
        if step % 250 == 0:
            assert memory.free_blocks_by_type(0).tolist() == ref.free_blocks_by_type()
            assert memory.pageblock_labels(0).tolist() == ref.labels
            check(memory)
    assert memory.free_blocks_by_type(0).tolist() == ref.free_blocks_by_type()
    assert memory.pageblock_labels(0).tolist() == ref.labels
    check(memory)
    stats = memory.statistics(0)
    assert stats["fallback_claim"] > 0 and stats["fallback_steal"] > 0
