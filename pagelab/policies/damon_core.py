"""DAMON's arithmetic as plain functions, as mm/damon/core.c, ops-common.c and vaddr.c
compute it: the quota goals' feedback loop, the regions' hotness score, and the initial
regions of a virtual address space (reference: linux-tiering-policies.md §1–2)."""

from __future__ import annotations

import itertools

PAGE_BYTES = 4096  # DAMON_MIN_REGION
MAX_SCORE = 99  # DAMOS_MAX_SCORE
MAX_SUBSCORE = 100
MAX_AGE_IN_LOG = 32
GOAL_BP = 10_000
MIN_INPUT = 10_000
ULONG_MAX = (1 << 64) - 1


def feed_loop_next_input(last: int, score: int) -> int:
    """``damon_feed_loop_next_input``: the tuner's next input for goal 10000 bp;
    ``last · (2 − score / 10000)`` in integers, at least 10000."""
    if score == GOAL_BP:
        return last
    if score >= 2 * GOAL_BP:
        return MIN_INPUT
    over = score > GOAL_BP
    diff = score - GOAL_BP if over else GOAL_BP - score
    # The kernel's overflow guard (unsigned long arithmetic).
    compensation = last * diff // GOAL_BP if last < ULONG_MAX // diff else last // GOAL_BP * diff
    if over:
        return max(last - compensation, MIN_INPUT)
    return min(last + compensation, ULONG_MAX)


def hot_score(
    nr_accesses: int, age: int, max_nr_accesses: int, aggr_us: int, weight_nr: int,
    weight_age: int,
) -> int:  # fmt: skip
    """``damon_hot_score``, 0..99: frequency and log2 of the age in seconds, weighted."""
    freq = nr_accesses * MAX_SUBSCORE // max_nr_accesses
    age_in_sec = age * aggr_us // 1_000_000
    age_in_log = 0
    while age_in_log < MAX_AGE_IN_LOG and age_in_sec:
        age_in_log += 1
        age_in_sec >>= 1
    if freq == 0:
        age_in_log = -age_in_log
    age_sub = (age_in_log + MAX_AGE_IN_LOG) * MAX_SUBSCORE // MAX_AGE_IN_LOG // 2
    hotness = weight_nr * freq + weight_age * age_sub
    if weight_nr + weight_age:
        hotness //= weight_nr + weight_age
    return hotness * MAX_SCORE // MAX_SUBSCORE


def three_regions(vmas: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``__damon_va_three_regions``: the VMAs' span cut at their two biggest gaps (ties:
    the first found), page-aligned up. With fewer than two gaps, each run of adjacent VMAs."""
    first_gap = second_gap = (0, 0)
    for (_, prev_end), (start, _) in itertools.pairwise(vmas):
        gap = start - prev_end
        if gap > first_gap[1] - first_gap[0]:
            second_gap, first_gap = first_gap, (prev_end, start)
        elif gap > second_gap[1] - second_gap[0]:
            second_gap = (prev_end, start)
    if first_gap[1] > first_gap[0] and second_gap[1] > second_gap[0]:
        low, high = sorted((first_gap, second_gap))
        cuts = [(vmas[0][0], low[0]), (low[1], high[0]), (high[1], vmas[-1][1])]
    else:
        cuts = []
        for start, end in vmas:
            if cuts and cuts[-1][1] == start:
                cuts[-1] = (cuts[-1][0], end)
            else:
                cuts.append((start, end))
    return [(_align_up(start), _align_up(end)) for start, end in cuts]


def _align_up(value: int) -> int:
    return -(-value // PAGE_BYTES) * PAGE_BYTES


def initial_regions(ranges: list[tuple[int, int]], min_nr_regions: int) -> list[tuple[int, int]]:
    """``__damon_va_init_regions``: each range split evenly into pieces of about
    total / min_nr_regions (``damon_va_evenly_split_region``; the last piece takes the
    rounding rest)."""
    total = sum(end - start for start, end in ranges)
    sz = max(total // min_nr_regions, PAGE_BYTES)
    out: list[tuple[int, int]] = []
    for start, end in ranges:
        pieces = (end - start) // sz
        piece = (end - start) // pieces // PAGE_BYTES * PAGE_BYTES if pieces else 0
        if pieces <= 1 or piece == 0:
            out.append((start, end))
            continue
        chunks = [(low, low + piece) for low in range(start, end - piece + 1, piece)]
        chunks[-1] = (chunks[-1][0], end)
        out.extend(chunks)
    return out
