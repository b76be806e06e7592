"""Shared memory: the frames of a shared object (a shmem or file VMA several processes map)
are allocated and counted once; each process maps them into its own page tables or, with
mshare, into one set of tables every attached process uses.

An object's page cache is a radix index of its folios kept in the ``upper`` pool under a
reserved root (``index_owner``): one int64 per entry, a leaf as in ``pagetable`` carrying
its folio's tier at ``pagetable.TIER_SHIFT`` at every level (a PTE table's bytes have no
room for it). It stands for the page cache, so its tables are no page-table bytes and take
no frames. Its addresses are an offset in the object plus the object's ``OBJ_BASE`` (its
first mapper's start): a mapper at that address sees the object's folios at their own
alignment, and one elsewhere at the alignment its start gives.

With mshare an object's mappings live in the tables of a host mm (``mshare_owner``, as the
mshare patches keep a host ``mm_struct`` per region): each attached process's top-level
entry points at the host's table one level down (sharing at the PUD level on x86-64), so a
PTE that one process's fault installs serves them all. The host's own top table is walked
by no process: it is neither counted nor given a frame.

A process's region rows keep the tier of each page it reaches: its faults set them, and so,
for pages other processes' faults made resident, do ``new_row_tiers`` (a new row) and, with
mshare, ``spread_tiers`` (every attached process's rows, at each fault).

``fault`` is ``access._fault`` for a VMA of a shared object. ``shared`` is one flat int64
array: a header, a row per object, then each object's bitmap of the 4 KiB pages (by offset)
any process touched, so that a page is touched once however many processes touch it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

# access imports this module for the fault's dispatch, and this one access for the frame
# allocators and table columns: both by module object, so either may be imported first.
from pagelab._kernels import access as A
from pagelab._kernels import counters as C
from pagelab._kernels import pagetable, regions
from pagelab._kernels import placement as P
from pagelab._kernels.config import borrowing_kernel, inline_kernel
from pagelab.memory.layout import CLASS_UNMOVABLE

I64 = npt.NDArray[np.int64]

OBJECTS = 0  # header slots: shared objects in the run (0: no shared memory)
MSHARE = 1  # 1: objects are mshare regions
GRANULE_TLB = 2  # TLB size id of one granule PTE (a folio mapped page by page)
HEADER_WIDTH = 3
OBJ_BASE = 0  # per object: address in its index of offset 0
OBJ_TOUCHED = 1  # where in ``shared`` its touched bitmap starts
OBJ_PIDS = 2  # where in ``shared`` the list of the pids mapping it starts
OBJ_PID_COUNT = 3
OBJ_WIDTH = 4
FIRST_OWNER = 1 << 16
"""Workload pids are uint16: page-table roots from here on belong to shared objects."""
MAX_OBJECTS = 1024
ROOTS = FIRST_OWNER + 2 * MAX_OBJECTS
"""Page-table roots a run keeps: every pid, then each object's index and mshare host."""


