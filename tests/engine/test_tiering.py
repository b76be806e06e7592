"""Memory tiering: placement, per-tier accounting, loaded latency, migration, policies.

Hand-worked cases use a machine whose translation costs nothing (one fully associative TLB
level, walk references free) and whose tiers have flat latency curves (``c_frac`` 0), so
the average memory access time is the tiers' latencies weighted by where accesses went.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pagelab._kernels import access
from pagelab._kernels import counters as C
from pagelab.errors import SpecError
from pagelab.machine import Tier
from pagelab.memory import PhysicalMemory
from pagelab.policies.interleave import auto_weights
from pagelab.simulate import check_spec, load_spec, simulate
from pagelab.spec import LoadedLatencySpec
from pagelab.tiers import Tiers
from pagelab.translation import Translator
from pagelab.workloads.base import AccessChunk, Vma

FLAT = {"c_frac": 0.0, "u_sat": 0.99}


def _machine(fast_bytes: str, slow_bytes: str = "64M", **extra: Any) -> dict[str, Any]:
    return {
        "tlb": {
            "levels": [
                {
                    "name": "L1",
                    "structures": [{"page_sizes": ["4K"], "entries": 8192, "ways": 8192}],
                }
            ]
        },
        "walk_cache": {"memory_reference_cycles": 0.0},
        "llc": "none",
        "tiers": [
            {
                "name": "fast",
                "capacity_bytes": fast_bytes,
                "idle_latency_ns": 100.0,
                "bandwidth_gbps": 100.0,
                "loaded_latency": FLAT,
            },
            {
                "name": "slow",
                "capacity_bytes": slow_bytes,
                "idle_latency_ns": 300.0,
                "bandwidth_gbps": 30.0,
                "loaded_latency": FLAT,
            },
        ],
        **extra,
    }


def _scan(size: str, passes: int) -> dict[str, Any]:
    return {"generator": {"name": "scan", "size_bytes": size, "stride_bytes": 4096,
                          "passes": passes}}  # fmt: skip


def test_first_touch_fills_the_fast_tier_to_its_low_watermark() -> None:
    """Two passes over 4096 pages; the fast tier has 2048 frames.

    With 8 MiB + 64 MiB, min_free_kbytes gives the fast node a low watermark of 37 frames,
    so allocations take it while more than 37 frames are free: 2048 − 37 = 2011 frames.
    Faults come in address order, each taking its data page and then its new tables: the
    first fault takes PGD, PUD, PMD and PTE tables, faults 512, 1024 and 1536 a PTE table
    each. Pages 0..2003 fit: 2004 data pages + 7 tables = 2011. Pages 2004..4095 (2092)
    go to the slow tier, with the last PTE table.

    Accesses: fast 2 × 2004 = 4008, slow 2 × 2092 = 4184, of 8192.
    AMAT = (4008 × 100 + 4184 × 300) / 8192 = 1,656,000 / 8192 = 202.1484375 ns.
    """
    result = simulate(load_spec({"workload": _scan("16M", 2), "machine": _machine("8M")}))
    summary = result.summary
    assert PhysicalMemory([8 << 20, 64 << 20], 12, thp_enabled=False).watermarks(0).low_frames \
        == 37  # fmt: skip
    assert summary["memory_accesses_fast"] == 4008
    assert summary["memory_accesses_slow"] == 4184
    assert summary["resident_bytes_fast"] == 2004 * 4096
    assert summary["resident_bytes_slow"] == 2092 * 4096
    assert summary["fast_tier_access_ratio"] == 4008 / 8192
    assert summary["translation_ns"] == 0.0
    assert summary["amat_ns"] == pytest.approx(202.1484375, rel=1e-12)
    assert summary["memory_latency_ns_fast"] == pytest.approx(100.0, rel=1e-12)
    assert summary["memory_latency_ns_slow"] == pytest.approx(300.0, rel=1e-12)


def test_weighted_interleave_places_by_page_offset() -> None:
    """Weights 3:1 over one 1 MiB VMA of 256 pages: page offset i goes to the fast tier when
    i mod 4 < 3 (``weighted_interleave_nid``), so 192 pages fast and 64 slow."""
    spec = load_spec({
        "workload": _scan("1M", 1),
        "machine": _machine("64M"),
        "policy": {"tiering": {"name": "interleave", "weights": [3, 1]}},
    })  # fmt: skip
    summary = simulate(spec).summary
    assert summary["memory_accesses_fast"] == 192
    assert summary["memory_accesses_slow"] == 64
    assert summary["interleave_weight_fast"] == 3.0


def test_auto_interleave_weights_follow_the_kernel() -> None:
    """``reduce_interleave_weights``: 32 · bw / Σbw, at least 1, divided by the GCD.
    115.6 and 24 GB/s: 32 × 115.6 / 139.6 = 26.5 → 26; 32 × 24 / 139.6 = 5.5 → 5.
    Equal bandwidths: 16 and 16 → 1 and 1. A tiny one rounds up to 1: 1000 and 1 → 31, 1."""
    assert auto_weights([115.6, 24.0]) == [26, 5]
    assert auto_weights([50.0, 50.0]) == [1, 1]
    assert auto_weights([1000.0, 1.0]) == [31, 1]


def test_loaded_latency_curve() -> None:
    """latency = idle × (1 + c_frac · u / (1 − u)) below u_sat, saturated_factor × idle from
    there: idle 100, c 0.1 at u = 0.5 → 110; at u = 0.75 → 130; at u_sat 0.8 → 250."""
    tier = Tier("t", 1 << 30, 100.0, 10.0, LoadedLatencySpec(c_frac=0.1, u_sat=0.8))
    assert tier.latency_ns(0.0) == 100.0
    assert tier.latency_ns(0.5) == pytest.approx(110.0)
    assert tier.latency_ns(0.75) == pytest.approx(130.0)
    assert tier.latency_ns(0.8) == 250.0


def test_loaded_latency_is_a_fixed_point_of_the_epoch_time() -> None:
    """A memory-bound scan with many misses in flight loads the tier: the reported latency
    is the curve's value at the utilisation the reported time implies."""
    machine = _machine("64M", cpu={"frequency_ghz": 3.0, "cycles_per_access": 0.0,
                                   "memory_parallelism": 64.0})  # fmt: skip
    machine["tiers"][0]["loaded_latency"] = {"c_frac": 0.2, "u_sat": 0.9}
    spec = {"workload": _scan("4M", 64), "machine": machine,
            "policy": {"fault_cost": {"entry_ns": 0.0, "zero_ns_per_kib": 0.0}}}  # fmt: skip
    summary = simulate(load_spec(spec)).summary
    accesses = summary["memory_accesses_fast"]
    utilisation = accesses * 64 / summary["est_runtime_ns"] / 100.0
    assert 0.1 < utilisation < 0.9
    expected = 100.0 * (1 + 0.2 * utilisation / (1 - utilisation))
    assert summary["memory_latency_ns_fast"] == pytest.approx(expected, rel=1e-6)


