"""Shared memory counted once, and mshare: cases worked out by hand (DESIGN.md, "Shared
memory"; reference §7)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import pagelab
from pagelab._kernels import counters as C
from pagelab._kernels import placement
from pagelab.errors import SpecError
from pagelab.machine import resolve_machine
from pagelab.paging import plan_mappings
from pagelab.spec import MachineSpec, MigrationCostSpec, PolicySpec
from pagelab.tiers import Tiers
from pagelab.translation import Translator
from pagelab.units import PAGE_SIZES
from pagelab.workloads.base import AccessChunk, Vma
from tests.engine.reference import ReferenceModel

KIB = 1 << 10
MIB = 1 << 20
GIB = 1 << 30
TABLE = 4 * KIB  # one page-table page of a 4 KiB granule
SIZE_4K = 0  # pagelab.units.PAGE_SIZES ids
SIZE_2M = 4
START = 512 * GIB  # an mshare region: alone in its 512 GiB top-level span


def _translator(policy: dict[str, Any], vmas: list[Vma], machine: dict[str, Any] | None = None):
    resolved = resolve_machine(MachineSpec.model_validate(machine or {"preset": "skylake"}))
    spec = PolicySpec.model_validate(policy)
    return Translator(resolved, plan_mappings(spec, resolved), vmas, spec)


def _play(translator: Translator, accesses: list[tuple[int, np.ndarray]]) -> Translator:
    """Run (pid, addresses) bursts in order."""
    address = np.concatenate([a for _, a in accesses]).astype(np.uint64)
    pid = np.concatenate([np.full(a.shape[0], p, dtype=np.uint16) for p, a in accesses])
    translator.run(AccessChunk(address, np.zeros(address.shape[0], np.uint8), pid), 0, len(pid))
    return translator


def _shared(pids: range, size: int, start: int = START) -> list[Vma]:
    return [Vma(p, start, size, backing="shmem", name="shm", shared_object="shm") for p in pids]


def _pages(start: int, size: int, step: int = 4 * KIB) -> np.ndarray:
    return np.arange(start, start + size, step, dtype=np.int64)


def _used_bytes(t: Translator) -> int:
    return (t.memory.node_frames(0) - t.memory.free_frames(0)) << 12


def test_a_region_shared_by_4_processes_is_resident_once_with_4_sets_of_page_tables() -> None:
    t = _translator({}, _shared(range(4), 2 * MIB))
    used_before = _used_bytes(t)
    _play(t, [(pid, _pages(START, 2 * MIB)) for pid in range(4)])
    pages = 512
    assert t.counts[C.FAULTS] == 4 * pages  # each process faults its own mapping
    assert t.counts[C.FAULTS_MINOR] == 3 * pages  # the first allocates, the others map
    assert t.counts[C.FAULTS_BY_SIZE + SIZE_4K] == pages  # only allocating faults clear
    assert t.counts[C.RESIDENT_BYTES + SIZE_4K] == 2 * MIB
    assert t.counts[C.TIER_RESIDENT_BYTES + 0] == 2 * MIB
    assert t.counts[C.TOUCHED_PAGES] * 4096 == 2 * MIB  # bloat 0: each page touched once
    # Each process: a PGD, a PUD, a PMD and one PTE table; the page cache takes none.
    assert list(t.level_tables) == [4, 4, 4, 4]
    assert t.counts[C.SHARED_TABLES] == 0
    assert t.counts[C.LIVE_MAPPINGS + 3] == 4 * pages  # every process maps every page
    # The tier's used bytes: the frames once, plus the 16 table pages.
    assert _used_bytes(t) - used_before == 2 * MIB + 16 * TABLE


def test_mshare_installs_each_pte_once_for_every_process() -> None:
    t = _translator({"mshare": True}, _shared(range(4), 2 * MIB))
    _play(t, [(pid, _pages(START, 2 * MIB)) for pid in range(4)])
    # Process 0 faults all 512 pages; each other process takes one fault, on its first
    # access, which links its PGD entry to the shared PUD table and finds the page mapped.
    assert t.counts[C.FAULTS] == 512 + 3
    assert t.counts[C.FAULTS_MINOR] == 3
    assert t.counts[C.RESIDENT_BYTES + SIZE_4K] == 2 * MIB
    assert list(t.level_tables) == [4, 1, 1, 1]  # own PGDs; one PUD, PMD and PTE table
    assert t.counts[C.SHARED_TABLES] == 3
    assert t.counts[C.LIVE_MAPPINGS + 3] == 512  # one set of PTEs serves all


# 1,000 processes map one 1 GiB shmem object with 4 KiB pages. Process 0 touches every page
# (1 GiB resident); each other process touches one page per 2 MiB, enough to need every
# table. Without mshare each process has 1 PGD + 1 PUD + 1 PMD + 512 PTE tables = 515 pages:
# 1000 × 515 × 4 KiB = 2,060,000 KiB, about 2 GiB. With mshare the PUD, PMD and 512 PTE
# tables exist once (514 pages = 2,056 KiB, about 2 MiB) beside 1000 PGDs.
PROCESSES = 1000
PAGES_1G = GIB // (4 * KIB)  # 262,144
PMDS_1G = GIB // (2 * MIB)  # 512


def _thousand_processes(mshare: bool) -> Translator:
    t = _translator({"mshare": mshare}, _shared(range(PROCESSES), GIB))
    one_per_2m = _pages(START, GIB, 2 * MIB)
    return _play(t, [(0, _pages(START, GIB))] + [(p, one_per_2m) for p in range(1, PROCESSES)])


def test_1000_processes_without_mshare_hold_about_2_gib_of_page_tables() -> None:
    t = _thousand_processes(mshare=False)
    assert t.counts[C.RESIDENT_BYTES + SIZE_4K] == GIB
    assert t.counts[C.TOUCHED_PAGES] == PAGES_1G
    assert t.counts[C.FAULTS] == PAGES_1G + (PROCESSES - 1) * PMDS_1G  # 773,632
    assert t.counts[C.FAULTS_MINOR] == (PROCESSES - 1) * PMDS_1G  # 511,488
    assert list(t.level_tables) == [1000, 1000, 1000, 512_000]
    assert int(t.level_tables.sum()) * TABLE == 2_060_000 * KIB
    assert t.counts[C.SHARED_TABLES] == 0


def test_1000_processes_with_mshare_share_about_2_mib_of_page_tables() -> None:
    t = _thousand_processes(mshare=True)
    assert t.counts[C.RESIDENT_BYTES + SIZE_4K] == GIB
    assert t.counts[C.TOUCHED_PAGES] == PAGES_1G
    # Process 0's faults map every page; each other process faults once, to attach.
    assert t.counts[C.FAULTS] == PAGES_1G + PROCESSES - 1  # 263,143
    assert t.counts[C.FAULTS_MINOR] == PROCESSES - 1
    assert list(t.level_tables) == [1000, 1, 1, 512]
    assert int(t.level_tables.sum()) * TABLE == (1000 + 514) * TABLE  # 6,056 KiB
    assert t.counts[C.SHARED_TABLES] * TABLE == 2_056 * KIB


def test_a_shared_thp_is_one_2m_folio_that_both_processes_map_with_a_pmd() -> None:
    t = _translator({"thp_shmem": "always"}, _shared(range(2), 2 * MIB))
    _play(t, [(pid, _pages(START, 2 * MIB)) for pid in range(2)])
    assert t.counts[C.RESIDENT_BYTES + SIZE_2M] == 2 * MIB
    assert t.counts[C.RESIDENT_BYTES + SIZE_4K] == 0
    assert t.counts[C.FAULTS] == 2 and t.counts[C.FAULTS_MINOR] == 1
    assert list(t.level_tables) == [2, 2, 2, 0]  # PMD leaves: no PTE table, no deposit (shmem)
    assert t.counts[C.LIVE_MAPPINGS + 2] == 2
    assert t.counts[C.DEPOSIT_TABLES] == 0
    assert t.counts[C.WALKS] == 2  # one 2M TLB entry per process
    assert t.counts[C.TOUCHED_PAGES] == 512


def test_a_process_whose_vma_cannot_hold_the_thp_maps_it_page_by_page() -> None:
    # Process 1 maps only the first 1 MiB of the object: the 2 MiB folio is not inside its
    # VMA, so each of its pages is a minor fault mapping one PTE (finish_fault's fallback).
    vmas = [*_shared(range(1), 2 * MIB), Vma(1, START, MIB, backing="shmem", shared_object="shm")]
    t = _translator({"thp_shmem": "always"}, vmas)
    _play(t, [(0, _pages(START, 2 * MIB)), (1, _pages(START, MIB))])
    assert t.counts[C.RESIDENT_BYTES + SIZE_2M] == 2 * MIB  # still one folio
    assert t.counts[C.FAULTS] == 1 + 256
    assert t.counts[C.FAULTS_MINOR] == 256
    assert list(t.level_tables) == [2, 2, 2, 1]
    assert t.folio_size_at(1, START + 4096) == "2M"  # a PTE into the 2 MiB folio


def test_a_small_vma_faulting_first_makes_4k_folios_that_a_large_one_maps_by_pte() -> None:
    # Shmem picks the folio size for the faulting VMA: 4 KiB pages for a process that cannot
    # map 2 MiB whole, so a later process that could must map those 4 KiB folios by PTEs.
    vmas = [
        Vma(0, START, MIB, backing="shmem", shared_object="shm"),
        Vma(1, START, 2 * MIB, backing="shmem", shared_object="shm"),
    ]
    t = _translator({"thp_shmem": "always"}, vmas)
    _play(t, [(0, _pages(START, MIB)), (1, _pages(START, 2 * MIB))])
    # Process 1's first fault in the second MiB finds a 2 MiB block already part-cached.
    assert t.counts[C.RESIDENT_BYTES + SIZE_2M] == 0
    assert t.counts[C.RESIDENT_BYTES + SIZE_4K] == 2 * MIB
    assert t.counts[C.FAULTS] == 256 + 512 and t.counts[C.FAULTS_MINOR] == 256


def test_migration_leaves_shared_pages_in_place_and_counts_the_refusal() -> None:
    machine = {
        "preset": "skylake",
        "tiers": [
            {"name": "dram", "preset": "ddr4_local", "capacity_bytes": "1G"},
            {"name": "cxl", "preset": "cxl_expander", "capacity_bytes": "1G"},
        ],
    }
    t = _translator({}, _shared(range(2), 64 * KIB), machine)
    _play(t, [(pid, _pages(START, 64 * KIB)) for pid in range(2)])
    tiers = Tiers(t, t.machine.tiers, MigrationCostSpec())
    pages = tiers.all_touched_pages()
    assert pages.shape[0] == 2 * 16  # each process's region row has its 16 pages
    assert tiers.migrate(pages, 1) == 0
    assert tiers.totals.refused_shared == 32
    assert tiers.resident_bytes(0) == 64 * KIB and tiers.resident_bytes(1) == 0
    assert set(tiers.tiers_of(pages).tolist()) == {0}


def test_mshare_refuses_a_region_shared_with_other_vmas() -> None:
    private = Vma(0, START + GIB, MIB, backing="anon")  # in the region's 512 GiB span
    with pytest.raises(SpecError) as caught:
        _translator({"mshare": True}, [*_shared(range(2), MIB), private])
    assert caught.value.field == "policy.mshare"
    assert "mshare region" in caught.value.message
    _translator({"mshare": False}, [*_shared(range(2), MIB), private])  # fine unshared


def _shared_spec(mshare: bool) -> dict[str, Any]:
    return {
        "workload": {
            "generator": {
                "name": "shared",
                "processes": 4,
                "shared_bytes": "8M",
                "private_bytes": "1M",
                "burst_accesses": 5000,
                "accesses": 200_000,
            }
        },
        "policy": {"mshare": mshare},
        "controls": {"seed": 7, "epoch_accesses": 50_000},
    }


def test_shared_runs_are_deterministic_and_report_both_ways() -> None:
    runs = {m: pagelab.simulate(pagelab.load_spec(_shared_spec(m))).summary for m in (False, True)}
    assert pagelab.simulate(pagelab.load_spec(_shared_spec(True))).summary == runs[True]
    unshared, shared = runs[False], runs[True]
    # 8 MiB shared once + 4 × 1 MiB private, nearly all touched by 200k random accesses.
    assert unshared["resident_bytes"] == shared["resident_bytes"] <= 12 * MIB
    assert unshared["bloat_bytes"] == shared["bloat_bytes"] == 0
    tier = resolve_machine(MachineSpec()).tiers[0].metric_name
    assert unshared[f"resident_bytes_{tier}"] == shared[f"resident_bytes_{tier}"]
    assert shared[f"resident_bytes_{tier}"] == shared["resident_bytes"]
    assert unshared["page_table_shared_bytes"] == 0
    # mshare: the shared 8 MiB needs 1 PUD + 1 PMD + 4 PTE tables once, not per process.
    assert shared["page_table_shared_bytes"] == 6 * TABLE
    assert unshared["page_table_bytes"] - shared["page_table_bytes"] == (4 * 6 - 6) * TABLE
    # The node's used bytes differ by those table pages only: the frames are the same.
    assert unshared[f"used_bytes_{tier}"] - shared[f"used_bytes_{tier}"] == (4 * 6 - 6) * TABLE
    assert shared["faults"] < unshared["faults"]
    assert unshared["faults_minor"] > 0 and shared["faults_minor"] == 3


REFERENCE_CASES = {
    "4k": ({"preset": "skylake"}, {}),
    "4k-mshare": ({"preset": "skylake"}, {"mshare": True}),
    "thp": ({"preset": "skylake"}, {"thp": "always", "thp_shmem": "always"}),
    "thp-mshare": ({"preset": "skylake"}, {"thp": "always", "thp_shmem": "always", "mshare": True}),
    "mthp-contpte": (
        {"preset": "neoverse-n1"},
        {"thp": "always", "thp_shmem": "always", "thp_sizes": ["64K", "2M"]},
    ),
    "kernel-page": ({"preset": "skylake"}, {"base_page": "64K", "base_page_mode": "kernel_page"}),
}


def _reference_vmas(mshare: bool) -> list[Vma]:
    """Three processes sharing a 6 MiB object from a 2 MiB-aligned start, each with a private
    region in another 512 GiB span. Unless mshare (which wants every process to map it
    alike), process 2 maps only the object's first 3 MiB, 1 MiB off the 2 MiB alignment the
    others map it at."""
    vmas = [Vma(p, START - GIB, 4 * MIB, name="private") for p in range(3)]
    for pid in range(3):
        start, size = (START + GIB + MIB, 3 * MIB) if pid == 2 and not mshare else (START, 6 * MIB)
        vmas.append(Vma(pid, start + 2 * MIB, size, backing="shmem", shared_object="shm"))
    return vmas


TWO_TIERS = [
    {"name": "fast", "idle_latency_ns": 100.0, "bandwidth_gbps": 100.0},
    {"name": "slow", "idle_latency_ns": 300.0, "bandwidth_gbps": 30.0},
]


@pytest.mark.parametrize(
    ("case", "interleave"),
    # One tier, and weighted interleave 2:1 over two.
    [(case, interleave) for case in sorted(REFERENCE_CASES) for interleave in (False, True)],
)
def test_shared_faults_match_the_reference(case: str, interleave: bool) -> None:
    machine_fields, policy_fields = REFERENCE_CASES[case]
    if interleave:
        machine_fields = {**machine_fields, "tiers": TWO_TIERS}
    machine = resolve_machine(MachineSpec.model_validate(machine_fields))
    policy = PolicySpec.model_validate(policy_fields)
    vmas = _reference_vmas(policy.mshare)
    rng = np.random.default_rng(len(case))
    count = 5000
    pid = rng.integers(0, 3, count)
    to_shared = rng.random(count) < 0.7
    shared_start = np.array([vma.start for vma in vmas[3:]])[pid]
    shared_size = np.array([vma.size_bytes for vma in vmas[3:]])[pid]
    address = np.where(
        to_shared,
        shared_start + rng.integers(0, shared_size) // 64 * 64,
        START - GIB + rng.integers(0, 4 * MIB, count) // 64 * 64,
    )
    chunk = AccessChunk(address.astype(np.uint64), np.zeros(count, np.uint8), pid.astype(np.uint16))
    translator = Translator(machine, plan_mappings(policy, machine), vmas, policy)
    weights = [2, 1] if interleave else None
    if weights is not None:
        translator.placement = placement.interleave(weights)
    for start in range(0, count, 997):
        translator.run(chunk, start, min(count, start + 997))
    reference = ReferenceModel(
        machine, translator.plan, vmas, policy.thp, weights=weights, mshare=policy.mshare
    )
    for va, p in zip(address.tolist(), pid.tolist(), strict=True):
        reference.access(va, 0, p)

    counts, expected = translator.counts, reference.counts
    levels = len(machine.tlb.levels)
    assert list(counts[C.TLB_MISSES : C.TLB_MISSES + levels]) == expected.tlb_misses
    assert counts[C.WALKS] == expected.walks
    assert counts[C.WALK_REFERENCES] == expected.walk_references
    assert counts[C.FAULTS] == expected.faults
    assert counts[C.FAULTS_MINOR] == expected.faults_minor
    assert counts[C.TOUCHED_PAGES] == expected.touched_pages
    assert list(translator.level_tables) == expected.tables_per_level
    assert counts[C.SHARED_TABLES] == expected.shared_tables
    resident = {
        size: int(counts[C.RESIDENT_BYTES + index])
        for index, size in enumerate(PAGE_SIZES)
        if counts[C.RESIDENT_BYTES + index]
    }
    assert resident == expected.resident_by_folio
    served = counts[C.TIER_MEMORY_ACCESSES : C.TIER_MEMORY_ACCESSES + len(machine.tiers)]
    assert list(served) == [expected.tier_memory_accesses[n] for n in range(len(machine.tiers))]
    held = counts[C.TIER_RESIDENT_BYTES : C.TIER_RESIDENT_BYTES + len(machine.tiers)]
    assert list(held) == [expected.resident_by_tier[n] for n in range(len(machine.tiers))]
    # The case shared pages: by minor faults, or by mshare'd tables.
    assert expected.faults_minor > 10 or expected.shared_tables > 0


def test_the_shared_generator_lays_out_an_mshare_region_for_the_granule() -> None:
    # A 64 KiB granule's top-level entry maps 4 TiB: the private regions go below that span.
    spec = _shared_spec(True)
    spec["machine"] = {"preset": "neoverse-n1"}
    spec["policy"] |= {"base_page": "64K", "base_page_mode": "native"}
    summary = pagelab.simulate(pagelab.load_spec(spec)).summary
    # 8 MiB of 64 KiB pages: one PMD table and one PTE table (512 MiB), shared.
    assert summary["page_table_shared_bytes"] == 2 * 64 * KIB
    # A 16 KiB granule's maps 128 TiB, all of user space: no room for a private region.
    spec["policy"]["base_page"] = "16K"
    with pytest.raises(SpecError, match="mshare region") as caught:
        pagelab.simulate(pagelab.load_spec(spec))
    assert caught.value.field == "policy.mshare"
