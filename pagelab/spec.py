"""The experiment spec: workload, machine, policy and controls.

A spec is an immutable value that round-trips through JSON; ``spec_hash`` names it. Unknown
fields are rejected and every number is bounded, so a spec that validates can be run.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from pagelab._kernels.counters import TIERS
from pagelab.memory.ageing import AgeingSpec
from pagelab.policies import TieringSpec
from pagelab.policies.access_aware_spec import AccessAwareThpSpec
from pagelab.policies.first_touch import FirstTouchSpec
from pagelab.units import Bytes, PageSize, page_size_bytes
from pagelab.workloads.spec import WorkloadSpec


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


AccessScope = Literal["data", "instruction", "all"]


class TlbStructureSpec(_Frozen):
    """One TLB array: ``entries`` slots in ``entries / ways`` sets, serving ``page_sizes``.

    ``ways == entries`` makes it fully associative. ``accesses`` says which accesses may use it
    (an L1 DTLB serves ``data``, an L1 ITLB ``instruction``, a unified STLB ``all``).
    """

    page_sizes: list[PageSize] = Field(
        min_length=1,
        max_length=8,
        description="Entry sizes the array holds (4K, 16K, 32K, 64K, 2M, 32M, 512M, 1G).",
    )
    entries: int = Field(ge=1, le=65536, description="Slots in the array (count).")
    ways: int = Field(
        ge=1,
        le=65536,
        description="Associativity: entries / ways sets, a power of two; ways = entries is "
        "fully associative.",
    )
    accesses: AccessScope = Field(
        default="all",
        description="Accesses it serves: data (an L1 DTLB), instruction (an L1 ITLB) or all "
        "(default; a unified STLB).",
    )

    @model_validator(mode="after")
    def _geometry(self) -> TlbStructureSpec:
        if self.entries % self.ways:
            raise ValueError(f"entries ({self.entries}) must be a multiple of ways ({self.ways})")
        sets = self.entries // self.ways
        if sets & (sets - 1):
            raise ValueError(f"entries / ways = {sets} sets must be a power of two")
        if len(set(self.page_sizes)) != len(self.page_sizes):
            raise ValueError("page_sizes lists a size twice")
        return self


class TlbLevelSpec(_Frozen):
    """One TLB level; ``hit_cycles`` is what a hit here costs after a miss one level up."""

    name: str = Field(
        min_length=1,
        max_length=32,
        description="The level's name (L1, L2), used in its metrics (tlb_<name>_misses).",
    )
    structures: list[TlbStructureSpec] = Field(
        min_length=1,
        max_length=8,
        description="The level's TLB arrays, each with its entry sizes and geometry.",
    )
    hit_cycles: float = Field(
        default=0.0,
        ge=0.0,
        le=1000.0,
        description="Cycles a hit at this level costs after a miss one level up (default 0).",
    )


class TlbSpec(_Frozen):
    """The TLB hierarchy, first level first (L1, then L2)."""

    levels: list[TlbLevelSpec] = Field(
        min_length=1,
        max_length=3,
        description="One to three levels, looked up in order; a miss in the last walks "
        "the page tables.",
    )


class WalkCacheSpec(_Frozen):
    """Paging-structure caches: how many upper-level entries of each table are kept.

    ``pmd_entries`` caches PMD entries, so a hit leaves only the PTE to fetch; ``pud_entries``
    leaves the PMD and PTE; ``pgd_entries`` the PUD, PMD and PTE. Each cache is
    ``ways``-way set-associative (fully associative when it has no more entries than
    ``ways``) with true LRU; vendors do not publish this organisation. A level the page
    tables do not have (the PUD of a 64K granule) has no cache. ``memory_reference_cycles``
    is the cost of each table entry the walker still has to fetch.
    """

    pgd_entries: int = Field(
        default=2,
        ge=0,
        le=4096,
        description="Cached PGD entries: a hit leaves the PUD, PMD and PTE to fetch "
        "(count; 0: no cache).",
    )
    pud_entries: int = Field(
        default=4,
        ge=0,
        le=4096,
        description="Cached PUD entries: a hit leaves the PMD and PTE to fetch (count).",
    )
    pmd_entries: int = Field(
        default=32,
        ge=0,
        le=4096,
        description="Cached PMD entries: a hit leaves only the PTE to fetch (count).",
    )
    ways: int = Field(
        default=4,
        ge=1,
        le=4096,
        description="Associativity of each cache, true LRU (a cache with no more entries "
        "is fully associative).",
    )
    memory_reference_cycles: float = Field(
        default=20.0,
        ge=0.0,
        le=10_000.0,
        description="Cycles per page-table entry a walk still fetches (default 20; the "
        "presets use 15).",
    )

    @model_validator(mode="after")
    def _geometry(self) -> WalkCacheSpec:
        for name in ("pgd_entries", "pud_entries", "pmd_entries"):
            entries = getattr(self, name)
            ways = min(self.ways, entries)
            if entries and (entries % ways or (entries // ways) & (entries // ways - 1)):
                raise ValueError(f"{name} / ways must be a power of two")
        return self


class LoadedLatencySpec(_Frozen):
    """How a tier's latency rises with the bandwidth demanded of it.

    With ``u`` = demanded bandwidth / ``bandwidth_gbps`` over an epoch, latency is
    ``idle × (1 + c_frac · u / (1 − u))`` below ``u_sat`` and ``saturated_factor × idle``
    from there (an M/M/1-like fit to measured loaded-latency curves; docs/presets.md).
    """

    c_frac: float = Field(
        default=0.12,
        ge=0.0,
        le=10.0,
        description="Steepness c of idle × (1 + c · u / (1 − u)), u the bandwidth utilisation.",
    )
    u_sat: float = Field(
        default=0.85,
        gt=0.0,
        lt=1.0,
        description="Utilisation (0 to 1) from which latency is saturated_factor × idle.",
    )
    saturated_factor: float = Field(
        default=2.5,
        ge=1.0,
        le=100.0,
        description="Latency at and above u_sat, as a multiple of the idle latency.",
    )


class TierSpec(_Frozen):
    """A memory node: local DRAM, remote-socket DRAM or a CXL expander.

    ``preset`` (see ``pagelab.presets.TIER_PRESETS``) fills every field left out; without
    one, ``idle_latency_ns`` and ``bandwidth_gbps`` are required.
    """

    name: str = Field(
        min_length=1,
        max_length=32,
        description="The tier's name (DRAM, CXL), used in its metrics "
        "(resident_bytes_<name>); names must differ.",
    )
    preset: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Tier preset filling the fields left out: ddr4_local, ddr5_local, "
        "remote_numa or cxl_expander.",
    )
    capacity_bytes: Bytes | None = Field(
        default=None,
        ge=1 << 20,
        description="Size of the node its buddy allocator manages, in bytes; left out: the "
        "preset's, else 1 TiB.",
    )
    idle_latency_ns: float | None = Field(
        default=None,
        gt=0.0,
        le=100_000.0,
        description="Latency of an access on an idle tier, in ns (required without a preset).",
    )
    bandwidth_gbps: float | None = Field(
        default=None,
        gt=0.0,
        le=100_000.0,
        description="Peak bandwidth, in GB/s (required without a preset).",
    )
    loaded_latency: LoadedLatencySpec | None = Field(
        default=None,
        description="How latency rises with the bandwidth demanded; left out: the "
        "preset's, else the default curve.",
    )

    @model_validator(mode="after")
    def _complete(self) -> TierSpec:
        if self.preset is None and (self.idle_latency_ns is None or self.bandwidth_gbps is None):
            raise ValueError("a tier without a preset needs idle_latency_ns and bandwidth_gbps")
        return self


class LlcSpec(_Frozen):
    """Last-level cache filter: hits never reach memory.

    Lines are tagged by process and virtual address (there are no physical addresses yet).
    """

    size_bytes: Bytes = Field(
        ge=4096, le=1 << 32, description="Capacity: one core's share of the LLC, in bytes."
    )
    ways: int = Field(ge=1, le=64, description="Associativity; true LRU within a set.")
    line_bytes: int = Field(
        default=64, ge=16, le=4096, description="Cache line size, in bytes (a power of two)."
    )

    @model_validator(mode="after")
    def _geometry(self) -> LlcSpec:
        lines = self.size_bytes // self.line_bytes
        if self.line_bytes & (self.line_bytes - 1):
            raise ValueError("line_bytes must be a power of two")
        if lines % self.ways or (lines // self.ways) & (lines // self.ways - 1):
            raise ValueError("size_bytes / line_bytes / ways must be a power of two")
        return self


class CpuSpec(_Frozen):
    """Cost model of the core: everything that is not translation or memory.

    ``memory_parallelism`` is how many memory accesses are in flight at once: 1 (default)
    charges every access that reaches memory its whole latency, as a chain of dependent
    loads would; a streaming kernel on one core keeps about 10 misses in flight (its line
    fill buffers), several cores sharing a tier proportionally more. It divides memory time
    and so raises the bandwidth demanded of each tier.
    """

    frequency_ghz: float = Field(
        default=3.0,
        gt=0.0,
        le=10.0,
        description="Core clock that turns cycles into time, in GHz (presets: their CPU's "
        "base clock).",
    )
    cycles_per_access: float = Field(
        default=1.0,
        ge=0.0,
        le=1000.0,
        description="The core's own work per access, in cycles (default 1).",
    )
    memory_parallelism: float = Field(
        default=1.0,
        ge=1.0,
        le=4096.0,
        description="Memory accesses in flight at once; divides memory time (1: each waits "
        "its whole latency; a streaming core ≈ 10).",
    )


Granule = Literal["4K", "16K", "64K"]


AgeingName = Literal["fresh", "aged", "heavily_aged"]


def _named_or_object(value: object) -> str:
    """A union of a name (or switch) and an object of parameters is decided by the value's
    type, so an error names the field inside the object at fault, not the other choice."""
    return "parameters" if isinstance(value, dict | BaseModel) else "name"


CHOICE_TAGS = ("name", "parameters")
"""Tags of such unions, which pydantic puts into an error's location."""

