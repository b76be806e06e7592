"""Changing mappings already in place: splitting huge mappings, zapping a range, freeing page
tables. What workload events (munmap, mprotect, MADV_DONTNEED), THP splits for migration and
access-aware THP do to the page tables, the frames and the counters (``pagelab.mappings``
drives them from Python).

Every split of a huge mapping is a split of its folio too, as the deferred split of a
partially unmapped THP makes it: the huge page's frames become folios of the new mappings'
size (``memory._release.split_huge``) and resident bytes move between folio sizes, so a
leaf always maps exactly its folio. (Linux's mprotect splits only the mapping and leaves the
folio whole, PTE-mapped, until memory pressure; the mappings and page tables are the same.)
``full`` maps a huge page with PTEs at once; ``pmd_first`` goes one level down (a 1 GiB PUD
mapping becomes 512 PMD mappings of 2 MiB folios) and leaves further splits to the ranges
that need them. New tables come from the THP's deposit when it made one (``DEPOSITED``),
else from new unmovable pages.

A PTE-mapped folio larger than the run's smallest folio (an mTHP) that loses part of its
mappings is split into smallest folios: those left without a mapping are freed. A smallest
folio (a 4 KiB page, or a 64 KiB kernel page) is freed when no PTE maps it any more.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pagelab._kernels import access, pagetable, regions
from pagelab._kernels import counters as C
from pagelab._kernels.config import kernel
from pagelab.memory import _release
from pagelab.memory.layout import CLASS_MOVABLE, CLASS_UNMOVABLE, N_PB_ORDER

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
Words = npt.NDArray[np.uint64]
Blocks = npt.NDArray[np.int16]

OK = 0
NO_TABLES = 1  # a page-table pool is full
NO_MEMORY = 2  # no frame for a new page-table page

# Slots of the ``shape`` array every kernel here takes: the geometry and the run's smallest
# folio, which a split's PTE mappings get.
SHAPE_FANOUT_BITS = 0
SHAPE_GRANULE_SHIFT = 1
SHAPE_BASE_FOLIO = 2  # size id of the smallest folio (the base page)
SHAPE_BASE_TLB = 3  # size id of the TLB entries a PTE-mapped smallest folio gets
SHAPE_UPPER_CAP = 4  # tables each pool holds
SHAPE_PTES_CAP = 5
SHAPE_WIDTH = 6


@kernel
def _deposit_tables(level: int, last: int, fanout: int) -> int:
    """Tables a THP mapped at ``level`` deposits: the subtree a split to PTEs needs."""
    return 1 if level == last - 1 else 1 + fanout


@kernel
def split_leaf(
    slot: int,
    level: int,
    full: bool,
    shape: I64,
    upper: I64,
    ptes: U8,
    used: I64,
    level_tables: I64,
    level_shift: I64,
    counts: I64,
    frame_bits: Words,
    pageblocks: Blocks,
    free_index: Words,
    nodes: I64,
) -> int:
    """Split the huge mapping ``upper[slot]`` at ``level`` (see the module): to PTEs when
    ``full`` or one level above them, else into the next level's mappings. OK, NO_TABLES or
    NO_MEMORY (nothing changed)."""
    fanout_bits = shape[SHAPE_FANOUT_BITS]
    fanout = 1 << fanout_bits
    last = level_shift.shape[0] - 1
    entry = upper[slot]
    folio = pagetable.folio_size_of(entry)
    tier = pagetable.tier_of_leaf(entry)
    deposited = entry & pagetable.DEPOSITED != 0
    to_ptes = full or level == last - 1
    n_upper = 1 if level < last - 1 else 0
    n_ptes = (fanout if level == last - 2 else 1) if to_ptes else 0
    if (
        used[pagetable.USED_UPPER] + n_upper > shape[SHAPE_UPPER_CAP]
        or used[pagetable.USED_PTES] + n_ptes > shape[SHAPE_PTES_CAP]
    ):
        return NO_TABLES
    if deposited:
        counts[C.DEPOSIT_TABLES] -= n_upper + n_ptes
    elif access._alloc_pages(frame_bits, pageblocks, free_index, nodes, 0, 0, CLASS_UNMOVABLE,
                             n_upper + n_ptes) < 0:  # fmt: skip
        return NO_MEMORY
    if to_ptes:
        child_folio = shape[SHAPE_BASE_FOLIO]
        pte = pagetable.leaf_entry(shape[SHAPE_BASE_TLB], child_folio)
        first = used[pagetable.USED_PTES]
        used[pagetable.USED_PTES] += n_ptes
        level_tables[last] += n_ptes
        ptes[first << fanout_bits : (first + n_ptes) << fanout_bits] = pte
        counts[C.LIVE_MAPPINGS + last] += n_ptes << fanout_bits
        if n_upper:
            middle = used[pagetable.USED_UPPER]
            used[pagetable.USED_UPPER] += 1
            level_tables[last - 1] += 1
            for i in range(fanout):
                upper[(middle << fanout_bits) + i] = ((first + i) << 2) | pagetable.TABLE
            upper[slot] = (middle << 2) | pagetable.TABLE
        else:
            upper[slot] = (first << 2) | pagetable.TABLE
    else:
        child_folio = pagetable.size_id_of_shift(level_shift[level + 1])
        child = pagetable.leaf_entry(child_folio, child_folio) | (
            np.int64(tier) << pagetable.TIER_SHIFT
        )
        if deposited:
            child |= pagetable.DEPOSITED  # each keeps one of the deposited PTE tables
        middle = used[pagetable.USED_UPPER]
        used[pagetable.USED_UPPER] += 1
        level_tables[level + 1] += 1
        upper[middle << fanout_bits : (middle + 1) << fanout_bits] = child
        upper[slot] = (middle << 2) | pagetable.TABLE
        counts[C.LIVE_MAPPINGS + level + 1] += fanout
    counts[C.LIVE_MAPPINGS + level] -= 1
    granule_shift = shape[SHAPE_GRANULE_SHIFT]
    order = pagetable.SIZE_SHIFT[folio] - granule_shift
    if order >= nodes[tier, N_PB_ORDER]:
        new_order = pagetable.SIZE_SHIFT[child_folio] - granule_shift
        _release.split_huge(pageblocks, nodes, tier, order, new_order)
    size = np.int64(1) << pagetable.SIZE_SHIFT[folio]
    counts[C.RESIDENT_BYTES + folio] -= size
    counts[C.RESIDENT_BYTES + child_folio] += size
    counts[C.THP_SPLITS] += 1
    counts[C.SPLITS_BY_SIZE + folio] += 1
    return OK


@kernel
def split_at(
    pid: int,
    address: int,
    full: bool,
    shape: I64,
    upper: I64,
    ptes: U8,
    roots: I64,
    used: I64,
    level_tables: I64,
    level_shift: I64,
    counts: I64,
    frame_bits: Words,
    pageblocks: Blocks,
    free_index: Words,
    nodes: I64,
) -> int:
    """Split the huge mappings of ``pid`` that straddle ``address`` until none does (a
    range's edge: what munmap, mprotect and madvise do first). OK or a split's failure."""
    fanout_bits = shape[SHAPE_FANOUT_BITS]
    mask = (1 << fanout_bits) - 1
    last = level_shift.shape[0] - 1
    if address >= np.int64(1) << (level_shift[0] + fanout_bits):
        return OK
    while True:
        node = roots[pid]
        if node < 0:
            return OK
        split = False
        for level in range(last):
            slot = (node << fanout_bits) + ((address >> level_shift[level]) & mask)
            entry = upper[slot]
            if entry & 3 == pagetable.TABLE:
                node = entry >> 2
                continue
            if entry & 3 == pagetable.LEAF and address & ((1 << level_shift[level]) - 1):
                status = split_leaf(slot, level, full, shape, upper, ptes, used, level_tables,
                                    level_shift, counts, frame_bits, pageblocks, free_index,
                                    nodes)  # fmt: skip
                if status != OK:
                    return status
                split = True
            break
        if not split:
            return OK


@kernel
def _free_folio(
    folio: int,
    node: int,
    shape: I64,
    counts: I64,
    frame_bits: Words,
    pageblocks: Blocks,
    free_index: Words,
    nodes: I64,
) -> None:
    """Give a folio's frames back to ``node``'s buddy allocator (see ``_release``)."""
    shift = pagetable.SIZE_SHIFT[folio]
    _release.release(frame_bits, pageblocks, free_index, nodes, node,
                     shift - shape[SHAPE_GRANULE_SHIFT], CLASS_MOVABLE)  # fmt: skip
    counts[C.RESIDENT_BYTES + folio] -= np.int64(1) << shift
    counts[C.TIER_RESIDENT_BYTES + node] -= np.int64(1) << shift


@kernel
def _zap_ptes(
    pid: int,
    table: int,
    lo: int,
    hi: int,
    shape: I64,
    ptes: U8,
    counts: I64,
    last: int,
    hash_keys: I64,
    hash_rows: I64,
    row_tiers: I64,
    frame_bits: Words,
    pageblocks: Blocks,
    free_index: Words,
    nodes: I64,
) -> None:
    """Clear the PTEs of PTE table ``table`` that map ``[lo, hi)`` (one table's part of a
    range) and free or split the folios they leave (see the module)."""
    fanout_bits = shape[SHAPE_FANOUT_BITS]
    granule_shift = shape[SHAPE_GRANULE_SHIFT]
    base_folio = shape[SHAPE_BASE_FOLIO]
    base = table << fanout_bits
    span_base = lo & ~((np.int64(1) << (granule_shift + fanout_bits)) - 1)
    first = (lo - span_base) >> granule_shift
    stop = first + ((hi - lo) >> granule_shift)
    i = first
    while i < stop:
        entry = ptes[base + i]
        if entry == 0:
            i += 1
            continue
        folio = pagetable.folio_size_of(entry)
        per_folio = 1 << (pagetable.SIZE_SHIFT[folio] - granule_shift)
        block = i & ~(per_folio - 1)
        zap_first = max(block, first)
        zap_stop = min(block + per_folio, stop)
        mapped = 0
        zapped = 0
        for j in range(block, block + per_folio):
            if ptes[base + j] != 0:
                mapped += 1
                if zap_first <= j < zap_stop:
                    zapped += 1
                    ptes[base + j] = 0
        counts[C.LIVE_MAPPINGS + last] -= zapped
        node = 0
        if row_tiers.shape[0]:
            va = span_base + (block << granule_shift)
            row = regions.find_row(hash_keys, hash_rows, regions.region_key(pid, va))
            if row >= 0:
                node = regions.tier_of(row_tiers, row, (va >> 12) & 511)
        if zapped == mapped:
            _free_folio(folio, node, shape, counts, frame_bits, pageblocks, free_index, nodes)
        elif folio != base_folio:
            # Partly unmapped: split into smallest folios, freeing those left unmapped.
            per_base = 1 << (pagetable.SIZE_SHIFT[base_folio] - granule_shift)
            size = np.int64(1) << pagetable.SIZE_SHIFT[folio]
            counts[C.RESIDENT_BYTES + folio] -= size
            counts[C.RESIDENT_BYTES + base_folio] += size
            counts[C.THP_SPLITS] += 1
            counts[C.SPLITS_BY_SIZE + folio] += 1
            pte = pagetable.leaf_entry(shape[SHAPE_BASE_TLB], base_folio)
            for part in range(block, block + per_folio, per_base):
                alive = False
                for j in range(part, part + per_base):
                    if ptes[base + j] != 0:
                        ptes[base + j] = pte
                        alive = True
                if not alive:
                    _free_folio(base_folio, node, shape, counts, frame_bits, pageblocks,
                                free_index, nodes)  # fmt: skip
        i = zap_stop


@kernel
def zap(
    pid: int,
    start: int,
    end: int,
    shape: I64,
    upper: I64,
    ptes: U8,
    roots: I64,
    level_shift: I64,
    counts: I64,
    hash_keys: I64,
    hash_rows: I64,
    row_tiers: I64,
    frame_bits: Words,
    pageblocks: Blocks,
    free_index: Words,
    nodes: I64,
) -> None:
    """Unmap ``[start, end)`` of ``pid`` (granule-aligned, no huge mapping straddling an
    edge: ``split_at`` both first): clear every leaf, free the folios left unmapped and the
    tables deposited with them. Page tables stay (``free_tables`` frees them)."""
    fanout_bits = shape[SHAPE_FANOUT_BITS]
    mask = (1 << fanout_bits) - 1
    last = level_shift.shape[0] - 1
    va = start
    while va < end:
        node = roots[pid]
        if node < 0:
            return
        at_ptes = True
        for level in range(last):
            slot = (node << fanout_bits) + ((va >> level_shift[level]) & mask)
            entry = upper[slot]
            if entry & 3 == pagetable.TABLE:
                node = entry >> 2
                continue
            size = np.int64(1) << level_shift[level]
            if entry & 3 == pagetable.LEAF:
                folio = pagetable.folio_size_of(entry)
                _free_folio(folio, pagetable.tier_of_leaf(entry), shape, counts, frame_bits,
                            pageblocks, free_index, nodes)  # fmt: skip
                if entry & pagetable.DEPOSITED:
                    deposit = _deposit_tables(level, last, 1 << fanout_bits)
                    counts[C.DEPOSIT_TABLES] -= deposit
                    for _ in range(deposit):
                        _release.release_table(frame_bits, pageblocks, free_index, nodes)
                upper[slot] = 0
                counts[C.LIVE_MAPPINGS + level] -= 1
            va = (va & ~(size - 1)) + size
            at_ptes = False
            break
        if at_ptes:
            table_span = np.int64(1) << level_shift[last - 1]
            stop = min(end, (va & ~(table_span - 1)) + table_span)
            _zap_ptes(pid, node, va, stop, shape, ptes, counts, last, hash_keys, hash_rows,
                      row_tiers, frame_bits, pageblocks, free_index, nodes)  # fmt: skip
            va = stop


@kernel
def free_tables(
    pid: int,
    start: int,
    end: int,
    floor: int,
    ceiling: int,
    shape: I64,
    upper: I64,
    ptes: U8,
    roots: I64,
    level_tables: I64,
    level_shift: I64,
    frame_bits: Words,
    pageblocks: Blocks,
    free_index: Words,
    nodes: I64,
) -> int:
    """Free the empty page tables under ``[start, end)`` that map nothing between ``floor``
    and ``ceiling`` (the neighbouring VMAs' edges), lowest level first, as
    ``free_pgd_range`` does after munmap; the top-level table stays. Returns the tables
    freed. A freed table's slot in its pool is not reused (the pools are reserved whole)."""
    fanout_bits = shape[SHAPE_FANOUT_BITS]
    fanout = 1 << fanout_bits
    mask = fanout - 1
    last = level_shift.shape[0] - 1
    freed = 0
    root = roots[pid]
    if root < 0 or start >= end:
        return 0
    for level in range(last, 0, -1):
        span = np.int64(1) << (level_shift[level] + fanout_bits)
        for table_start in range(start & ~(span - 1), end, span):
            if table_start < floor or table_start + span > ceiling:
                continue
            node = root
            for above in range(level - 1):
                entry = upper[(node << fanout_bits) + ((table_start >> level_shift[above]) & mask)]
                if entry & 3 != pagetable.TABLE:
                    node = -1
                    break
                node = entry >> 2
            if node < 0:
                continue
            slot = (node << fanout_bits) + ((table_start >> level_shift[level - 1]) & mask)
            entry = upper[slot]
            if entry & 3 != pagetable.TABLE:
                continue
            child = entry >> 2
            first = child << fanout_bits
            if level == last:
                empty = access._none(ptes, first, first + fanout)
            else:
                empty = access._none(upper, first, first + fanout)
            if not empty:
                continue
            upper[slot] = 0
            level_tables[level] -= 1
            _release.release_table(frame_bits, pageblocks, free_index, nodes)
            freed += 1
    return freed


@kernel
def forget_pages(
    pid: int,
    start: int,
    end: int,
    hash_keys: I64,
    hash_rows: I64,
    row_touched: I64,
    row_young: I64,
    row_hint: I64,
    counts: I64,
) -> None:
    """Drop the per-page state of ``[start, end)`` of ``pid`` (touched, accessed and hint
    bits): the pages are gone, and a later fault brings new, untouched ones."""
    region = np.int64(1) << regions.REGION_SHIFT
    for region_va in range(start & ~(region - 1), end, region):
        row = regions.find_row(hash_keys, hash_rows, regions.region_key(pid, region_va))
        if row < 0:
            continue
        first = (max(int(start), int(region_va)) - region_va) >> 12
        stop = (min(int(end), int(region_va + region)) - region_va) >> 12
        for page in range(first, stop):
            word = (row << 3) + (page >> 6)
            bit = np.int64(1) << (page & 63)
            if row_touched[word] & bit:
                row_touched[word] &= ~bit
                counts[C.TOUCHED_PAGES] -= 1
            if row_young.shape[0]:
                row_young[word] &= ~bit
            if row_hint.shape[0]:
                row_hint[word] &= ~bit
