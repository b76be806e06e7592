"""Machine presets for real CPUs, with the source of every figure.

Figures come from vendor manuals and measurements, each with its source and confidence in
docs/presets.md. Where a preset fills a gap with an assumption, its ``notes`` say so.

A preset's memory is one node of the socket it describes, with a typical capacity for its
channels (one DIMM per channel): Skylake-SP 6 × 32 GiB = 192 GiB, Sapphire Rapids
8 × 64 GiB = 512 GiB, Zen 4 (Genoa) 12 × 32 GiB = 384 GiB, Neoverse N1 (Ampere Altra)
8 × 32 GiB = 256 GiB, Grace 480 GiB of LPDDR5X. These are configuration choices, not
measurements: set ``machine.tiers`` for another.
"""

from __future__ import annotations

from dataclasses import dataclass

from pagelab.spec import (
    CpuSpec,
    LlcSpec,
    LoadedLatencySpec,
    MachineSpec,
    TierSpec,
    TlbLevelSpec,
    TlbSpec,
    TlbStructureSpec,
    WalkCacheSpec,
)


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    source: str
    notes: str
    machine: MachineSpec


def _structure(
    sizes: list[str], entries: int, ways: int, accesses: str = "all"
) -> TlbStructureSpec:
    return TlbStructureSpec.model_validate(
        {"page_sizes": sizes, "entries": entries, "ways": ways, "accesses": accesses}
    )


_SKYLAKE = Preset(
    name="skylake",
    title="Intel Skylake-SP (Xeon Scalable 1st gen), 6×DDR4-2666",
    source=(
        "TLBs: Intel Optimization Manual 248966-045 Table 2-15 (STLB is 12-way; CPUID's "
        "6-way is wrong). Memory: Xeon 8160 idle 94 ns, 115.6 GB/s all-read (Mess, "
        "bsc-mem/Mess-simulator skylake-ddr4). STLB hit ≈9 cycles (7-cpu.com)."
    ),
    notes=(
        "Paging-structure cache sizes are not published: PML4E 2, PDPTE 4, PDE 32 is the usual "
        "simulator model (assumed). A walk's memory reference is charged 15 cycles (page-table "
        "lines mostly hit the data caches; ≈20 cycles per STLB-miss walk was measured on "
        "Haswell). The LLC filter is one core's share of the L3: 1.375 MiB, 11-way."
    ),
    machine=MachineSpec(
        preset="skylake",
        tlb=TlbSpec(
            levels=[
                TlbLevelSpec(
                    name="L1",
                    structures=[
                        _structure(["4K"], 64, 4, "data"),
                        _structure(["2M"], 32, 4, "data"),
                        _structure(["1G"], 4, 4, "data"),
                        _structure(["4K"], 128, 8, "instruction"),
                        _structure(["2M"], 8, 8, "instruction"),
                    ],
                ),
                TlbLevelSpec(
                    name="L2",
                    structures=[_structure(["4K", "2M"], 1536, 12), _structure(["1G"], 16, 4)],
                    hit_cycles=9.0,
                ),
            ]
        ),
        walk_cache=WalkCacheSpec(
            pgd_entries=2, pud_entries=4, pmd_entries=32, memory_reference_cycles=15.0
        ),
        granules=["4K"],
        contiguous_pte=False,
        pte_coalescing=1,
        tiers=[
            TierSpec(
                name="DRAM",
                capacity_bytes=192 << 30,
                idle_latency_ns=94.0,
                bandwidth_gbps=115.6,
                loaded_latency=LoadedLatencySpec(c_frac=0.11, u_sat=0.90),
            )
        ],
        llc=LlcSpec(size_bytes=1408 * 1024, ways=11),
        cpu=CpuSpec(frequency_ghz=2.1, cycles_per_access=1.0),
    ),
)

