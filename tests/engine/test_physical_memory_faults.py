"""Faults on real physical memory: THPs get what a tier's buddy allocator and the 1 GiB
range search can give under the ``defrag`` mode, on fresh and aged machines (fixed seed)."""

from __future__ import annotations

from typing import Any

import pytest

import pagelab

# Each run ages a 32 GiB node first: seconds apiece.
pytestmark = pytest.mark.slow

NODE_32G = [{"name": "DRAM", "capacity_bytes": "32G", "idle_latency_ns": 90, "bandwidth_gbps": 100}]


def _run(ageing: str, policy: dict[str, Any], size: str, advice: str = "default") -> dict[str, Any]:
    # Uniform accesses over a 1 GiB-aligned region: every 2 MiB range of it is touched, so
    # each gets one THP attempt (one per 1 GiB range first, when 1G is enabled).
    generator = {"name": "uniform", "size_bytes": size, "accesses": 20_000,
                 "align_bytes": "1G", "thp_advice": advice}  # fmt: skip
    spec = {
        "workload": {"generator": generator},
        "machine": {"ageing": ageing, "tiers": NODE_32G},
        "policy": {"thp": "always", **policy},
        "controls": {"seed": 1},
    }
    return pagelab.simulate(pagelab.load_spec(spec)).summary


def test_2m_thps_under_defrag_madvise_get_exactly_the_free_2m_blocks_there_were() -> None:
    # 512 ranges of 2 MiB on an aged 32 GiB node with fewer free 2 MiB blocks than that: no
    # MADV_HUGEPAGE, so a fault neither compacts nor wakes kcompactd, and every free block
    # (of either label: a movable THP may claim an unmovable-labelled free pageblock) is
    # taken; the page tables come from unmovable pageblocks that have room.
    summary = _run("aged", {"thp_sizes": ["2M"], "thp_defrag": "madvise"}, "1G")
    free_at_start = summary["free_blocks_2m_start"]
    assert 0 < free_at_start < 512
    assert summary["thp_2m_alloc_attempts"] == 512
    assert summary["thp_2m_alloc_attempts"] - summary["thp_2m_fallbacks"] == free_at_start
    assert summary["thp_2m_alloc_success_ratio"] == free_at_start / 512
    assert summary["compaction_stall_ns"] == 0
    assert summary["kcompactd_runs"] == 0


def test_madv_hugepage_under_defrag_madvise_compacts_for_every_2m_thp() -> None:
    summary = _run("aged", {"thp_sizes": ["2M"], "thp_defrag": "madvise"}, "1G", "hugepage")
    assert summary["thp_2m_alloc_success_ratio"] == 1.0
    assert summary["free_blocks_2m_start"] < 512
    assert summary["compaction_pages_migrated"] > 0
    assert summary["compaction_stall_ns"] > 0  # the faults waited for it


def test_defer_wakes_kcompactd_instead_of_compacting_in_the_fault() -> None:
    summary = _run("aged", {"thp_sizes": ["2M"], "thp_defrag": "defer"}, "1G")
    assert summary["thp_2m_fallbacks"] > 0
    assert summary["compaction_stall_ns"] == 0
    assert summary["kcompactd_runs"] == 1  # at the end of the run's one epoch


@pytest.mark.parametrize("defrag", ["always", "madvise"])
def test_1g_thp_success_falls_as_the_machine_ages(defrag: str) -> None:
    policy = {"thp_sizes": ["2M", "1G"], "thp_defrag": defrag}
    ratios = [
        _run(ageing, policy, "4G")["thp_1g_alloc_success_ratio"]
        for ageing in ("fresh", "aged", "heavily_aged")
    ]
    assert ratios[0] == 1.0
    assert ratios[0] >= ratios[1] >= ratios[2]
    assert ratios[2] < ratios[0]


def test_the_1g_range_search_migrates_movable_pages_only_when_defrag_allows() -> None:
    # On an aged node no 1 GiB range is wholly free: ranges holding movable pages only are
    # won by migrating them (defrag always: the fault may compact), at a cost the fault pays;
    # without migration (defrag madvise, no MADV_HUGEPAGE) every range fails.
    policy = {"thp_sizes": ["1G"]}
    migrating = _run("aged", {**policy, "thp_defrag": "always"}, "4G")
    assert migrating["thp_1g_alloc_success_ratio"] == 1.0
    assert migrating["contig_pages_migrated"] > 0
    assert migrating["compaction_stall_ns"] > 0
    still = _run("aged", {**policy, "thp_defrag": "madvise"}, "4G")
    assert still["thp_1g_alloc_success_ratio"] == 0.0
    assert still["contig_pages_migrated"] == 0
    # Where unmovable or pinned pages sit in every range (heavily aged), migration cannot help.
    heavy = _run("heavily_aged", {**policy, "thp_defrag": "always"}, "4G")
    assert heavy["thp_1g_alloc_success_ratio"] == 0.0
    assert heavy["tainted_1g_blocks_start"] == 32
