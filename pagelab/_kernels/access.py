"""The per-access path: TLB hierarchy, page walk with walk caches, faults, LLC filter and
per-region touch and access counts. One call simulates ``[start, end)`` of a chunk.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pagelab._kernels import counters as C
from pagelab._kernels import lru, pagetable, regions
from pagelab._kernels import placement as P
from pagelab._kernels import shared as S
from pagelab._kernels.config import at, borrowing_kernel, inline_kernel
from pagelab._kernels.prefetch import prefetch
from pagelab.memory import _buddy, _migrate
from pagelab.memory.layout import (
    CLASS_MOVABLE,
    CLASS_UNMOVABLE,
    COMPACT_NOT_NEEDED,
    COMPACT_SUCCESS,
    N_COMPACT_FREE_SCANNED,
    N_COMPACT_MIGRATE_SCANNED,
    N_COMPACT_PAGES_MIGRATED,
    N_CONTIG_PAGES_MIGRATED,
    N_CONTIG_PAGES_SCANNED,
    N_FREE_FRAMES,
    N_MAX_ORDER,
    N_WMARK_LOW,
    N_WMARK_MIN,
)

I64 = npt.NDArray[np.int64]
IFETCH = 2

# Columns of the packed tables the kernel reads on faults: one flat array per table keeps
# the call to ``_fault`` short (each array argument is pushed field by field).
KIND_LEAF_LEVEL = 0
KIND_BLOCK_SHIFT = 1
KIND_TLB_SIZE = 2
KIND_FOLIO_SIZE = 3
KIND_NEEDS_THP = 4
KIND_CROSSES_EDGE = 5
KIND_DEPOSIT = 6
KIND_ORDER = 7  # log2 of the folio's frames (granules)
KIND_WIDTH = 8
VMA_START = 0
VMA_END = 1
VMA_THP_SIZES = 2  # bit n set: a THP of folio size id n may map this VMA
VMA_FLAGS = 3
VMA_OBJECT = 4  # the shared object this VMA maps (``_kernels.shared``), or -1
VMA_WIDTH = 5
VMA_ANONYMOUS = 1  # VMA_FLAGS bits: anonymous memory (its THPs deposit tables)
VMA_DIRECT_COMPACT = 2  # a failed THP allocation may compact (and search other nodes)
VMA_WAKE_KCOMPACTD = 4  # a failed THP allocation wakes kcompactd
VMA_MAY_COLLAPSE = 8  # anonymous, not MADV_NOHUGEPAGE: access-aware THP may collapse it
PID_FIRST_VMA = 0
PID_VMA_COUNT = 1
PID_WIDTH = 2
HUGE_SIZE_ID = 4  # pagelab.units.PAGE_SIZES.index("2M"): folios this size or larger are huge
# What the per-access path keeps for tiering (``tracking`` bits), each only when a run needs
# it: a single-tier run pays for none of it.
TRACK_TIERS = 1  # the tier of each access that reaches memory (more than one tier)
TRACK_YOUNG = 2  # accessed bits set by page walks (DAMON, CLOCK demotion)
TRACK_HINTS = 4  # NUMA hint faults on walks to inaccessible PTEs (tpp)


@inline_kernel
def _tlb_key(tag: int, pid: int, size_id: int) -> int:
    return ((tag << 16) | pid) << 4 | size_id


@inline_kernel
def _walk_cost(
    words: I64,
    stamps: I64,
    rows: I64,
    walk_row0: int,
    now: int,
    leaf_level: int,
    va: int,
    pid: int,
) -> int:
    """Table entries the walker fetches to reach ``leaf_level``; fills the walk caches.

    The deepest walk-cache hit above the leaf saves every fetch down to it; each level
    fetched from memory is then cached. Row ``walk_row0 + level`` describes the cache of the
    entries that page-table level holds.
    """
    hit_level = -1
    for level in range(leaf_level - 1, -1, -1):
        base, ways, prefix = lru.set_of(rows, walk_row0 + level, va)
        key = (prefix << 16) | pid
        if ways > 0 and lru.lookup(words, stamps, base, ways, key, now) != -1:
            hit_level = level
            break
    for level in range(hit_level + 1, leaf_level):
        base, ways, prefix = lru.set_of(rows, walk_row0 + level, va)
        if ways > 0:
            word = ((prefix << 16) | pid) << 4
            lru.insert(words, stamps, base, ways, word, now)
    return leaf_level - hit_level


@borrowing_kernel
def _activate_probes(
    rows: I64, probe_count: I64, max_probes: int, size_present: I64, active_probes: I64
) -> None:
    """List, per (level, access class), the probe rows of sizes some entry was filled with.

    ``active_probes`` holds for group ``g`` a count at ``g * (max_probes + 1)`` followed by
    that many rows, in probe order. A lookup of a size never filled cannot hit, so lookups try
    only these; the list changes when a size is filled for the first time.
    """
    for group in range(probe_count.shape[0]):
        head = group * (max_probes + 1)
        count = 0
        for row in range(group * max_probes, group * max_probes + probe_count[group]):
            if size_present[rows[row * lru.ROW_WIDTH + lru.ROW_SIZE_ID]]:
                count += 1
                active_probes[head + count] = row
        active_probes[head] = count


@borrowing_kernel
def _find_vma(vmas: I64, pid_vmas: I64, pid: int, va: int) -> int:
    """Row of the VMA of ``pid`` holding ``va`` (a process's rows are sorted by start), or -1."""
    first = pid_vmas[pid * PID_WIDTH + PID_FIRST_VMA]
    lo = first
    hi = first + pid_vmas[pid * PID_WIDTH + PID_VMA_COUNT]
    while lo < hi:
        mid = (lo + hi) >> 1
        if vmas[mid * VMA_WIDTH + VMA_START] <= va:
            lo = mid + 1
        else:
            hi = mid
    index = lo - 1
    if index >= first and va < vmas[index * VMA_WIDTH + VMA_END]:
        return index
    return -1


@inline_kernel
def _none(entries: npt.NDArray[np.integer], first: int, last: int) -> bool:
    """Whether entries ``first`` to ``last`` are all none."""
    for slot in range(first, last):  # noqa: SIM110 - numba compiles loops, not all() over generators
        if entries[slot] != 0:
            return False
    return True


@borrowing_kernel
def _work_done(nodes: I64, node: int) -> tuple[int, int]:
    """(frames migrated, frames scanned) by compaction and range searches on ``node`` so far."""
    migrated = nodes[node, N_COMPACT_PAGES_MIGRATED] + nodes[node, N_CONTIG_PAGES_MIGRATED]
    scanned = (
        nodes[node, N_COMPACT_MIGRATE_SCANNED]
        + nodes[node, N_COMPACT_FREE_SCANNED]
        + nodes[node, N_CONTIG_PAGES_SCANNED]
    )
    return migrated, scanned


@borrowing_kernel
def _alloc_huge(
    frame_bits: npt.NDArray[np.uint64],
    pageblocks: npt.NDArray[np.int16],
    free_index: npt.NDArray[np.uint64],
    nodes: I64,
    moves: I64,
    counts: I64,
    first_node: int,
    order: int,
    direct: bool,
) -> int:
    """A THP's frames: the buddy's block of ``order`` on ``first_node`` (then the others
    when ``direct``: THP allocations stay on the preferred node unless they may reclaim, as
    ``alloc_pages_mpol`` does), after direct compaction when ``direct`` and none is free;
    above MAX_PAGE_ORDER a contiguous-range search, migrating only when ``direct``. The node
    that gave the frames, or -1; the work done is counted as the fault's stall."""
    # The fast path needs the low watermark; a fault that may reclaim goes down to min.
    mark = N_WMARK_MIN if direct else N_WMARK_LOW
    for step in range(nodes.shape[0] if direct else 1):
        node = _fallback_node(first_node, step)
        migrated, scanned = _work_done(nodes, node)
        if order > nodes[node, N_MAX_ORDER]:
            pfn = _migrate.contig_alloc(
                frame_bits, pageblocks, free_index, nodes, moves, node, order, CLASS_MOVABLE,
                direct,
            )  # fmt: skip
        elif nodes[node, N_FREE_FRAMES] - (1 << order) < nodes[node, mark]:
            # Too little free memory (the order-0 part of the watermark check: whether a
            # block of the order is free is the allocator's and compaction's business).
            pfn = -1
        else:
            pfn = _buddy.alloc(frame_bits, pageblocks, free_index, nodes, node, order,
                               CLASS_MOVABLE)  # fmt: skip
            if pfn < 0 and direct:
                result = _migrate.compact(
                    frame_bits, pageblocks, free_index, nodes, moves, node, order
                )
                if result == COMPACT_SUCCESS or result == COMPACT_NOT_NEEDED:  # noqa: SIM109 - numba
                    pfn = _buddy.alloc(frame_bits, pageblocks, free_index, nodes, node, order,
                                       CLASS_MOVABLE)  # fmt: skip
        migrated_after, scanned_after = _work_done(nodes, node)
        counts[C.STALL_PAGES_MIGRATED] += migrated_after - migrated
        counts[C.STALL_PAGES_SCANNED] += scanned_after - scanned
        if pfn >= 0:
            return node
    return -1


@inline_kernel
def _fallback_node(first_node: int, step: int) -> int:
    """The ``step``-th node to try for an allocation preferring ``first_node``: that node,
    then the others in order (the fast tier first)."""
    if step == 0:
        return first_node
    return step - 1 if step - 1 < first_node else step


@borrowing_kernel
def _alloc_pages(
    frame_bits: npt.NDArray[np.uint64],
    pageblocks: npt.NDArray[np.int16],
    free_index: npt.NDArray[np.uint64],
    nodes: I64,
    first_node: int,
    order: int,
    mobility: int,
    count: int,
) -> int:
    """``count`` blocks of ``order``, each from the first node that has one, trying
    ``first_node`` and then the others as the zonelist does; the node of the last block (or
    ``first_node`` when ``count`` is 0), or -1 when every node is out of memory.

    As ``get_page_from_freelist``: a first pass takes only nodes above their low watermark,
    a second (the slow path) those above min. Reclaim is not modelled, so a last pass takes
    whatever is free."""
    node = first_node
    for _ in range(count):
        node = -1
        for mark in (N_WMARK_LOW, N_WMARK_MIN, -1):
            for step in range(nodes.shape[0]):
                candidate = _fallback_node(first_node, step)
                if mark >= 0 and not _buddy.watermark_ok(
                    nodes, candidate, order, nodes[candidate, mark]
                ):
                    continue
                if _buddy.alloc(frame_bits, pageblocks, free_index, nodes, candidate, order,
                                mobility) >= 0:  # fmt: skip
                    node = candidate
                    break
            if node >= 0:
                break
        if node < 0:
            return -1
    return node


@inline_kernel
def _block_span(kinds: I64, k: int, va: int, vma_start: int, vma_end: int) -> tuple[int, int]:
    """What kind row ``k``'s mapping of ``va`` covers in its VMA: (start, end), the aligned
    block cut to the VMA where the kind may overhang its edge (a kernel page); end -1 when
    the block does not lie inside the VMA and may not overhang."""
    block_bytes = np.int64(1) << kinds[k + KIND_BLOCK_SHIFT]
    block_start = va & ~(block_bytes - 1)
    map_start = max(block_start, vma_start)
    map_end = min(block_start + block_bytes, vma_end)
    if not kinds[k + KIND_CROSSES_EDGE] and (
        map_start != block_start or map_end != block_start + block_bytes
    ):
        return map_start, -1
    return map_start, map_end


@inline_kernel
def _alloc_folio(
    kinds: I64,
    k: int,
    vma_flags: int,
    counts: I64,
    frame_bits: npt.NDArray[np.uint64],
    pageblocks: npt.NDArray[np.int16],
    free_index: npt.NDArray[np.uint64],
    nodes: I64,
    moves: I64,
    first_node: int,
) -> int:
    """The node that gave the frames of kind row ``k``'s folio, for a fault (``_fault``,
    ``shared.fault``): a THP's from ``_alloc_huge`` (-1 when it fails, counted: a smaller
    kind is tried next), a base page's from the zonelist (-2 when every node is full)."""
    folio_size = kinds[k + KIND_FOLIO_SIZE]
    order = kinds[k + KIND_ORDER]
    if kinds[k + KIND_NEEDS_THP]:
        counts[C.THP_ATTEMPTS + folio_size] += 1
        direct = vma_flags & VMA_DIRECT_COMPACT != 0
        node = _alloc_huge(frame_bits, pageblocks, free_index, nodes, moves, counts,
                             first_node, order, direct)  # fmt: skip
        if node < 0:
            counts[C.THP_FALLBACKS + folio_size] += 1
            if vma_flags & VMA_WAKE_KCOMPACTD:
                counts[C.KCOMPACTD_WAKES] += 1
        return node
    node = _alloc_pages(frame_bits, pageblocks, free_index, nodes, first_node, order,
                          CLASS_MOVABLE, 1)  # fmt: skip
    return node if node >= 0 else -2


@borrowing_kernel
def _fault(
    va: int,
    pid: int,
    vma: int,
    counts: I64,
    used: I64,
    upper: I64,
    ptes: npt.NDArray[np.uint8],
    roots: I64,
    level_tables: I64,
    level_shift: I64,
    fanout_bits: int,
    vmas: I64,
    kinds: I64,
    frame_bits: npt.NDArray[np.uint64],
    pageblocks: npt.NDArray[np.int16],
    free_index: npt.NDArray[np.uint64],
    nodes: I64,
    moves: I64,
    placement: I64,
    row_tiers: I64,
    row: int,
    shared: I64,
) -> tuple[int, int]:
    """Map ``va`` with the largest mapping kind that fits; returns (leaf level, leaf entry).

    A kind fits when THP allows its size in this VMA, its aligned block lies inside the VMA
    (a kernel page may overhang the VMA's edge: the whole page is allocated, but only the
    part inside the VMA is mapped), every page-table entry it maps is none, and physical
    memory gives its frames: a THP's allocation may fail (counted as a fallback, the next
    smaller kind is tried), a base page's only when every node is full. The folio goes to
    the node ``placement`` prefers (``_kernels.placement``), else the next with room; its
    tier is recorded in region row ``row`` (the region of ``va``) and, for an upper-level
    leaf, in the leaf. New page-table pages and deposits take unmovable pages, on the first
    node with room. Returns (0, 0) when nothing fits and (0, -1) when memory is exhausted.
    A VMA of a shared object faults through ``shared.fault``.
    """
    if vmas[vma * VMA_WIDTH + VMA_OBJECT] >= 0:
        return S.fault(
            va, pid, vma, counts, used, upper, ptes, roots, level_tables, level_shift,
            fanout_bits, vmas, kinds, frame_bits, pageblocks, free_index, nodes, moves,
            placement, row_tiers, row, shared,
        )  # fmt: skip
    fanout_mask = (1 << fanout_bits) - 1
    vma_row = vma * VMA_WIDTH
    vma_start = vmas[vma_row + VMA_START]
    vma_end = vmas[vma_row + VMA_END]
    vma_flags = vmas[vma_row + VMA_FLAGS]
    tables_before = used[0] + used[1]
    for k in range(0, kinds.shape[0], KIND_WIDTH):
        folio_size = kinds[k + KIND_FOLIO_SIZE]
        if kinds[k + KIND_NEEDS_THP] and not (vmas[vma_row + VMA_THP_SIZES] >> folio_size) & 1:
            continue
        map_start, map_end = _block_span(kinds, k, va, vma_start, vma_end)
        if map_end < 0:
            continue
        target = kinds[k + KIND_LEAF_LEVEL]
        table = pagetable.table_for(
            upper, roots, level_tables, used, pid, va, target, level_shift, fanout_bits
        )
        if table < 0:
            continue
        first_slot = (table << fanout_bits) + ((map_start >> level_shift[target]) & fanout_mask)
        last_slot = first_slot + ((map_end - map_start) >> level_shift[target])
        at_pte_level = target == level_shift.shape[0] - 1
        if at_pte_level and not _none(ptes, first_slot, last_slot):
            continue
        if not at_pte_level and not _none(upper, first_slot, last_slot):
            continue
        block_shift = kinds[k + KIND_BLOCK_SHIFT]
        first_node = P.preferred_node(placement, vma_start, map_start, block_shift)
        node = _alloc_folio(kinds, k, vma_flags, counts, frame_bits, pageblocks, free_index,
                            nodes, moves, first_node)  # fmt: skip
        if node == -1:
            continue  # a THP allocation failed: the next smaller kind
        if node < 0:
            return 0, -1
        deposit = kinds[k + KIND_DEPOSIT] if vma_flags & VMA_ANONYMOUS else 0
        new_tables = used[0] + used[1] - tables_before + deposit
        if _alloc_pages(frame_bits, pageblocks, free_index, nodes, 0, 0, CLASS_UNMOVABLE,
                        new_tables) < 0:  # fmt: skip
            return 0, -1
        leaf = pagetable.leaf_entry(kinds[k + KIND_TLB_SIZE], folio_size)
        if at_pte_level:
            ptes[first_slot:last_slot] = leaf
        else:
            leaf |= node << pagetable.TIER_SHIFT
            if deposit:
                leaf |= pagetable.DEPOSITED
            upper[first_slot:last_slot] = leaf
        counts[C.LIVE_MAPPINGS + target] += last_slot - first_slot
        if row_tiers.shape[0] == 0:
            pass  # the run keeps no tiers (one tier, no policy that moves pages)
        elif block_shift >= regions.REGION_SHIFT:
            regions.set_tiers(row_tiers, row, 0, 512, node)
        else:
            first_page = (map_start >> 12) & 511
            regions.set_tiers(row_tiers, row, first_page,
                              first_page + ((map_end - map_start) >> 12), node)  # fmt: skip
        counts[C.FAULTS] += 1
        counts[C.FAULTS_BY_SIZE + folio_size] += 1
        block_bytes = np.int64(1) << block_shift
        counts[C.RESIDENT_BYTES + folio_size] += block_bytes
        counts[C.TIER_RESIDENT_BYTES + node] += block_bytes
        counts[C.DEPOSIT_TABLES] += deposit
        return target, leaf
    return 0, 0


@borrowing_kernel
def _new_row_tiers(
    upper: I64,
    ptes: npt.NDArray[np.uint8],
    roots: I64,
    pid: int,
    va: int,
    level_shift: I64,
    fanout_bits: int,
    row_tiers: I64,
    row: int,
) -> None:
    """A new region row inside a huge page mapped before takes that page's tier (a region
    is first touched before any PTE-level folio in it is faulted)."""
    leaf_level, entry = pagetable.walk(upper, ptes, roots, pid, va, level_shift, fanout_bits)
    if entry & 3 == pagetable.LEAF and leaf_level < level_shift.shape[0] - 1:
        word = np.int64(regions.TIER_PATTERN) * pagetable.tier_of_leaf(entry)
        base = row * regions.TIER_WORDS_PER_REGION
        row_tiers[base : base + regions.TIER_WORDS_PER_REGION] = word


@borrowing_kernel
def add_rows(
    pid: int,
    start: int,
    end: int,
    state: I64,
    hash_keys: I64,
    hash_rows: I64,
    row_keys: I64,
    upper: I64,
    ptes: npt.NDArray[np.uint8],
    roots: I64,
    level_shift: I64,
    fanout_bits: int,
    row_tiers: I64,
) -> int:
    """Add a region row for each 2 MiB region of ``[start, end)`` of ``pid`` without one,
    each taking the tier of a huge page mapping it; returns the address reached (``end``,
    or less when the rows or the hash are full: grow them and call again)."""
    region = 1 << regions.REGION_SHIFT
    limit = min(state[C.STATE_ROWS_CAP], hash_keys.shape[0] >> 1) - 1
    va = start & ~(region - 1)
    while va < end:
        used = state[C.STATE_ROWS_USED]
        if used >= limit:
            return va
        row = regions.find_or_add(hash_keys, hash_rows, row_keys, used, regions.region_key(pid, va))
        if row == used:
            state[C.STATE_ROWS_USED] = used + 1
            if row_tiers.shape[0]:
                _new_row_tiers(upper, ptes, roots, pid, va, level_shift, fanout_bits, row_tiers,
                               row)  # fmt: skip
        va += region
    return end


@inline_kernel
def _walked(
    row_young: I64,
    row_hint: I64,
    hints: I64,
    hints_used: int,
    hint_room: int,
    counts: I64,
    row: int,
    va: int,
    entry: int,
    tracking: int,
) -> int:
    """A page walk loaded ``va``'s translation: set its accessed bit, and take a NUMA hint
    fault if its PTE was made inaccessible (a huge page's whole region is then accessible
    again); each as ``tracking`` asks. Returns the hint records in use."""
    page = (va >> 12) & 511
    word = (row << 3) + (page >> 6)
    bit = np.int64(1) << (page & 63)
    if tracking & TRACK_YOUNG:
        row_young[at(word)] |= bit
    if tracking & TRACK_HINTS and row_hint[at(word)] & bit:
        if pagetable.folio_size_of(entry) >= HUGE_SIZE_ID:
            row_hint[row << 3 : (row + 1) << 3] = 0
        else:
            row_hint[at(word)] &= ~bit
        counts[C.HINT_FAULTS] += 1
        if hints_used < hint_room:
            hints[2 * hints_used] = row
            hints[2 * hints_used + 1] = page
            hints_used += 1
        else:
            counts[C.HINTS_DROPPED] += 1
    return hints_used


# Over a large footprint nearly every access misses the cache in the simulator's own tables
# (region hash and rows, page tables), one miss after another. From
# ``state[STATE_PREFETCH_ROWS]`` regions on, the loop prefetches what access
# i + PREFETCH_AHEAD will read, having prefetched that access's hash slot and last
# upper-level entry PREFETCH_AHEAD accesses before (so the lookups it takes to find the rest
# hit the cache): the misses overlap.
PREFETCH_AHEAD = 8


@inline_kernel
def _prefetch_ahead(
    address: npt.NDArray[np.uint64],
    pid_of: npt.NDArray[np.uint16],
    i: int,
    end: int,
    upper: I64,
    ptes: npt.NDArray[np.uint8],
    roots: I64,
    level_shift: I64,
    fanout_bits: int,
    hash_keys: I64,
    hash_rows: I64,
    row_touched: I64,
    row_accesses: I64,
    row_tiers: I64,
) -> None:
    """Prefetch for the accesses ``PREFETCH_AHEAD`` and twice that after access ``i``."""
    last = level_shift.shape[0] - 1
    far = i + 2 * PREFETCH_AHEAD
    if far < end:
        va = np.int64(address[at(far)])
        pid = np.int64(pid_of[at(far)])
        regions.prefetch_slot(hash_keys, hash_rows, regions.region_key(pid, va))
        pagetable.prefetch_entry(upper, ptes, roots, pid, va, level_shift, fanout_bits,
                                 last - 1)  # fmt: skip
    near = i + PREFETCH_AHEAD
    if near < end:
        va = np.int64(address[at(near)])
        pid = np.int64(pid_of[at(near)])
        row = regions.find_row(hash_keys, hash_rows, regions.region_key(pid, va))
        if row >= 0:
            page = (va >> 12) & 511
            prefetch(row_touched, at((row << 3) + (page >> 6)))
            prefetch(row_accesses, at(row))
            if row_tiers.shape[0]:
                prefetch(row_tiers, at(row * regions.TIER_WORDS_PER_REGION + (page >> 5)))
        pagetable.prefetch_entry(upper, ptes, roots, pid, va, level_shift, fanout_bits, last)


@borrowing_kernel
def simulate_accesses(
    address: npt.NDArray[np.uint64],
    kind: npt.NDArray[np.uint8],
    pid_of: npt.NDArray[np.uint16],
    start: int,
    end: int,
    counts: I64,
    state: I64,
    words: I64,
    stamps: I64,
    rows: I64,
    fill_row0: int,
    walk_row0: int,
    probe_count: I64,
    max_probes: int,
    size_present: I64,
    active_probes: I64,
    upper: I64,
    ptes: npt.NDArray[np.uint8],
    roots: I64,
    level_tables: I64,
    level_shift: I64,
    fanout_bits: int,
    vmas: I64,
    pid_vmas: I64,
    kinds: I64,
    hash_keys: I64,
    hash_rows: I64,
    row_keys: I64,
    row_touched: I64,
    row_accesses: I64,
    llc_base: int,
    llc_sets: int,
    llc_ways: int,
    line_shift: int,
    frame_bits: npt.NDArray[np.uint64],
    pageblocks: npt.NDArray[np.int16],
    free_index: npt.NDArray[np.uint64],
    nodes: I64,
    moves: I64,
    placement: I64,
    row_tiers: I64,
    row_young: I64,
    row_hint: I64,
    hints: I64,
    tracking: int,
    shared: I64,
) -> tuple[int, int]:
    """Simulate accesses ``start`` to ``end``; returns (next index, status).

    ``state`` holds what the kernel keeps between calls (slots ``counters.STATE_*``). Every
    set-associative structure (TLBs, walk caches, LLC) keeps its slots in ``words`` and
    ``stamps`` (see ``lru``); ``rows`` holds the TLB probe rows from row 0, its fill rows
    from ``fill_row0`` and the walk caches' rows from ``walk_row0``; the LLC's sets start at
    slot ``llc_base``. Page tables are ``upper`` and ``ptes`` (see ``pagetable``); physical
    memory is ``frame_bits``, ``pageblocks``, ``free_index`` and ``nodes`` (see
    ``pagelab.memory``), with ``moves`` an (empty) buffer for migration records.

    Tiering: new folios go where ``placement`` says; per 4 KiB page, region rows keep the tier
    holding it (``row_tiers``), its accessed bit (``row_young``, set when a page walk loads
    the translation, as hardware sets it) and whether its PTE is made inaccessible
    (``row_hint``): the walk that finds it takes a NUMA hint fault, recorded in ``hints`` as
    (row, page) pairs. Every access that reaches memory is counted against its page's tier.
    ``tracking`` (``TRACK_*`` bits) says which of these the run needs. ``shared`` describes
    the run's shared objects (``_kernels.shared``).

    A status other than DONE stops at an access that needs Python: more table or region room
    (call again after growing: the access runs again, its TLB misses undone and its region
    row found), or an address outside every VMA. The caller counts accesses by kind, and
    memory accesses when there is no LLC: per access they would cost more here than a
    vectorised count over the chunk.
    """
    tables_per_fault = level_shift.shape[0]
    n_levels = probe_count.shape[0] >> 1
    n_sizes = size_present.shape[0]
    hash_limit = hash_keys.shape[0] >> 1
    # Hot state lives in locals (registers) and is written back once, at the end.
    rows_used = state[C.STATE_ROWS_USED]
    row_limit = min(state[C.STATE_ROWS_CAP], hash_limit) - 1
    # A shared object's fault may also make its index's tables and an mshare host's root.
    upper_limit = state[C.STATE_UPPER_CAP] - 2 * tables_per_fault - 1
    ptes_limit = state[C.STATE_PTES_CAP] - 1
    last_region = state[C.STATE_LAST_REGION]
    last_row = state[C.STATE_LAST_ROW]
    last_page = state[C.STATE_LAST_PAGE]
    now = state[C.STATE_CLOCK]
    last_line = state[C.STATE_LAST_LINE]
    tier = state[C.STATE_LAST_TIER]
    hints_used = state[C.STATE_HINTS_USED]
    hint_room = hints.shape[0] >> 1
    track_tiers = tracking & TRACK_TIERS != 0
    track_walks = tracking & (TRACK_YOUNG | TRACK_HINTS) != 0
    has_shared = shared[S.OBJECTS] > 0
    # Without an LLC every access reaches memory: accesses are counted against their tier in
    # runs, when the page (and so perhaps the tier) changes, not one by one.
    run_start = start
    touched = 0
    memory_accesses = 0
    status = C.DONE
    prefetching = rows_used >= state[C.STATE_PREFETCH_ROWS]
    i = start
    while i < end:
        if prefetching:
            _prefetch_ahead(address, pid_of, i, end, upper, ptes, roots, level_shift,
                            fanout_bits, hash_keys, hash_rows, row_touched, row_accesses,
                            row_tiers)  # fmt: skip
        va = np.int64(address[at(i)])
        pid = np.int64(pid_of[at(i)])
        access_class = 1 if kind[at(i)] == IFETCH else 0

        # The same 4 KiB page as the access before, whose entry that access left as the MRU
        # entry of an L1 set: a hit that changes nothing.
        page_key = (((pid << 36) | (va >> 12)) << 1) | access_class
        if page_key != last_page:
            # The access's region row; stop before changing anything if the region is new
            # and there is no room for it.
            key = regions.region_key(pid, va)
            if key != last_region:
                if rows_used >= row_limit:
                    status = C.NEED_REGIONS
                    break
                last_row = regions.find_or_add(hash_keys, hash_rows, row_keys, rows_used, key)
                if last_row == rows_used:
                    rows_used += 1
                    if track_tiers:
                        _new_row_tiers(upper, ptes, roots, pid, va, level_shift, fanout_bits,
                                       row_tiers, last_row)  # fmt: skip
                        if has_shared:
                            S.new_row_tiers(
                                upper, roots, vmas, pid_vmas, shared, pid, va, level_shift,
                                fanout_bits, row_tiers, last_row,
                            )  # fmt: skip
                last_region = key
            now += 1

            # TLB lookup, level by level.
            hit_level = -1
            mapping_size = 0
            for level in range(n_levels):
                head = (level * 2 + access_class) * (max_probes + 1)
                for index in range(head + 1, head + 1 + active_probes[at(head)]):
                    row = active_probes[at(index)]
                    size_id = rows[at(row * lru.ROW_WIDTH + lru.ROW_SIZE_ID)]
                    base, ways, tag = lru.set_of(rows, row, va)
                    key = _tlb_key(tag, pid, size_id)
                    word = lru.lookup(words, stamps, base, ways, key, now)
                    if word != -1:
                        hit_level = level
                        mapping_size = word & 15
                        break
                if hit_level >= 0:
                    break
                counts[at(C.TLB_MISSES + level)] += 1

            if hit_level < 0:
                leaf_level, entry = pagetable.walk(
                    upper, ptes, roots, pid, va, level_shift, fanout_bits
                )
                if entry & 3 != pagetable.LEAF:
                    vma = _find_vma(vmas, pid_vmas, pid, va)
                    if vma < 0:
                        status = C.OUTSIDE_VMA
                        break
                    if (
                        state[C.STATE_UPPER_USED] > upper_limit
                        or state[C.STATE_PTES_USED] > ptes_limit
                    ):
                        # Undo this access's misses: it runs again once the pool has grown.
                        for level in range(n_levels):
                            counts[at(C.TLB_MISSES + level)] -= 1
                        now -= 1
                        status = C.NEED_TABLES
                        break
                    leaf_level, entry = _fault(
                        va, pid, vma, counts, state[0:2], upper, ptes, roots, level_tables,
                        level_shift, fanout_bits, vmas, kinds, frame_bits, pageblocks,
                        free_index, nodes, moves, placement, row_tiers, last_row, shared,
                    )  # fmt: skip
                    if entry <= 0:
                        status = C.NO_MAPPING if entry == 0 else C.OUT_OF_MEMORY
                        break
                    if has_shared and track_tiers:
                        S.spread_tiers(
                            upper, roots, vmas, shared, hash_keys, hash_rows, row_tiers, vma,
                            va, level_shift, fanout_bits, kinds,
                        )  # fmt: skip
                counts[C.WALKS] += 1
                counts[C.WALK_REFERENCES] += _walk_cost(
                    words, stamps, rows, walk_row0, now, leaf_level, va, pid
                )
                if track_walks:
                    hints_used = _walked(row_young, row_hint, hints, hints_used, hint_room,
                                         counts, last_row, va, entry, tracking)  # fmt: skip
                mapping_size = pagetable.tlb_size_of(entry)
                hit_level = n_levels

            # Fill the levels that missed; remember the page when its entry is now in L1.
            in_l1 = hit_level == 0
            for level in range(hit_level):
                row = fill_row0 + (level * 2 + access_class) * n_sizes + mapping_size
                size_id = rows[at(row * lru.ROW_WIDTH + lru.ROW_SIZE_ID)]
                if size_id < 0:
                    continue
                in_l1 = in_l1 or level == 0
                if size_present[at(size_id)] == 0:
                    size_present[at(size_id)] = 1
                    _activate_probes(rows, probe_count, max_probes, size_present, active_probes)
                base, ways, tag = lru.set_of(rows, row, va)
                word = (_tlb_key(tag, pid, size_id) << 4) | mapping_size
                lru.insert(words, stamps, base, ways, word, now)
            last_page = page_key if in_l1 else -1

            # Touched pages (the same page as before was touched already, in this region).
            page = (va >> 12) & 511
            word_index = (last_row << 3) + (page >> 6)
            bit = np.int64(1) << (page & 63)
            if row_touched[at(word_index)] & bit == 0:
                row_touched[at(word_index)] |= bit
                # A shared page counts once, at the first touch by any process.
                if not has_shared or S.touches_new_page(shared, vmas, pid_vmas, pid, va):
                    touched += 1
            if track_tiers:
                if llc_sets == 0:
                    counts[at(C.TIER_MEMORY_ACCESSES + tier)] += i - run_start
                    run_start = i
                tier = regions.tier_of(row_tiers, last_row, page)
        else:
            now += 1

        row_accesses[at(last_row)] += 1

        # Which accesses reach memory.
        if llc_sets > 0:
            line = va >> line_shift
            line_key = (line << 16) | pid
            # The line the access before used is the newest in its set: a hit that changes
            # nothing the LRU order depends on.
            if line_key != last_line:
                set_index = line & (llc_sets - 1)
                line_base = llc_base + set_index * llc_ways
                if lru.lookup(words, stamps, line_base, llc_ways, line_key, now) == -1:
                    line_word = line_key << 4
                    lru.insert(words, stamps, line_base, llc_ways, line_word, now)
                    memory_accesses += 1
                    if track_tiers:
                        counts[at(C.TIER_MEMORY_ACCESSES + tier)] += 1
                last_line = line_key
        i += 1

    state[C.STATE_ROWS_USED] = rows_used
    state[C.STATE_LAST_REGION] = last_region
    state[C.STATE_LAST_ROW] = last_row
    state[C.STATE_LAST_PAGE] = last_page
    state[C.STATE_CLOCK] = now
    state[C.STATE_LAST_LINE] = last_line
    state[C.STATE_LAST_TIER] = tier
    if track_tiers and llc_sets == 0:
        counts[C.TIER_MEMORY_ACCESSES + tier] += i - run_start
    state[C.STATE_HINTS_USED] = hints_used
    counts[C.TOUCHED_PAGES] += touched
    counts[C.MEMORY_ACCESSES] += memory_accesses
    counts[C.LLC_MISSES] += memory_accesses
    return i, status