Ageing = Annotated[
    Annotated[AgeingName, Tag("name")] | Annotated[AgeingSpec, Tag("parameters")],
    Discriminator(_named_or_object),
]


class MachineSpec(_Frozen):
    """A machine: a preset (``skylake`` unless named), with any field given here replacing
    the preset's.
    ``llc: "none"`` removes the preset's last-level cache, so every access reaches memory.
    ``tiers`` lists the memory nodes, fastest first (at most four); the first is the node
    the CPU is on.
    ``ageing`` is how the machine's memory was used before the run (a profile name, or an
    object of parameters; ``fresh`` unless given): it decides how fragmented each tier is.
    """

    preset: str = Field(
        default="skylake",
        min_length=1,
        max_length=64,
        description="The CPU and memory preset the other fields override (pagelab "
        "presets); skylake unless named.",
    )
    tlb: TlbSpec | None = Field(
        default=None, description="The TLB hierarchy, first level first; left out: the preset's."
    )
    walk_cache: WalkCacheSpec | None = Field(
        default=None,
        description="Paging-structure caches and the cost of a walk's memory references; "
        "left out: the preset's.",
    )
    granules: list[Granule] | None = Field(
        default=None,
        min_length=1,
        max_length=3,
        description="Page-table granules the CPU supports (4K, 16K, 64K: arm64 has all "
        "three, x86 4K); left out: the preset's.",
    )
    contiguous_pte: bool | None = Field(
        default=None,
        description="The CPU has arm64's contiguous-PTE bit (16 × 4 KiB PTEs as one 64 KiB "
        "TLB entry); left out: the preset's.",
    )
    pte_coalescing: Literal[1, 2, 4, 8] | None = Field(
        default=None,
        description="Contiguous 4 KiB PTEs the TLB coalesces into one entry, as AMD's do "
        "(1: none); left out: the preset's.",
    )
    tiers: list[TierSpec] | None = Field(
        default=None,
        min_length=1,
        max_length=TIERS,
        description="Memory nodes, fastest first (at most four), the first the CPU's own; "
        "left out: the preset's one node.",
    )
    llc: LlcSpec | Literal["none"] | None = Field(
        default=None,
        description='Last-level cache filter (one core\'s share); "none" removes it, so every '
        "access reaches memory; left out: the preset's.",
    )
    cpu: CpuSpec | None = Field(
        default=None,
        description="Cost model of the core (clock, work per access, misses in flight); "
        "left out: the preset's.",
    )
    ageing: Ageing | None = Field(
        default=None,
        description="How memory was used before the run, which decides its fragmentation: "
        "fresh (default), aged, heavily_aged, or parameters.",
    )


