"""Cases whose every number was worked out by hand from DESIGN.md's semantics."""

from __future__ import annotations

from typing import Any

import numpy as np

from pagelab._kernels import counters as C
from pagelab.machine import resolve_machine
from pagelab.paging import plan_mappings
from pagelab.spec import MachineSpec, PolicySpec
from pagelab.translation import Translator
from pagelab.workloads.base import AccessChunk, Vma

GIB = 1 << 30
VMA_1G = [Vma(pid=0, start=4 * GIB, size_bytes=GIB)]  # 1 GiB-aligned


def _run(machine: dict[str, Any], policy: dict[str, Any], vmas: list[Vma], addresses: np.ndarray):
    resolved = resolve_machine(MachineSpec.model_validate(machine))
    spec = PolicySpec.model_validate(policy)
    translator = Translator(resolved, plan_mappings(spec, resolved), vmas, spec)
    count = addresses.shape[0]
    chunk = AccessChunk(
        addresses.astype(np.uint64), np.zeros(count, np.uint8), np.zeros(count, np.uint16)
    )
    translator.run(chunk, 0, count)
    return translator


def _every_4k(start: int, size: int) -> np.ndarray:
    return np.arange(start, start + size, 4096, dtype=np.uint64)


def test_1g_at_4k_pages_takes_262144_faults_512_pte_tables_and_one_pmd_table() -> None:
    t = _run({"preset": "skylake"}, {}, VMA_1G, _every_4k(4 * GIB, GIB))
    assert t.counts[C.FAULTS] == 262_144
    assert list(t.level_tables) == [1, 1, 1, 512]  # PGD, PUD, PMD, PTE tables
    assert t.counts[C.RESIDENT_BYTES + 0] == GIB
    assert t.counts[C.WALKS] == 262_144  # every page is new to the TLB


def test_1g_with_a_64k_granule_takes_16384_faults_and_two_pte_tables() -> None:
    t = _run({"preset": "neoverse-n1"}, {"base_page": "64K"}, VMA_1G, _every_4k(4 * GIB, GIB))
    assert t.counts[C.FAULTS] == 16_384
    # 64K granule, 48-bit VA: three levels; a PTE table maps 8192 × 64K = 512 MiB.
    assert list(t.level_tables) == [1, 1, 2]
    assert t.plan.geometry.granule_bytes == 65536
    assert t.counts[C.WALKS] == 16_384  # one TLB entry per 64K page


def test_per_process_64k_on_a_4k_kernel_uses_4k_tables_and_64k_contpte_entries() -> None:
    policy = {"base_page": "64K", "base_page_mode": "per_process"}
    t = _run({"preset": "neoverse-n1"}, policy, VMA_1G, _every_4k(4 * GIB, GIB))
    assert t.counts[C.FAULTS] == 16_384
    assert list(t.level_tables) == [1, 1, 1, 512]
    assert t.counts[C.WALKS] == 16_384  # 16 PTEs folded into one contiguous-PTE entry
    # x86 has no contiguous-PTE entries: the same folios cost a walk per 4K page.
    x86 = _run({"preset": "skylake"}, policy, VMA_1G, _every_4k(4 * GIB, GIB))
    assert x86.counts[C.FAULTS] == 16_384
    assert x86.counts[C.WALKS] == 262_144


def test_bloat_of_sparse_touches_is_60k_per_page_touched_once() -> None:
    touched = np.arange(4 * GIB, 4 * GIB + 1000 * 65536, 65536, dtype=np.uint64) + 0x1230
    t = _run({"preset": "neoverse-n1"}, {"base_page": "64K"}, VMA_1G, touched)
    resident = int(t.counts[C.RESIDENT_BYTES + 3])
    touched_bytes = int(t.counts[C.TOUCHED_PAGES]) * 4096
    assert resident - touched_bytes == (65536 - 4096) * 1000
    base = _run({"preset": "neoverse-n1"}, {}, VMA_1G, touched)
    assert int(base.counts[C.RESIDENT_BYTES + 0]) == int(base.counts[C.TOUCHED_PAGES]) * 4096


