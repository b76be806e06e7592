"""What a run reports of physical memory, and the work each epoch end does on it.

At each epoch end kcompactd runs if a THP fault woke it (``defer`` modes) and proactive
compaction checks each node, standing in for its 500 ms timer (epochs are counted in
accesses, not time). Their cost is kcompactd's CPU time, reported as ``compaction_ns`` but
not charged to the workload's runtime; compaction inside a fault (direct compaction, the
1 GiB range search) stalls the fault and is charged to it.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict

from pagelab.memory.layout import MAP_NAMES
from pagelab.memory.node import PhysicalMemory
from pagelab.spec import PolicySpec
from pagelab.units import format_bytes

MAP_CELLS = 512
"""Cells of a node's pageblock map in a result: enough to see pollution's pattern, few
enough to draw and store."""


class TierMemory(BaseModel):
    """One tier's physical memory at the start and end of a run.

    Per order (``block_bytes[k]`` = granule × 2^k, up to MAX_PAGE_ORDER): free blocks, the
    unusable free space index and the external fragmentation index as debugfs ``extfrag``
    shows them (0–1; the external index is −1 when a block of that order is free). ``map``
    gives each cell of the node's address range (``map_cell_bytes`` each) its most severe
    pageblock class, named by ``map_classes``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    capacity_bytes: int
    block_bytes: list[int]
    free_blocks_start: list[int]
    free_blocks_end: list[int]
    unusable_index_start: list[float]
    unusable_index_end: list[float]
    fragmentation_index_start: list[float]
    fragmentation_index_end: list[float]
    map_classes: list[str]
    map_cell_bytes: int
    map_start: list[int]
    map_end: list[int]


def _indices(memory: PhysicalMemory, node: int, index: str) -> list[float]:
    read = memory.unusable_free_index if index == "unusable" else memory.fragmentation_index
    return [read(node, order) / 1000.0 for order in range(memory.max_page_order + 1)]


def _free_pageblocks(free_blocks: list[int], pageblock_order: int) -> int:
    """Free blocks of pageblock order or more, counted in pageblocks."""
    return sum(
        count << (order - pageblock_order)
        for order, count in enumerate(free_blocks)
        if order >= pageblock_order
    )


class _NodeState:
    """A node's free lists, indices and map at one moment."""

    def __init__(self, memory: PhysicalMemory, node: int) -> None:
        self.free_blocks = memory.free_blocks(node).tolist()
        self.free_frames = memory.free_frames(node)
        self.unusable = _indices(memory, node, "unusable")
        self.fragmentation = _indices(memory, node, "fragmentation")
        self.map = memory.pageblock_map(node, MAP_CELLS)
        self.polluted = int(memory.polluted_pageblocks(node).sum())
        self.tainted_1g = int(memory.tainted_superpageblocks(node).sum())


