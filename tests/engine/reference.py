"""A slow, obvious model of the per-access path, written from DESIGN.md's semantics.

It shares no code with the compiled kernel: dictionaries for page tables, Python lists for
LRU sets. Tests run both on small inputs and compare every counter.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pagelab.machine import Machine
from pagelab.paging import MappingKind, MappingPlan
from pagelab.units import PAGE_SIZES, page_size_bytes
from pagelab.workloads.base import AccessKind, Vma


@dataclass
class _Structure:
    sizes: list[str]
    sets: int
    ways: int
    scope: str
    lines: list[list[tuple[tuple[int, int, str], str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lines = [[] for _ in range(self.sets)]

    def serves(self, access_class: str) -> bool:
        return self.scope in (access_class, "all")


@dataclass
class ReferenceCounts:
    accesses: int = 0
    tlb_misses: list[int] = field(default_factory=list)
    walks: int = 0
    walk_references: int = 0
    faults: int = 0
    touched_pages: int = 0
    llc_misses: int = 0
    deposit_tables: int = 0
    resident_by_folio: dict[str, int] = field(default_factory=dict)
    tables_per_level: list[int] = field(default_factory=list)
    region_accesses: Counter[tuple[int, int]] = field(default_factory=Counter)
    """Accesses per (pid, 2 MiB region base)."""
    tier_memory_accesses: Counter[int] = field(default_factory=Counter)
    """Accesses that reached memory, per tier holding their page."""
    faults_minor: int = 0
    shared_tables: int = 0
    resident_by_tier: Counter[int] = field(default_factory=Counter)
    """Bytes of the folios allocated on each tier."""


class ReferenceModel:
    """Plays accesses one at a time through TLBs, walk caches, page tables and the LLC."""

    def __init__(
        self,
        machine: Machine,
        plan: MappingPlan,
        vmas: list[Vma] | None,
        thp: str,
        weights: list[int] | None = None,
        mshare: bool = False,
    ):
        """``weights``: weighted interleave over tiers of unlimited room (None: every folio
        on tier 0). ``mshare``: shared objects' tables below the top level are shared."""
        self.weights = weights
        self.mshare = mshare
        self.object_folios: dict[tuple[str, int], tuple[int, MappingKind, int]] = {}
        """(object, 4 KiB page of its index) → (its folio's first index address, kind, tier)."""
        self.attached: dict[tuple[int, int], str] = {}
        """(pid, top-level index) → the object whose mshare host tables it points at."""
        self.object_base = {
            vma.shared_object: vma.start
            for vma in sorted(vmas or [], key=lambda v: -v.pid)
            if vma.shared_object
        }
        self.node_of_leaf: dict[tuple[int | str, int, int], int] = {}
        self.young: set[tuple[int, int]] = set()
        """(pid, 4 KiB page) of every translation a walk loaded."""
        self.machine = machine
        self.plan = plan
        self.geometry = plan.geometry
        self.levels = [
            [
                _Structure(list(s.page_sizes), s.entries // s.ways, s.ways, s.accesses)
                for s in level.structures
            ]
            for level in machine.tlb.levels
        ]
        names = self.geometry.level_names
        sizes = {
            "pgd": machine.walk_cache.pgd_entries,
            "pud": machine.walk_cache.pud_entries,
            "pmd": machine.walk_cache.pmd_entries,
        }
        self.walk_cache_size = [sizes.get(name, 0) for name in names[:-1]]
        self.walk_cache_ways = [min(n, machine.walk_cache.ways) for n in self.walk_cache_size]
        # One MRU-first list per set; sets = entries / ways.
        self.walk_caches: list[list[list[tuple[int, int]]]] = [
            [[] for _ in range(max(1, n // max(1, w)))]
            for n, w in zip(self.walk_cache_size, self.walk_cache_ways, strict=True)
        ]
        self.leaves: dict[tuple[int | str, int, int], tuple[str, str]] = {}
        self.tables: set[tuple[int | str, int, int]] = set()
        self.vmas = vmas
        self.thp = thp
        self.touched: set[tuple[int | str, int]] = set()
        llc = machine.llc
        self.llc_sets = 0 if llc is None else llc.size_bytes // llc.line_bytes // llc.ways
        self.llc_ways = 0 if llc is None else llc.ways
        self.line_bytes = 64 if llc is None else llc.line_bytes
        self.llc: list[list[tuple[int, int]]] = [[] for _ in range(self.llc_sets)]
        self.counts = ReferenceCounts(tlb_misses=[0] * len(self.levels))
        self.counts.tables_per_level = [0] * self.geometry.levels

    # --- page tables -------------------------------------------------------------------
    def _shift(self, level: int) -> int:
        return self.geometry.level_shift(level)

    def _owner(self, pid: int, va: int) -> int | str:
        """Whose tables below the top level map ``va`` for ``pid``: an mshare host's (named
        by its object) once ``pid`` is attached there, else its own."""
        return self.attached.get((pid, va >> self._shift(0)), pid)

    def _lookup_leaf(self, pid: int, va: int) -> tuple[int, tuple[str, str]] | None:
        owner = self._owner(pid, va)
        for level in range(self.geometry.levels):
            leaf = self.leaves.get((owner, level, va >> self._shift(level)))
            if leaf is not None:
                return level, leaf
        return None

    def _add_table(self, pid: int | str, level: int, prefix: int) -> None:
        if (pid, level, prefix) not in self.tables:
            self.tables.add((pid, level, prefix))
            self.counts.tables_per_level[level] += 1
            if isinstance(pid, str):
                self.counts.shared_tables += 1

    def _vma_of(self, pid: int, va: int) -> tuple[int, int, bool]:
        granule = self.geometry.granule_bytes
        if self.vmas is None:
            return 0, 1 << 48, self._thp_allowed("default")
        for vma in self.vmas:
            start = vma.start // granule * granule
            end = -(-vma.end // granule) * granule
            if vma.pid == pid and start <= va < end:
                return start, end, self._thp_allowed(vma.thp_advice)
        raise AssertionError(f"access outside VMAs at {va:#x}")

    def _thp_allowed(self, advice: str) -> bool:
        if self.thp == "always":
            return advice != "nohugepage"
        return self.thp == "madvise" and advice == "hugepage"

    def _shared_vma(self, pid: int, va: int) -> Vma | None:
        for vma in self.vmas or []:
            if vma.pid == pid and vma.shared_object and vma.start <= va < vma.end:
                return vma
        return None

    def _fault(self, pid: int, va: int) -> tuple[int, tuple[str, str]]:
        start, end, thp_ok = self._vma_of(pid, va)
        self._add_table(pid, 0, 0)
        shared = self._shared_vma(pid, va)
        if shared is not None:
            return self._fault_shared(pid, va, shared, thp_ok)
        for kind in self.plan.kinds:
            if kind.needs_thp and not thp_ok:
                continue
            block = kind.folio_bytes
            block_start = va // block * block
            if not kind.may_cross_vma_edge and (block_start < start or block_start + block > end):
                continue
            blocked = False
            for level in range(kind.leaf_level):
                if (pid, level, va >> self._shift(level)) in self.leaves:
                    blocked = True
                    break
                self._add_table(pid, level + 1, va >> self._shift(level))
            if blocked:
                continue
            # A kernel page overhanging the VMA maps only its part inside the VMA.
            entry_bytes = 1 << self._shift(kind.leaf_level)
            indexes = [(block_start + n * entry_bytes) >> self._shift(kind.leaf_level)
                       for n in range(kind.entries)
                       if start <= block_start + n * entry_bytes < end]  # fmt: skip
            below = kind.leaf_level + 1
            if any(
                (pid, kind.leaf_level, index) in self.leaves
                or (below < self.geometry.levels and (pid, below, index) in self.tables)
                for index in indexes
            ):
                continue
            leaf = (kind.tlb_size, kind.folio_size)
            node = self._interleave_node(start, max(block_start, start), block)
            for index in indexes:
                self.leaves[(pid, kind.leaf_level, index)] = leaf
                self.node_of_leaf[(pid, kind.leaf_level, index)] = node
            self.counts.faults += 1
            self.counts.deposit_tables += kind.deposit_tables
            self.counts.resident_by_folio[kind.folio_size] = (
                self.counts.resident_by_folio.get(kind.folio_size, 0) + block
            )
            self.counts.resident_by_tier[node] += block
            return kind.leaf_level, leaf
        raise AssertionError("no mapping fits")

    def _fault_shared(
        self, pid: int, va: int, vma: Vma, thp_ok: bool
    ) -> tuple[int, tuple[str, str]]:
        """A fault in a shared object's VMA (docs/model.md, "Shared memory and mshare")."""
        name = vma.shared_object
        base = self.object_base[name]
        owner: int | str = pid
        self.counts.faults += 1
        if self.mshare:
            owner = name
            top = va >> self._shift(0)
            if (pid, top) not in self.attached:
                self.attached[(pid, top)] = name
                self._add_table(name, 1, top)
            found = self._lookup_leaf(pid, va)
            if found is not None:
                self.counts.faults_minor += 1
                return found
        folio = self.object_folios.get((name, (va - vma.start + base) >> 12))
        if folio is None:
            folio = self._allocate_shared(va, vma, base, thp_ok)
        else:
            self.counts.faults_minor += 1
        return self._map_shared(owner, va, vma, base, *folio)

    def _allocate_shared(
        self, va: int, vma: Vma, base: int, thp_ok: bool
    ) -> tuple[int, MappingKind, int]:
        for kind in self.plan.kinds:
            block = kind.folio_bytes
            block_start = va // block * block
            inside = vma.start <= block_start and block_start + block <= vma.end
            if (kind.needs_thp and not thp_ok) or (not kind.may_cross_vma_edge and not inside):
                continue
            if (vma.start - base) % block:
                continue
            first = max(block_start, vma.start) - vma.start + base
            last = min(block_start + block, vma.end) - vma.start + base
            if any((vma.shared_object, page) in self.object_folios
                   for page in range(first >> 12, last >> 12)):  # fmt: skip
                continue
            index_start = block_start - vma.start + base
            node = self._interleave_node(vma.start, max(block_start, vma.start), block)
            for page in range(first >> 12, last >> 12):
                self.object_folios[(vma.shared_object, page)] = (index_start, kind, node)
            self.counts.resident_by_folio[kind.folio_size] = (
                self.counts.resident_by_folio.get(kind.folio_size, 0) + block
            )
            self.counts.resident_by_tier[node] += block
            return index_start, kind, node
        raise AssertionError("no mapping fits")

    def _map_shared(
        self,
        owner: int | str,
        va: int,
        vma: Vma,
        base: int,
        index_start: int,
        kind: MappingKind,
        node: int,
    ) -> tuple[int, tuple[str, str]]:
        """Linux's ``finish_fault``: a PMD or PUD for a huge folio the VMA holds whole and
        aligned, else PTEs for the whole folio inside the VMA and one PTE table, else for the
        faulting page (a kernel page maps its part inside the VMA)."""
        pte_level = self.geometry.levels - 1
        granule = self.geometry.granule_bytes
        start = index_start - base + vma.start
        end = start + kind.folio_bytes
        inside = vma.start <= start and end <= vma.end
        aligned = start % kind.folio_bytes == 0
        if kind.leaf_level < pte_level and inside and aligned:
            for level in range(kind.leaf_level):
                self._add_table(owner, level + 1, va >> self._shift(level))
            index = va >> self._shift(kind.leaf_level)
            if (owner, kind.leaf_level + 1, index) not in self.tables:
                leaf = (kind.tlb_size, kind.folio_size)
                self.leaves[(owner, kind.leaf_level, index)] = leaf
                self.node_of_leaf[(owner, kind.leaf_level, index)] = node
                return kind.leaf_level, leaf
        for level in range(pte_level):
            self._add_table(owner, level + 1, va >> self._shift(level))
        tlb = kind.tlb_size if kind.leaf_level == pte_level and aligned else self._granule_size()
        span = 1 << self._shift(pte_level - 1)
        table_start = va // span * span
        if kind.may_cross_vma_edge:
            first = max(start, vma.start, table_start)
            last = min(end, vma.end, table_start + span)
        elif inside and table_start <= start and end <= table_start + span:
            first, last = start, end
        else:
            first = va // granule * granule
            last = first + granule
            tlb = self._granule_size()
        leaf = (tlb, kind.folio_size)
        for address in range(first, last, granule):
            self.leaves[(owner, pte_level, address >> self._shift(pte_level))] = leaf
            self.node_of_leaf[(owner, pte_level, address >> self._shift(pte_level))] = node
        return pte_level, leaf

    def _granule_size(self) -> str:
        return next(s for s in PAGE_SIZES if page_size_bytes(s) == self.geometry.granule_bytes)

    def _interleave_node(self, vma_start: int, map_start: int, block: int) -> int:
        """mm/mempolicy.c ``weighted_interleave_nid``: the folio's index from its offset in
        the VMA, then the node whose running weight total first passes it."""
        if self.weights is None:
            return 0
        ilx = vma_start // block + (map_start - vma_start) // block
        target = ilx % sum(self.weights)
        for node, weight in enumerate(self.weights):
            if target < weight:
                return node
            target -= weight
        raise AssertionError("unreachable")

    def _node_of(self, pid: int, va: int) -> int:
        found = self._lookup_leaf(pid, va)
        assert found is not None
        level = found[0]
        return self.node_of_leaf[(self._owner(pid, va), level, va >> self._shift(level))]

    def _walk_references(self, pid: int, va: int, leaf_level: int) -> int:
        def cache_set(level: int) -> list[tuple[int, int]]:
            sets = self.walk_caches[level]
            return sets[(va >> self._shift(level)) % len(sets)]

        hit = -1
        for level in range(leaf_level - 1, -1, -1):
            key = (pid, va >> self._shift(level))
            cache = cache_set(level)
            if self.walk_cache_size[level] and key in cache:
                cache.remove(key)
                cache.insert(0, key)
                hit = level
                break
        for level in range(hit + 1, leaf_level):
            if self.walk_cache_size[level]:
                cache = cache_set(level)
                cache.insert(0, (pid, va >> self._shift(level)))
                del cache[self.walk_cache_ways[level] :]
        return leaf_level - hit

    # --- TLB ----------------------------------------------------------------------------
    def _probe(self, structure: _Structure, size: str, pid: int, va: int) -> str | None:
        vpn = va // page_size_bytes(size)  # type: ignore[arg-type]
        lines = structure.lines[vpn % structure.sets]
        for index, (key, mapping) in enumerate(lines):
            if key == (pid, vpn, size):
                lines.insert(0, lines.pop(index))
                return mapping
        return None

    def _fill(self, level: int, access_class: str, mapping: str, pid: int, va: int) -> None:
        best: tuple[int, int, _Structure, str] | None = None
        for index, structure in enumerate(self.levels[level]):
            if not structure.serves(access_class):
                continue
            for size in structure.sizes:
                size_bytes = page_size_bytes(size)  # type: ignore[arg-type]
                if size_bytes <= page_size_bytes(mapping) and (  # type: ignore[arg-type]
                    best is None or size_bytes > best[0]
                ):
                    best = (size_bytes, index, structure, size)
        if best is None:
            return
        size_bytes, _, structure, size = best
        vpn = va // size_bytes
        lines = structure.lines[vpn % structure.sets]
        lines.insert(0, ((pid, vpn, size), mapping))
        del lines[structure.ways :]

    def access(self, va: int, kind: int, pid: int) -> None:
        access_class = "instruction" if kind == AccessKind.IFETCH else "data"
        hit_level = None
        mapping = ""
        for level, structures in enumerate(self.levels):
            for structure in structures:
                if not structure.serves(access_class):
                    continue
                for size in structure.sizes:
                    found = self._probe(structure, size, pid, va)
                    if found is not None:
                        hit_level, mapping = level, found
                        break
                if hit_level is not None:
                    break
            if hit_level is not None:
                break
            self.counts.tlb_misses[level] += 1
        if hit_level is None:
            found_leaf = self._lookup_leaf(pid, va)
            if found_leaf is None:
                found_leaf = self._fault(pid, va)
            leaf_level, (mapping, _) = found_leaf
            self.counts.walks += 1
            self.counts.walk_references += self._walk_references(pid, va, leaf_level)
            self.young.add((pid, va >> 12))
            hit_level = len(self.levels)
        for level in range(hit_level):
            self._fill(level, access_class, mapping, pid, va)

        self.counts.region_accesses[(pid, va >> 21 << 21)] += 1
        shared = self._shared_vma(pid, va)
        page: tuple[int | str, int] = (pid, va >> 12)
        if shared is not None:  # a shared page is touched once, by whichever process
            page = (shared.shared_object, (va - shared.start) >> 12)
        if page not in self.touched:
            self.touched.add(page)
            self.counts.touched_pages += 1
        if self.llc_sets:
            line = va // self.line_bytes
            lines = self.llc[line % self.llc_sets]
            if (pid, line) in lines:
                lines.remove((pid, line))
                lines.insert(0, (pid, line))
            else:
                lines.insert(0, (pid, line))
                del lines[self.llc_ways :]
                self.counts.llc_misses += 1
                self.counts.tier_memory_accesses[self._node_of(pid, va)] += 1
        else:
            self.counts.tier_memory_accesses[self._node_of(pid, va)] += 1
        self.counts.accesses += 1
