"""Access-aware THP's changes to the mappings (``policies.access_aware`` drives them at epoch
ends): what maps each 2 MiB region, collapsing a region mapped by 4 KiB pages into one
2 MiB THP as MADV_COLLAPSE does, and splitting a sparse THP with its untouched sub-pages
freed (``remap``'s split and zap).

A collapse allocates the 2 MiB folio first (direct compaction allowed, on the tier holding
most of the range's pages, as ``collapse_find_target_node``), then frees the 4 KiB folios it
replaces; the emptied PTE table becomes the THP's deposit, as khugepaged reuses it, or is
freed when the VMA deposits nothing. Compaction work done for it is counted apart from the
faults' (``COLLAPSE_PAGES_MIGRATED``): kdamond does it, not the application.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pagelab._kernels import access, pagetable, regions, remap
from pagelab._kernels import counters as C
from pagelab._kernels.config import kernel
from pagelab.memory import _release

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
Words = npt.NDArray[np.uint64]
Blocks = npt.NDArray[np.int16]

# What ``classify`` finds at a region.
MAPPED_OTHER = 0  # nothing, or nothing this policy acts on
MAPPED_PTES = 1  # a PTE table inside one VMA access-aware THP may collapse
MAPPED_THP = 2  # a 2 MiB THP of an anonymous VMA
# Outcomes besides ``remap.OK`` / ``NO_TABLES`` / ``NO_MEMORY``.
SKIPPED = 3  # the range is not (or no longer) what the action needs
NO_BLOCK = 4  # no 2 MiB block, even after compaction: a failed collapse
HUGE = access.HUGE_SIZE_ID  # 2 MiB


@kernel
def classify(
    pids: I64,
    bases: I64,
    shape: I64,
    upper: I64,
    ptes: U8,
    roots: I64,
    level_shift: I64,
    vmas: I64,
    pid_vmas: I64,
    out: I64,
) -> None:
    """``out[i]``: what maps the 2 MiB region of ``pids[i]`` at ``bases[i]`` (``MAPPED_*``)."""
    fanout_bits = shape[remap.SHAPE_FANOUT_BITS]
    last = level_shift.shape[0] - 1
    span = np.int64(1) << level_shift[last - 1]
    for i in range(pids.shape[0]):
        pid, va = pids[i], bases[i]
        out[i] = MAPPED_OTHER
        vma = access._find_vma(vmas, pid_vmas, pid, va)
        if vma < 0:
            continue
        row = vma * access.VMA_WIDTH
        flags = vmas[row + access.VMA_FLAGS]
        level, entry = pagetable.walk(upper, ptes, roots, pid, va, level_shift, fanout_bits)
        if level == last:
            inside = va + span <= vmas[row + access.VMA_END]
            if inside and flags & access.VMA_MAY_COLLAPSE:
                out[i] = MAPPED_PTES
        elif (
            level == last - 1
            and entry & 3 == pagetable.LEAF
            and pagetable.folio_size_of(entry) == HUGE
            and flags & access.VMA_ANONYMOUS
        ):
            out[i] = MAPPED_THP


@kernel
def _pmd_slot(pid: int, va: int, shape: I64, upper: I64, roots: I64, level_shift: I64) -> int:
    """The slot of ``va``'s PMD entry in ``upper``, or -1 when no PMD table maps it."""
    fanout_bits = shape[remap.SHAPE_FANOUT_BITS]
    mask = (1 << fanout_bits) - 1
    last = level_shift.shape[0] - 1
    node = roots[pid]
    if node < 0:
        return -1
    for level in range(last - 1):
        entry = upper[(node << fanout_bits) + ((va >> level_shift[level]) & mask)]
        if entry & 3 != pagetable.TABLE:
            return -1
        node = entry >> 2
    return (node << fanout_bits) + ((va >> level_shift[last - 1]) & mask)


