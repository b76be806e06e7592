"""Ageing: pre-fragment a node by running the allocator's own rules on a synthetic history.

Boot leaves a kernel footprint of unmovable MAX_PAGE_ORDER blocks at the node's low end.
Each round then fills memory to ``peak_fraction`` with a mix of movable folios (page cache
and anonymous memory: orders 0..6, and pageblock-order THPs) and unmovable or reclaimable
kernel allocations (slab, page tables, stacks: orders 0..3), and frees a random
``churn_fraction`` of the live allocations. After the last round, random movable allocations
are freed down to ``used_fraction`` (exits, dropped caches), and a ``pinned_share`` of the
movable allocations left is pinned. Pageblock pollution is not placed: it emerges from the
fallback, claim and steal rules when kernel allocations meet a fragmented node.

The live history is ~10 bytes per live allocation (pfn, order and class), freed when ageing
ends; what remains are ordinary in-use pages of their class.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from pagelab.memory import _ageing
from pagelab.memory._buddy import alloc
from pagelab.memory.layout import CLASS_UNMOVABLE
from pagelab.memory.node import PhysicalMemory

# Order distributions, by count. Kernel allocations are mostly single pages (slab, page
# tables), some order-1..3 slabs and stacks. Movable folios: single pages, and large folios
# of page cache and anonymous mTHP; THPs are drawn separately (``thp_share``).
NONMOVABLE_ORDER_WEIGHTS = (0.70, 0.15, 0.10, 0.05)
MOVABLE_ORDER_WEIGHTS = (0.30, 0.0, 0.25, 0.0, 0.25, 0.0, 0.20)
_DRAWS_PER_CHUNK = 1 << 21


class AgeingSpec(BaseModel):
    """How a node was used before the simulation starts (a seeded synthetic history).

    Fractions are of the node's memory unless they say "share", which is of what the name
    says. ``unmovable_share`` counts unmovable and reclaimable pages, the kernel footprint
    included, as a share of the memory in use at the end.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kernel_fraction: float = Field(
        default=0.02,
        ge=0.0,
        le=0.25,
        description="The kernel's footprint at boot, in unmovable MAX_PAGE_ORDER blocks at "
        "the node's low end (fraction of the node).",
    )
    used_fraction: float = Field(
        default=0.02,
        ge=0.0,
        le=0.99,
        description="Memory in use when the run starts (fraction of the node, at least "
        "kernel_fraction); movable memory is freed down to it.",
    )
    peak_fraction: float = Field(
        default=0.0,
        ge=0.0,
        le=0.995,
        description="Each churn round fills memory up to this (fraction of the node, at "
        "least used_fraction when there are rounds).",
    )
    unmovable_share: float = Field(
        default=0.0,
        ge=0.0,
        le=0.5,
        description="Unmovable and reclaimable pages, kernel footprint included, as a share "
        "of the memory in use at the end.",
    )
    reclaimable_share: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Share of kernel allocations that are reclaimable rather than unmovable.",
    )
    thp_share: float = Field(
        default=0.4,
        ge=0.0,
        le=1.0,
        description="Share of movable memory allocated as pageblock-order THPs.",
    )
    churn_rounds: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Rounds of filling memory to peak_fraction and freeing a random "
        "churn_fraction (count; 0: none).",
    )
    churn_fraction: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="Share of the live allocations each round frees, at random.",
    )
    pinned_share: float = Field(
        default=0.0,
        ge=0.0,
        le=0.5,
        description="Share of the movable allocations left at the end that are pinned "
        "(compaction cannot move them).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> AgeingSpec:
        if self.used_fraction < self.kernel_fraction:
            raise ValueError("used_fraction must cover the kernel footprint")
        if self.churn_rounds and self.peak_fraction < self.used_fraction:
            raise ValueError("peak_fraction must be at least used_fraction")
        return self


AGEING_PROFILES: dict[str, AgeingSpec] = {
    # Just booted: 2% of memory in the kernel's unmovable blocks at the low end, rest free.
    "fresh": AgeingSpec(),
    # Some hours of mixed use: kept 98% full while 4 × 30% of the live allocations turn
    # over and kernel memory grows, 80% in use at the end with 5% of it unmovable or
    # reclaimable; a tenth of movable memory in THPs.
    "aged": AgeingSpec(
        used_fraction=0.80,
        peak_fraction=0.98,
        unmovable_share=0.05,
        thp_share=0.1,
        churn_rounds=4,
        churn_fraction=0.3,
    ),
    # A long-running server, calibrated on Zhao's figure (RFC 2024: unmovable memory under 7%
    # of memory, present in about 34% of 2 MiB pageblocks): 5% of memory in the kernel's
    # blocks from boot, then kept 99% full while 3 × 40% of the live allocations turn over
    # (no THPs: every hole is small) and kernel memory grows into the holes; 85% in use at
    # the end with 7.5% of it unmovable or reclaimable (6.4% of memory), one movable
    # allocation in 10,000 pinned (enough to leave a pin in most 1 GiB blocks).
    # Measured (seeds 1, 2, 3): 6.4% of memory unmovable or reclaimable in 40%, 40%, 40% of
    # pageblocks on 16 GiB, 33%, 32%, 32% on 64 GiB; seed 1 on 256 GiB: 30%. The share of
    # kernel memory that arrives during the churn sets the pollution, steeply: a boot
    # footprint of 4.75% gives ~50%, 5.25% ~15%.
    "heavily_aged": AgeingSpec(
        kernel_fraction=0.05,
        used_fraction=0.85,
        peak_fraction=0.99,
        unmovable_share=0.075,
        thp_share=0.0,
        churn_rounds=3,
        churn_fraction=0.4,
        pinned_share=0.0001,
    ),
}


def resolve_ageing(ageing: str | AgeingSpec) -> AgeingSpec:
    """A profile name or an explicit spec, as the machine spec carries it."""
    if isinstance(ageing, AgeingSpec):
        return ageing
    try:
        return AGEING_PROFILES[ageing]
    except KeyError:
        known = sorted(AGEING_PROFILES)
        raise ValueError(f"unknown ageing profile {ageing!r}; one of {known}") from None


def _cdf(weights: tuple[float, ...]) -> np.ndarray:
    cdf = np.cumsum(np.array(weights, dtype=np.float64))
    return cdf / cdf[-1]


def _huge_probability(spec: AgeingSpec, pageblock_order: int) -> float:
    """The per-allocation chance of a THP that makes ``thp_share`` of movable memory THPs."""
    if spec.thp_share >= 1.0:
        return 1.0
    weights = np.array(MOVABLE_ORDER_WEIGHTS)
    small_mean = float((weights * (1 << np.arange(weights.shape[0]))).sum() / weights.sum())
    huge = spec.thp_share / (1 << pageblock_order)
    return huge / (huge + (1.0 - spec.thp_share) / small_mean)


def age(memory: PhysicalMemory, node: int, ageing: str | AgeingSpec, seed: int) -> None:
    """Run the ageing history on a fresh ``node`` of ``memory``; same seed, same state."""
    spec = resolve_ageing(ageing)
    if memory.free_frames(node) != memory.node_frames(node):
        raise ValueError("ageing needs a node with nothing allocated")
    rng = np.random.default_rng(seed)
    arrays = memory.arrays
    frames = memory.node_frames(node)
    block = 1 << memory.max_page_order
    for _ in range(int(spec.kernel_fraction * frames) // block):
        alloc(*arrays, node, memory.max_page_order, CLASS_UNMOVABLE)
    if spec.churn_rounds == 0 and spec.used_fraction <= spec.kernel_fraction:
        return
    peak = int(max(spec.peak_fraction, spec.used_fraction) * frames)
    nonmovable = int(spec.unmovable_share * spec.used_fraction * frames)
    # The share of nonmovable memory is held constant during fills, at its final value
    # relative to the peak: the final shrink frees movable memory only.
    capacity = max(1024, peak // 2)
    pfns = np.zeros(capacity, dtype=np.int64)
    meta = np.zeros(capacity, dtype=np.int16)
    count = 0
    nonmovable_cdf = _cdf(NONMOVABLE_ORDER_WEIGHTS)
    movable_cdf = _cdf(MOVABLE_ORDER_WEIGHTS)
    huge = _huge_probability(spec, memory.pageblock_order)
    mix = (spec.reclaimable_share, huge, nonmovable_cdf, movable_cdf)
    start = (
        min(nonmovable, memory.used_frames(node)["unmovable"]) if spec.churn_rounds else nonmovable
    )
    while True:
        draws = rng.random(_DRAWS_PER_CHUNK)
        count, used_draws, full = _ageing.fill(
            *arrays, node, peak, start, *mix, draws, pfns, meta, count
        )
        if full or used_draws < draws.shape[0] - 1 or count >= capacity:
            break
    steps = int(spec.churn_rounds * spec.churn_fraction * count)
    step = 0
    while step < steps:
        draws = rng.random(_DRAWS_PER_CHUNK)
        victims = rng.random(min(steps - step, _DRAWS_PER_CHUNK // 8))
        count, _, done = _ageing.churn(
            *arrays,
            node,
            peak,
            start,
            nonmovable,
            step,
            steps,
            *mix,
            draws,
            victims,
            pfns,
            meta,
            count,
        )
        if done == 0:
            break
        step += done
    order = rng.permutation(count).astype(np.int64)
    _ageing.shrink(*arrays, node, pfns, meta, count, order, int(spec.used_fraction * frames))
    if spec.pinned_share > 0:
        chosen = rng.random(count) < spec.pinned_share
        _ageing.pin(memory.pageblocks, memory.nodes, node, pfns, meta, count, chosen)
