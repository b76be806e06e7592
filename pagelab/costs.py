"""The cost model: simulated time from the counters of a stretch of accesses.

- Core work: ``cycles_per_access`` per access.
- Translation: each miss at TLB level n costs level n+1's ``hit_cycles``; each table entry a
  walk fetches costs ``memory_reference_cycles``.
- Faults: ``entry_ns`` each (NUMA hint faults too) plus clearing the folio at its size's
  rate for a fault that allocates one (a minor fault, mapping a shared page already
  resident, pays ``entry_ns`` only: ``FAULTS_BY_SIZE`` counts allocating faults); direct
  compaction and the 1 GiB range search stall the faulting process; so do
  migrations a policy makes in the faulting task (a hint fault's promotion).
- Memory: each access that reaches memory (every access without an LLC filter) costs its
  tier's latency, divided by ``memory_parallelism``. A tier's latency rises with the
  bandwidth demanded of it (``Tier.latency_ns``): 64 bytes per access over the stretch's
  time. Time depends on latency and latency on time, so the stretch's time is the fixed point
  ``T = other + Σ_t n_t · L_t(64 n_t / (T · bw_t)) / parallelism`` (found by bisection;
  the right side falls as T grows), and never less than any tier's bytes over its peak
  bandwidth.
- Collapses (access-aware THP): each 4 KiB page present is copied at
  ``migration_cost.copy_gb_per_s`` (4096 B / 10.7 GB/s ≈ 383 ns by default), each absent
  one cleared at the 4 KiB clearing rate, and the allocation's compaction priced as
  ``compaction_cost``. kdamond does this work, not the application (it takes no fault), but
  the simulated clock is one CPU's, so it is added to the run's time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pagelab._kernels import counters as C
from pagelab.machine import Machine
from pagelab.spec import PolicySpec
from pagelab.units import PAGE_SIZES

LINE_BYTES = 64
_BISECTIONS = 60


@dataclass(frozen=True)
class StretchCosts:
    """Times of one stretch of accesses, in ns, and each tier's loaded latency."""

    compute_ns: float
    translation_ns: float
    walk_cycles: float
    fault_ns: float
    memory_ns: float
    runtime_ns: float
    tier_latency_ns: tuple[float, ...]
    tier_utilisation: tuple[float, ...]
    tier_accesses: tuple[float, ...]
    collapse_ns: float = 0.0