def test_tuned_interleave_beats_dram_alone_on_a_bandwidth_bound_stream() -> None:
    """A streaming read with 1024 misses in flight (many cores' worth) asks more of DRAM than
    it gives: alone, DRAM's bandwidth bounds the time. Interleaving with CXL adds the link's
    bandwidth; the tuned weights start from the kernel's auto weights (26:5) and follow the
    epoch's memory time."""

    def run(tiering: dict[str, Any]) -> dict[str, Any]:
        spec = load_spec({
            "workload": {"generator": {"name": "scan", "size_bytes": "32M", "stride_bytes": 64,
                                       "passes": 12}},
            "machine": {
                "preset": "skylake", "llc": "none",
                "cpu": {"frequency_ghz": 2.1, "cycles_per_access": 0.0,
                        "memory_parallelism": 1024.0},
                "tiers": [{"name": "DRAM", "preset": "ddr4_local", "capacity_bytes": "1G"},
                          {"name": "CXL", "preset": "cxl_expander", "capacity_bytes": "1G"}],
            },
            "policy": {"tiering": tiering,
                       "fault_cost": {"entry_ns": 0.0, "zero_ns_per_kib": 0.0}},
            "controls": {"epoch_accesses": 262_144},
        })  # fmt: skip
        return simulate(spec).summary

    dram_only = run({"name": "first_touch"})
    tuned = run({"name": "interleave", "tune": "runtime"})
    assert tuned["est_runtime_ns"] < 0.95 * dram_only["est_runtime_ns"]
    assert tuned["interleave_weight_dram"] != 26  # the weights moved
    assert 0 < tuned["fast_tier_access_ratio"] < 1