BasePageMode = Literal["auto", "native", "per_process", "kernel_page"]
ThpMode = Literal["never", "always", "madvise", "access_aware"]
ThpSize = Literal["64K", "2M", "32M", "512M", "1G"]


ZERO_GB_PER_S: dict[PageSize, float] = {
    "4K": 13.7,
    "16K": 13.7,
    "32K": 13.7,
    "64K": 13.7,
    "2M": 11.8,
    "32M": 11.8,
    "512M": 17.5,
    "1G": 17.5,
}
"""Clearing bandwidth by folio size, GB/s (see docs/model.md for sources): 4 KiB extents
13.7 GB/s; a 2 MiB THP 11.8 GB/s (about 178 µs); a 1 GiB page 17.5 GB/s (about 61 ms)
without whole-extent clearing. Sizes without a published figure take the next smaller
measured one."""


class KhugepagedSpec(_Frozen):
    """khugepaged's knobs (``/sys/kernel/mm/transparent_hugepage/khugepaged/``), Linux's
    defaults: a pass scans ``pages_to_scan`` pages' worth of address space (512 per 2 MiB
    range looked at), then sleeps ``scan_sleep_ms``; after a failed allocation it sleeps
    ``alloc_sleep_ms`` instead. A 2 MiB range is collapsed when at most ``max_ptes_none``
    of its PTEs are empty and one of its pages was referenced."""

    enabled: bool = Field(
        default=True,
        description="Run khugepaged (when 2M is in thp_sizes) over THP-eligible anonymous "
        "VMAs; default on.",
    )
    pages_to_scan: int = Field(
        default=4096,
        ge=512,
        le=1 << 30,
        description="Pages of address space a pass looks at, 512 per 2 MiB range "
        "(khugepaged/pages_to_scan).",
    )
    scan_sleep_ms: float = Field(
        default=10_000.0,
        ge=0.001,
        le=1e9,
        description="Sleep between passes, in ms (khugepaged/scan_sleep_millisecs).",
    )
    alloc_sleep_ms: float = Field(
        default=60_000.0,
        ge=0.001,
        le=1e9,
        description="Sleep after a failed allocation, in ms (khugepaged/alloc_sleep_millisecs).",
    )
    max_ptes_none: int = Field(
        default=511,
        ge=0,
        le=511,
        description="Empty PTEs a 2 MiB range may have and still be collapsed "
        "(khugepaged/max_ptes_none).",
    )


