"""Access-aware THP (``policy.thp: access_aware``), after DAMON's ``damos_hugepage``
prototype (LSFMM 2026, "A 2026 DAMON update"): at each epoch end, collapse hot 2 MiB ranges
into THPs and split sparse, cold THPs, optionally tuning the hotness threshold toward a goal.
The parameters, and every simplification, are ``AccessAwareThpSpec``'s docstring.

The policy runs only at epoch ends, off the per-access path: a run without it pays nothing.
What it reads: each 2 MiB region row's accesses in the epoch (``Translator.row_accesses``,
before the heatmap takes them) and its touched 4 KiB pages (``row_touched``).

Goal rule (a clamped multiplicative step): with ``f`` = measured / target,
``next = last × min(2, max(1/2, f))`` (``f`` = 1/2 when the metric is 0), kept within
[1, 10^12] accesses. Measured after the epoch's collapses and splits, it sets the threshold
the next epoch end uses. The policy acts before the epoch's row is recorded, so the row
holds its collapses, their time and the threshold it set.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pagelab._kernels import collapse, remap
from pagelab._kernels import counters as C
from pagelab.mappings import check_split
from pagelab.policies.access_aware_spec import AccessAwareThpSpec
from pagelab.translation import Translator
from pagelab.units import PAGE_SIZES

I64 = npt.NDArray[np.int64]
PAGES_PER_RANGE = 512  # 4 KiB pages in a 2 MiB range
MAX_THRESHOLD = 1e12
THRESHOLD_METRIC = "access_aware_collapse_min_accesses"


def huge_page_ratio(counts: I64) -> float:
    """Resident bytes in folios of 2 MiB or more / resident bytes (0 when none)."""
    resident = counts[C.RESIDENT_BYTES : C.RESIDENT_BYTES + C.SIZES]
    total = int(resident.sum())
    return int(resident[collapse.HUGE :].sum()) / total if total else 0.0


def bloat_bytes(counts: I64) -> int:
    """Resident bytes never touched (as the run's ``bloat_bytes``)."""
    resident = int(counts[C.RESIDENT_BYTES : C.RESIDENT_BYTES + C.SIZES].sum())
    return resident - int(counts[C.TOUCHED_PAGES]) * 4096


class AccessAwareThp:
    """Collapses and splits for one run (``translator``'s); see the module."""

    def __init__(self, spec: AccessAwareThpSpec, translator: Translator, *, deposit: bool):
        """``deposit``: a 2 MiB THP keeps a PTE table for its split (``thp_deposit.pmd``)."""
        self.spec = spec
        self.translator = translator
        self.deposit = deposit
        self.threshold = spec.collapse_min_accesses
        self.huge_tlb = PAGE_SIZES.index("2M")

    def end_epoch(self) -> None:
        """Collapse hot ranges, split sparse cold THPs, shoot the TLB down once if anything
        changed, then tune the threshold toward the goal."""
        t = self.translator
        rows = t.rows_used
        pids, bases = t.region_bases()
        accesses = t.row_accesses[:rows]
        mapped = np.empty(rows, dtype=np.int64)
        collapse.classify(pids, bases, t.shape, t.upper, t.ptes, t.roots, t.level_shift,
                          t.vmas, t.pid_vmas, mapped)  # fmt: skip
        changed = False
        if self.spec.collapses:
            hot = np.flatnonzero((mapped == collapse.MAPPED_PTES) & (accesses >= self.threshold))
            for row in hot[np.argsort(-accesses[hot], kind="stable")]:
                status = collapse.collapse(
                    int(pids[row]), int(bases[row]), self.deposit, self.huge_tlb, t.shape,
                    t.upper, t.ptes, t.roots, t.level_tables, t.level_shift, t.counts,
                    t.hash_keys, t.hash_rows, t.row_tiers, *t.memory.arrays, t.moves,
                )  # fmt: skip
                changed |= status == remap.OK
        if self.spec.splits:
            touched = touched_pages(t.row_touched, rows)
            sparse = (
                (mapped == collapse.MAPPED_THP)
                & (touched < self.spec.split_max_touched_ratio * PAGES_PER_RANGE)
                & (accesses < self.threshold)
            )
            for row in np.flatnonzero(sparse):
                status = collapse.split_sparse(
                    int(pids[row]), int(bases[row]), int(row), t.shape, t.upper, t.ptes,
                    t.roots, t.state[0:2], t.level_tables, t.level_shift, t.counts,
                    t.hash_keys, t.hash_rows, t.row_tiers, t.row_touched, t.row_young,
                    t.row_hint, *t.memory.arrays,
                )  # fmt: skip
                check_split(status)
                changed |= status == remap.OK
        if changed:
            t.flush_tlb()
        self.tune()

    def tune(self) -> None:
        """One step of the goal rule (see the module); nothing without a goal."""
        goal = self.spec.goal
        if goal is None:
            return
        counts = self.translator.counts
        if goal.metric == "bloat_bytes":
            measured = float(bloat_bytes(counts))
        else:
            measured = huge_page_ratio(counts)
        factor = 0.5 if measured <= 0 else min(2.0, max(0.5, measured / goal.target))
        self.threshold = min(MAX_THRESHOLD, max(1.0, self.threshold * factor))

    def tuned_values(self) -> dict[str, float]:
        return {THRESHOLD_METRIC: self.threshold}


def touched_pages(row_touched: I64, rows: int) -> I64:
    """Touched 4 KiB pages of each of the first ``rows`` region rows."""
    bits = np.unpackbits(row_touched[: rows * 8].view(np.uint8)).reshape(rows, PAGES_PER_RANGE)
    return bits.sum(axis=1, dtype=np.int64)
