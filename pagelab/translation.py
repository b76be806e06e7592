"""The simulator's state between kernel calls: TLBs, walk caches, page tables, regions, LLC.

``Translator`` turns a resolved machine and mapping plan into the flat arrays the compiled
kernel works on, grows them when the kernel asks, and reads them back for the results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pagelab._kernels import access, lru, pagetable, placement, regions, remap, shared
from pagelab._kernels import counters as C
from pagelab.address_space import MappedVma, map_vmas, shared_objects
from pagelab.errors import PagelabError
from pagelab.machine import Machine
from pagelab.memory import PhysicalMemory
from pagelab.memory.ageing import age
from pagelab.paging import MappingPlan
from pagelab.spec import PolicySpec
from pagelab.units import MAX_ADDRESS_BYTES, PAGE_SIZES, page_size_bytes, page_size_shift
from pagelab.workloads.base import AccessChunk, AccessKind, Vma

I64 = npt.NDArray[np.int64]
MAX_PIDS = 1 << 16
MAX_UPPER_TABLE_BYTES = 1 << 30
MAX_PTE_TABLE_BYTES = 4 << 30
"""Bounds of the two page-table pools (see ``pagetable``), which keep a worker alive: PTE
tables for 16 TiB mapped with 4 KiB pages. Both are reserved whole at the start; the OS
commits a page of them only when it is first written, so they grow without copies and the
simulator's memory follows what is mapped."""
INITIAL_REGIONS = 1024
MAX_RESERVED_REGIONS = MAX_PTE_TABLE_BYTES >> 9
"""Region rows at the start: one per 2 MiB region the VMAs cover, at least INITIAL_REGIONS
and at most MAX_RESERVED_REGIONS (16 TiB of regions). Like the page-table pools they are
committed by the OS as rows are first written, so they grow without copies; past that
bound they double when the kernel needs more."""
PREFETCH_MIN_ROWS = 2048
"""Regions in use from which the per-access loop prefetches its tables (``access``): below,
they stay cached and prefetching only costs instructions (uniform accesses run slower with
it over 2 GiB, faster over 4 GiB, on a Xeon with 2 MiB of L2 per core)."""
_EMPTY = np.zeros(0, dtype=np.int64)
HINT_RECORDS = 1 << 16
"""NUMA hint faults recorded between two looks of the policy; more are counted, not kept."""
_CLASSES = (("data", "all"), ("instruction", "all"))


@dataclass(frozen=True)
class TlbRows:
    """The TLB hierarchy as descriptor rows (see ``lru``) the access kernel walks.

    ``probes`` holds, for level ``l`` and access class ``c``, ``probe_count[2l + c]`` rows
    from row ``(2l + c) * max_probes``: the (structure, page size) pairs a lookup tries.
    ``fills`` holds, from row ``(2l + c) * len(PAGE_SIZES)``, one row per mapping size: where
    such a mapping's entry goes, or size id -1 where the level keeps none. The structures
    take slots ``[0, slots)``.
    """

    probes: I64
    probe_count: I64
    max_probes: int
    fills: I64
    slots: int


def physical_memory(
    machine: Machine, plan: MappingPlan, policy: PolicySpec, *, seed: int
) -> PhysicalMemory:
    """Every tier's buddy allocator, aged by ``machine.ageing`` (each tier with its own
    seed drawn from ``seed``)."""
    memory = PhysicalMemory(
        [tier.capacity_bytes for tier in machine.tiers],
        plan.geometry.granule_shift,
        steering=policy.superpageblocks,
        thp_enabled=policy.any_thp,
    )
    seeds = np.random.SeedSequence(seed).generate_state(len(machine.tiers), dtype=np.uint64)
    for node in range(len(machine.tiers)):
        age(memory, node, machine.ageing, int(seeds[node]))
    return memory