_SAPPHIRE_RAPIDS = Preset(
    name="sapphirerapids",
    title="Intel Sapphire Rapids (Golden Cove), 8×DDR5-4800",
    source=(
        "TLBs: dendibakh/perf-book ch. 3-8 (L1 DTLB 96 entries for 4K, 32 for 2M; STLB 2048 "
        "for 4K, at most 1024 of them for 2M). Memory: Xeon 8460Y idle 117 ns, 267 GB/s "
        "all-read (Mess-Results MN5)."
    ),
    notes=(
        "Assumed (not verified): L1 DTLB 4K 6-way, 1G 8 entries fully associative, STLB "
        "16-way, STLB hit 8 cycles, a 16-entry 4-way 1G STLB as on Skylake. The limit of "
        "1024 2M entries in the STLB is not modelled: 2M entries may use every way. Walk "
        "caches as on Skylake. LLC filter: one core's L3 share, 1.875 MiB 15-way."
    ),
    machine=MachineSpec(
        preset="sapphirerapids",
        tlb=TlbSpec(
            levels=[
                TlbLevelSpec(
                    name="L1",
                    structures=[
                        _structure(["4K"], 96, 6, "data"),
                        _structure(["2M"], 32, 4, "data"),
                        _structure(["1G"], 8, 8, "data"),
                        _structure(["4K"], 256, 8, "instruction"),
                        _structure(["2M"], 32, 8, "instruction"),
                    ],
                ),
                TlbLevelSpec(
                    name="L2",
                    structures=[_structure(["4K", "2M"], 2048, 16), _structure(["1G"], 16, 4)],
                    hit_cycles=8.0,
                ),
            ]
        ),
        walk_cache=WalkCacheSpec(
            pgd_entries=2, pud_entries=4, pmd_entries=32, memory_reference_cycles=15.0
        ),
        granules=["4K"],
        contiguous_pte=False,
        pte_coalescing=1,
        tiers=[
            TierSpec(
                name="DRAM",
                capacity_bytes=512 << 30,
                idle_latency_ns=117.0,
                bandwidth_gbps=267.0,
                loaded_latency=LoadedLatencySpec(c_frac=0.105, u_sat=0.85),
            )
        ],
        llc=LlcSpec(size_bytes=1920 * 1024, ways=15),
        cpu=CpuSpec(frequency_ghz=2.0, cycles_per_access=1.0),
    ),
)

_ZEN4 = Preset(
    name="zen4",
    title="AMD Zen 4 (EPYC Genoa), 12×DDR5-4800",
    source=(
        "TLB sizes: AMD Software Optimization Guide for family 19h (L1 DTLB 72 entries fully "
        "associative for every page size; L2 DTLB 3072 entries for 4K/2M), from memory, low "
        "confidence. Zen 2/3: 1G pages are smashed into 2M entries in the L2 DTLB (WikiChip, "
        "AMD SOG). PTE coalescing of naturally aligned contiguous 4K PTEs: AnandTech Zen deep "
        "dive. Memory: 12 channels × 38.4 GB/s, idle ≈120 ns (estimate)."
    ),
    notes=(
        "Assumed: L2 DTLB 24-way, 7-cycle L2 hit. The L2 DTLB holds no 1G entries, so a 1G "
        "mapping fills it as 2M entries (smashing). Walk caches stand in for the PDEs AMD "
        "keeps in the L2 DTLB: PDE 32, PDPTE 4, PML4E 2. Coalescing merges 4 contiguous 4K PTEs "
        "of one folio into a 16K entry (physical contiguity is assumed only within a folio). "
        "LLC filter: one core's L3 share, 4 MiB 16-way."
    ),
    machine=MachineSpec(
        preset="zen4",
        tlb=TlbSpec(
            levels=[
                TlbLevelSpec(
                    name="L1",
                    structures=[
                        _structure(["4K", "16K", "2M", "1G"], 72, 72, "data"),
                        _structure(["4K", "16K", "2M", "1G"], 64, 64, "instruction"),
                    ],
                ),
                TlbLevelSpec(
                    name="L2",
                    structures=[_structure(["4K", "16K", "2M"], 3072, 24)],
                    hit_cycles=7.0,
                ),
            ]
        ),
        walk_cache=WalkCacheSpec(
            pgd_entries=2, pud_entries=4, pmd_entries=32, memory_reference_cycles=15.0
        ),
        granules=["4K"],
        contiguous_pte=False,
        pte_coalescing=4,
        tiers=[
            TierSpec(
                name="DRAM", capacity_bytes=384 << 30, idle_latency_ns=120.0, bandwidth_gbps=460.8
            )
        ],
        llc=LlcSpec(size_bytes=4 << 20, ways=16),
        cpu=CpuSpec(frequency_ghz=3.0, cycles_per_access=1.0),
    ),
)

