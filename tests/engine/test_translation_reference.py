"""The compiled per-access path against the slow reference model, counter for counter."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pagelab import translation
from pagelab._kernels import access, placement
from pagelab._kernels import counters as C
from pagelab.machine import resolve_machine
from pagelab.paging import plan_mappings
from pagelab.spec import MachineSpec, PolicySpec
from pagelab.translation import Translator
from pagelab.units import PAGE_SIZES
from pagelab.workloads.base import AccessChunk, Vma
from tests.engine.reference import ReferenceModel

SMALL_TLB: dict[str, Any] = {
    "levels": [
        {
            "name": "L1",
            "structures": [
                {"page_sizes": ["4K", "16K", "64K"], "entries": 8, "ways": 2, "accesses": "data"},
                {"page_sizes": ["2M", "1G"], "entries": 4, "ways": 4, "accesses": "data"},
                {"page_sizes": ["4K"], "entries": 4, "ways": 4, "accesses": "instruction"},
            ],
        },
        {
            "name": "L2",
            "structures": [{"page_sizes": ["4K", "16K", "64K", "2M"], "entries": 32, "ways": 4}],
            "hit_cycles": 7,
        },
    ]
}
# L1 holds only large entries and serves no instruction fetch: many translations live in L2 only.
# Ways of 2, 3 and 6 run the lookups' remainder steps (lru scans four ways per step).
SPARSE_L1_TLB: dict[str, Any] = {
    "levels": [
        {"name": "L1", "structures": [
            {"page_sizes": ["64K", "2M"], "entries": 4, "ways": 2, "accesses": "data"}]},
        {"name": "L2", "structures": [
            {"page_sizes": ["4K", "64K", "2M"], "entries": 12, "ways": 3}]},
        {"name": "L3", "structures": [
            {"page_sizes": ["4K", "2M", "1G"], "entries": 48, "ways": 6}]},
    ]
}  # fmt: skip
SMALL_CACHES = {"pgd_entries": 1, "pud_entries": 2, "pmd_entries": 8, "ways": 2}
SMALL_LLC = {"size_bytes": 8192, "ways": 4}

VMAS = [
    Vma(pid=0, start=0x4000_0000, size_bytes=3 << 21, thp_advice="hugepage"),
    Vma(pid=0, start=0x4060_3000, size_bytes=0x25000),  # edges inside 64K pages
    Vma(pid=1, start=0x4000_0000, size_bytes=1 << 30, thp_advice="nohugepage"),
    Vma(pid=1, start=0x8000_0000, size_bytes=1 << 30),
]

CASES = {
    "skylake-4k": ({"preset": "skylake"}, {}),
    "small-4k-thp": (
        {"tlb": SMALL_TLB, "walk_cache": SMALL_CACHES, "llc": SMALL_LLC},
        {"thp": "always", "thp_sizes": ["64K", "2M", "1G"]},
    ),
    "small-madvise": (
        {"tlb": SMALL_TLB, "walk_cache": SMALL_CACHES, "llc": "none"},
        {"thp": "madvise", "thp_sizes": ["2M"]},
    ),
    "sparse-l1-three-levels": (
        {"tlb": SPARSE_L1_TLB, "walk_cache": SMALL_CACHES, "contiguous_pte": True},
        {"thp": "always", "thp_sizes": ["64K", "2M", "1G"]},
    ),
    "n1-64k-native": ({"preset": "neoverse-n1"}, {"base_page": "64K", "thp": "always",
                                                  "thp_sizes": ["2M", "512M"]}),
    "n1-16k-native": ({"preset": "neoverse-n1"}, {"base_page": "16K"}),
    "n1-per-process-64k": ({"preset": "neoverse-n1", "llc": SMALL_LLC}, {"base_page": "64K",
                                                        "base_page_mode": "per_process"}),
    "skylake-kernel-page": ({"preset": "skylake"}, {"base_page": "64K",
                                                    "base_page_mode": "kernel_page"}),
    "zen4-coalescing": ({"preset": "zen4"}, {"base_page": "64K", "thp": "always"}),
    "small-per-process-thp": (
        {"tlb": SMALL_TLB, "walk_cache": SMALL_CACHES, "contiguous_pte": True},
        {"base_page": "64K", "base_page_mode": "per_process", "thp": "always",
         "thp_sizes": ["2M", "1G"]},
    ),
}  # fmt: skip


def _accesses(seed: int, count: int) -> AccessChunk:
    """Hot pages, scans and random jumps across both processes' VMAs."""
    rng = np.random.default_rng(seed)
    address = np.empty(count, dtype=np.uint64)
    pid = rng.integers(0, 2, count).astype(np.uint16)
    for i in range(count):
        choice = rng.integers(0, 4)
        if pid[i] == 0:
            if choice == 3:
                address[i] = 0x4060_3000 + rng.integers(0, 0x25000)
            else:
                address[i] = 0x4000_0000 + rng.integers(0, 3 << 21) // (1 + 7 * (choice == 0))
        elif choice == 0:
            address[i] = 0x4000_0000 + rng.integers(0, 64) * 4096
        else:
            address[i] = 0x4000_0000 + rng.integers(0, 2 << 30)
    kind = rng.integers(0, 3, count).astype(np.uint8)
    return AccessChunk(address=address, kind=kind, pid=pid)


