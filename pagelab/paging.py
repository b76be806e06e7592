"""Page-table geometry and the mappings a fault may create, for one policy on one machine.

Levels are numbered from the top (0 = PGD) down to the PTE level. A mapping is a block of
``entries`` consecutive page-table entries at ``leaf_level``; the TLB caches it as entries of
``tlb_size``: the block size where the hardware folds it (a PMD or PUD leaf, an arm64
contiguous-PTE block, AMD's PTE coalescing), else one entry per PTE.
"""

from __future__ import annotations

from dataclasses import dataclass

from pagelab.errors import SpecError
from pagelab.machine import Machine
from pagelab.spec import PolicySpec
from pagelab.units import PAGE_SIZES, PageSize, page_size_bytes

VA_BITS = 48
_LEVEL_NAMES = {4: ("pgd", "pud", "pmd", "pte"), 3: ("pgd", "pmd", "pte")}
_CONTPTE_BYTES = {12: 64 << 10, 14: 2 << 20, 16: 2 << 20}
"""arm64 contiguous-PTE block per granule shift: 16 × 4K, 128 × 16K, 32 × 64K."""


@dataclass(frozen=True)
class Geometry:
    """Radix page tables of one granule over a 48-bit address space."""

    granule_shift: int

    @property
    def granule_bytes(self) -> int:
        return 1 << self.granule_shift

    @property
    def fanout_bits(self) -> int:
        return self.granule_shift - 3

    @property
    def fanout(self) -> int:
        return 1 << self.fanout_bits

    @property
    def levels(self) -> int:
        return -(-(VA_BITS - self.granule_shift) // self.fanout_bits)

    def level_shift(self, level: int) -> int:
        """log2 of the bytes one entry at ``level`` maps."""
        return self.granule_shift + (self.levels - 1 - level) * self.fanout_bits

    @property
    def level_names(self) -> tuple[str, ...]:
        return _LEVEL_NAMES[self.levels]

    def leaf_level_of(self, size_bytes: int) -> int | None:
        for level in range(self.levels):
            if 1 << self.level_shift(level) == size_bytes:
                return level
        return None

    def subtree_tables(self, level: int) -> int:
        """Tables needed to map one entry at ``level`` down to PTEs (a THP deposit)."""
        return sum(self.fanout**depth for depth in range(self.levels - 1 - level))


@dataclass(frozen=True)
class MappingKind:
    """One way a fault may map memory, tried largest first."""

    folio_size: PageSize
    leaf_level: int
    entries: int
    tlb_size: PageSize
    needs_thp: bool
    may_cross_vma_edge: bool
    deposit_tables: int

    @property
    def folio_bytes(self) -> int:
        return page_size_bytes(self.folio_size)


@dataclass(frozen=True)
class MappingPlan:
    geometry: Geometry
    kinds: tuple[MappingKind, ...]
    base_mode: str

    @property
    def folio_sizes(self) -> tuple[PageSize, ...]:
        """Every folio size a run may hold, smallest first: those faults create and the
        smaller huge pages a ``pmd_first`` split leaves (a 1 GiB THP's 2 MiB parts)."""
        sizes = {kind.folio_size for kind in self.kinds}
        pte_level = self.geometry.levels - 1
        for kind in self.kinds:
            for level in range(kind.leaf_level + 1, pte_level):
                sizes.add(_size_name(1 << self.geometry.level_shift(level)))
        return tuple(sorted(sizes, key=page_size_bytes))


def _size_name(size_bytes: int) -> PageSize:
    for size in PAGE_SIZES:
        if page_size_bytes(size) == size_bytes:
            return size
    raise SpecError(f"no translation size of {size_bytes} bytes")


def plan_mappings(policy: PolicySpec, machine: Machine) -> MappingPlan:
    """Work out the page-table granule and every mapping a fault may create."""
    base_bytes = page_size_bytes(policy.base_page)
    mode = policy.base_page_mode
    if mode == "auto":
        mode = "native" if policy.base_page in machine.granules else "per_process"
    if mode == "native" and policy.base_page not in machine.granules:
        have = ", ".join(machine.granules)
        raise SpecError(
            f"machine {machine.preset} has no {policy.base_page} granule (it has {have}); use "
            "base_page_mode per_process or kernel_page",
            field="policy.base_page_mode",
        )
    if mode != "native" and policy.base_page == "4K":
        mode = "native"
    granule_shift = base_bytes.bit_length() - 1 if mode == "native" else 12
    geometry = Geometry(granule_shift)
    pte_level = geometry.levels - 1
    contpte = machine.contiguous_pte and policy.contiguous_pte
    coalesce_bytes = machine.pte_coalescing << 12 if granule_shift == 12 else 0

    def pte_block_tlb_size(block_bytes: int) -> PageSize:
        contpte_bytes = _CONTPTE_BYTES[granule_shift]
        if contpte and block_bytes >= contpte_bytes:
            return _size_name(contpte_bytes)
        if coalesce_bytes > geometry.granule_bytes and block_bytes >= coalesce_bytes:
            return _size_name(coalesce_bytes)
        return _size_name(geometry.granule_bytes)

    # Anonymous THPs deposit the tables a split would need (only anonymous VMAs do; the
    # fault path checks the backing): the PMD level by mainline rule, the PUD level per RFC.
    deposits = {pte_level - 1: policy.deposit.pmd, pte_level - 2: policy.deposit.pud}
    kinds: list[MappingKind] = []
    for thp_size in sorted(set(policy.thp_sizes), key=page_size_bytes, reverse=True):
        if not policy.any_thp:
            break
        thp_bytes = page_size_bytes(thp_size)
        leaf_level = geometry.leaf_level_of(thp_bytes)
        if leaf_level is not None and leaf_level < pte_level:
            kinds.append(
                MappingKind(
                    folio_size=thp_size,
                    leaf_level=leaf_level,
                    entries=1,
                    tlb_size=thp_size,
                    needs_thp=True,
                    may_cross_vma_edge=False,
                    deposit_tables=(
                        geometry.subtree_tables(leaf_level) if deposits.get(leaf_level) else 0
                    ),
                )
            )
        elif geometry.granule_bytes < thp_bytes < 1 << geometry.level_shift(pte_level - 1):
            kinds.append(
                MappingKind(
                    folio_size=thp_size,
                    leaf_level=pte_level,
                    entries=thp_bytes >> granule_shift,
                    tlb_size=pte_block_tlb_size(thp_bytes),
                    needs_thp=True,
                    may_cross_vma_edge=False,
                    deposit_tables=0,
                )
            )
        else:
            raise SpecError(
                f"THP size {thp_size} cannot be mapped with a {geometry.granule_bytes >> 10}K "
                "granule",
                field="policy.thp_sizes",
            )
    if base_bytes > geometry.granule_bytes:
        kinds.append(
            MappingKind(
                folio_size=policy.base_page,
                leaf_level=pte_level,
                entries=base_bytes >> granule_shift,
                tlb_size=pte_block_tlb_size(base_bytes),
                needs_thp=False,
                may_cross_vma_edge=mode == "kernel_page",
                deposit_tables=0,
            )
        )
    if mode != "kernel_page":
        granule = _size_name(geometry.granule_bytes)
        kinds.append(
            MappingKind(
                folio_size=granule,
                leaf_level=pte_level,
                entries=1,
                tlb_size=granule,
                needs_thp=False,
                may_cross_vma_edge=False,
                deposit_tables=0,
            )
        )
    return MappingPlan(geometry=geometry, kinds=tuple(kinds), base_mode=mode)