def _zipf_two_tiers(tiering: dict[str, Any], accesses: int = 600_000) -> dict[str, Any]:
    spec = load_spec({
        "workload": {"generator": {"name": "zipf", "size_bytes": "64M", "accesses": accesses,
                                   "alpha": 0.9, "scatter": True}},
        "machine": _machine("24M"),
        "policy": {"tiering": tiering},
        "controls": {"epoch_accesses": 100_000},
    })  # fmt: skip
    return simulate(spec).summary


# DAMOS schemes without goals, so that a short run moves pages: hot regions up, cold down.
QUOTA = {"sz_bytes": "4M", "reset_interval_ms": 100}
MOVING_SCHEMES = [
    {"action": "migrate_hot", "target_tier": 0, "access_pattern": {"min_nr_accesses": 1},
     "apply_interval_us": 0, "quota": QUOTA, "young_filter": {"allow": True}},
    {"action": "migrate_cold", "target_tier": 1, "access_pattern": {"max_nr_accesses": 0},
     "apply_interval_us": 0, "quota": QUOTA, "young_filter": {"allow": False}},
]  # fmt: skip


def test_oracle_bounds_placement_policies() -> None:
    oracle = _zipf_two_tiers({"name": "oracle"})
    for tiering in ({"name": "first_touch"}, {"name": "interleave"}):
        other = _zipf_two_tiers(tiering)
        assert oracle["fast_tier_access_ratio"] >= other["fast_tier_access_ratio"], tiering
    assert oracle["promoted_bytes"] > 0
    assert oracle["migration_ns"] == 0.0  # the bound migrates for free


@pytest.mark.slow
def test_oracle_bounds_every_policy() -> None:
    oracle = _zipf_two_tiers({"name": "oracle"})
    policies = (
        {"name": "first_touch"},
        {"name": "interleave"},
        {"name": "interleave", "tune": "runtime"},
        {"name": "tpp", "scan_period_min_ms": 20},
        {"name": "damon", "preset": "mtier", "time_scale": 0.1},
        {"name": "damon", "time_scale": 0.1, "schemes": MOVING_SCHEMES},
    )
    moved = 0
    for tiering in policies:
        other = _zipf_two_tiers(tiering)
        assert oracle["fast_tier_access_ratio"] >= other["fast_tier_access_ratio"], tiering
        moved += other["promoted_bytes"]
    assert moved > 0  # some policy acted: the bound is tested against moving pages too
    assert oracle["promoted_bytes"] > 0
    assert oracle["migration_ns"] == 0.0  # the bound migrates for free


def test_same_spec_same_tiering_result() -> None:
    tiering = {"name": "tpp", "scan_period_min_ms": 20}
    first = _zipf_two_tiers(tiering, accesses=200_000)
    second = _zipf_two_tiers(tiering, accesses=200_000)
    assert first == second
    assert first["hint_faults"] > 0