@pytest.mark.parametrize("room", ["default room", "tiny room", "prefetching"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_kernel_matches_reference(case: str, room: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if room == "tiny room":
        # Regions run out of room again and again, in the middle of accesses:
        # each stop must leave its access to run again as if it had not started.
        monkeypatch.setattr(translation, "INITIAL_REGIONS", 2)
        monkeypatch.setattr(translation, "MAX_RESERVED_REGIONS", 2)
    if room == "prefetching":
        # Prefetching from the first access (a large footprint's path) changes no result.
        monkeypatch.setattr(translation, "PREFETCH_MIN_ROWS", 0)
    machine_fields, policy_fields = CASES[case]
    machine = resolve_machine(MachineSpec.model_validate(machine_fields))
    policy = PolicySpec.model_validate(policy_fields)
    plan = plan_mappings(policy, machine)
    chunk = _accesses(seed=len(case), count=6000)

    translator = Translator(machine, plan, VMAS, policy)
    # Odd slices exercise resuming mid-chunk and growing tables and regions between calls.
    for start in range(0, len(chunk), 997):
        translator.run(chunk, start, min(len(chunk), start + 997))
    reference = ReferenceModel(machine, plan, VMAS, policy.thp)
    for va, kind, pid in zip(chunk.address, chunk.kind, chunk.pid, strict=True):
        reference.access(int(va), int(kind), int(pid))

    counts = translator.counts
    expected = reference.counts
    levels = len(machine.tlb.levels)
    assert list(counts[C.TLB_MISSES : C.TLB_MISSES + levels]) == expected.tlb_misses
    assert counts[C.WALKS] == expected.walks
    assert counts[C.WALK_REFERENCES] == expected.walk_references
    assert counts[C.FAULTS] == expected.faults
    assert counts[C.TOUCHED_PAGES] == expected.touched_pages
    assert counts[C.LLC_MISSES] == expected.llc_misses
    assert counts[C.DEPOSIT_TABLES] == expected.deposit_tables
    assert list(translator.level_tables) == expected.tables_per_level
    resident = {
        size: int(counts[C.RESIDENT_BYTES + index])
        for index, size in enumerate(PAGE_SIZES)
        if counts[C.RESIDENT_BYTES + index]
    }
    assert resident == expected.resident_by_folio
    pids, bases = translator.region_bases()
    region_accesses = dict(
        zip(
            zip(pids.tolist(), bases.tolist(), strict=True),
            translator.take_region_accesses().tolist(),
            strict=True,
        )
    )
    assert region_accesses == dict(expected.region_accesses)
    assert expected.faults > 50 and expected.walks > expected.faults  # the case did work


@pytest.mark.parametrize(
    "case",
    [
        "small-4k-thp",
        "small-madvise",
        "small-per-process-thp",
        "skylake-kernel-page",
        "n1-64k-native",
    ],
)
def test_tiers_and_accessed_bits_match_reference(case: str) -> None:
    """Weighted interleave 2:1 over two tiers with room for everything: the tier of every
    access that reaches memory, and the accessed bits walks set, as the reference has them
    (huge pages first touched in one 2 MiB region and then in others included)."""
    machine_fields, policy_fields = CASES[case]
    tiers = [
        {"name": "fast", "idle_latency_ns": 100.0, "bandwidth_gbps": 100.0},
        {"name": "slow", "idle_latency_ns": 300.0, "bandwidth_gbps": 30.0},
    ]
    machine = resolve_machine(MachineSpec.model_validate({**machine_fields, "tiers": tiers}))
    policy = PolicySpec.model_validate(policy_fields)
    plan = plan_mappings(policy, machine)
    chunk = _accesses(seed=len(case) + 1, count=6000)

    translator = Translator(machine, plan, VMAS, policy)
    translator.placement = placement.interleave([2, 1])
    translator.track(access.TRACK_YOUNG)
    for start in range(0, len(chunk), 997):
        translator.run(chunk, start, min(len(chunk), start + 997))
    reference = ReferenceModel(machine, plan, VMAS, policy.thp, weights=[2, 1])
    for va, kind, pid in zip(chunk.address, chunk.kind, chunk.pid, strict=True):
        reference.access(int(va), int(kind), int(pid))

    served = translator.counts[C.TIER_MEMORY_ACCESSES : C.TIER_MEMORY_ACCESSES + 2]
    expected = reference.counts.tier_memory_accesses
    assert list(served) == [expected[0], expected[1]]
    assert expected[0] > 0 and expected[1] > 0
    pids, bases = translator.region_bases()
    young = set()
    for row, (pid, base) in enumerate(zip(pids.tolist(), bases.tolist(), strict=True)):
        words = translator.row_young[row * 8 : row * 8 + 8]
        for page in range(512):
            if int(words[page >> 6]) >> (page & 63) & 1:
                young.add((pid, (base >> 12) + page))
    assert young == reference.young