class FaultCostSpec(_Frozen):
    """Cost of one page fault: a fixed entry cost plus clearing the new folio.

    Clearing runs at ``zero_gb_per_s`` for the folio's size (defaults: ``ZERO_GB_PER_S``);
    ``zero_ns_per_kib``, when given, replaces that table with one linear rate for every size.
    """

    entry_ns: float = Field(
        default=1000.0,
        ge=0.0,
        le=1e9,
        description="Fixed cost of every fault (minor and NUMA hint faults too), in ns; "
        "1000: a zero-page fault's median.",
    )
    zero_gb_per_s: dict[PageSize, float] = Field(
        default_factory=dict,
        max_length=8,
        description="Clearing rate by folio size, GB/s; sizes left out: 13.7 (4K–64K), "
        "11.8 (2M, 32M), 17.5 (512M, 1G).",
    )
    zero_ns_per_kib: float | None = Field(
        default=None,
        ge=0.0,
        le=1e9,
        description="One linear clearing rate for every size, in ns per KiB, replacing "
        "zero_gb_per_s; empty: by size.",
    )

    @field_validator("zero_gb_per_s")
    @classmethod
    def _positive_rates(cls, value: dict[PageSize, float]) -> dict[PageSize, float]:
        for size, rate in value.items():
            if not 0.001 <= rate <= 10_000.0:
                raise ValueError(f"clearing rate for {size} must be 0.001 to 10000 GB/s")
        return value

    def zero_ns(self, size: PageSize) -> float:
        """Nanoseconds to clear one folio of ``size``."""
        size_bytes = page_size_bytes(size)
        if self.zero_ns_per_kib is not None:
            return size_bytes / 1024.0 * self.zero_ns_per_kib
        return size_bytes / self.zero_gb_per_s.get(size, ZERO_GB_PER_S[size])


