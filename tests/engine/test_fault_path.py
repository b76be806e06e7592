"""The fault path's rules, each worked out by hand: what a kernel page maps at a VMA edge,
where a larger granule lays VMAs out, the VMAs of a bare trace, THP by VMA backing, the
deposits and the clearing cost per folio size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pagelab
from pagelab._kernels import counters as C
from pagelab.address_space import INFER_GAP_BYTES, infer_vmas
from pagelab.machine import resolve_machine
from pagelab.paging import plan_mappings
from pagelab.spec import MachineSpec, PolicySpec
from pagelab.translation import Translator
from pagelab.units import PAGE_SIZES
from pagelab.workloads.base import AccessChunk, Vma

GIB = 1 << 30
SIZE_4K, SIZE_64K, SIZE_2M, SIZE_1G = (PAGE_SIZES.index(s) for s in ("4K", "64K", "2M", "1G"))


def _chunk(addresses: list[int] | np.ndarray, pid: int = 0) -> AccessChunk:
    address = np.asarray(addresses, dtype=np.uint64)
    count = address.shape[0]
    return AccessChunk(address, np.zeros(count, np.uint8), np.full(count, pid, np.uint16))


def _translate(policy: dict[str, Any], vmas: list[Vma], addresses: list[int]) -> Translator:
    machine = resolve_machine(MachineSpec())
    spec = PolicySpec.model_validate(policy)
    translator = Translator(machine, plan_mappings(spec, machine), vmas, spec)
    chunk = _chunk(addresses)
    translator.run(chunk, 0, len(chunk))
    return translator


def test_a_kernel_page_maps_only_inside_its_vma_and_a_neighbour_faults_its_own_page() -> None:
    # Two VMAs share the 64 KiB page at 0x4001_0000: A holds its first 12 KiB, B the rest.
    vma_a = Vma(pid=0, start=0x4000_0000, size_bytes=0x1_3000)
    vma_b = Vma(pid=0, start=0x4001_3000, size_bytes=0xD000)
    policy = {"base_page": "64K", "base_page_mode": "kernel_page"}
    t = _translate(policy, [vma_a, vma_b], [0x4001_0000, 0x4001_4000])
    # A's access maps 3 PTEs (0x4001_0000..0x4001_3000); B's finds none and faults its own
    # 64 KiB page, which maps B's 13 PTEs. Both pages are whole: 2 × 64 KiB resident.
    assert t.counts[C.FAULTS] == 2
    assert t.counts[C.RESIDENT_BYTES + SIZE_64K] == 2 * 65536
    assert t.folio_size_at(0, 0x4001_2000) == "64K"
    assert t.folio_size_at(0, 0x4001_3000) == "64K"
    # One more access to A's side of the page is no new fault: A's 3 PTEs are there.
    again = _chunk([0x4001_1000])
    t.run(again, 0, 1)
    assert t.counts[C.FAULTS] == 2


def _run(spec: dict[str, Any], base_dir: Path | None = None) -> pagelab.Result:
    return pagelab.simulate(pagelab.load_spec(spec), base_dir=base_dir, confine_traces=False)


def test_a_native_64k_granule_lays_out_4k_aligned_generator_vmas_at_64k() -> None:
    # Weights and KV cache mapped one below the other at 4 KiB alignment would share a
    # 64 KiB page; a 64 KiB kernel's mmap() puts each at a 64 KiB boundary instead.
    workload = {"generator": {"name": "llm", "accesses": 20_000, "align_bytes": "4K"}}
    result = _run(
        {"workload": workload, "machine": {"preset": "neoverse-n1"}, "policy": {"base_page": "64K"}}
    )
    assert result.meta.accesses == 20_000
    assert result.summary["vmas"] == 2
    built = pagelab.workloads.build_workload(
        pagelab.load_spec({"workload": workload}).workload,
        seed=0,
        base_dir=None,
        granule_bytes=65536,
    )
    assert built.vmas is not None
    assert all(vma.start % 65536 == 0 for vma in built.vmas)


def test_vmas_of_a_bare_trace_are_inferred_from_touched_pages_with_small_gaps_joined() -> None:
    gap = INFER_GAP_BYTES
    pages = [0x1000_0000, 0x1000_0000 + gap - 4096, 0x1000_0000 + 2 * gap + 4096, 0x7000_0000]
    vmas = infer_vmas([_chunk(pages[:2]), _chunk(pages[2:]), _chunk([0x7000_0010], pid=3)])
    # Page 1 is one page short of a gap from page 0's end: joined. Page 2 is a whole gap past
    # page 1's end: a VMA of its own, as is the page far above. pid 3 has its own VMA.
    assert [(v.pid, v.start, v.size_bytes) for v in vmas] == [
        (0, 0x1000_0000, gap),
        (0, 0x1000_0000 + 2 * gap + 4096, 4096),
        (0, 0x7000_0000, 4096),
        (3, 0x7000_0000, 4096),
    ]


def test_two_accesses_of_a_bare_trace_with_1g_thp_make_two_4k_pages_resident(
    tmp_path: Path,
) -> None:
    trace = tmp_path / "two.txt"
    trace.write_text("0x40000000\n0x1940000000\n")  # 1 GiB and 101 GiB
    result = _run(
        {
            "workload": {"trace": {"path": str(trace), "format": "text"}},
            "policy": {"thp": "always", "thp_sizes": ["2M", "1G"]},
        }
    )
    assert result.summary["vmas_inferred"] == 1
    assert result.summary["vmas"] == 2
    assert result.summary["resident_bytes"] == 2 * 4096
    assert result.summary["faults"] == 2


def test_thp_follows_the_vma_backing_and_only_anonymous_thps_deposit() -> None:
    anon = Vma(pid=0, start=4 * GIB, size_bytes=4 << 20)
    shmem = Vma(pid=0, start=8 * GIB, size_bytes=4 << 20, backing="shmem")
    touches = [4 * GIB, 8 * GIB]
    # Linux's defaults: anonymous THP always, shmem never.
    t = _translate({"thp": "always"}, [anon, shmem], touches)
    assert t.counts[C.FAULTS_BY_SIZE + SIZE_2M] == 1
    assert t.counts[C.FAULTS_BY_SIZE + SIZE_4K] == 1
    assert t.counts[C.DEPOSIT_TABLES] == 1
    # shmem_enabled=always: a shmem THP, which deposits nothing.
    t = _translate({"thp": "always", "thp_shmem": "always"}, [anon, shmem], touches)
    assert t.counts[C.FAULTS_BY_SIZE + SIZE_2M] == 2
    assert t.counts[C.DEPOSIT_TABLES] == 1


def test_pmd_and_pud_deposits_are_switched_separately() -> None:
    vmas = [
        Vma(pid=0, start=4 * GIB, size_bytes=GIB),
        Vma(pid=0, start=8 * GIB, size_bytes=4 << 20),
    ]
    policy = {"thp": "always", "thp_sizes": ["2M", "1G"]}
    both = _translate(policy, vmas, [4 * GIB, 8 * GIB])
    assert both.counts[C.DEPOSIT_TABLES] == 513 + 1
    no_pmd = _translate({**policy, "thp_deposit": {"pmd": False}}, vmas, [4 * GIB, 8 * GIB])
    assert no_pmd.counts[C.DEPOSIT_TABLES] == 513
    no_pud = _translate({**policy, "thp_deposit": {"pud": False}}, vmas, [4 * GIB, 8 * GIB])
    assert no_pud.counts[C.DEPOSIT_TABLES] == 1


@pytest.mark.parametrize(
    ("rule", "expected_1g"),
    [
        ("inherit", [True, True, False]),
        ("madvise", [True, False, False]),
        ("shmem_only", [False, False, False]),
        ({"min_vma_bytes": "2G"}, [False, True, False]),
    ],
)
def test_thp_1g_rule_chooses_which_vmas_get_1g(rule: Any, expected_1g: list[bool]) -> None:
    vmas = [
        Vma(pid=0, start=4 * GIB, size_bytes=GIB, thp_advice="hugepage"),
        Vma(pid=0, start=8 * GIB, size_bytes=2 * GIB),
        Vma(pid=0, start=16 * GIB, size_bytes=GIB, thp_advice="nohugepage"),
    ]
    policy = {"thp": "always", "thp_sizes": ["2M", "1G"], "thp_1g": rule}
    t = _translate(policy, vmas, [4 * GIB, 8 * GIB, 16 * GIB])
    assert [t.folio_size_at(0, v.start) == "1G" for v in vmas] == expected_1g


def test_generators_declare_madv_hugepage_for_thp_madvise() -> None:
    def resident_2m(advice: str) -> int:
        workload = {"name": "uniform", "size_bytes": "8M", "accesses": 5000, "thp_advice": advice}
        result = _run({"workload": {"generator": workload}, "policy": {"thp": "madvise"}})
        return int(result.summary.get("resident_bytes_2m", 0))

    assert resident_2m("default") == 0
    assert resident_2m("hugepage") == 8 << 20


def test_fault_cost_clears_each_folio_at_its_size_rate() -> None:
    spec = {
        "workload": {"generator": {"name": "uniform", "size_bytes": "1G", "accesses": 1000,
                                   "align_bytes": "1G"}},
        "policy": {"thp": "always", "thp_sizes": ["1G"]},
    }  # fmt: skip
    result = _run(spec)
    assert result.summary["faults"] == 1
    # 1 µs to enter, then 1 GiB cleared at 17.5 GB/s: 61.36 ms (the linear rule of 100 ns
    # per KiB gave 105 ms), plus the range search's scan (no page to migrate on a fresh node).
    stall_ns = result.summary["compaction_stall_ns"]
    assert result.summary["compaction_pages_migrated"] == 0
    assert result.summary["fault_ns"] == pytest.approx(1000 + GIB / 17.5 + stall_ns)
    linear = {**spec, "policy": {**spec["policy"], "fault_cost": {"zero_ns_per_kib": 100}}}
    assert _run(linear).summary["fault_ns"] == pytest.approx(1000 + GIB / 1024 * 100 + stall_ns)


def _reference_vmas(addresses: np.ndarray, pids: np.ndarray) -> list[tuple[int, int, int]]:
    """The inference rule written plainly: sorted touched pages, joined when closer than
    INFER_GAP_BYTES."""
    vmas: list[tuple[int, int, int]] = []
    for pid in sorted(set(pids.tolist())):
        pages = sorted({int(a) >> 12 for a, p in zip(addresses, pids, strict=True) if p == pid})
        first = last = pages[0]
        for page in pages[1:]:
            if (page - last - 1) << 12 >= INFER_GAP_BYTES:
                vmas.append((pid, first << 12, (last + 1 - first) << 12))
                first = page
            last = page
        vmas.append((pid, first << 12, (last + 1 - first) << 12))
    return vmas


def test_inferred_vmas_match_the_rule_written_plainly() -> None:
    rng = np.random.default_rng(7)
    # Clusters of touches with gaps around 2 MiB, in three processes, over many 2 MiB
    # regions (the kernel's table grows several times).
    centres = rng.integers(0, 1 << 34, 3000) << 12
    addresses = (np.repeat(centres, 20) + rng.integers(0, 3 << 20, 60_000)).astype(np.uint64)
    pids = rng.integers(0, 3, 60_000).astype(np.uint16)
    kinds = np.zeros(60_000, np.uint8)
    chunks = [
        AccessChunk(addresses[i : i + 7000], kinds[i : i + 7000], pids[i : i + 7000])
        for i in range(0, 60_000, 7000)
    ]
    inferred = [(v.pid, v.start, v.size_bytes) for v in infer_vmas(chunks)]
    assert inferred == _reference_vmas(addresses, pids)
