"""Changing a run's mappings between accesses: workload events (munmap, mprotect,
MADV_DONTNEED) and the splits and zaps policies ask for.

An event's range is widened to whole granules (the kernel's page): munmap rounds a length up,
and a start inside a page is rounded down here rather than refused with EINVAL. First the
huge mappings that straddle either edge are split (``policy.thp_split``: ``full`` or
``pmd_first``, see ``_kernels.remap``), then:

- ``munmap``: every mapping in the range is zapped (folios freed, deposits with them), the
  process's VMAs lose the range, and page tables left mapping nothing between the
  neighbouring VMAs are freed, as ``free_pgtables`` does;
- ``mprotect``: the VMAs are split at the edges (the range's protection differs, so a later
  THP fault cannot span an edge); the mappings stay;
- ``madvise_dontneed``: every mapping in the range is zapped; VMAs and page tables stay (a
  later access faults a new page in);
- ``madvise_collapse``: each 2 MiB range inside the range, in an anonymous VMA not advised
  ``nohugepage`` and mapped by 4 KiB pages, is collapsed into a THP (``_kernels.collapse``:
  a 2 MiB folio allocated with direct compaction, present pages copied, the rest cleared,
  the PTE table kept as the deposit), as MADV_COLLAPSE does synchronously whatever the THP
  settings; no edge is split. Its work is charged as a collapse (``thp_collapse_ns``).

Each event then shoots the TLB down once (``Translator.flush_tlb``): ranges are usually
larger than the 33 pages above which x86 flushes everything.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from pagelab._kernels import collapse, remap
from pagelab._kernels import counters as C
from pagelab.address_space import MappedVma
from pagelab.errors import PagelabError
from pagelab.translation import MAX_PTE_TABLE_BYTES, Translator
from pagelab.units import MAX_ADDRESS_BYTES, PAGE_SIZES
from pagelab.workloads.base import EVENT_KINDS, MemoryEvent


class Mappings:
    """Split, zap and unmap ranges of one run's address space (``translator``'s)."""

    def __init__(
        self, translator: Translator, *, full_split: bool, deposit_pmd: bool = True
    ) -> None:
        """``full_split``: huge mappings split straight to PTEs (``thp_split: full``), else
        one level at a time (``pmd_first``); ``deposit_pmd``: a collapsed THP keeps its PTE
        table as a deposit (``thp_deposit.pmd``)."""
        self.translator = translator
        self.full_split = full_split
        self.deposit_pmd = deposit_pmd

    def apply(self, event: MemoryEvent) -> None:
        """Carry out one workload event (see the module)."""
        t = self.translator
        granule = t.plan.geometry.granule_bytes
        start = event.start // granule * granule
        end = min(-(-(event.start + event.size_bytes) // granule) * granule, MAX_ADDRESS_BYTES)
        pid = event.pid
        if event.kind == "madvise_collapse":
            self._collapse(pid, start, end)
            t.counts[C.EVENTS + EVENT_KINDS.index(event.kind)] += 1
            return
        self.split_at(pid, start)
        self.split_at(pid, end)
        if event.kind in ("munmap", "madvise_dontneed"):
            self.zap(pid, start, end)
        if event.kind == "munmap":
            floor, ceiling = self._unmap_vmas(pid, start, end)
            self.free_tables(pid, start, end, floor, ceiling)
        elif event.kind == "mprotect":
            self._split_vmas(pid, start, end)
        t.flush_tlb()
        t.counts[C.EVENTS + EVENT_KINDS.index(event.kind)] += 1

    def _collapse(self, pid: int, start: int, end: int) -> None:
        """MADV_COLLAPSE of ``[start, end)``: each 2 MiB range inside it that may be
        collapsed; one shootdown if any was."""
        t = self.translator
        if t.plan.geometry.granule_shift != 12:
            raise PagelabError(
                "madvise_collapse collapses 2 MiB THPs over 4 KiB pages: it needs a 4K granule"
            )
        huge = 2 << 20
        collapsed = False
        for vma in t.mapped_vmas:
            if vma.pid != pid or not vma.may_collapse:
                continue
            first = -(-max(start, vma.start) // huge) * huge
            for va in range(first, min(end, vma.end) - huge + 1, huge):
                status = collapse.collapse(
                    pid, va, self.deposit_pmd and vma.anonymous, PAGE_SIZES.index("2M"),
                    t.shape, t.upper, t.ptes, t.roots, t.level_tables, t.level_shift,
                    t.counts, t.hash_keys, t.hash_rows, t.row_tiers, *t.memory.arrays, t.moves,
                )  # fmt: skip
                collapsed |= status == remap.OK
        if collapsed:
            t.flush_tlb()

    def split_at(self, pid: int, address: int) -> None:
        """Split the huge mappings of ``pid`` that straddle ``address``."""
        t = self.translator
        if t.row_tiers.size:
            # PTEs keep no tier: the huge page's region rows must exist to hold it.
            span = 1 << 30
            t.add_regions(pid, address // span * span, -(-address // span) * span)
        status = remap.split_at(
            pid, address, self.full_split, t.shape, t.upper, t.ptes, t.roots, t.state[0:2],
            t.level_tables, t.level_shift, t.counts, *t.memory.arrays,
        )  # fmt: skip
        check_split(status)

    def zap(self, pid: int, start: int, end: int) -> None:
        """Unmap every page of ``[start, end)`` (no huge mapping may straddle an edge) and
        forget its pages' per-page state."""
        t = self.translator
        remap.zap(
            pid, start, end, t.shape, t.upper, t.ptes, t.roots, t.level_shift, t.counts,
            t.hash_keys, t.hash_rows, t.row_tiers, *t.memory.arrays,
        )  # fmt: skip
        remap.forget_pages(pid, start, end, t.hash_keys, t.hash_rows, t.row_touched,
                           t.row_young, t.row_hint, t.counts)  # fmt: skip

    def free_tables(self, pid: int, start: int, end: int, floor: int, ceiling: int) -> int:
        """Free the empty page tables under ``[start, end)`` within ``[floor, ceiling)``."""
        t = self.translator
        freed = remap.free_tables(
            pid, start, end, floor, ceiling, t.shape, t.upper, t.ptes, t.roots,
            t.level_tables, t.level_shift, *t.memory.arrays,
        )  # fmt: skip
        return int(freed)

    def _unmap_vmas(self, pid: int, start: int, end: int) -> tuple[int, int]:
        """Take ``[start, end)`` out of ``pid``'s VMAs; returns (floor, ceiling): the end of
        the VMA below the range and the start of the one above (0 and 2^48 if none)."""
        t = self.translator
        kept: list[MappedVma] = []
        floor, ceiling = 0, MAX_ADDRESS_BYTES
        for vma in t.mapped_vmas:
            if vma.pid != pid:
                kept.append(vma)
                continue
            if vma.start < start:
                kept.append(replace(vma, end=min(vma.end, start)))
            if vma.end > end:
                kept.append(replace(vma, start=max(vma.start, end)))
            if vma.start < start:
                floor = max(floor, min(vma.end, start))
            if vma.end > end:
                ceiling = min(ceiling, max(vma.start, end))
        t.set_vmas(kept)
        return floor, ceiling

    def _split_vmas(self, pid: int, start: int, end: int) -> None:
        """Cut ``pid``'s VMAs at ``start`` and ``end``."""
        t = self.translator
        cut: list[MappedVma] = []
        for vma in t.mapped_vmas:
            edges = [vma.start]
            if vma.pid == pid:
                edges += [edge for edge in (start, end) if vma.start < edge < vma.end]
            edges.append(vma.end)
            cut.extend(replace(vma, start=a, end=b) for a, b in itertools.pairwise(edges))
        t.set_vmas(cut)


def check_split(status: int) -> None:
    """Raise for a split that failed (``remap.NO_TABLES`` or ``NO_MEMORY``)."""
    if status == remap.NO_TABLES:
        raise PagelabError(
            "a split needs more page tables than the simulator's bound "
            f"({MAX_PTE_TABLE_BYTES >> 30} GiB of PTE tables); simulate a smaller footprint"
        )
    if status == remap.NO_MEMORY:
        raise PagelabError("out of memory: no frame for the page tables a split needs")
