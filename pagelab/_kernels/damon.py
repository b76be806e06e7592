"""DAMON's per-sample and per-aggregation region work: the compiled half of
``pagelab.policies.damon``.

A region is a row of ``regions`` (int64, columns ``R_*``), rows in (target, address) order.
The kernels follow mm/damon/core.c and mm/damon/vaddr.c (reference:
linux-tiering-policies.md §1.3–1.5); random draws are made by the caller and passed in, so a
test can fix them. An address's accessed ("young") state is its 4 KiB page's bit in
``row_young`` (set by a page walk); a huge folio's young state is every bit of the 2 MiB
region rows it covers, as its PMD/PUD entry has one accessed bit.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pagelab._kernels import pagetable, regions
from pagelab._kernels.config import kernel

I64 = npt.NDArray[np.int64]

R_START = 0
R_END = 1
R_NR_ACCESSES = 2
R_NR_ACCESSES_BP = 3
R_LAST_NR_ACCESSES = 4
R_AGE = 5
R_TARGET = 6  # the pid whose address space the region is in
R_SAMPLING_ADDR = 7
R_WIDTH = 8

FILTER_NONE = 0
FILTER_ALLOW_YOUNG = 1  # young filter, matching young, allow; default reject
FILTER_REJECT_YOUNG = 2  # young filter, matching young, reject; default allow
FILTER_ALLOW_OLD = 3  # young filter, matching not young, allow; default reject
FILTER_REJECT_OLD = 4  # young filter, matching not young, reject; default allow


@kernel
def young(
    pid: int,
    va: int,
    mkold: bool,
    upper: I64,
    ptes: npt.NDArray[np.uint8],
    roots: I64,
    level_shift: I64,
    fanout_bits: int,
    hash_keys: I64,
    hash_rows: I64,
    row_young: I64,
) -> bool:
    """Whether the folio mapping ``va`` is young; with ``mkold``, clear it too. An address
    never touched is not young."""
    row = regions.find_row(hash_keys, hash_rows, regions.region_key(pid, va))
    if row < 0:
        return False
    level, entry = pagetable.walk(upper, ptes, roots, pid, va, level_shift, fanout_bits)
    if entry & 3 == pagetable.LEAF and level < level_shift.shape[0] - 1:
        folio_bytes = np.int64(1) << pagetable.SIZE_SHIFT[pagetable.folio_size_of(entry)]
        base = va & ~(folio_bytes - 1)
        found = False
        for region_va in range(base, base + folio_bytes, np.int64(1) << regions.REGION_SHIFT):
            other = regions.find_row(hash_keys, hash_rows, regions.region_key(pid, region_va))
            if other < 0:
                continue
            for word in range(other * regions.WORDS_PER_REGION,
                              (other + 1) * regions.WORDS_PER_REGION):  # fmt: skip
                if row_young[word] != 0:
                    found = True
                    if mkold:
                        row_young[word] = 0
        return found
    page = (va >> 12) & 511
    word = row * regions.WORDS_PER_REGION + (page >> 6)
    bit = np.int64(1) << (page & 63)
    found = row_young[word] & bit != 0
    if found and mkold:
        row_young[word] &= ~bit
    return found


@kernel
def sample_young(
    table: I64,
    n: int,
    mkold: bool,
    upper: I64,
    ptes: npt.NDArray[np.uint8],
    roots: I64,
    level_shift: I64,
    fanout_bits: int,
    hash_keys: I64,
    hash_rows: I64,
    row_young: I64,
    accessed: npt.NDArray[np.bool_],
) -> None:
    """``accessed[i]``: whether region ``i``'s sampling address is young (``check``); with
    ``mkold`` the young state is cleared (``prepare``)."""
    for i in range(n):
        accessed[i] = young(table[i, R_TARGET], table[i, R_SAMPLING_ADDR], mkold, upper, ptes,
                            roots, level_shift, fanout_bits, hash_keys, hash_rows,
                            row_young)  # fmt: skip


@kernel
def update_access_rate(table: I64, n: int, accessed: npt.NDArray[np.bool_], len_window: int) -> int:
    """``damon_update_region_access_rate`` for every region; returns the largest
    ``nr_accesses`` (``check_accesses``)."""
    max_nr = 0
    for i in range(n):
        hit = accessed[i]
        table[i, R_NR_ACCESSES_BP] = (
            table[i, R_NR_ACCESSES_BP]
            - table[i, R_LAST_NR_ACCESSES] * 10000 // len_window
            + (10000 if hit else 0)
        )
        if hit:
            table[i, R_NR_ACCESSES] += 1
        if table[i, R_NR_ACCESSES] > max_nr:
            max_nr = table[i, R_NR_ACCESSES]
    return max_nr


@kernel
def _merge_pass(table: I64, n: int, threshold: int, sz_limit: int) -> int:
    """``damon_merge_regions_of`` over every target: age each region, then merge it into the
    region before when contiguous, close in ``nr_accesses`` and small enough together."""
    kept = -1
    for i in range(n):
        nr = table[i, R_NR_ACCESSES]
        if abs(nr - table[i, R_LAST_NR_ACCESSES]) > threshold:
            table[i, R_AGE] = 0
        else:
            table[i, R_AGE] += 1
        if kept >= 0:
            sz_prev = table[kept, R_END] - table[kept, R_START]
            sz = table[i, R_END] - table[i, R_START]
            if (
                table[kept, R_TARGET] == table[i, R_TARGET]
                and table[kept, R_END] == table[i, R_START]
                and abs(table[kept, R_NR_ACCESSES] - nr) <= threshold
                and sz_prev + sz <= sz_limit
            ):
                total = sz_prev + sz
                merged = (table[kept, R_NR_ACCESSES] * sz_prev + nr * sz) // total
                table[kept, R_NR_ACCESSES] = merged
                table[kept, R_NR_ACCESSES_BP] = merged * 10000
                table[kept, R_AGE] = (table[kept, R_AGE] * sz_prev + table[i, R_AGE] * sz) // total
                table[kept, R_END] = table[i, R_END]
                continue
        kept += 1
        if kept != i:
            table[kept, :] = table[i, :]
    return kept + 1


@kernel
def merge_regions(
    table: I64, n: int, threshold: int, sz_limit: int, max_thres: int, max_nr_regions: int
) -> int:
    """``kdamond_merge_regions``: merge passes, doubling the threshold while there are more
    than ``max_nr_regions`` regions. Returns the region count."""
    while True:
        n = _merge_pass(table, n, threshold, sz_limit)
        threshold = max(1, threshold * 2)
        if not (n > max_nr_regions and threshold // 2 < max_thres):
            return n


@kernel
def split_regions(
    table: I64, n: int, out: I64, nr_subs: int, min_sz_region: int, draws: I64
) -> tuple[int, int]:
    """``damon_split_regions_of`` with ``nr_subs`` pieces: each attempt takes the next of
    ``draws`` (each 1..9: the left piece's tenths) and splits the left piece again. Writes
    the regions to ``out``; returns (region count, draws used)."""
    m = 0
    used = 0
    cuts = np.empty(nr_subs, dtype=np.int64)
    for i in range(n):
        start = table[i, R_START]
        sz_region = table[i, R_END] - start
        n_cuts = 0
        attempt = 0
        while attempt < nr_subs - 1 and sz_region > 2 * min_sz_region:
            tenths = draws[used]
            used += 1
            attempt += 1
            sz_sub = (tenths * sz_region // 10) // min_sz_region * min_sz_region
            if sz_sub == 0 or sz_sub >= sz_region:
                continue
            cuts[n_cuts] = start + sz_sub
            n_cuts += 1
            sz_region = sz_sub
        # The left piece was split last: cuts are in decreasing address order.
        piece_start = start
        for c in range(n_cuts - 1, -1, -1):
            out[m, :] = table[i, :]
            out[m, R_START] = piece_start
            out[m, R_END] = cuts[c]
            piece_start = cuts[c]
            m += 1
        out[m, :] = table[i, :]
        out[m, R_START] = piece_start
        m += 1
    return m, used


@kernel
def region_pages(
    pid: int,
    start: int,
    end: int,
    dest: int,
    young_filter: int,
    upper: I64,
    ptes: npt.NDArray[np.uint8],
    roots: I64,
    level_shift: I64,
    fanout_bits: int,
    hash_keys: I64,
    hash_rows: I64,
    row_touched: I64,
    row_tiers: I64,
    row_young: I64,
) -> I64:
    """(row, page) of one page of every folio in ``[start, end)`` of ``pid`` that passes the
    young filter and is not on ``dest`` (DAMOS vaddr migrate). The filter is evaluated on
    every mapped folio, and clears the young state of each it finds young."""
    out_cap = 64
    out = np.empty((out_cap, 2), dtype=np.int64)
    count = 0
    last = level_shift.shape[0] - 1
    region_bytes = 1 << regions.REGION_SHIFT
    va = start
    while va < end:
        region_end = (va | (region_bytes - 1)) + 1
        if region_end > end:
            region_end = end
        row = regions.find_row(hash_keys, hash_rows, regions.region_key(pid, va))
        if row < 0:
            va = region_end
            continue
        first = (va >> 12) & 511
        stop = ((region_end - 1) >> 12 & 511) + 1
        words = row * regions.WORDS_PER_REGION
        level, entry = pagetable.walk(upper, ptes, roots, pid, va, level_shift, fanout_bits)
        huge = entry & 3 == pagetable.LEAF and level < last
        step = 1
        if huge:
            # One folio for the whole 2 MiB row: one decision and one candidate.
            step = 512
        page = first
        while page < stop:
            pick = -1
            is_young = False
            if huge:
                for w in range(words, words + regions.WORDS_PER_REGION):
                    if row_young[w] != 0:
                        is_young = True
                        row_young[w] = 0
                # The folio is mapped whole: any touched page of it names it.
                for p in range(512):
                    if row_touched[words + (p >> 6)] >> (p & 63) & 1:
                        pick = p
                        break
            else:
                bit = np.int64(1) << (page & 63)
                if row_touched[words + (page >> 6)] & bit:
                    pick = page
                    is_young = row_young[words + (page >> 6)] & bit != 0
                    if is_young:
                        row_young[words + (page >> 6)] &= ~bit
            if (
                pick >= 0
                and _passes(young_filter, is_young)
                and regions.tier_of(row_tiers, row, pick) != dest
            ):
                if count == out_cap:
                    out_cap *= 2
                    grown = np.empty((out_cap, 2), dtype=np.int64)
                    grown[:count] = out[:count]
                    out = grown
                out[count, 0] = row
                out[count, 1] = pick
                count += 1
            page += step
        va = region_end
    return out[:count]


@kernel
def _passes(young_filter: int, is_young: bool) -> bool:
    """The young filter's verdict (``damos_filter_out`` with one ops filter): the first
    matching filter decides, else the default (reject after an allow filter)."""
    if young_filter == FILTER_NONE:
        return True
    if young_filter == FILTER_ALLOW_YOUNG:
        return is_young
    if young_filter == FILTER_REJECT_YOUNG:
        return not is_young
    if young_filter == FILTER_ALLOW_OLD:
        return not is_young
    return is_young