def test_unknown_tier_preset_and_mismatched_weights_are_clear_errors() -> None:
    with pytest.raises(SpecError, match="unknown tier preset 'hbm'"):
        load_spec({"workload": _scan("1M", 1),
                   "machine": {"tiers": [{"name": "x", "preset": "hbm"}]}})  # fmt: skip
    with pytest.raises(SpecError, match="reads as a page size"):
        load_spec({"workload": _scan("1M", 1), "machine": {"tiers": [
            {"name": "2M", "preset": "ddr4_local"}]}})  # fmt: skip
    with pytest.raises(SpecError, match="tier names must differ"):
        twins = [
            {"name": "DRAM", "preset": "ddr4_local"},
            {"name": "dram", "preset": "cxl_expander"},
        ]
        load_spec({"workload": _scan("1M", 1), "machine": {"tiers": twins}})
    with pytest.raises(SpecError, match="mtier preset moves pages between tiers 0 and 1"):
        load_spec({"workload": _scan("1M", 1),
                   "policy": {"tiering": {"name": "damon", "preset": "mtier"}}})  # fmt: skip
    with pytest.raises(SpecError, match="tier 3 does not exist") as raised:
        scheme = {"action": "migrate_hot", "target_tier": 3}
        load_spec({"workload": _scan("1M", 1), "machine": _machine("64M"),
                   "policy": {"tiering": {"name": "damon", "schemes": [scheme]}}})  # fmt: skip
    assert raised.value.field == "policy.tiering.schemes.0.target_tier"
    with pytest.raises(SpecError, match="weights"):
        load_spec({
            "workload": _scan("1M", 1),
            "machine": _machine("64M"),
            "policy": {"tiering": {"name": "interleave", "weights": [1, 2, 3]}},
        })  # fmt: skip


def test_release_frees_a_movable_block_of_the_order() -> None:
    """After four order-0 and one order-9 allocations, releasing order 9 frees the huge
    page's pageblock and releasing order 0 one of the single frames."""
    memory = PhysicalMemory([64 << 20], 12, thp_enabled=False)
    singles = [memory.alloc(0, 0) for _ in range(4)]
    huge = memory.alloc(0, 9)
    free_before = memory.free_frames(0)
    assert memory.release(0, 9) == huge
    assert memory.free_frames(0) == free_before + 512
    assert memory.release(0, 0) in singles
    assert memory.free_frames(0) == free_before + 513
    assert np.sum(memory.used_frames(0)["movable"]) == 3


def _phase(tiering: dict[str, Any], accesses: int = 3_000_000) -> Any:
    """A 16 MiB hot set that moves every 1 M accesses inside 256 MiB; DRAM holds 64 MiB."""
    spec = load_spec({
        "workload": {"generator": {"name": "phase", "size_bytes": "256M",
                                   "hot_set_bytes": "16M", "phase_accesses": 1_000_000,
                                   "hot_fraction": 0.9, "accesses": accesses}},
        "machine": {"llc": "none", "tiers": [
            {"name": "DRAM", "preset": "ddr4_local", "capacity_bytes": "64M"},
            {"name": "CXL", "preset": "cxl_expander", "capacity_bytes": "1G"}]},
        "policy": {"tiering": tiering},
        "controls": {"epoch_accesses": 250_000},
    })  # fmt: skip
    return simulate(spec)


@pytest.mark.slow
def test_tpp_beats_first_touch_on_a_moving_hot_set_and_follows_it() -> None:
    first_touch = _phase({"name": "first_touch"}).summary
    tpp = _phase({"name": "tpp", "scan_period_min_ms": 50})
    assert tpp.summary["amat_ns"] < 0.9 * first_touch["amat_ns"]
    assert tpp.summary["hint_faults"] > 0
    ratio = tpp.series["fast_tier_access_ratio"]
    # Each phase (4 epochs) ends with most accesses on DRAM again.
    assert ratio[3] > 0.85 and ratio[7] > 0.85 and ratio[11] > 0.85


@pytest.mark.slow
def test_tpp_promotions_stay_within_the_rate_limit() -> None:
    """A 20 MB/s limit: promotion candidates past 20 MB in a 1 s window are refused, so at
    most 20 MB per started second of simulated time is promoted (the fast node never has
    the 1 GiB free that lifts the limit)."""
    result = _phase({"name": "tpp", "scan_period_min_ms": 50, "promote_rate_limit_mbps": 20})
    seconds = result.summary["est_runtime_ns"] / 1e9
    assert 0 < result.summary["promoted_bytes"] <= 20e6 * (int(seconds) + 1)