ShmemThpMode = Literal["never", "always", "within_size", "advise"]
FileThpMode = Literal["never", "always"]
ThpDefrag = Literal["always", "defer", "defer+madvise", "madvise", "never"]
Thp1gMode = Literal["inherit", "always", "madvise", "shmem_only"]


class CompactionCostSpec(_Frozen):
    """What compaction and contiguous-range allocation cost, per 4 KiB of memory.

    Migrating a 4 KiB page between nodes measured 1.2 µs (move_pages, Zen 3 EPYC; fixed
    costs dominate, so a page costs about that whatever its size). No measurement of the
    scanners alone was found: 20 ns per page scanned is an estimate.
    """

    migrate_ns_per_4k: float = Field(
        default=1200.0,
        ge=0.0,
        le=1e7,
        description="Migrating 4 KiB, in ns (1200: move_pages between nodes, Zen 3 EPYC).",
    )
    scan_ns_per_4k: float = Field(
        default=20.0,
        ge=0.0,
        le=1e6,
        description="Scanning 4 KiB, in ns (20: an estimate; no measurement was found).",
    )


class MigrationCostSpec(_Frozen):
    """What moving a folio between tiers costs: a fixed part per folio plus the copy.

    Defaults fit batched ``move_pages`` on a two-socket Zen 3 EPYC: 4 KiB pages at
    3.73 GB/s (≈1.1 µs each, fixed costs dominating) and 2 MiB THPs at 10.7 GB/s (≈196 µs):
    720 ns per folio plus copying at 10.7 GB/s gives both.
    """

    fixed_ns: float = Field(
        default=720.0, ge=0.0, le=1e9, description="Fixed cost per folio moved, in ns."
    )
    copy_gb_per_s: float = Field(
        default=10.7,
        gt=0.0,
        le=10_000.0,
        description="Copy rate, in GB/s (with 720 ns per folio: 1.1 µs for 4 KiB, 196 µs "
        "for 2 MiB).",
    )

    def ns(self, folios: int, moved_bytes: int) -> float:
        return folios * self.fixed_ns + moved_bytes / self.copy_gb_per_s


class ThpDepositSpec(_Frozen):
    """Which anonymous THPs deposit page tables for a later split.

    ``pmd``: a 2 MiB THP deposits one PTE table (mainline; off models the lazy-allocation
    RFC). ``pud``: a 1 GiB THP deposits one PMD table and 512 PTE tables (the PUD THP RFC).
    """

    pmd: bool = Field(
        default=True,
        description="A 2 MiB THP deposits one PTE table (mainline; off: the lazy-allocation RFC).",
    )
    pud: bool = Field(
        default=True,
        description="A 1 GiB THP deposits one PMD table and 512 PTE tables (the PUD THP RFC).",
    )


class Thp1gMinVma(_Frozen):
    """1 GiB THPs only in VMAs of at least ``min_vma_bytes`` (one of the proposals)."""

    min_vma_bytes: Bytes = Field(
        ge=1 << 30, description="Smallest VMA that may get a 1 GiB THP, in bytes (at least 1G)."
    )


