"""The per-access path: TLB hierarchy, page walk with walk caches, faults, LLC filter and
per-region touch and access counts. One call simulates ``[start, end)`` of a chunk.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pagelab._kernels import counters as C
from pagelab._kernels import lru, pagetable, regions
from pagelab._kernels.config import at, inline_kernel, kernel

I64 = npt.NDArray[np.int64]
IFETCH = 2
VA_LIMIT = 1 << 48


@inline_kernel
def _tlb_key(tag: int, pid: int, size_id: int) -> int:
    return ((tag << 16) | pid) << 4 | size_id


@inline_kernel
def _walk_cost(
    walk_cache: I64, walk_stamps: I64, walk_rows: I64, now: int, leaf_level: int, va: int, pid: int
) -> int:
    """Table entries the walker fetches to reach ``leaf_level``; fills the walk caches.

    The deepest walk-cache hit above the leaf saves every fetch down to it; each level
    fetched from memory is then cached.
    """
    hit_level = -1
    for level in range(leaf_level - 1, -1, -1):
        base, ways, prefix = lru.set_of(walk_rows, level, va)
        if (
            ways > 0
            and lru.lookup(walk_cache, walk_stamps, base, ways, (prefix << 16) | pid, now) != -1
        ):
            hit_level = level
            break
    for level in range(hit_level + 1, leaf_level):
        base, ways, prefix = lru.set_of(walk_rows, level, va)
        if ways > 0:
            lru.insert(walk_cache, walk_stamps, base, ways, ((prefix << 16) | pid) << 4, now)
    return leaf_level - hit_level


@kernel
def _activate_probes(
    probes: I64, probe_count: I64, max_probes: int, size_present: I64, active_probes: I64
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
            if size_present[probes[row * lru.ROW_WIDTH + lru.ROW_SIZE_ID]]:
                count += 1
                active_probes[head + count] = row
        active_probes[head] = count


@kernel
def _find_vma(vma_start: I64, vma_end: I64, first: int, count: int, va: int) -> int:
    lo = first
    hi = first + count
    while lo < hi:
        mid = (lo + hi) >> 1
        if vma_start[mid] <= va:
            lo = mid + 1
        else:
            hi = mid
    index = lo - 1
    if index >= first and va < vma_end[index]:
        return index
    return -1


@kernel
def _fault(
    va: int,
    pid: int,
    vma: int,
    counts: I64,
    used: I64,
    pool: I64,
    roots: I64,
    level_tables: I64,
    level_shift: I64,
    fanout_bits: int,
    vma_start: I64,
    vma_end: I64,
    vma_thp: I64,
    kind_leaf_level: I64,
    kind_entries: I64,
    kind_block_shift: I64,
    kind_tlb_size: I64,
    kind_folio_size: I64,
    kind_needs_thp: I64,
    kind_crosses_edge: I64,
    kind_deposit: I64,
) -> tuple[int, int]:
    """Map ``va`` with the largest mapping kind that fits; returns (leaf level, leaf entry).

    A kind fits when THP allows it in this VMA, its aligned block lies inside the VMA (a
    kernel page may overhang the VMA's edge) and every page-table entry it needs is none.
    Returns (0, 0) when nothing fits.
    """
    fanout_mask = (1 << fanout_bits) - 1
    for k in range(kind_leaf_level.shape[0]):
        if kind_needs_thp[k] and not vma_thp[vma]:
            continue
        block_bytes = np.int64(1) << kind_block_shift[k]
        block_start = va & ~(block_bytes - 1)
        if not kind_crosses_edge[k] and (
            block_start < vma_start[vma] or block_start + block_bytes > vma_end[vma]
        ):
            continue
        target = kind_leaf_level[k]
        table = pagetable.table_for(
            pool, roots, level_tables, used, pid, va, target, level_shift, fanout_bits
        )
        if table < 0:
            continue
        first_slot = (table << fanout_bits) + ((block_start >> level_shift[target]) & fanout_mask)
        last_slot = first_slot + kind_entries[k]
        free = True
        for slot in range(first_slot, last_slot):
            if pool[slot] != 0:
                free = False
                break
        if not free:
            continue
        leaf = pagetable.leaf_entry(kind_tlb_size[k], kind_folio_size[k])
        for slot in range(first_slot, last_slot):
            pool[slot] = leaf
        counts[C.FAULTS] += 1
        counts[C.ZEROED_BYTES] += block_bytes
        counts[C.RESIDENT_BYTES + kind_folio_size[k]] += block_bytes
        counts[C.DEPOSIT_TABLES] += kind_deposit[k]
        return target, leaf
    return 0, 0


@kernel
def simulate_accesses(
    address: npt.NDArray[np.uint64],
    kind: npt.NDArray[np.uint8],
    pid_of: npt.NDArray[np.uint16],
    start: int,
    end: int,
    counts: I64,
    state: I64,
    tlb: I64,
    tlb_stamps: I64,
    probes: I64,
    probe_count: I64,
    max_probes: int,
    fills: I64,
    size_present: I64,
    active_probes: I64,
    walk_cache: I64,
    walk_stamps: I64,
    walk_rows: I64,
    pool: I64,
    roots: I64,
    level_tables: I64,
    level_shift: I64,
    fanout_bits: int,
    vma_start: I64,
    vma_end: I64,
    vma_thp: I64,
    pid_first_vma: I64,
    pid_vma_count: I64,
    kind_leaf_level: I64,
    kind_entries: I64,
    kind_block_shift: I64,
    kind_tlb_size: I64,
    kind_folio_size: I64,
    kind_needs_thp: I64,
    kind_crosses_edge: I64,
    kind_deposit: I64,
    hash_keys: I64,
    hash_rows: I64,
    row_keys: I64,
    row_touched: I64,
    row_accesses: I64,
    llc: I64,
    llc_stamps: I64,
    llc_sets: int,
    llc_ways: int,
    line_shift: int,
) -> tuple[int, int]:
    """Simulate accesses ``start`` to ``end``; returns (next index, status).

    ``state`` holds [tables used, table capacity, rows used, row capacity, last region key,
    last region row, last page key, LRU clock, last LLC line]. A status other than DONE
    stops at an access that needs Python: more table or region room (call again after
    growing), or a bad address.
    """
    tables_per_fault = level_shift.shape[0]
    n_levels = probe_count.shape[0] >> 1
    n_sizes = size_present.shape[0]
    hash_limit = hash_keys.shape[0] >> 1
    # Hot state lives in locals (registers) and is written back once, at the end.
    rows_used = state[2]
    row_limit = min(state[3], hash_limit) - 1
    table_limit = state[1] - tables_per_fault
    last_region = state[4]
    last_row = state[5]
    last_page = state[6]
    now = state[7]
    last_line = state[8]
    accesses = 0
    stores = 0
    ifetches = 0
    touched = 0
    memory_accesses = 0
    status = C.DONE
    i = start
    while i < end:
        va = np.int64(address[at(i)])
        pid = np.int64(pid_of[at(i)])
        access_kind = np.int64(kind[at(i)])
        if va >= VA_LIMIT:
            status = C.ADDRESS_TOO_HIGH
            break
        if rows_used >= row_limit:
            status = C.NEED_REGIONS
            break
        if state[0] > table_limit:
            status = C.NEED_TABLES
            break
        access_class = 1 if access_kind == IFETCH else 0
        now += 1

        # The same 4 KiB page as the access before, whose entry that access left as the MRU
        # entry of an L1 set: a hit that changes nothing.
        page_key = (((pid << 36) | (va >> 12)) << 1) | access_class
        if page_key != last_page:
            # TLB lookup, level by level.
            hit_level = -1
            mapping_size = 0
            for level in range(n_levels):
                head = (level * 2 + access_class) * (max_probes + 1)
                for index in range(head + 1, head + 1 + active_probes[at(head)]):
                    row = active_probes[at(index)]
                    size_id = probes[at(row * lru.ROW_WIDTH + lru.ROW_SIZE_ID)]
                    base, ways, tag = lru.set_of(probes, row, va)
                    word = lru.lookup(tlb, tlb_stamps, base, ways, _tlb_key(tag, pid, size_id), now)
                    if word != -1:
                        hit_level = level
                        mapping_size = word & 15
                        break
                if hit_level >= 0:
                    break
                counts[at(C.TLB_MISSES + level)] += 1

            if hit_level < 0:
                leaf_level, entry = pagetable.walk(pool, roots, pid, va, level_shift, fanout_bits)
                if entry & 3 != pagetable.LEAF:
                    vma = _find_vma(
                        vma_start, vma_end, pid_first_vma[at(pid)], pid_vma_count[at(pid)], va
                    )
                    if vma < 0:
                        status = C.OUTSIDE_VMA
                        break
                    leaf_level, entry = _fault(
                        va, pid, vma, counts, state[0:1], pool, roots, level_tables, level_shift,
                        fanout_bits, vma_start, vma_end, vma_thp, kind_leaf_level, kind_entries,
                        kind_block_shift, kind_tlb_size, kind_folio_size, kind_needs_thp,
                        kind_crosses_edge, kind_deposit,
                    )  # fmt: skip
                    if entry == 0:
                        status = C.NO_MAPPING
                        break
                counts[C.WALKS] += 1
                counts[C.WALK_REFERENCES] += _walk_cost(
                    walk_cache, walk_stamps, walk_rows, now, leaf_level, va, pid
                )
                mapping_size = (entry >> 2) & 15
                hit_level = n_levels

            # Fill the levels that missed; remember the page when its entry is now in L1.
            in_l1 = hit_level == 0
            for level in range(hit_level):
                row = (level * 2 + access_class) * n_sizes + mapping_size
                size_id = fills[at(row * lru.ROW_WIDTH + lru.ROW_SIZE_ID)]
                if size_id < 0:
                    continue
                in_l1 = in_l1 or level == 0
                if size_present[at(size_id)] == 0:
                    size_present[at(size_id)] = 1
                    _activate_probes(probes, probe_count, max_probes, size_present, active_probes)
                base, ways, tag = lru.set_of(fills, row, va)
                word = (_tlb_key(tag, pid, size_id) << 4) | mapping_size
                lru.insert(tlb, tlb_stamps, base, ways, word, now)
            last_page = page_key if in_l1 else -1

            # Touched pages (the same page as before was touched already, in this region).
            key = regions.region_key(pid, va)
            if key != last_region:
                last_row = regions.find_or_add(hash_keys, hash_rows, row_keys, rows_used, key)
                if last_row == rows_used:
                    rows_used += 1
                last_region = key
            page = (va >> 12) & 511
            word_index = (last_row << 3) + (page >> 6)
            bit = np.int64(1) << (page & 63)
            if row_touched[at(word_index)] & bit == 0:
                row_touched[at(word_index)] |= bit
                touched += 1
        row_accesses[at(last_row)] += 1

        # Which accesses reach memory.
        if llc_sets > 0:
            line = va >> line_shift
            line_key = (line << 16) | pid
            # The line the access before used is the newest in its set: a hit that changes
            # nothing the LRU order depends on.
            if line_key != last_line:
                line_set = (line & (llc_sets - 1)) * llc_ways
                if lru.lookup(llc, llc_stamps, line_set, llc_ways, line_key, now) == -1:
                    lru.insert(llc, llc_stamps, line_set, llc_ways, line_key << 4, now)
                    memory_accesses += 1
                last_line = line_key
        else:
            memory_accesses += 1

        accesses += 1
        if access_kind == 1:
            stores += 1
        elif access_kind == IFETCH:
            ifetches += 1
        i += 1

    state[2] = rows_used
    state[4] = last_region
    state[5] = last_row
    state[6] = last_page
    state[7] = now
    state[8] = last_line
    counts[C.ACCESSES] += accesses
    counts[C.STORES] += stores
    counts[C.IFETCHES] += ifetches
    counts[C.TOUCHED_PAGES] += touched
    counts[C.MEMORY_ACCESSES] += memory_accesses
    if llc_sets > 0:
        counts[C.LLC_MISSES] += memory_accesses
    return i, status
