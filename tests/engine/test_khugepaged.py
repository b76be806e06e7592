"""khugepaged: passes of ``pages_to_scan / 512`` ranges at its own pace, collapsing ranges of
4 KiB pages with few enough empty PTEs and a referenced page; never 1 GiB."""

from __future__ import annotations

from typing import Any

import numpy as np

from pagelab._kernels import counters as C
from pagelab.mappings import Mappings
from pagelab.policies.khugepaged import Khugepaged
from pagelab.simulate import check_spec, load_spec, simulate
from pagelab.spec import KhugepagedSpec
from pagelab.translation import Translator, physical_memory
from pagelab.units import PAGE_SIZES
from pagelab.workloads.base import AccessChunk, MemoryEvent, Vma

MIB = 1 << 20
BASE = 4 << 30
TIER = {"name": "dram", "capacity_bytes": "4G", "idle_latency_ns": 100.0, "bandwidth_gbps": 100}
SIZE_2M, SIZE_4K = PAGE_SIZES.index("2M"), PAGE_SIZES.index("4K")


def _four_thps_two_split(drop: list[int]) -> Translator:
    """Four 2 MiB THPs, each faulted by touching its first page; then one page of ranges 1
    and 2 (``drop`` pages, numbered from the VMA's start) dropped by MADV_DONTNEED, which
    splits those two into 511 PTE-mapped pages each."""
    spec = load_spec({
        "workload": {"generator": {"name": "uniform", "size_bytes": 8 * MIB, "accesses": 1}},
        "machine": {"tiers": [TIER]},
        "policy": {"thp": "always", "thp_sizes": ["2M"]},
    })  # fmt: skip
    machine, plan = check_spec(spec)
    memory = physical_memory(machine, plan, spec.policy, seed=0)
    translator = Translator(machine, plan, [Vma(0, BASE, 8 * MIB)], spec.policy, memory)
    address = np.array([BASE + r * 2 * MIB for r in range(4)], dtype=np.uint64)
    chunk = AccessChunk(address, np.zeros(4, np.uint8), np.zeros(4, np.uint16))
    translator.run(chunk, 0, 4)
    mappings = Mappings(translator, full_split=True)
    for page in drop:
        mappings.apply(MemoryEvent(0, "madvise_dontneed", 0, BASE + page * 4096, 4096))
    assert translator.counts[C.RESIDENT_BYTES + SIZE_2M] == 2 * 2 * MIB
    return translator


def _khugepaged(translator: Translator, **knobs: Any) -> Khugepaged:
    spec = KhugepagedSpec(pages_to_scan=1024, scan_sleep_ms=1.0, **knobs)  # 2 ranges a pass
    return Khugepaged(spec, translator, deposit=True)


def test_passes_scan_two_ranges_each_and_collapse_the_split_ones() -> None:
    """Pass 1 (t = 0) looks at ranges 0 and 1 and collapses 1; nothing is due at 0.5 ms;
    pass 2 (1 ms) looks at 2 and 3 and collapses 2; pass 3 (2 ms) wraps round to 0 and 1."""
    translator = _four_thps_two_split([512 + 7, 1024 + 7])
    khugepaged = _khugepaged(translator)
    counts = translator.counts
    khugepaged.end_epoch(0.0)
    assert counts[C.KHUGEPAGED_RANGES] == 2 and counts[C.THP_COLLAPSES] == 1
    khugepaged.end_epoch(0.5e6)
    assert counts[C.KHUGEPAGED_RANGES] == 2
    khugepaged.end_epoch(1.0e6)
    assert counts[C.KHUGEPAGED_RANGES] == 4 and counts[C.THP_COLLAPSES] == 2
    assert counts[C.RESIDENT_BYTES + SIZE_2M] == 8 * MIB
    assert counts[C.RESIDENT_BYTES + SIZE_4K] == 0
    assert counts[C.COLLAPSE_PAGES_COPIED] == 2 * 511
    khugepaged.end_epoch(2.0e6)
    assert counts[C.KHUGEPAGED_RANGES] == 6 and counts[C.THP_COLLAPSES] == 2
    assert counts[C.TLB_SHOOTDOWNS] == 2 + 2  # the two events, then one per pass that collapsed


def test_max_ptes_none_and_the_referenced_page_decide() -> None:
    """With max_ptes_none 0 a range of 511 pages is left alone; a range whose one touched
    page was the one dropped has no referenced page and is left alone too."""
    translator = _four_thps_two_split([512 + 7, 1024 + 7])
    khugepaged = _khugepaged(translator, max_ptes_none=0)
    khugepaged.end_epoch(1.0e6)
    assert translator.counts[C.KHUGEPAGED_RANGES] == 4
    assert translator.counts[C.THP_COLLAPSES] == 0
    unreferenced = _four_thps_two_split([512, 1024 + 7])  # range 1 loses its touched page
    khugepaged = _khugepaged(unreferenced)
    khugepaged.end_epoch(1.0e6)
    assert unreferenced.counts[C.THP_COLLAPSES] == 1  # range 2 only


def test_at_the_default_pace_a_short_run_gets_one_pass() -> None:
    """Linux's defaults: 4096 pages (8 ranges) a pass, every 10 s. A run of well under 10
    simulated seconds gets the pass at its first epoch's end and no other."""
    generator = {"name": "uniform", "size_bytes": 64 * MIB, "accesses": 200_000,
                 "events": [{"kind": "madvise_dontneed", "at_access": 1_000, "offset_bytes": 0,
                             "size_bytes": 64 * MIB}]}  # fmt: skip
    result = simulate(load_spec({
        "workload": {"generator": generator},
        "machine": {"tiers": [TIER]},
        "policy": {"thp": "always", "thp_sizes": ["2M"]},
        "controls": {"epoch_accesses": 20_000},
    }))  # fmt: skip
    assert result.summary["khugepaged_ranges_scanned"] == 8
    assert result.summary["est_runtime_ns"] < 10e9
    off = simulate(load_spec({
        "workload": {"generator": generator},
        "machine": {"tiers": [TIER]},
        "policy": {"thp": "always", "thp_sizes": ["2M"], "khugepaged": {"enabled": False}},
        "controls": {"epoch_accesses": 20_000},
    }))  # fmt: skip
    assert "khugepaged_ranges_scanned" not in off.summary