class CostModel:
    def __init__(self, machine: Machine, policy: PolicySpec, folio_sizes: list[int]) -> None:
        self.machine = machine
        self.policy = policy
        self.folio_sizes = folio_sizes
        # Clearing time per folio of each size, worked out once (the clock asks often).
        self.zero_ns = {size: policy.fault_cost.zero_ns(PAGE_SIZES[size]) for size in folio_sizes}
        self.copy_ns_per_4k = 4096 / policy.migration_cost.copy_gb_per_s
        self.zero_ns_per_4k = policy.fault_cost.zero_ns("4K")

    def collapse_ns(self, counts: npt.NDArray[np.int64]) -> float:
        """Kernel time of the collapses ``counts`` counts (see the module)."""
        compaction = self.policy.compaction_cost
        return (
            float(counts[C.COLLAPSE_PAGES_COPIED]) * self.copy_ns_per_4k
            + float(counts[C.COLLAPSE_PAGES_ZEROED]) * self.zero_ns_per_4k
            + float(counts[C.COLLAPSE_PAGES_MIGRATED]) * compaction.migrate_ns_per_4k
            + float(counts[C.COLLAPSE_PAGES_SCANNED]) * compaction.scan_ns_per_4k
        )

    def stretch(
        self, counts: npt.NDArray[np.int64], stall_ns: float, latency_ns: tuple[float, ...] | None
    ) -> StretchCosts:
        """Costs of the accesses ``counts`` (a difference of counter snapshots) counts, with
        ``stall_ns`` of other work the application waited for (compaction, migration).

        ``latency_ns`` given: use these tier latencies instead of solving for the loaded ones
        (the clock's estimate inside an epoch, before its bandwidth is known)."""
        machine = self.machine
        ghz = machine.cpu.frequency_ghz
        walk_cycles = float(counts[C.WALK_REFERENCES]) * machine.walk_cache.memory_reference_cycles
        translation_cycles = walk_cycles
        for index, level in enumerate(machine.tlb.levels[1:]):
            translation_cycles += float(counts[C.TLB_MISSES + index]) * level.hit_cycles
        fault_cost = self.policy.fault_cost
        fault_ns = float(counts[C.FAULTS] + counts[C.HINT_FAULTS]) * fault_cost.entry_ns
        for size_id, zero_ns in self.zero_ns.items():
            fault_ns += float(counts[C.FAULTS_BY_SIZE + size_id]) * zero_ns
        fault_ns += stall_ns
        compute_ns = float(counts[C.ACCESSES]) * machine.cpu.cycles_per_access / ghz
        translation_ns = translation_cycles / ghz
        collapse_ns = self.collapse_ns(counts)
        other_ns = compute_ns + translation_ns + fault_ns + collapse_ns
        accesses = [float(counts[C.TIER_MEMORY_ACCESSES + t]) for t in range(len(machine.tiers))]
        if latency_ns is None:
            runtime_ns, latency_ns = self._loaded(other_ns, accesses)
        else:
            runtime_ns = other_ns + self._memory_ns(accesses, latency_ns)
        memory_ns = runtime_ns - other_ns
        utilisation = tuple(
            _utilisation(n, runtime_ns, tier.bandwidth_gbps)
            for n, tier in zip(accesses, machine.tiers, strict=True)
        )
        return StretchCosts(
            compute_ns=compute_ns,
            translation_ns=translation_ns,
            walk_cycles=walk_cycles,
            fault_ns=fault_ns,
            memory_ns=memory_ns,
            runtime_ns=runtime_ns,
            tier_latency_ns=latency_ns,
            tier_utilisation=utilisation,
            tier_accesses=tuple(accesses),
            collapse_ns=collapse_ns,
        )

    def idle_latencies(self) -> tuple[float, ...]:
        return tuple(tier.idle_latency_ns for tier in self.machine.tiers)

    def _memory_ns(self, accesses: list[float], latency_ns: tuple[float, ...]) -> float:
        parallelism = self.machine.cpu.memory_parallelism
        return sum(n * lat for n, lat in zip(accesses, latency_ns, strict=True)) / parallelism

    def _latencies(self, accesses: list[float], runtime_ns: float) -> tuple[float, ...]:
        return tuple(
            tier.latency_ns(_utilisation(n, runtime_ns, tier.bandwidth_gbps))
            for n, tier in zip(accesses, self.machine.tiers, strict=True)
        )

    def _loaded(self, other_ns: float, accesses: list[float]) -> tuple[float, tuple[float, ...]]:
        """The stretch's time and tier latencies at the fixed point (see the module)."""
        tiers = self.machine.tiers
        if not any(accesses):
            return other_ns, self.idle_latencies()
        low = other_ns + self._memory_ns(accesses, self.idle_latencies())
        saturated = tuple(t.idle_latency_ns * t.loaded_latency.saturated_factor for t in tiers)
        high = other_ns + self._memory_ns(accesses, saturated)
        for _ in range(_BISECTIONS):
            middle = 0.5 * (low + high)
            if other_ns + self._memory_ns(accesses, self._latencies(accesses, middle)) > middle:
                low = middle
            else:
                high = middle
        floor = max(n * LINE_BYTES / t.bandwidth_gbps for n, t in zip(accesses, tiers, strict=True))
        runtime_ns = max(high, other_ns + floor)
        return runtime_ns, self._latencies(accesses, runtime_ns)


def _utilisation(accesses: float, runtime_ns: float, bandwidth_gbps: float) -> float:
    """Demanded bandwidth over peak: bytes per ns is GB/s."""
    if runtime_ns <= 0.0:
        return 0.0
    return accesses * LINE_BYTES / runtime_ns / bandwidth_gbps