def test_tuned_interleave_moves_at_most_its_quota_per_epoch() -> None:
    result = simulate(load_spec({
        "workload": _scan("32M", 6),
        "machine": _machine("64M", cpu={"memory_parallelism": 1024.0, "cycles_per_access": 0.0}),
        "policy": {"tiering": {"name": "interleave", "tune": "runtime", "quota_bytes": "1M"}},
        "controls": {"epoch_accesses": 8192},
    }))  # fmt: skip
    moved = [p + d for p, d in zip(result.series["promoted_bytes"], result.series["demoted_bytes"],
                                   strict=True)]  # fmt: skip
    assert max(moved) <= 1 << 20
    assert sum(moved) > 0


BASE = 0x4000_0000


def _one_region() -> tuple[Translator, Tiers]:
    """A translator over one 2 MiB VMA at ``BASE`` on the two flat tiers, and its Tiers."""
    spec = load_spec({"workload": _scan("1M", 1), "machine": _machine("64M")})
    machine, plan = check_spec(spec)
    vmas = [Vma(pid=0, start=BASE, size_bytes=1 << 21)]
    translator = Translator(machine, plan, vmas, spec.policy)
    translator.track(access.TRACK_YOUNG | access.TRACK_HINTS)
    return translator, Tiers(translator, machine.tiers, spec.policy.migration_cost)


def _touch(translator: Translator, pages: list[int]) -> None:
    """Access 4 KiB pages ``pages`` of the region at ``BASE``, in order."""
    address = np.array([BASE + (page << 12) for page in pages], dtype=np.uint64)
    count = len(pages)
    chunk = AccessChunk(address, np.zeros(count, np.uint8), np.zeros(count, np.uint16))
    translator.run(chunk, 0, count)


def test_hint_faults_fire_on_the_first_walk_to_a_protected_page() -> None:
    """Pages 0 and 1 of a region are made inaccessible (the TLB is flushed). Page 0 is
    accessed twice: the first access walks and takes the hint fault, the second hits the
    TLB. Page 2 walks without one. Page 1 then takes the second hint fault."""
    translator, tiers = _one_region()
    _touch(translator, [0, 1, 2])  # fault all three in
    mask = np.zeros((1, 512), dtype=bool)
    mask[0, :2] = True
    tiers.mark_hint(np.array([0]), mask)
    _touch(translator, [0, 0, 2])
    assert translator.counts[C.HINT_FAULTS] == 1
    assert tiers.take_hints().tolist() == [[0, 0]]
    _touch(translator, [1])
    assert translator.counts[C.HINT_FAULTS] == 2
    assert tiers.take_hints().tolist() == [[0, 1]]
    assert translator.counts[C.TLB_SHOOTDOWNS] == 1


def test_migration_moves_folios_and_keeps_counts() -> None:
    """Four 4 KiB pages first-touched on the fast tier; moving pages 1 and 3 to the slow tier
    moves 8 KiB, frees two frames on the fast node and takes two on the slow one; moving
    page 1 again does nothing."""
    translator, tiers = _one_region()
    _touch(translator, [0, 1, 2, 3])
    free = [tiers.free_bytes(0), tiers.free_bytes(1)]
    moved = tiers.migrate(np.array([[0, 1], [0, 3]]), 1)
    assert moved == 8192
    assert [tiers.free_bytes(0), tiers.free_bytes(1)] == [free[0] + 8192, free[1] - 8192]
    assert [tiers.tier_of(0, page) for page in range(4)] == [0, 1, 0, 1]
    assert [tiers.resident_bytes(0), tiers.resident_bytes(1)] == [8192, 8192]
    assert tiers.totals.demoted_bytes == 8192 and tiers.totals.folios == 2
    assert tiers.totals.ns == pytest.approx(2 * 720 + 8192 / 10.7)
    assert tiers.migrate(np.array([[0, 1]]), 1) == 0


