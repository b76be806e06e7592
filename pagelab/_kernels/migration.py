"""Moving folios between tiers: the compiled half of ``pagelab.tiers.Tiers.migrate``.

A candidate is a (region row, 4 KiB page) pair; the folio mapping that page moves whole
(huge pages migrate whole, as ``migrate_pages`` moves a THP when the destination has room
for it). The destination's buddy allocator gives the new frames without compaction or
reclaim (migration allocates with ``__GFP_NOWAIT``-like flags: a full destination fails the
move); the source frees a movable block of the same order (``memory._release``). The tier
is rewritten in every region row the folio covers and in an upper-level leaf.

A 1 GiB folio either stays where it is (``block``: the refusal is counted) or, with
``split``, its PUD mapping is split into 512 PMD mappings first (the first step of a
``pmd_first`` split, ``remap.split_leaf``; its PMD table comes from the THP's deposit when
it made one, else a new unmovable page) and the 2 MiB folio holding the candidate moves.
Only a PUD-mapped 1 GiB folio (4 KiB granule) can be split this way; others are refused.

A page of a shared object (``_kernels.shared``) stays where it is and the refusal is
counted: moving it would have to rewrite every process's mapping of it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pagelab._kernels import access, pagetable, regions, remap
from pagelab._kernels import counters as C
from pagelab._kernels.config import kernel
from pagelab.memory import _buddy, _release
from pagelab.memory.layout import CLASS_MOVABLE

I64 = npt.NDArray[np.int64]

# Slots of the ``out`` array.
OUT_FOLIOS = 0  # folios moved
OUT_BYTES = 1
OUT_PROMOTED_BYTES = 2  # moved to a faster tier (a lower node number)
OUT_DEMOTED_BYTES = 3
OUT_NO_ROOM = 4  # folios the destination had no free block for
OUT_REFUSED_1G = 5  # 1 GiB folios left in place
OUT_SPLIT_1G = 6  # 1 GiB folios split into 2 MiB ones to move
OUT_REFUSED_SHARED = 7  # pages of shared objects left in place
OUT_WIDTH = 8

ONE_GIB_SHIFT = 30


@kernel
def _leaf_slot(
    upper: I64, roots: I64, pid: int, va: int, level_shift: I64, fanout_bits: int
) -> int:
    """Index in ``upper`` of the upper-level leaf mapping ``va``, or -1 (a PTE maps it)."""
    node = roots[pid]
    mask = (1 << fanout_bits) - 1
    for level in range(level_shift.shape[0] - 1):
        slot = (node << fanout_bits) + ((va >> level_shift[level]) & mask)
        entry = upper[slot]
        if entry & 3 == pagetable.LEAF:
            return slot
        if entry & 3 != pagetable.TABLE:
            return -1
        node = entry >> 2
    return -1


@kernel
def migrate(
    candidates: I64,
    dest: int,
    limit_bytes: int,
    granule_shift: int,
    upper: I64,
    ptes: npt.NDArray[np.uint8],
    roots: I64,
    level_shift: I64,
    fanout_bits: int,
    row_keys: I64,
    row_tiers: I64,
    hash_keys: I64,
    hash_rows: I64,
    frame_bits: npt.NDArray[np.uint64],
    pageblocks: npt.NDArray[np.int16],
    free_index: npt.NDArray[np.uint64],
    nodes: I64,
    counts: I64,
    out: I64,
    split_1g: bool,
    shape: I64,
    used: I64,
    level_tables: I64,
    vmas: I64,
    pid_vmas: I64,
) -> int:
    """Move the folios of ``candidates`` (rows of (region row, page)) to node ``dest``, in
    order, until ``limit_bytes`` would be exceeded; returns the index of the first candidate
    not considered. Folios already on ``dest`` are skipped. ``split_1g``: split a 1 GiB
    folio to move its 2 MiB parts (``remap.split_leaf``, with ``shape``, ``used`` and
    ``level_tables`` as it takes them); ``vmas`` and ``pid_vmas`` tell shared pages, which
    stay."""
    n = candidates.shape[0]
    moved = 0
    for i in range(n):
        row = candidates[i, 0]
        page = candidates[i, 1]
        src = regions.tier_of(row_tiers, row, page)
        if src == dest:
            continue
        key = row_keys[row]
        pid = key >> 27
        va = ((key & ((1 << 27) - 1)) << regions.REGION_SHIFT) | (page << 12)
        level, entry = pagetable.walk(upper, ptes, roots, pid, va, level_shift, fanout_bits)
        if entry & 3 != pagetable.LEAF:
            continue
        vma = access._find_vma(vmas, pid_vmas, pid, va)
        if vma >= 0 and vmas[vma * access.VMA_WIDTH + access.VMA_OBJECT] >= 0:
            out[OUT_REFUSED_SHARED] += 1
            continue
        folio_shift = pagetable.SIZE_SHIFT[pagetable.folio_size_of(entry)]
        if folio_shift >= ONE_GIB_SHIFT:
            if not split_1g or level_shift[level] != ONE_GIB_SHIFT or remap.split_leaf(
                _leaf_slot(upper, roots, pid, va, level_shift, fanout_bits), level, False,
                shape, upper, ptes, used, level_tables, level_shift, counts, frame_bits,
                pageblocks, free_index, nodes,
            ) != remap.OK:  # fmt: skip
                out[OUT_REFUSED_1G] += 1
                continue
            out[OUT_SPLIT_1G] += 1
            level, entry = pagetable.walk(upper, ptes, roots, pid, va, level_shift, fanout_bits)
            folio_shift = pagetable.SIZE_SHIFT[pagetable.folio_size_of(entry)]
        folio_bytes = np.int64(1) << folio_shift
        if moved + folio_bytes > limit_bytes:
            return i
        order = folio_shift - granule_shift
        if _buddy.alloc(frame_bits, pageblocks, free_index, nodes, dest, order,
                        CLASS_MOVABLE) < 0:  # fmt: skip
            out[OUT_NO_ROOM] += 1
            continue
        _release.release(frame_bits, pageblocks, free_index, nodes, src, order, CLASS_MOVABLE)
        if folio_shift >= regions.REGION_SHIFT:
            base = va & ~(folio_bytes - 1)
            for region_va in range(base, base + folio_bytes, 1 << regions.REGION_SHIFT):
                other = regions.find_row(hash_keys, hash_rows, regions.region_key(pid, region_va))
                if other >= 0:
                    regions.set_tiers(row_tiers, other, 0, 512, dest)
        else:
            pages = folio_bytes >> 12
            first = page & ~(pages - 1)
            regions.set_tiers(row_tiers, row, first, first + pages, dest)
        if level < level_shift.shape[0] - 1:
            slot = _leaf_slot(upper, roots, pid, va, level_shift, fanout_bits)
            upper[slot] = (upper[slot] & ~(np.int64(3) << pagetable.TIER_SHIFT)) | (
                np.int64(dest) << pagetable.TIER_SHIFT
            )
        counts[C.TIER_RESIDENT_BYTES + src] -= folio_bytes
        counts[C.TIER_RESIDENT_BYTES + dest] += folio_bytes
        moved += folio_bytes
        out[OUT_FOLIOS] += 1
        out[OUT_BYTES] += folio_bytes
        if dest < src:
            out[OUT_PROMOTED_BYTES] += folio_bytes
        else:
            out[OUT_DEMOTED_BYTES] += folio_bytes
    return n