Thp1g = Annotated[
    Annotated[Thp1gMode, Tag("name")] | Annotated[Thp1gMinVma, Tag("parameters")],
    Discriminator(_named_or_object),
]
ThpDeposit = Annotated[
    Annotated[bool, Tag("name")] | Annotated[ThpDepositSpec, Tag("parameters")],
    Discriminator(_named_or_object),
]


class PolicySpec(_Frozen):
    """The memory-management policy under test.

    ``base_page`` with ``base_page_mode``:

    - ``native``: the kernel's granule is ``base_page`` (arm64 4K/16K/64K granule).
    - ``per_process``: a 4 KiB kernel gives the process ``base_page`` folios mapped by 4 KiB
      PTEs, folded into contiguous-PTE TLB entries where the CPU has them (Roberts/Jain).
    - ``kernel_page``: a 4 KiB-PTE kernel whose own page is ``base_page`` (x86 PG_SIZE,
      Shutsemau): one fault allocates the whole page and maps the part of it inside the
      VMA with 4 KiB PTEs; a VMA edge inside a page still costs the whole page.
    - ``auto``: ``native`` if the machine has the granule, else ``per_process``.

    THP follows the VMA's backing, as Linux's knobs do: ``thp`` (``enabled``) for anonymous
    memory, ``thp_shmem`` (``shmem_enabled``, default never) for shmem, ``thp_file`` for
    file mappings. ``thp_1g`` narrows which mappings may get a 1 GiB THP (when ``1G`` is in
    ``thp_sizes``): ``inherit`` (as any other size), ``always``, ``madvise`` (VMAs with
    MADV_HUGEPAGE), ``shmem_only``, or ``{"min_vma_bytes": …}``. ``thp_deposit`` is a bool
    for both levels or ``{"pmd": …, "pud": …}``; only anonymous THPs deposit.

    Physical memory: a THP fault takes what the tier's buddy allocator gives under
    ``thp_defrag`` (Linux's ``defrag``: ``always``, ``defer``, ``defer+madvise``,
    ``madvise`` (default), ``never``), falling back to the next smaller size; a 1 GiB THP
    comes from a contiguous-range search. ``compaction_proactiveness`` is
    ``vm.compaction_proactiveness`` (0 off, default 20). ``superpageblocks`` switches on the
    1 GiB superpageblock steering RFC (unmovable allocations kept in already-tainted 1 GiB
    blocks, movable ones sent to clean blocks first).

    Tiering: ``tiering`` places new pages and moves them between ``machine.tiers``
    (``{"name": "first_touch"}`` by default; see ``pagelab.policies``); ``migration_cost``
    prices each move. ``thp_1g_migration`` is the open 1 GiB question: ``block`` (default)
    leaves a 1 GiB THP where it is, ``split`` splits its PUD mapping into 512 PMD mappings
    (using its deposited PMD table, if any) and moves the 2 MiB parts.

    Access-aware THP: ``thp: access_aware`` collapses hot 2 MiB ranges and splits sparse,
    cold THPs at epoch ends, with ``thp_access_aware``'s parameters (its variant decides
    whether faults map THPs: see ``AccessAwareThpSpec``); it needs ``base_page: 4K`` and
    ``thp_sizes: ["2M"]``.

    Splits: when a workload event (``munmap``, ``mprotect``, ``madvise_dontneed``) cuts a
    huge page, ``thp_split`` says how it splits: ``full`` (default, the 1 GiB THP RFC: to
    PTEs at once, 262,144 of them for 1 GiB) or ``pmd_first`` (the floated alternative: 512
    PMD mappings, then only the 2 MiB ranges the event cuts go to PTEs). A split takes its
    page tables from the THP's deposit when it made one, else allocates them.

    Shared memory: a shmem or file object several processes map has its frames allocated and
    counted once; each process faults its own mapping of it (a fault that finds the page
    resident is minor) into its own page tables. ``mshare`` (the in-flight mshare patches)
    makes every shared object an mshare region: the tables below the top level (from the PUD
    down on x86-64) are shared, so one process's fault maps the page for all and those tables
    are counted once (``page_table_shared_bytes``). A region covers the aligned spans its
    object lies in, one top-level entry each (512 GiB on x86-64), which must hold no other
    VMA of its processes, and every process maps it alike. Tier migration leaves shared
    pages where they are.
    """

    base_page: Literal["4K", "16K", "64K"] = Field(
        default="4K",
        description="Base page size: 4K (default), 16K or 64K; base_page_mode says how the "
        "kernel provides it.",
    )
    base_page_mode: BasePageMode = Field(
        default="auto",
        description="native (the kernel's granule, arm64), per_process (folios on 4 KiB "
        "PTEs), kernel_page (x86 PG_SIZE) or auto (default: native if the machine has the "
        "granule, else per_process).",
    )
    thp: ThpMode = Field(
        default="never",
        description="THP for anonymous memory (transparent_hugepage/enabled): never "
        "(default), always, madvise, or access_aware (collapse hot 2 MiB ranges, split "
        "sparse cold THPs; see thp_access_aware).",
    )
    thp_sizes: list[ThpSize] = Field(
        default_factory=lambda: list[ThpSize](["2M"]),
        max_length=5,
        description="THP sizes a fault may map, largest tried first: 64K (mTHP), 2M, 32M or "
        "512M (PMDs of 16K, 64K granules), 1G; default [2M].",
    )
    thp_shmem: ShmemThpMode = Field(
        default="never",
        description="THP for shmem (transparent_hugepage/shmem_enabled): never (default), "
        "always, within_size, or advise (MADV_HUGEPAGE VMAs).",
    )
    thp_file: FileThpMode = Field(
        default="never", description="THP for file mappings: never (default) or always."
    )
    thp_1g: Thp1g = Field(
        default="inherit",
        description="Which VMAs may get a 1 GiB THP (with 1G in thp_sizes): inherit "
        "(default, as other sizes), always, madvise, shmem_only, or {min_vma_bytes}.",
    )
    contiguous_pte: bool = Field(
        default=True,
        description="Fold a folio's contiguous PTEs into contiguous-PTE TLB entries (arm64 "
        "CONFIG_ARM64_CONTPTE; default on) where the machine has the bit.",
    )
    thp_deposit: ThpDeposit = Field(
        default=True,
        description="Anonymous THPs deposit the page tables a split needs "
        "(pgtable_trans_huge_deposit): a bool for both levels, or {pmd, pud}; default on.",
    )
    thp_defrag: ThpDefrag = Field(
        default="madvise",
        description="What a THP fault may do when no free block is left "
        "(/sys/kernel/mm/transparent_hugepage/defrag): always, defer, defer+madvise, "
        "madvise (default: compact in MADV_HUGEPAGE VMAs only) or never.",
    )
    compaction_proactiveness: int = Field(
        default=20,
        ge=0,
        le=100,
        description="vm.compaction_proactiveness, 0 to 100: at each epoch end, compact a "
        "node whose fragmentation score is too high; 0 off, default 20.",
    )
    superpageblocks: bool = Field(
        default=False,
        description="1 GiB superpageblock steering (RFC): kernel allocations kept in "
        "already-tainted 1 GiB blocks, movable ones sent to clean blocks first; default off.",
    )
    fault_cost: FaultCostSpec = Field(
        default=FaultCostSpec(),
        description="Cost of a page fault: a fixed entry cost plus clearing the new folio.",
    )
    compaction_cost: CompactionCostSpec = Field(
        default=CompactionCostSpec(),
        description="Cost of compaction and 1 GiB range searches, per 4 KiB migrated or scanned.",
    )
    tiering: TieringSpec = Field(
        default=FirstTouchSpec(),
        description="Tiering policy placing and moving pages across machine.tiers, by name: "
        "first_touch (default), interleave, tpp, damon or oracle.",
    )
    migration_cost: MigrationCostSpec = Field(
        default=MigrationCostSpec(),
        description="Cost of moving a folio between tiers: a fixed part per folio plus the copy.",
    )
    thp_1g_migration: Literal["block", "split"] = Field(
        default="block",
        description="A 1 GiB THP a tiering policy would move: block (it stays) or split "
        "(512 PMD mappings, the 2 MiB parts move).",
    )
    thp_split: Literal["full", "pmd_first"] = Field(
        default="full",
        description="How a huge page a workload event cuts splits: full (to PTEs at once) "
        "or pmd_first (1 GiB to 512 PMDs, then only the cut 2 MiB ranges to PTEs).",
    )
    khugepaged: KhugepagedSpec = Field(
        default=KhugepagedSpec(),
        description="khugepaged, collapsing 2 MiB ranges of 4 KiB pages in the background "
        "(/sys/kernel/mm/transparent_hugepage/khugepaged/); Linux's defaults.",
    )
    mshare: bool = Field(
        default=False,
        description="Shared objects are mshare regions: their page tables below the top "
        "level serve every process, counted once.",
    )
    thp_access_aware: AccessAwareThpSpec = Field(
        default=AccessAwareThpSpec(),
        description="Parameters of thp: access_aware (variant, thresholds, goal).",
    )

    @model_validator(mode="after")
    def _access_aware_sizes(self) -> PolicySpec:
        if self.thp == "access_aware" and (self.thp_sizes != ["2M"] or self.base_page != "4K"):
            raise ValueError(
                "thp: access_aware collapses and splits 2 MiB THPs over 4 KiB pages: it needs "
                'thp_sizes ["2M"] and base_page 4K'
            )
        return self

    @property
    def anon_thp(self) -> Literal["never", "always", "madvise"]:
        """What anonymous faults follow: ``thp``, or for ``access_aware`` ``never`` under
        the collapse-only variant and ``always`` otherwise."""
        if self.thp != "access_aware":
            return self.thp
        return "never" if self.thp_access_aware.variant == "collapse_only" else "always"

    @property
    def any_thp(self) -> bool:
        """Whether any knob lets some VMA get a THP."""
        return (
            self.thp != "never"
            or self.thp_shmem != "never"
            or self.thp_file != "never"
            or self.thp_1g in ("always", "madvise")
        )

    @property
    def deposit(self) -> ThpDepositSpec:
        """``thp_deposit`` with a bool spelled out for both levels."""
        if isinstance(self.thp_deposit, bool):
            return ThpDepositSpec(pmd=self.thp_deposit, pud=self.thp_deposit)
        return self.thp_deposit