_ARM_SIZES_L1D = ["4K", "16K", "64K", "2M", "512M"]
_ARM_SIZES_L1I = ["4K", "16K", "64K", "2M", "32M"]
_ARM_SIZES_L2 = ["4K", "16K", "64K", "2M", "32M", "512M", "1G"]

_NEOVERSE_N1 = Preset(
    name="neoverse-n1",
    title="Arm Neoverse N1 (Cortex-A76 MMU, e.g. Ampere Altra), 8×DDR4-3200",
    source=(
        "Cortex-A76 TRM §A5.2: L1 DTLB 48 entries fully associative (4K/16K/64K/2M/512M), "
        "L1 ITLB 48 (4K/16K/64K/2M/32M), unified L2 TLB 1280 entries 5-way, usually 3 "
        "cycles, which also holds intermediate walk entries. Contiguous-PTE sizes: Linux "
        "arch/arm64 (16 × 4K, 128 × 16K, 32 × 64K)."
    ),
    notes=(
        "The N1 keeps walk entries in its L2 TLB; here they live in separate walk caches "
        "(PGD 2, PUD 4, PMD 32, assumed) so they do not evict translations. Memory idle "
        "latency 100 ns is an estimate for 8×DDR4-3200 (peak 204.8 GB/s). LLC filter: the "
        "core's private 1 MiB L2, 8-way."
    ),
    machine=MachineSpec(
        preset="neoverse-n1",
        tlb=TlbSpec(
            levels=[
                TlbLevelSpec(
                    name="L1",
                    structures=[
                        _structure(_ARM_SIZES_L1D, 48, 48, "data"),
                        _structure(_ARM_SIZES_L1I, 48, 48, "instruction"),
                    ],
                ),
                TlbLevelSpec(
                    name="L2", structures=[_structure(_ARM_SIZES_L2, 1280, 5)], hit_cycles=3.0
                ),
            ]
        ),
        walk_cache=WalkCacheSpec(
            pgd_entries=2, pud_entries=4, pmd_entries=32, memory_reference_cycles=15.0
        ),
        granules=["4K", "16K", "64K"],
        contiguous_pte=True,
        pte_coalescing=1,
        tiers=[
            TierSpec(
                name="DRAM",
                capacity_bytes=256 << 30,
                idle_latency_ns=100.0,
                bandwidth_gbps=184.0,
                loaded_latency=LoadedLatencySpec(c_frac=0.11, u_sat=0.90),
            )
        ],
        llc=LlcSpec(size_bytes=1 << 20, ways=8),
        cpu=CpuSpec(frequency_ghz=3.0, cycles_per_access=1.0),
    ),
)

_NEOVERSE_V2 = Preset(
    name="neoverse-v2",
    title="Arm Neoverse V2 (e.g. NVIDIA Grace), LPDDR5X",
    source=(
        "L1 I/D TLB 48 entries fully associative each, L2 TLB 2048 entries 8-way (Neoverse V2 "
        "TRM, from memory: low confidence). Memory: Grace reaches 442 GB/s all-read; its "
        "lowest-load point measured 185 ns at 175 GB/s (Mess-Results Systems/Grace)."
    ),
    notes=(
        "Low-confidence preset. Page sizes per TLB level assumed as on N1; L2 hit 5 cycles "
        "assumed; idle latency 120 ns is unverified (the true idle latency is unmeasured). "
        "Walk caches as on N1. LLC filter: the core's 2 MiB L2, 8-way."
    ),
    machine=MachineSpec(
        preset="neoverse-v2",
        tlb=TlbSpec(
            levels=[
                TlbLevelSpec(
                    name="L1",
                    structures=[
                        _structure(_ARM_SIZES_L1D, 48, 48, "data"),
                        _structure(_ARM_SIZES_L1I, 48, 48, "instruction"),
                    ],
                ),
                TlbLevelSpec(
                    name="L2", structures=[_structure(_ARM_SIZES_L2, 2048, 8)], hit_cycles=5.0
                ),
            ]
        ),
        walk_cache=WalkCacheSpec(
            pgd_entries=2, pud_entries=4, pmd_entries=32, memory_reference_cycles=15.0
        ),
        granules=["4K", "16K", "64K"],
        contiguous_pte=True,
        pte_coalescing=1,
        tiers=[
            TierSpec(
                name="DRAM", capacity_bytes=480 << 30, idle_latency_ns=120.0, bandwidth_gbps=442.0
            )
        ],
        llc=LlcSpec(size_bytes=2 << 20, ways=8),
        cpu=CpuSpec(frequency_ghz=3.2, cycles_per_access=1.0),
    ),
)

PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (_SKYLAKE, _SAPPHIRE_RAPIDS, _ZEN4, _NEOVERSE_N1, _NEOVERSE_V2)
}


@dataclass(frozen=True)
class TierPreset:
    """A memory tier a machine's ``tiers`` can name: its figures and where they come from."""

    name: str
    title: str
    source: str
    notes: str
    tier: TierSpec


TIER_PRESETS: dict[str, TierPreset] = {
    preset.name: preset
    for preset in (
        TierPreset(
            name="ddr4_local",
            title="Local DDR4 (Skylake-SP, 6×DDR4-2666)",
            source=(
                "Xeon 8160: idle 94 ns, 115.6 GB/s at 100% reads (Mess, bsc-mem/Mess-simulator "
                "skylake-ddr4); loaded-latency fit c = 10.4 ns (0.11 × idle), saturation at "
                "90% of peak, 2.5× idle beyond."
            ),
            notes="Capacity 192 GiB (6 × 32 GiB) is a configuration choice.",
            tier=TierSpec(
                name="DRAM",
                capacity_bytes=192 << 30,
                idle_latency_ns=94.0,
                bandwidth_gbps=115.6,
                loaded_latency=LoadedLatencySpec(c_frac=0.11, u_sat=0.90),
            ),
        ),
        TierPreset(
            name="ddr5_local",
            title="Local DDR5 (Sapphire Rapids, 8×DDR5-4800)",
            source=(
                "Xeon 8460Y: idle 117 ns, 267 GB/s at 100% reads (Mess-Results MN5-ACC); "
                "loaded-latency fit c = 12.3 ns (0.105 × idle), saturation at 85–87% of peak."
            ),
            notes="Capacity 512 GiB (8 × 64 GiB) is a configuration choice.",
            tier=TierSpec(
                name="DRAM",
                capacity_bytes=512 << 30,
                idle_latency_ns=117.0,
                bandwidth_gbps=267.0,
                loaded_latency=LoadedLatencySpec(c_frac=0.105, u_sat=0.85),
            ),
        ),
        TierPreset(
            name="remote_numa",
            title="Remote-socket DRAM over UPI (Skylake-SP)",
            source=(
                "Xeon 8160 remote socket: idle 133 ns, ≈34.5 GB/s at 100% reads (Mess, "
                "Skylake-numa-ddr4); loaded-latency fit c = 20.8 ns (0.16 × idle), "
                "saturation at 83% of the 41.6 GB/s UPI peak."
            ),
            notes=(
                "On DDR5 parts remote latency was not found; CPU vendors describe CXL memory "
                "as about remote-socket latency. Capacity 192 GiB is a configuration choice."
            ),
            tier=TierSpec(
                name="remote",
                capacity_bytes=192 << 30,
                idle_latency_ns=133.0,
                bandwidth_gbps=34.5,
                loaded_latency=LoadedLatencySpec(c_frac=0.16, u_sat=0.83),
            ),
        ),
        TierPreset(
            name="cxl_expander",
            title="CXL Type-3 memory expander (ASIC, PCIe 5 x8, DDR4-2400 behind it)",
            source=(
                "Vistara (ISCA 2026): idle ≈250 ns against 130 ns local; loaded 269/292/372 ns "
                "at 10/30/60% utilisation; about 24 GB/s per x8 link (measured range 9–27 GB/s "
                "across devices, Sun et al. MICRO'23). Fit c ≈ 0.35 × idle, saturation at 62%."
            ),
            notes=(
                "Devices differ widely: 140–410 ns across four devices and platforms "
                "(SupMario). Capacity 256 GiB is a configuration choice."
            ),
            tier=TierSpec(
                name="CXL",
                capacity_bytes=256 << 30,
                idle_latency_ns=250.0,
                bandwidth_gbps=24.0,
                loaded_latency=LoadedLatencySpec(c_frac=0.35, u_sat=0.62),
            ),
        ),
    )
}