def pack(objects: list[tuple[int, int, tuple[int, ...]]], *, mshare: bool, granule_tlb: int) -> I64:
    """The ``shared`` array for objects given as (base address, size in bytes, the pids
    mapping it)."""
    header = [len(objects), int(mshare), granule_tlb]
    rows: list[int] = []
    tail: list[int] = []
    at = HEADER_WIDTH + OBJ_WIDTH * len(objects)
    for base, size_bytes, pids in objects:
        words = -(-size_bytes // (64 << 12))
        rows += [base, at, at + words, len(pids)]
        tail += [0] * words + list(pids)
        at += words + len(pids)
    return np.array(header + rows + tail, dtype=np.int64)


@inline_kernel
def index_owner(obj: int) -> int:
    return FIRST_OWNER + obj


@inline_kernel
def mshare_owner(obj: int) -> int:
    return FIRST_OWNER + MAX_OBJECTS + obj


@inline_kernel
def base_of(shared: I64, obj: int) -> int:
    return int(shared[HEADER_WIDTH + obj * OBJ_WIDTH + OBJ_BASE])


@borrowing_kernel
def _mark_touched(shared: I64, obj: int, offset: int) -> bool:
    """Mark the 4 KiB page at ``offset`` in object ``obj`` touched; whether it was not yet."""
    word = shared[HEADER_WIDTH + obj * OBJ_WIDTH + OBJ_TOUCHED] + (offset >> 18)
    bit = np.int64(1) << ((offset >> 12) & 63)
    if shared[word] & bit:
        return False
    shared[word] |= bit
    return True


@borrowing_kernel
def lookup(
    upper: I64, roots: I64, owner: int, address: int, level_shift: I64, fanout_bits: int
) -> tuple[int, int]:
    """(level, entry) of the index holding ``address``: a leaf, or entry 0 (not resident)."""
    node = roots[owner]
    if node < 0:
        return 0, 0
    mask = (1 << fanout_bits) - 1
    for level in range(level_shift.shape[0]):
        entry = upper[(node << fanout_bits) + ((address >> level_shift[level]) & mask)]
        if entry & 3 != pagetable.TABLE:
            return level, entry
        node = entry >> 2
    return 0, 0


@borrowing_kernel
def index_table(
    upper: I64,
    roots: I64,
    used: I64,
    owner: int,
    address: int,
    target_level: int,
    level_shift: I64,
    fanout_bits: int,
) -> int:
    """The index table holding ``address``'s entry at ``target_level``, made as needed from
    the ``upper`` pool (uncounted); -1 when a folio above already covers it."""
    mask = (1 << fanout_bits) - 1
    node = roots[owner]
    if node < 0:
        node = used[pagetable.USED_UPPER]
        used[pagetable.USED_UPPER] += 1
        roots[owner] = node
    for level in range(target_level):
        slot = (node << fanout_bits) + ((address >> level_shift[level]) & mask)
        entry = upper[slot]
        if entry == 0:
            node = used[pagetable.USED_UPPER]
            used[pagetable.USED_UPPER] += 1
            upper[slot] = (node << 2) | pagetable.TABLE
        elif entry & 3 == pagetable.TABLE:
            node = entry >> 2
        else:
            return -1
    return node


@borrowing_kernel
def link(
    upper: I64,
    roots: I64,
    level_tables: I64,
    used: I64,
    pid: int,
    host: int,
    va: int,
    level_shift: I64,
    fanout_bits: int,
) -> None:
    """Point ``pid``'s top-level entry for ``va`` at the mshare host's table below it, making
    the tables on the way (the host's top table uncounted: no process walks it)."""
    if roots[host] < 0:
        roots[host] = used[pagetable.USED_UPPER]
        used[pagetable.USED_UPPER] += 1
    below = pagetable.table_for(upper, roots, level_tables, used, host, va, 1, level_shift,
                                fanout_bits)  # fmt: skip
    top = pagetable.table_for(upper, roots, level_tables, used, pid, va, 0, level_shift,
                              fanout_bits)  # fmt: skip
    slot = (top << fanout_bits) + ((va >> level_shift[0]) & ((1 << fanout_bits) - 1))
    if upper[slot] == 0:
        upper[slot] = (below << 2) | pagetable.TABLE


@borrowing_kernel
def map_folio(
    upper: I64,
    ptes: npt.NDArray[np.uint8],
    roots: I64,
    level_tables: I64,
    used: I64,
    mapper: int,
    va: int,
    vma_start: int,
    vma_end: int,
    base: int,
    level: int,
    entry: int,
    folio_shift: int,
    crosses_edge: bool,
    granule_tlb: int,
    level_shift: I64,
    fanout_bits: int,
) -> tuple[int, int, int, int]:
    """Map the object's folio ``entry`` (its index leaf, at ``level``) at ``va`` in
    ``mapper``'s tables; returns (leaf level, leaf, first and end address mapped).

    As Linux's ``finish_fault``: a folio of an upper level is mapped there when the VMA holds
    its aligned block whole and the entry is none (``do_set_pmd``); otherwise by PTEs, the
    whole folio when it lies inside the VMA and one PTE table, else only the faulting page
    (a kernel page that may overhang a VMA's edge maps its part inside). PTEs of a folio
    that is not mapped whole and aligned take one granule-sized TLB entry each.
    """
    mask = (1 << fanout_bits) - 1
    pte_level = level_shift.shape[0] - 1
    folio_bytes = 1 << folio_shift
    start = ((va - vma_start + base) & ~(folio_bytes - 1)) - base + vma_start
    end = start + folio_bytes
    inside = start >= vma_start and end <= vma_end
    aligned = start & (folio_bytes - 1) == 0
    if level < pte_level and inside and aligned:
        table = pagetable.table_for(upper, roots, level_tables, used, mapper, va, level,
                                    level_shift, fanout_bits)  # fmt: skip
        if table >= 0:
            slot = (table << fanout_bits) + ((va >> level_shift[level]) & mask)
            if upper[slot] == 0:
                upper[slot] = entry
                return level, entry, start, end
    tlb = pagetable.tlb_size_of(entry) if level == pte_level and aligned else granule_tlb
    span = 1 << int(level_shift[pte_level - 1])  # what one PTE table maps
    table_start = va & ~(span - 1)
    if crosses_edge:
        first = max(start, vma_start, table_start)
        last = min(end, vma_end, table_start + span)
    elif inside and start >= table_start and end <= table_start + span:
        first, last = start, end
    else:
        granule = 1 << int(level_shift[pte_level])
        first = va & ~(granule - 1)
        last = first + granule
        tlb = granule_tlb
    table = pagetable.table_for(upper, roots, level_tables, used, mapper, va, pte_level,
                                level_shift, fanout_bits)  # fmt: skip
    if table < 0:
        return 0, 0, 0, 0
    first_slot = (table << fanout_bits) + ((first >> level_shift[pte_level]) & mask)
    last_slot = first_slot + ((last - first) >> level_shift[pte_level])
    leaf = pagetable.leaf_entry(tlb, pagetable.folio_size_of(entry))
    ptes[first_slot:last_slot] = leaf
    return pte_level, leaf, first, last


@borrowing_kernel
def fault(
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
    """``access._fault`` in a VMA of a shared object: the folio holding ``va`` is found in
    the object's page cache, or allocated there (a major fault), and mapped into the
    process's tables, or with mshare into the host's, which every attached process walks. A
    fault that allocates no folio is minor: a process mapping a page another process's fault
    made resident, or attaching to an mshare host table that maps it."""
    vma_row = vma * A.VMA_WIDTH
    vma_start = vmas[vma_row + A.VMA_START]
    vma_end = vmas[vma_row + A.VMA_END]
    obj = vmas[vma_row + A.VMA_OBJECT]
    base = base_of(shared, obj)
    tables_before = level_tables.sum()
    below_top_before = tables_before - level_tables[0]
    mshare = shared[MSHARE] != 0
    mapper = pid
    leaf_level, leaf = 0, 0
    major = False
    if mshare:
        mapper = mshare_owner(obj)
        link(upper, roots, level_tables, used, pid, mapper, va, level_shift, fanout_bits)
        leaf_level, leaf = pagetable.walk(upper, ptes, roots, pid, va, level_shift, fanout_bits)
    if leaf & 3 != pagetable.LEAF:
        owner = index_owner(obj)
        address = va - vma_start + base
        level, entry = lookup(upper, roots, owner, address, level_shift, fanout_bits)
        if entry & 3 != pagetable.LEAF:
            major = True
            level, entry = _allocate(
                va, vma_start, vma_end, vmas[vma_row + A.VMA_FLAGS],
                vmas[vma_row + A.VMA_THP_SIZES], base, owner, counts, used, upper, roots,
                level_shift, fanout_bits, kinds, frame_bits, pageblocks, free_index, nodes, moves,
                placement,
            )  # fmt: skip
            if entry <= 0:
                return 0, entry
        k = _kind_of(kinds, pagetable.folio_size_of(entry), level)
        leaf_level, leaf, first, last = map_folio(
            upper, ptes, roots, level_tables, used, mapper, va, vma_start, vma_end, base, level,
            entry, kinds[k + A.KIND_BLOCK_SHIFT], kinds[k + A.KIND_CROSSES_EDGE] != 0,
            shared[GRANULE_TLB], level_shift, fanout_bits,
        )  # fmt: skip
        if leaf == 0:
            return 0, 0
        counts[C.LIVE_MAPPINGS + leaf_level] += (last - first) >> level_shift[leaf_level]
        if row_tiers.shape[0] == 0:
            pass  # the run keeps no tiers
        elif leaf_level < level_shift.shape[0] - 1 and last - first >= 1 << regions.REGION_SHIFT:
            regions.set_tiers(row_tiers, row, 0, 512, pagetable.tier_of_leaf(entry))
        else:
            region_bytes = 1 << regions.REGION_SHIFT
            region = va & ~(region_bytes - 1)
            first_page = (max(first, region) - region) >> 12
            end_page = (min(last, region + region_bytes) - region) >> 12
            regions.set_tiers(row_tiers, row, first_page, end_page, pagetable.tier_of_leaf(entry))
    if A._alloc_pages(frame_bits, pageblocks, free_index, nodes, 0, 0, CLASS_UNMOVABLE,
                      level_tables.sum() - tables_before) < 0:  # fmt: skip
        return 0, -1
    if mshare:
        counts[C.SHARED_TABLES] += level_tables.sum() - level_tables[0] - below_top_before
    counts[C.FAULTS] += 1
    if not major:
        counts[C.FAULTS_MINOR] += 1
    return leaf_level, leaf


@borrowing_kernel
def _allocate(
    va: int,
    vma_start: int,
    vma_end: int,
    vma_flags: int,
    thp_sizes: int,
    base: int,
    owner: int,
    counts: I64,
    used: I64,
    upper: I64,
    roots: I64,
    level_shift: I64,
    fanout_bits: int,
    kinds: I64,
    frame_bits: npt.NDArray[np.uint64],
    pageblocks: npt.NDArray[np.int16],
    free_index: npt.NDArray[np.uint64],
    nodes: I64,
    moves: I64,
    placement: I64,
) -> tuple[int, int]:
    """Allocate the folio holding ``va`` in its object's index ``owner``: the largest kind
    that THP allows in the faulting VMA, which that VMA could map whole (its aligned block
    inside the VMA and at the object's alignment, as shmem asks of the faulting VMA) and
    whose index entries are all none. Returns (index level, index leaf), or as
    ``access._fault`` does when nothing fits or memory is exhausted."""
    fanout_mask = (1 << fanout_bits) - 1
    for k in range(0, kinds.shape[0], A.KIND_WIDTH):
        folio_size = kinds[k + A.KIND_FOLIO_SIZE]
        if kinds[k + A.KIND_NEEDS_THP] and not (thp_sizes >> folio_size) & 1:
            continue
        block_shift = kinds[k + A.KIND_BLOCK_SHIFT]
        block_bytes = np.int64(1) << block_shift
        map_start, map_end = A._block_span(kinds, k, va, vma_start, vma_end)
        if map_end < 0:
            continue
        if (vma_start - base) & (block_bytes - 1):
            continue  # the object's folio would straddle this VMA's blocks
        target = kinds[k + A.KIND_LEAF_LEVEL]
        address = map_start - vma_start + base
        table = index_table(upper, roots, used, owner, address, target, level_shift,
                            fanout_bits)  # fmt: skip
        if table < 0:
            continue
        first_slot = (table << fanout_bits) + ((address >> level_shift[target]) & fanout_mask)
        last_slot = first_slot + ((map_end - map_start) >> level_shift[target])
        if not A._none(upper, first_slot, last_slot):
            continue
        first_node = P.preferred_node(placement, vma_start, map_start, block_shift)
        node = A._alloc_folio(kinds, k, vma_flags, counts, frame_bits, pageblocks, free_index,
                              nodes, moves, first_node)  # fmt: skip
        if node == -1:
            continue
        if node < 0:
            return 0, -1
        leaf = pagetable.leaf_entry(kinds[k + A.KIND_TLB_SIZE], folio_size)
        leaf |= node << pagetable.TIER_SHIFT
        upper[first_slot:last_slot] = leaf
        counts[C.FAULTS_BY_SIZE + folio_size] += 1
        counts[C.RESIDENT_BYTES + folio_size] += block_bytes
        counts[C.TIER_RESIDENT_BYTES + node] += block_bytes
        return target, leaf
    return 0, 0


@borrowing_kernel
def _kind_of(kinds: I64, folio_size: int, leaf_level: int) -> int:
    """The kinds row of the folio size and leaf level an index leaf records."""
    for k in range(0, kinds.shape[0], A.KIND_WIDTH):
        if (
            kinds[k + A.KIND_FOLIO_SIZE] == folio_size
            and kinds[k + A.KIND_LEAF_LEVEL] == leaf_level
        ):
            return k
    return 0


@borrowing_kernel
def touches_new_page(shared: I64, vmas: I64, pid_vmas: I64, pid: int, va: int) -> bool:
    """Whether the first touch of ``va`` by ``pid`` touches a page for the first time in the
    run: always outside shared objects; inside one, only the first by any process."""
    vma = A._find_vma(vmas, pid_vmas, pid, va)
    if vma < 0 or vmas[vma * A.VMA_WIDTH + A.VMA_OBJECT] < 0:
        return True
    offset = va - vmas[vma * A.VMA_WIDTH + A.VMA_START]
    return _mark_touched(shared, vmas[vma * A.VMA_WIDTH + A.VMA_OBJECT], offset)


@borrowing_kernel
def new_row_tiers(
    upper: I64,
    roots: I64,
    vmas: I64,
    pid_vmas: I64,
    shared: I64,
    pid: int,
    va: int,
    level_shift: I64,
    fanout_bits: int,
    row_tiers: I64,
    row: int,
) -> None:
    """A new region row of ``pid`` in a shared object's VMA takes the tiers of the object's
    folios there: with mshare, pages other processes' faults mapped are reached without a
    fault of this process's own (and without mshare the tiers are the ones its faults will
    find)."""
    vma = A._find_vma(vmas, pid_vmas, pid, va)
    if vma < 0 or vmas[vma * A.VMA_WIDTH + A.VMA_OBJECT] < 0:
        return
    obj = vmas[vma * A.VMA_WIDTH + A.VMA_OBJECT]
    vma_start = vmas[vma * A.VMA_WIDTH + A.VMA_START]
    vma_end = vmas[vma * A.VMA_WIDTH + A.VMA_END]
    base = base_of(shared, obj)
    region = va & ~((1 << regions.REGION_SHIFT) - 1)
    for page in range(512):
        address = region + (page << 12)
        if address < vma_start or address >= vma_end:
            continue
        _, entry = lookup(upper, roots, index_owner(obj), address - vma_start + base,
                          level_shift, fanout_bits)  # fmt: skip
        if entry & 3 == pagetable.LEAF:
            regions.set_tiers(row_tiers, row, page, page + 1, pagetable.tier_of_leaf(entry))


@borrowing_kernel
def spread_tiers(
    upper: I64,
    roots: I64,
    vmas: I64,
    shared: I64,
    hash_keys: I64,
    hash_rows: I64,
    row_tiers: I64,
    vma: int,
    va: int,
    level_shift: I64,
    fanout_bits: int,
    kinds: I64,
) -> None:
    """After a fault at ``va`` in an mshare region: the folio it mapped for every attached
    process takes its tier in each of their region rows that exists (rows made later take it
    in ``new_row_tiers``). Every process maps an mshare region alike, at the same address."""
    obj = vmas[vma * A.VMA_WIDTH + A.VMA_OBJECT]
    if obj < 0 or shared[MSHARE] == 0:
        return
    vma_start = vmas[vma * A.VMA_WIDTH + A.VMA_START]
    vma_end = vmas[vma * A.VMA_WIDTH + A.VMA_END]
    base = base_of(shared, obj)
    level, entry = lookup(upper, roots, index_owner(obj), va - vma_start + base, level_shift,
                          fanout_bits)  # fmt: skip
    if entry & 3 != pagetable.LEAF:
        return
    folio_bytes = 1 << kinds[_kind_of(kinds, pagetable.folio_size_of(entry), level)
                             + A.KIND_BLOCK_SHIFT]  # fmt: skip
    folio_start = ((va - vma_start + base) & ~(folio_bytes - 1)) - base + vma_start
    start = max(folio_start, vma_start)
    end = min(folio_start + folio_bytes, vma_end)
    region_bytes = 1 << regions.REGION_SHIFT
    row_of = HEADER_WIDTH + obj * OBJ_WIDTH
    for index in range(shared[row_of + OBJ_PID_COUNT]):
        pid = shared[shared[row_of + OBJ_PIDS] + index]
        for region in range(start & ~(region_bytes - 1), end, region_bytes):
            row = regions.find_row(hash_keys, hash_rows, regions.region_key(pid, region))
            if row >= 0:
                first_page = (max(start, region) - region) >> 12
                end_page = (min(end, region + region_bytes) - region) >> 12
                regions.set_tiers(row_tiers, row, first_page, end_page,
                                  pagetable.tier_of_leaf(entry))  # fmt: skip