class ControlsSpec(_Frozen):
    """Run controls: seed, epoch length, access limit and heatmap resolution."""

    seed: int = Field(
        default=0,
        ge=0,
        le=2**63 - 1,
        description="Seeds every random draw (workload generator, ageing, tiering policy): "
        "same spec and seed, same result.",
    )
    epoch_accesses: int = Field(
        default=1_000_000,
        ge=1_000,
        le=1_000_000_000,
        description="Accesses per epoch: one series row each; epoch-end work (compaction, "
        "khugepaged, tiering) runs between epochs.",
    )
    access_limit: int | None = Field(
        default=None,
        ge=1,
        le=100_000_000_000,
        description="Stop after this many accesses (count); empty: the whole workload.",
    )
    heatmap_time_bins: int = Field(
        default=100, ge=1, le=1000, description="Time bins (columns) of the access heatmap."
    )
    heatmap_address_bins: int = Field(
        default=128,
        ge=1,
        le=1000,
        description="Address bins (rows) of the access heatmap, over the touched 2 MiB "
        "regions with the gaps between them collapsed.",
    )


class Spec(_Frozen):
    """One experiment run."""

    workload: WorkloadSpec = Field(
        description="What accesses memory: a seeded generator or a recorded trace."
    )
    machine: MachineSpec = Field(
        default=MachineSpec(),
        description="The machine: a preset (skylake unless named) and fields overriding it.",
    )
    policy: PolicySpec = Field(
        default=PolicySpec(), description="The memory-management policy under test."
    )
    controls: ControlsSpec = Field(
        default=ControlsSpec(),
        description="Run controls: seed, epoch length, access limit, heatmap resolution.",
    )

    def canonical_json(self) -> str:
        """JSON with sorted keys and every default filled in: equal specs, equal text."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def spec_hash(self) -> str:
        """SHA-256 of the canonical JSON, hex."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()
