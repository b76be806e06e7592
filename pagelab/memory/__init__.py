"""Physical memory per NUMA node, as Linux manages it: buddy allocator, migratetypes,
contiguous-range allocation, compaction, fragmentation indices and ageing.

``PhysicalMemory`` builds the state and validates calls from Python. The compiled fault path
calls the kernels directly, passing ``PhysicalMemory.arrays`` = ``(frame_bits, pageblocks,
free_index, nodes)`` first:

- ``alloc(frame_bits, pageblocks, free_index, nodes, node, order, mobility) -> pfn | -1``
- ``free(frame_bits, pageblocks, free_index, nodes, node, pfn, order, mobility)``
- ``contig_alloc(frame_bits, pageblocks, free_index, nodes, moves, node, order, mobility,
  may_migrate) -> pfn | -1``
- ``compact(frame_bits, pageblocks, free_index, nodes, moves, node, order) -> COMPACT_*``
- ``proactive_compact(frame_bits, pageblocks, free_index, nodes, moves, node,
  proactiveness) -> COMPACT_*``
- ``reclass(pageblocks, nodes, node, offset, frames, old_class, new_class)`` (pin / unpin;
  ``offset`` is pfn − the node's first pfn)
- ``set_huge(pageblocks, nodes, node, offset, order, order_or_0)``
- ``watermark_ok(nodes, node, order, mark_frames) -> bool``

Array layouts and the names of every column: ``pagelab.memory.layout``. The kernels are
compiled without reference counting (``borrowing_kernel``): a caller keeps the arrays alive.
"""

from pagelab.memory._buddy import alloc, free, reclass, set_huge, watermark_ok
from pagelab.memory._migrate import compact, contig_alloc, proactive_compact
from pagelab.memory.node import PhysicalMemory
from pagelab.memory.watermarks import Watermarks

__all__ = [
    "PhysicalMemory",
    "Watermarks",
    "alloc",
    "compact",
    "contig_alloc",
    "free",
    "proactive_compact",
    "reclass",
    "set_huge",
    "watermark_ok",
]
