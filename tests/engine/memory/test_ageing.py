"""Ageing: calibration against the published figure, monotone 1 GiB success, determinism,
and superpageblock steering."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from pagelab.memory import PhysicalMemory
from pagelab.memory.ageing import AGEING_PROFILES, AgeingSpec, age, resolve_ageing

from .invariants import check

GIB = 1 << 30
ORDER_1G = 18


def _nonmovable_fraction(memory: PhysicalMemory) -> float:
    used = memory.used_frames(0)
    return (used["unmovable"] + used["reclaimable"]) / memory.node_frames(0)


@pytest.mark.slow
@pytest.mark.parametrize("capacity_gib", [16, 64])
def test_heavily_aged_matches_the_published_pollution_figure(capacity_gib: int) -> None:
    """Zhao (RFC 2024): unmovable memory < 7% of memory, in ~34% of 2 MiB pageblocks.

    Measured, seed 1: 6.4% of memory unmovable or reclaimable, in 40% of pageblocks on
    16 GiB and 33% on 64 GiB (30% on 256 GiB). Tolerance: unmovable 5..7% of memory,
    polluted pageblocks 25..45%.
    """
    memory = PhysicalMemory([capacity_gib * GIB])
    age(memory, 0, "heavily_aged", seed=1)
    assert 0.05 <= _nonmovable_fraction(memory) < 0.07
    polluted = memory.polluted_pageblocks(0).mean()
    assert 0.25 <= polluted <= 0.45
    assert memory.statistics(0)["fallback_steal"] > 0  # pollution emerged from steals
    if capacity_gib == 16:
        check(memory)


def _gigantic_pages(profile: str, may_migrate: bool) -> int:
    memory = PhysicalMemory([32 * GIB])
    age(memory, 0, profile, seed=3)
    count = 0
    while memory.contig_alloc(0, ORDER_1G, may_migrate=may_migrate) >= 0:
        count += 1
    return count


@pytest.mark.slow
def test_1g_success_falls_with_age() -> None:
    without = [_gigantic_pages(p, False) for p in ("fresh", "aged", "heavily_aged")]
    with_migration = [_gigantic_pages(p, True) for p in ("fresh", "aged", "heavily_aged")]
    # 32 GiB, seed 3. fresh: the kernel's 2% taints the first GiB only (31 clean); aged:
    # movable pages in every GiB, 22 GiB tainted, migration empties 6 of the 10 clean ones
    # (then free memory runs short); heavily aged: every GiB tainted.
    assert without == [31, 0, 0]
    assert with_migration == [31, 6, 0]


def test_same_seed_same_state() -> None:
    spec = AgeingSpec(
        used_fraction=0.7,
        peak_fraction=0.99,
        unmovable_share=0.06,
        thp_share=0.1,
        churn_rounds=2,
        churn_fraction=0.3,
        pinned_share=0.01,
    )
    states = []
    for seed in (5, 5, 6):
        memory = PhysicalMemory([2 * GIB])
        age(memory, 0, spec, seed=seed)
        states.append(memory.arrays)
    for a, b in zip(states[0], states[1], strict=True):
        assert np.array_equal(a, b)
    assert not np.array_equal(states[0][0], states[2][0])


def test_profiles_and_validation() -> None:
    assert resolve_ageing("aged") is AGEING_PROFILES["aged"]
    with pytest.raises(ValueError, match="unknown ageing profile"):
        resolve_ageing("ancient")
    with pytest.raises(ValidationError):
        AgeingSpec(used_fraction=1.5)
    with pytest.raises(ValidationError):
        AgeingSpec(churn_rounds=2, peak_fraction=0.5, used_fraction=0.8)
    spec = AgeingSpec.model_validate_json(AGEING_PROFILES["heavily_aged"].model_dump_json())
    assert spec == AGEING_PROFILES["heavily_aged"]


STEERING_AGEING = AgeingSpec(
    used_fraction=0.8,
    peak_fraction=0.99,
    unmovable_share=0.05,
    thp_share=0.0,
    churn_rounds=2,
    churn_fraction=0.4,
)


@pytest.mark.slow
def test_superpageblock_steering_keeps_most_1g_blocks_clean() -> None:
    """van Riel's RFC on 256 GB: < 20 of 238 superpageblocks tainted, 50 × 1 GiB allocated
    under load. Here, 256 GiB aged with ``STEERING_AGEING`` (seed 1), measured: steering on,
    17 of 256 tainted (6.5% of pageblocks polluted) and 50 × 1 GiB allocated (migrating
    ~12.3 M pages); seeds 2 and 3 also give 17. Off, 256 of 256 tainted (78% polluted) and
    none allocated. Kernel memory at the end (4% of memory, 2% of it the boot footprint,
    which taints 6 blocks) fills 11 blocks at the least; each of the 11 blocks tainted after
    boot took an order-0..3 kernel allocation that found no free block of its order left in
    the tainted ones.
    ~10 s, most of it ageing."""
    results = {}
    for steering in (True, False):
        memory = PhysicalMemory([256 * GIB], steering=steering)
        age(memory, 0, STEERING_AGEING, seed=1)
        tainted = int(memory.tainted_superpageblocks(0).sum())
        allocated = 0
        while allocated < 50 and memory.contig_alloc(0, ORDER_1G) >= 0:
            allocated += 1
        results[steering] = (tainted, allocated)
    assert results[True][0] < 20 and results[True][1] == 50
    assert results[False][0] > 200 and results[False][1] < 5