def _one_gib_thp(migration: str, deposit: bool) -> tuple[Translator, Tiers, dict[str, Any]]:
    """One 1 GiB THP, first-touched on the fast tier (2 GiB), by one access."""
    spec = load_spec({
        "workload": _scan("1G", 1),
        "machine": _machine("2G", "2G"),
        "policy": {"thp": "always", "thp_sizes": ["1G"], "thp_1g_migration": migration,
                   "thp_deposit": deposit},
    })  # fmt: skip
    machine, plan = check_spec(spec)
    base = 1 << 30
    translator = Translator(machine, plan, [Vma(pid=0, start=base, size_bytes=1 << 30)],
                            spec.policy)  # fmt: skip
    tiers = Tiers(translator, machine.tiers, spec.policy.migration_cost,
                  split_1g=migration == "split")  # fmt: skip
    address = np.array([base], dtype=np.uint64)
    translator.run(AccessChunk(address, np.zeros(1, np.uint8), np.zeros(1, np.uint16)), 0, 1)
    assert translator.counts[C.RESIDENT_BYTES + 7] == 1 << 30  # one 1G folio
    before = {
        "pmd_tables": int(translator.level_tables[2]),
        "deposit": int(translator.counts[C.DEPOSIT_TABLES]),
        "unmovable": tiers.memory.used_frames(0)["unmovable"],
    }
    return translator, tiers, before


def test_a_1g_thp_blocks_migration_by_default() -> None:
    translator, tiers, _ = _one_gib_thp("block", deposit=True)
    assert tiers.migrate(np.array([[0, 0]]), 1) == 0
    assert tiers.totals.refused_1g == 1
    assert tiers.tier_of(0, 0) == 0
    assert translator.counts[C.THP_SPLITS] == 0


@pytest.mark.parametrize("deposit", [True, False])
def test_a_1g_thp_splits_into_512_pmds_to_migrate(deposit: bool) -> None:
    """``split``: the PUD mapping becomes one PMD table of 512 2 MiB leaves. With a deposit
    (1 PMD + 512 PTE tables) the PMD table comes from it (513 → 512 deposited, no new
    page); without, one unmovable page is allocated. The 2 MiB folio holding the page moves
    (720 ns + 2 MiB at 10.7 GB/s); moving every 2 MiB part moves the whole 1 GiB."""
    translator, tiers, before = _one_gib_thp("split", deposit)
    assert tiers.migrate(np.array([[0, 0]]), 1) == 2 << 20
    assert translator.counts[C.THP_SPLITS] == 1 and tiers.totals.split_1g == 1
    assert translator.level_tables[2] == before["pmd_tables"] + 1
    assert translator.counts[C.RESIDENT_BYTES + 4] == 1 << 30  # now 512 2M folios
    assert translator.counts[C.RESIDENT_BYTES + 7] == 0
    if deposit:
        assert before["deposit"] == 513
        assert translator.counts[C.DEPOSIT_TABLES] == 512
        assert tiers.memory.used_frames(0)["unmovable"] == before["unmovable"]
    else:
        assert translator.counts[C.DEPOSIT_TABLES] == 0
        assert tiers.memory.used_frames(0)["unmovable"] == before["unmovable"] + 1
    assert tiers.totals.ns == pytest.approx(720 + (2 << 20) / 10.7)
    assert tiers.tier_of(0, 0) == 1
    assert tiers.resident_bytes(1) == 2 << 20
    # Touch every other 2 MiB part (their region rows take the tier from the PMD leaves),
    # then move them all: the whole 1 GiB is on the slow tier, as 512 2 MiB folios.
    parts = np.arange(1, 512, dtype=np.uint64)
    address = (np.uint64(1 << 30) + parts * np.uint64(2 << 20)).astype(np.uint64)
    zeros = np.zeros(parts.shape[0], np.uint8)
    translator.run(AccessChunk(address, zeros, zeros.astype(np.uint16)), 0, parts.shape[0])
    rows = np.arange(1, 512, dtype=np.int64)
    assert tiers.migrate(np.stack((rows, np.zeros_like(rows)), axis=1), 1) == 511 * (2 << 20)
    assert tiers.resident_bytes(1) == 1 << 30 and tiers.resident_bytes(0) == 0
    assert translator.counts[C.THP_SPLITS] == 1