@kernel
def collapse(
    pid: int,
    va: int,
    deposit: bool,
    huge_tlb: int,
    shape: I64,
    upper: I64,
    ptes: U8,
    roots: I64,
    level_tables: I64,
    level_shift: I64,
    counts: I64,
    hash_keys: I64,
    hash_rows: I64,
    row_tiers: I64,
    frame_bits: Words,
    pageblocks: Blocks,
    free_index: Words,
    nodes: I64,
    moves: I64,
) -> int:
    """Collapse the 2 MiB range at ``va`` (2 MiB-aligned, mapped by a PTE table of 4 KiB
    pages) into one THP whose TLB entries are of size id ``huge_tlb`` (see the module);
    ``deposit``: the PTE table becomes the THP's deposit. ``remap.OK``, SKIPPED or NO_BLOCK."""
    fanout_bits = shape[remap.SHAPE_FANOUT_BITS]
    fanout = 1 << fanout_bits
    last = level_shift.shape[0] - 1
    slot = _pmd_slot(pid, va, shape, upper, roots, level_shift)
    if slot < 0 or upper[slot] & 3 != pagetable.TABLE:
        return SKIPPED
    first = (upper[slot] >> 2) << fanout_bits
    base_folio = shape[remap.SHAPE_BASE_FOLIO]
    present = 0
    for i in range(first, first + fanout):
        if ptes[i]:
            if pagetable.folio_size_of(ptes[i]) != base_folio:
                return SKIPPED
            present += 1
    if present == 0:
        return SKIPPED
    row = -1
    target = 0
    if row_tiers.shape[0]:
        row = regions.find_row(hash_keys, hash_rows, regions.region_key(pid, va))
    best = 0
    for tier in range(C.TIERS if row >= 0 else 0):
        held = 0
        for i in range(fanout):
            if ptes[first + i] and regions.tier_of(row_tiers, row, i) == tier:
                held += 1
        if held > best:
            best, target = held, tier
    migrated, scanned = counts[C.STALL_PAGES_MIGRATED], counts[C.STALL_PAGES_SCANNED]
    order = pagetable.SIZE_SHIFT[HUGE] - shape[remap.SHAPE_GRANULE_SHIFT]
    node = access._alloc_huge(frame_bits, pageblocks, free_index, nodes, moves, counts, target,
                              order, True)  # fmt: skip
    counts[C.COLLAPSE_PAGES_MIGRATED] += counts[C.STALL_PAGES_MIGRATED] - migrated
    counts[C.COLLAPSE_PAGES_SCANNED] += counts[C.STALL_PAGES_SCANNED] - scanned
    counts[C.STALL_PAGES_MIGRATED] = migrated
    counts[C.STALL_PAGES_SCANNED] = scanned
    if node < 0:
        counts[C.THP_COLLAPSE_FAILURES] += 1
        return NO_BLOCK
    for i in range(fanout):
        if ptes[first + i]:
            tier = regions.tier_of(row_tiers, row, i) if row >= 0 else 0
            remap._free_folio(base_folio, tier, shape, counts, frame_bits, pageblocks,
                              free_index, nodes)  # fmt: skip
            ptes[first + i] = 0
    counts[C.LIVE_MAPPINGS + last] -= present
    level_tables[last] -= 1
    leaf = pagetable.leaf_entry(huge_tlb, HUGE) | (np.int64(node) << pagetable.TIER_SHIFT)
    if deposit:
        counts[C.DEPOSIT_TABLES] += 1
        leaf |= pagetable.DEPOSITED
    else:
        _release.release_table(frame_bits, pageblocks, free_index, nodes)
    upper[slot] = leaf
    counts[C.LIVE_MAPPINGS + last - 1] += 1
    size = np.int64(1) << pagetable.SIZE_SHIFT[HUGE]
    counts[C.RESIDENT_BYTES + HUGE] += size
    counts[C.TIER_RESIDENT_BYTES + node] += size
    if row >= 0:
        regions.set_tiers(row_tiers, row, 0, fanout, node)
    counts[C.THP_COLLAPSES] += 1
    counts[C.COLLAPSE_PAGES_COPIED] += present
    counts[C.COLLAPSE_PAGES_ZEROED] += fanout - present
    return remap.OK


@kernel
def split_sparse(
    pid: int,
    va: int,
    row: int,
    shape: I64,
    upper: I64,
    ptes: U8,
    roots: I64,
    used: I64,
    level_tables: I64,
    level_shift: I64,
    counts: I64,
    hash_keys: I64,
    hash_rows: I64,
    row_tiers: I64,
    row_touched: I64,
    row_young: I64,
    row_hint: I64,
    frame_bits: Words,
    pageblocks: Blocks,
    free_index: Words,
    nodes: I64,
) -> int:
    """Split the 2 MiB THP at ``va`` (region row ``row``) to PTEs and free every sub-page
    never touched. ``remap.OK``, SKIPPED or a split's failure."""
    last = level_shift.shape[0] - 1
    slot = _pmd_slot(pid, va, shape, upper, roots, level_shift)
    if slot < 0:
        return SKIPPED
    entry = upper[slot]
    if entry & 3 != pagetable.LEAF or pagetable.folio_size_of(entry) != HUGE:
        return SKIPPED
    status = remap.split_leaf(slot, last - 1, True, shape, upper, ptes, used, level_tables,
                              level_shift, counts, frame_bits, pageblocks, free_index,
                              nodes)  # fmt: skip
    if status != remap.OK:
        return status
    pages = 1 << (regions.REGION_SHIFT - 12)
    page = 0
    while page < pages:
        stop = page
        while stop < pages and not (row_touched[(row << 3) + (stop >> 6)] >> (stop & 63)) & 1:
            stop += 1
        if stop > page:
            start, end = va + (page << 12), va + (stop << 12)
            remap.zap(pid, start, end, shape, upper, ptes, roots, level_shift, counts,
                      hash_keys, hash_rows, row_tiers, frame_bits, pageblocks, free_index,
                      nodes)  # fmt: skip
            remap.forget_pages(pid, start, end, hash_keys, hash_rows, row_touched, row_young,
                               row_hint, counts)  # fmt: skip
        page = stop + 1
    return remap.OK


@kernel
def mapped_ptes(
    pid: int, va: int, shape: I64, upper: I64, ptes: U8, roots: I64, level_shift: I64
) -> int:
    """How many PTEs of the PTE table mapping the 2 MiB range at ``va`` are present, or -1
    when no PTE table maps it (nothing, or a huge page)."""
    slot = _pmd_slot(pid, va, shape, upper, roots, level_shift)
    if slot < 0 or upper[slot] & 3 != pagetable.TABLE:
        return -1
    fanout = 1 << shape[remap.SHAPE_FANOUT_BITS]
    first = (upper[slot] >> 2) * fanout
    present = 0
    for i in range(first, first + fanout):
        if ptes[i]:
            present += 1
    return present