def test_2m_thp_maps_a_gigabyte_with_512_faults_and_deposits_one_pte_table_each() -> None:
    policy = {"thp": "always", "thp_sizes": ["2M"]}
    t = _run({"preset": "skylake"}, policy, VMA_1G, _every_4k(4 * GIB, GIB))
    assert t.counts[C.FAULTS] == 512
    assert list(t.level_tables) == [1, 1, 1, 0]
    assert t.counts[C.DEPOSIT_TABLES] == 512
    assert t.counts[C.WALKS] == 512


def test_1g_thp_deposits_a_pmd_table_and_512_pte_tables() -> None:
    policy = {"thp": "always", "thp_sizes": ["2M", "1G"]}
    t = _run({"preset": "skylake"}, policy, VMA_1G, _every_4k(4 * GIB, GIB))
    assert t.counts[C.FAULTS] == 1
    assert list(t.level_tables) == [1, 1, 0, 0]
    assert t.counts[C.DEPOSIT_TABLES] == 513  # 2 MiB + 4 KiB of page tables
    no_deposit = _run(
        {"preset": "skylake"}, {**policy, "thp_deposit": False}, VMA_1G, _every_4k(4 * GIB, 8192)
    )
    assert no_deposit.counts[C.DEPOSIT_TABLES] == 0


def test_2m_thp_needs_the_aligned_block_inside_the_vma() -> None:
    vma = [Vma(pid=0, start=4 * GIB + 0x10_0000, size_bytes=4 << 20)]  # 1M..5M: one whole 2M
    policy = {"thp": "always", "thp_sizes": ["2M"]}
    t = _run({"preset": "skylake"}, policy, vma, _every_4k(vma[0].start, vma[0].size_bytes))
    assert t.counts[C.RESIDENT_BYTES + 4] == 2 << 20  # the 2M block from 2M to 4M
    assert t.counts[C.RESIDENT_BYTES + 0] == 2 << 20  # 1M..2M and 4M..5M as 4K pages
    assert t.counts[C.FAULTS] == 1 + 512


def test_a_64k_kernel_page_overhangs_vma_edges_while_per_process_folios_do_not() -> None:
    vma = [Vma(pid=0, start=0x4001_3000, size_bytes=0x25000)]  # 37 pages, edges inside 64K
    pages = _every_4k(vma[0].start, vma[0].size_bytes)
    kernel_page = _run(
        {"preset": "skylake"}, {"base_page": "64K", "base_page_mode": "kernel_page"}, vma, pages
    )
    assert kernel_page.counts[C.FAULTS] == 3  # 64K pages at 0x4001_0000, 0x4002_0000, 0x4003_0000
    assert kernel_page.counts[C.RESIDENT_BYTES + 3] == 3 * 65536
    assert kernel_page.counts[C.TOUCHED_PAGES] == 37
    per_process = _run(
        {"preset": "skylake"}, {"base_page": "64K", "base_page_mode": "per_process"}, vma, pages
    )
    assert per_process.counts[C.FAULTS] == 1 + 13 + 8  # one 64K folio, 4K pages at both edges
    assert per_process.counts[C.RESIDENT_BYTES + 3] == 65536
    assert per_process.counts[C.RESIDENT_BYTES + 0] == 21 * 4096


def test_walk_caches_save_upper_levels() -> None:
    # Two pages 1 GiB apart, then back: PGD entry cached, PUD entries cached for both.
    addresses = np.array([4 * GIB, 5 * GIB, 4 * GIB + 4096], dtype=np.uint64)
    vmas = [Vma(pid=0, start=4 * GIB, size_bytes=2 * GIB)]
    t = _run({"preset": "skylake"}, {}, vmas, addresses)
    # 4 fetches (nothing cached); 3 (PGD entry cached); 1 (PMD entry for 4G's 2M cached).
    assert t.counts[C.WALK_REFERENCES] == 4 + 3 + 1