def build_tlb(machine: Machine) -> TlbRows:
    """Flatten the TLB hierarchy: where each structure's sets live, what to probe, where to fill.

    A level fills a mapping into the largest size it serves for that access class that is no
    larger than the mapping (hardware splinters a 1G page into 2M entries where it has no 1G
    entries).
    """
    levels = machine.tlb.levels
    structures = [s for level in levels for s in level.structures]
    level_of = [index for index, level in enumerate(levels) for _ in level.structures]
    bases = np.concatenate(([0], np.cumsum([s.entries for s in structures])[:-1]))
    max_probes = max(len(s.page_sizes) for s in structures) * len(structures)
    n_sizes = len(PAGE_SIZES)
    groups = len(levels) * 2
    probes = np.zeros((groups * max_probes, lru.ROW_WIDTH), dtype=np.int64)
    probe_count = np.zeros(groups, dtype=np.int64)
    fills = np.zeros((groups * n_sizes, lru.ROW_WIDTH), dtype=np.int64)
    fills[:, lru.ROW_SIZE_ID] = -1
    for access_class, scopes in enumerate(_CLASSES):
        for structure, level_index, base in zip(structures, level_of, bases, strict=True):
            if structure.accesses not in scopes:
                continue
            group = level_index * 2 + access_class
            for size in sorted(structure.page_sizes, key=page_size_bytes):
                size_id = PAGE_SIZES.index(size)
                row = lru.describe(
                    size_id,
                    page_size_shift(size),
                    int(base),
                    structure.entries // structure.ways,
                    structure.ways,
                )
                probes[group * max_probes + probe_count[group]] = row
                probe_count[group] += 1
                for mapping_id in range(size_id, n_sizes):
                    fill = fills[group * n_sizes + mapping_id]
                    if fill[lru.ROW_SIZE_ID] < size_id:
                        fill[:] = row
    return TlbRows(
        probes=probes,
        probe_count=probe_count,
        max_probes=max_probes,
        fills=fills,
        slots=int(sum(s.entries for s in structures)),
    )


