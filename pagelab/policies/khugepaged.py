"""khugepaged: the kernel thread that collapses 2 MiB ranges of 4 KiB pages into THPs in the
background, at its own, slow pace (``policy.khugepaged``, Linux's defaults).

Each pass looks at ``pages_to_scan / 512`` consecutive 2 MiB ranges of the processes'
THP-eligible anonymous VMAs (``thp: always``, or ``madvise`` on VMAs advised ``hugepage``),
going on from where the last pass stopped and round the address space; a range mapped by
4 KiB pages with at most ``max_ptes_none`` empty PTEs and one page referenced is collapsed
(``_kernels.collapse``: a 2 MiB folio with direct compaction, as ``khugepaged/defrag`` 1,
present pages copied, the PTE table kept as the deposit). Then it sleeps ``scan_sleep_ms``,
or ``alloc_sleep_ms`` after a failed allocation. With the defaults that is 16 MiB of
address space every 10 s: in a run of a few simulated seconds, one pass. It never makes a
1 GiB page.

Simplifications: passes run at epoch ends, as many as the simulated time since the last
one allows (not at their exact instants); "referenced" is "touched during the run" (Linux
reads the young bit and the folio's referenced flag); shmem and file ranges are not
collapsed; the work is kernel time added to the run's time like other collapses
(``thp_collapse_ns``), though khugepaged runs on a CPU of its own.
"""

from __future__ import annotations

from pagelab._kernels import collapse, regions, remap
from pagelab._kernels import counters as C
from pagelab.spec import KhugepagedSpec
from pagelab.translation import Translator
from pagelab.units import PAGE_SIZES

RANGE_BYTES = 2 << 20
PAGES_PER_RANGE = 512


class Khugepaged:
    """khugepaged over one run's address space (``translator``'s); see the module."""

    def __init__(self, spec: KhugepagedSpec, translator: Translator, *, deposit: bool) -> None:
        """``deposit``: a collapsed THP keeps its PTE table (``thp_deposit.pmd``)."""
        self.spec = spec
        self.translator = translator
        self.deposit = deposit
        self.next_pass_ns = 0.0
        self.cursor = (0, 0)  # (pid, address) where the next pass starts

    def end_epoch(self, now_ns: float) -> None:
        """Run every pass due by ``now_ns``; one TLB shootdown if anything was collapsed."""
        collapsed = False
        while self.next_pass_ns <= now_ns:
            done, failed = self._pass()
            collapsed |= done
            sleep_ms = self.spec.alloc_sleep_ms if failed else self.spec.scan_sleep_ms
            self.next_pass_ns += sleep_ms * 1e6
        if collapsed:
            self.translator.flush_tlb()

    def _eligible(self) -> list[tuple[int, int, int, bool]]:
        """(pid, first range, end, anonymous) of each VMA khugepaged may collapse in, in
        address order."""
        huge = PAGE_SIZES.index("2M")
        spans = []
        for vma in self.translator.mapped_vmas:
            if not vma.may_collapse or huge not in vma.thp_size_ids:
                continue
            first = -(-vma.start // RANGE_BYTES) * RANGE_BYTES
            end = vma.end // RANGE_BYTES * RANGE_BYTES
            if first < end:
                spans.append((vma.pid, first, end, vma.anonymous))
        return spans

    def _pass(self) -> tuple[bool, bool]:
        """One pass from the cursor; (anything collapsed, an allocation failed)."""
        spans = self._eligible()
        if not spans:
            return False, False
        # The span holding the cursor or the first after it, then on round the address space.
        index = next((i for i, (pid, _, end, _) in enumerate(spans)
                      if (pid, end) > self.cursor), 0)  # fmt: skip
        pid, first, end, anonymous = spans[index]
        va = max(first, self.cursor[1]) if pid == self.cursor[0] else first
        collapsed = False
        for _ in range(max(1, self.spec.pages_to_scan // PAGES_PER_RANGE)):
            if va >= end:
                index = (index + 1) % len(spans)
                pid, first, end, anonymous = spans[index]
                va = first
            status = self._consider(pid, va, anonymous)
            self.translator.counts[C.KHUGEPAGED_RANGES] += 1
            va += RANGE_BYTES
            self.cursor = (pid, va)
            if status == collapse.NO_BLOCK:
                return collapsed, True
            collapsed |= status == remap.OK
        return collapsed, False

    def _consider(self, pid: int, va: int, anonymous: bool) -> int:
        """Collapse the range at ``va`` if it qualifies; the collapse's status, or SKIPPED."""
        t = self.translator
        present = collapse.mapped_ptes(pid, va, t.shape, t.upper, t.ptes, t.roots,
                                       t.level_shift)  # fmt: skip
        if present < PAGES_PER_RANGE - self.spec.max_ptes_none or present <= 0:
            return collapse.SKIPPED
        row = int(regions.find_row(t.hash_keys, t.hash_rows, regions.region_key(pid, va)))
        per = regions.WORDS_PER_REGION
        if row < 0 or not t.row_touched[row * per : (row + 1) * per].any():
            return collapse.SKIPPED
        status = collapse.collapse(
            pid, va, self.deposit and anonymous, PAGE_SIZES.index("2M"), t.shape, t.upper,
            t.ptes, t.roots, t.level_tables, t.level_shift, t.counts, t.hash_keys, t.hash_rows,
            t.row_tiers, *t.memory.arrays, t.moves,
        )  # fmt: skip
        return int(status)