class MemoryRecorder:
    """Runs each epoch end's compaction and turns the allocator's state into metrics."""

    def __init__(self, memory: PhysicalMemory, policy: PolicySpec, tier_names: list[str]) -> None:
        self.memory = memory
        self.policy = policy
        self.tier_names = tier_names
        self.granule_bytes = 1 << memory.granule_shift
        self.pageblock_name = format_bytes(self.granule_bytes << memory.pageblock_order).lower()
        self.start = [_NodeState(memory, node) for node in range(memory.node_count)]
        self.kcompactd_runs = 0

    def end_epoch(self, kcompactd_wakes: int) -> None:
        """kcompactd for the pageblock order if a THP fault woke it, then proactive
        compaction on every node."""
        memory = self.memory
        for node in range(memory.node_count):
            if kcompactd_wakes and node == 0:
                self.kcompactd_runs += 1
                memory.compact(node, memory.pageblock_order)
            memory.proactive_compact(node, self.policy.compaction_proactiveness)

    def work_frames(self) -> tuple[int, int, int]:
        """(frames migrated, frames scanned, of the migrated those moved by range searches)
        on every node so far."""
        migrated = scanned = contig = 0
        for node in range(self.memory.node_count):
            stats = self.memory.statistics(node)
            migrated += stats["compact_pages_migrated"] + stats["contig_pages_migrated"]
            scanned += (
                stats["compact_migrate_scanned"]
                + stats["compact_free_scanned"]
                + stats["contig_pages_scanned"]
            )
            contig += stats["contig_pages_migrated"]
        return migrated, scanned, contig

    def work_ns(self, migrated_frames: int, scanned_frames: int) -> float:
        """The cost of migrating and scanning so many frames."""
        cost = self.policy.compaction_cost
        pages_4k = self.granule_bytes / 4096.0
        return pages_4k * (
            migrated_frames * cost.migrate_ns_per_4k + scanned_frames * cost.scan_ns_per_4k
        )

    def epoch_metrics(self) -> dict[str, int | float]:
        """Free memory and fragmentation of the first tier now, and work so far."""
        memory = self.memory
        migrated, _, _ = self.work_frames()
        pageblock = memory.pageblock_order
        free_blocks = memory.free_blocks(0)
        return {
            "free_bytes": memory.free_frames(0) * self.granule_bytes,
            f"free_blocks_{self.pageblock_name}": _free_pageblocks(free_blocks.tolist(), pageblock),
            f"unusable_index_{self.pageblock_name}": memory.unusable_free_index(0, pageblock)
            / 1000.0,
            "compaction_pages_migrated": migrated,
        }

    def summary(self, stall_migrated: int, stall_scanned: int) -> dict[str, int | float]:
        """Start and end state of the first tier and the run's compaction work."""
        memory = self.memory
        end = _NodeState(memory, 0)
        start = self.start[0]
        pageblock = memory.pageblock_order
        name = self.pageblock_name
        migrated, scanned, contig = self.work_frames()
        summary: dict[str, int | float] = {
            "free_bytes_start": start.free_frames * self.granule_bytes,
            "free_bytes_end": end.free_frames * self.granule_bytes,
        }
        for when, state in (("start", start), ("end", end)):
            summary[f"free_blocks_{name}_{when}"] = _free_pageblocks(state.free_blocks, pageblock)
            summary[f"unusable_index_{name}_{when}"] = state.unusable[pageblock]
            summary[f"fragmentation_index_{name}_{when}"] = state.fragmentation[pageblock]
            summary[f"polluted_pageblocks_{when}"] = state.polluted
            summary[f"tainted_1g_blocks_{when}"] = state.tainted_1g
        summary.update(
            compaction_pages_migrated=migrated,
            compaction_pages_scanned=scanned,
            contig_pages_migrated=contig,
            compaction_ns=self.work_ns(migrated, scanned),
            compaction_stall_ns=self.work_ns(stall_migrated, stall_scanned),
            kcompactd_runs=self.kcompactd_runs,
        )
        return summary

    def tiers(self) -> list[TierMemory]:
        memory = self.memory
        reports = []
        for node, name in enumerate(self.tier_names):
            start = self.start[node]
            end = _NodeState(memory, node)
            frames = memory.node_frames(node)
            pageblocks = frames >> memory.pageblock_order
            per_cell = -(-pageblocks // MAP_CELLS)
            reports.append(
                TierMemory(
                    name=name,
                    capacity_bytes=frames * self.granule_bytes,
                    block_bytes=[
                        self.granule_bytes << order for order in range(memory.max_page_order + 1)
                    ],
                    free_blocks_start=start.free_blocks,
                    free_blocks_end=end.free_blocks,
                    unusable_index_start=start.unusable,
                    unusable_index_end=end.unusable,
                    fragmentation_index_start=start.fragmentation,
                    fragmentation_index_end=end.fragmentation,
                    map_classes=list(MAP_NAMES),
                    map_cell_bytes=(per_cell << memory.pageblock_order) * self.granule_bytes,
                    map_start=np.asarray(start.map, dtype=np.int64).tolist(),
                    map_end=np.asarray(end.map, dtype=np.int64).tolist(),
                )
            )
        return reports