class Translator:
    """Owns every array the access kernel reads and writes for one run."""

    def __init__(
        self,
        machine: Machine,
        plan: MappingPlan,
        vmas: list[Vma],
        policy: PolicySpec,
        memory: PhysicalMemory | None = None,
    ) -> None:
        """``memory`` is the machine's physical memory as the run finds it (default: every
        tier fresh, see ``physical_memory``)."""
        self.machine = machine
        self.memory = memory or physical_memory(machine, plan, policy, seed=0)
        self.moves = np.zeros(0, dtype=np.int64)
        self.plan = plan
        geometry = plan.geometry
        self.tlb_rows = tlb = build_tlb(machine)
        self.size_present = np.zeros(len(PAGE_SIZES), dtype=np.int64)
        groups = tlb.probe_count.shape[0]
        self.active_probes = np.zeros(groups * (tlb.max_probes + 1), dtype=np.int64)

        cache_sizes = {
            "pgd": machine.walk_cache.pgd_entries,
            "pud": machine.walk_cache.pud_entries,
            "pmd": machine.walk_cache.pmd_entries,
        }
        entries = [cache_sizes.get(name, 0) for name in geometry.level_names[:-1]] + [0]
        self.level_shift = np.array(
            [geometry.level_shift(level) for level in range(geometry.levels)], dtype=np.int64
        )
        # One row per page-table level: the walk cache of the entries that level holds. Its
        # slots follow the TLBs', and the LLC's follow the walk caches'.
        walk_rows = np.zeros((geometry.levels, lru.ROW_WIDTH), dtype=np.int64)
        base = tlb.slots
        for level, count in enumerate(entries):
            ways = min(count, machine.walk_cache.ways)
            sets = count // ways if count else 1
            shift = int(self.level_shift[level])
            walk_rows[level] = lru.describe(level, shift, base, sets, ways)
            base += count
        self.rows = np.concatenate((tlb.probes, tlb.fills, walk_rows)).ravel()
        self.fill_row0 = tlb.probes.shape[0]
        self.walk_row0 = self.fill_row0 + tlb.fills.shape[0]

        self.upper = np.zeros(MAX_UPPER_TABLE_BYTES // 8, dtype=np.int64)
        self.ptes = np.zeros(MAX_PTE_TABLE_BYTES, dtype=np.uint8)
        self.roots = np.full(shared.ROOTS, -1, dtype=np.int64)
        self.level_tables = np.zeros(geometry.levels, dtype=np.int64)

        mapped = map_vmas(policy, plan, vmas)
        objects = shared_objects(mapped, policy, 1 << int(self.level_shift[0]))
        self.object_names = list(objects)
        self.set_vmas(mapped)
        granule_size = next(s for s in PAGE_SIZES if page_size_bytes(s) == geometry.granule_bytes)
        self.shared = shared.pack(list(objects.values()), mshare=policy.mshare,
                                  granule_tlb=PAGE_SIZES.index(granule_size))  # fmt: skip
        kinds = plan.kinds
        columns = np.zeros((len(kinds), access.KIND_WIDTH), dtype=np.int64)
        for row, k in zip(columns, kinds, strict=True):
            row[access.KIND_LEAF_LEVEL] = k.leaf_level
            row[access.KIND_BLOCK_SHIFT] = k.folio_bytes.bit_length() - 1
            row[access.KIND_TLB_SIZE] = PAGE_SIZES.index(k.tlb_size)
            row[access.KIND_FOLIO_SIZE] = PAGE_SIZES.index(k.folio_size)
            row[access.KIND_NEEDS_THP] = int(k.needs_thp)
            row[access.KIND_CROSSES_EDGE] = int(k.may_cross_vma_edge)
            row[access.KIND_DEPOSIT] = k.deposit_tables
            row[access.KIND_ORDER] = (k.folio_bytes >> geometry.granule_shift).bit_length() - 1
        self.kinds = columns.ravel()

        covered = sum(((v.end - 1) >> regions.REGION_SHIFT) - (v.start >> regions.REGION_SHIFT) + 1
                      for v in mapped)  # fmt: skip
        # The kernel asks for room on any change of region once the rows in use reach one
        # short of the capacity, so two rows more than the regions never run out.
        rows = max(INITIAL_REGIONS, min(covered + 2, MAX_RESERVED_REGIONS))
        # The hash stays at most half full (linear probing); it is rebuilt larger as rows are
        # used, since every slot is written when it is made.
        self.hash_keys = np.full(4 * INITIAL_REGIONS, -1, dtype=np.int64)
        self.hash_rows = np.zeros(4 * INITIAL_REGIONS, dtype=np.int64)
        self.row_keys = np.zeros(rows, dtype=np.int64)
        self.row_touched = np.zeros(rows * regions.WORDS_PER_REGION, dtype=np.int64)
        self.row_accesses = np.zeros(rows, dtype=np.int64)
        # Tiering state per region row, allocated only when a run tracks it (``track``): a
        # single-tier run keeps none of it.
        self.row_tiers = _EMPTY
        self.row_young = _EMPTY
        self.row_hint = _EMPTY
        self.hints = _EMPTY
        self.placement = placement.first_touch(len(machine.tiers))
        self.tracking = 0

        llc = machine.llc
        if llc is None:
            self.llc_sets, self.llc_ways, self.line_shift = 0, 1, 6
        else:
            self.llc_sets = llc.size_bytes // llc.line_bytes // llc.ways
            self.llc_ways = llc.ways
            self.line_shift = llc.line_bytes.bit_length() - 1
        self.llc_base = base
        slots = base + self.llc_sets * self.llc_ways
        # Every set-associative structure's slots and last-use stamps (see lru).
        self.words = np.full(slots, -1, dtype=np.int64)
        self.stamps = np.full(slots, -1, dtype=np.int64)

        self.counts = np.zeros(C.COUNT, dtype=np.int64)
        self.state = np.zeros(C.STATE_WIDTH, dtype=np.int64)
        self.state[C.STATE_UPPER_CAP] = self.upper.shape[0] >> geometry.fanout_bits
        self.state[C.STATE_PTES_CAP] = self.ptes.shape[0] >> geometry.fanout_bits
        self.state[C.STATE_ROWS_CAP] = rows
        self.state[C.STATE_PREFETCH_ROWS] = PREFETCH_MIN_ROWS
        self.state[[C.STATE_LAST_REGION, C.STATE_LAST_PAGE, C.STATE_LAST_LINE]] = -1
        self.tlb_slots = base  # the TLBs' and walk caches' slots come first in ``words``
        smallest = plan.kinds[-1]
        self.shape = np.zeros(remap.SHAPE_WIDTH, dtype=np.int64)
        self.shape[remap.SHAPE_FANOUT_BITS] = geometry.fanout_bits
        self.shape[remap.SHAPE_GRANULE_SHIFT] = geometry.granule_shift
        self.shape[remap.SHAPE_BASE_FOLIO] = PAGE_SIZES.index(smallest.folio_size)
        self.shape[remap.SHAPE_BASE_TLB] = PAGE_SIZES.index(smallest.tlb_size)
        self.shape[remap.SHAPE_UPPER_CAP] = self.state[C.STATE_UPPER_CAP]
        self.shape[remap.SHAPE_PTES_CAP] = self.state[C.STATE_PTES_CAP]
        if len(machine.tiers) > 1:
            self.track(access.TRACK_TIERS)

    def set_vmas(self, vmas: list[MappedVma]) -> None:
        """Make ``vmas`` (sorted by pid, then start) the address space the kernel maps."""
        self.mapped_vmas = vmas
        self.vmas, self.pid_vmas = self._vma_tables(vmas, self.object_names)

    def _vma_tables(self, vmas: list[MappedVma], objects: list[str]) -> tuple[I64, I64]:
        """The kernel's flat VMA table (rows sorted by pid, then start) and per-pid ranges;
        ``objects`` names the shared objects in the order of their ids."""
        pid_table = np.zeros((MAX_PIDS, access.PID_WIDTH), dtype=np.int64)
        ids = {name: index for index, name in enumerate(objects)}
        table = np.zeros((len(vmas), access.VMA_WIDTH), dtype=np.int64)
        for row, vma in zip(table, vmas, strict=True):
            row[access.VMA_START] = vma.start
            row[access.VMA_END] = vma.end
            row[access.VMA_THP_SIZES] = sum(1 << size_id for size_id in vma.thp_size_ids)
            row[access.VMA_FLAGS] = (
                (access.VMA_ANONYMOUS if vma.anonymous else 0)
                | (access.VMA_DIRECT_COMPACT if vma.direct_compaction else 0)
                | (access.VMA_WAKE_KCOMPACTD if vma.wakes_kcompactd else 0)
                | (access.VMA_MAY_COLLAPSE if vma.may_collapse else 0)
            )
            row[access.VMA_OBJECT] = ids[vma.shared_object] if vma.shared_object else -1
        for index in range(len(vmas) - 1, -1, -1):
            pid_table[vmas[index].pid, access.PID_FIRST_VMA] = index
            pid_table[vmas[index].pid, access.PID_VMA_COUNT] += 1
        return table.ravel(), pid_table.ravel()

    def run(self, chunk: AccessChunk, start: int, end: int) -> None:
        """Simulate ``chunk[start:end]``, growing tables and regions as the kernel asks."""
        addresses = chunk.address[start:end]
        if addresses.size and addresses.max() >= MAX_ADDRESS_BYTES:
            index = start + int(np.argmax(addresses >= np.uint64(MAX_ADDRESS_BYTES)))
            raise PagelabError(
                f"address {int(chunk.address[index]):#x} (pid {int(chunk.pid[index])}) is "
                "beyond the 48-bit space"
            )
        position = start
        while position < end:
            simulated_from = position
            memory_before = int(self.counts[C.MEMORY_ACCESSES])
            position, status = access.simulate_accesses(
                chunk.address, chunk.kind, chunk.pid, position, end,
                self.counts, self.state,
                self.words, self.stamps, self.rows, self.fill_row0, self.walk_row0,
                self.tlb_rows.probe_count, self.tlb_rows.max_probes,
                self.size_present, self.active_probes,
                self.upper, self.ptes, self.roots, self.level_tables, self.level_shift,
                self.plan.geometry.fanout_bits,
                self.vmas, self.pid_vmas, self.kinds,
                self.hash_keys, self.hash_rows, self.row_keys, self.row_touched, self.row_accesses,
                self.llc_base, self.llc_sets, self.llc_ways, self.line_shift,
                *self.memory.arrays, self.moves,
                self.placement, self.row_tiers, self.row_young, self.row_hint, self.hints,
                self.tracking, self.shared,
            )  # fmt: skip
            self._count_kinds(chunk, simulated_from, position)
            if not self.tracking & access.TRACK_TIERS:
                # One tier: every access that reached memory reached it.
                self.counts[C.TIER_MEMORY_ACCESSES] += (
                    self.counts[C.MEMORY_ACCESSES] - memory_before
                )
            if status == C.NEED_TABLES:
                raise PagelabError(
                    "the simulated page tables outgrow the simulator's bound "
                    f"({MAX_PTE_TABLE_BYTES >> 30} GiB of PTE tables); simulate a smaller "
                    "footprint"
                )
            elif status == C.NEED_REGIONS:
                self._grow_regions()
            elif status != C.DONE:
                self._fail(status, chunk, position)

    def _count_kinds(self, chunk: AccessChunk, start: int, end: int) -> None:
        """Count the accesses the kernel simulated by kind, and, with no LLC, every access as
        one that reaches memory."""
        kinds = chunk.kind[start:end]
        self.counts[C.ACCESSES] += end - start
        # Compared as uint8: an IntEnum would make numpy widen every kind to int64 first.
        self.counts[C.STORES] += np.count_nonzero(kinds == np.uint8(AccessKind.STORE))
        self.counts[C.IFETCHES] += np.count_nonzero(kinds == np.uint8(AccessKind.IFETCH))
        if self.llc_sets == 0:
            self.counts[C.MEMORY_ACCESSES] += end - start

    def _fail(self, status: int, chunk: AccessChunk, position: int) -> None:
        address = int(chunk.address[position])
        pid = int(chunk.pid[position])
        if status == C.OUTSIDE_VMA:
            raise PagelabError(f"address {address:#x} (pid {pid}) lies outside every VMA")
        if status == C.OUT_OF_MEMORY:
            free = ", ".join(
                f"{tier.name} {self.memory.free_frames(node) << self.plan.geometry.granule_shift}"
                for node, tier in enumerate(self.machine.tiers)
            )
            raise PagelabError(
                f"out of memory at {address:#x} (pid {pid}): every tier is full (free bytes: "
                f"{free}); give the tiers more capacity_bytes or age the machine less"
            )
        raise PagelabError(f"no mapping could be created for {address:#x} (pid {pid})")

    def _grow_regions(self) -> None:
        rows = int(self.state[C.STATE_ROWS_CAP])
        if self.state[C.STATE_ROWS_USED] + 1 >= rows:
            self.row_keys = np.concatenate((self.row_keys, np.zeros(rows, dtype=np.int64)))
            self.row_touched = np.concatenate((self.row_touched, np.zeros_like(self.row_touched)))
            self.row_accesses = np.concatenate((self.row_accesses, np.zeros(rows, np.int64)))
            self.row_tiers, self.row_young, self.row_hint = (
                np.concatenate((table, np.zeros_like(table))) if table.size else table
                for table in (self.row_tiers, self.row_young, self.row_hint)
            )
            self.state[C.STATE_ROWS_CAP] = 2 * rows
        if self.state[C.STATE_ROWS_USED] + 1 >= self.hash_keys.shape[0] >> 1:
            size = 2 * self.hash_keys.shape[0]
            self.hash_keys = np.full(size, -1, dtype=np.int64)
            self.hash_rows = np.zeros(size, dtype=np.int64)
            regions.rebuild(
                self.hash_keys, self.hash_rows, self.row_keys, int(self.state[C.STATE_ROWS_USED])
            )

    def track(self, flags: int) -> None:
        """Have the access path keep what ``flags`` (``access.TRACK_*``) names from now on:
        a page's tier, its accessed bit, NUMA hint faults."""
        rows = int(self.state[C.STATE_ROWS_CAP])
        if flags & access.TRACK_TIERS and not self.row_tiers.size:
            self.row_tiers = np.zeros(rows * regions.TIER_WORDS_PER_REGION, dtype=np.int64)
        if flags & access.TRACK_YOUNG and not self.row_young.size:
            self.row_young = np.zeros(rows * regions.WORDS_PER_REGION, dtype=np.int64)
        if flags & access.TRACK_HINTS and not self.row_hint.size:
            self.row_hint = np.zeros(rows * regions.WORDS_PER_REGION, dtype=np.int64)
            self.hints = np.zeros(2 * HINT_RECORDS, dtype=np.int64)
        self.tracking |= flags

    def flush_tlb(self) -> None:
        """Drop every TLB and walk-cache entry: a shootdown, counted. A full flush, as x86
        does for more than ``tlb_single_page_flush_ceiling`` (33) pages; every shootdown
        here (a migration batch, a scan, a workload event) is usually that large."""
        self.words[: self.tlb_slots] = lru.EMPTY
        self.state[C.STATE_LAST_PAGE] = -1
        self.counts[C.TLB_SHOOTDOWNS] += 1

    def add_regions(self, pid: int, start: int, end: int) -> None:
        """Region rows for every 2 MiB region of ``[start, end)`` of ``pid`` that has none
        (a split to PTEs of a huge page on a tiered run: its pages' tiers live in rows)."""
        address = start
        while address < end:
            address = access.add_rows(
                pid, address, end, self.state, self.hash_keys, self.hash_rows, self.row_keys,
                self.upper, self.ptes, self.roots, self.level_shift,
                self.plan.geometry.fanout_bits, self.row_tiers,
            )  # fmt: skip
            if address < end:
                self._grow_regions()

    @property
    def rows_used(self) -> int:
        return int(self.state[C.STATE_ROWS_USED])

    def take_region_accesses(self) -> I64:
        """Accesses per region row since the last call (rows in order of first touch)."""
        used = self.rows_used
        taken = self.row_accesses[:used].copy()
        self.row_accesses[:used] = 0
        return taken

    def region_bases(self) -> tuple[I64, I64]:
        """(pid, first virtual address) of every region row in use."""
        keys = self.row_keys[: self.rows_used]
        return keys >> 27, (keys & ((1 << 27) - 1)) << regions.REGION_SHIFT

    def folio_size_at(self, pid: int, address: int) -> str:
        """The folio size mapping ``address`` now, or '' where nothing is mapped."""
        _, entry = pagetable.walk(
            self.upper, self.ptes, self.roots, pid, address, self.level_shift,
            self.plan.geometry.fanout_bits,
        )  # fmt: skip
        if entry & 3 != pagetable.LEAF:
            return ""
        return PAGE_SIZES[pagetable.folio_size_of(entry)]

    def first_touched_sizes(self) -> I64:
        """Per region row in use, the size id (``PAGE_SIZES``) of the folio mapping its
        first touched page, or -1 where nothing maps it now."""
        return regions.first_touched_sizes(
            self.row_keys, self.row_touched, self.rows_used, self.upper, self.ptes, self.roots,
            self.level_shift, self.plan.geometry.fanout_bits,
        )  # fmt: skip
