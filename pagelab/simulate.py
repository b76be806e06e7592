"""Run one spec: stream the workload through the compiled per-access path, epoch by epoch."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from pagelab._kernels import counters as C
from pagelab.address_space import infer_vmas
from pagelab.costs import CostModel, StretchCosts
from pagelab.errors import Cancelled, SpecError
from pagelab.heatmap import HeatmapBuilder
from pagelab.machine import Machine, metric_name, resolve_machine
from pagelab.mappings import Mappings
from pagelab.memory.report import MemoryRecorder
from pagelab.paging import MappingPlan, plan_mappings
from pagelab.policies import NEVER, TieringPolicy, make_policy
from pagelab.policies.access_aware import AccessAwareThp, huge_page_ratio
from pagelab.policies.damon import DamonSpec, check_tiers
from pagelab.policies.interleave import InterleaveSpec
from pagelab.policies.khugepaged import Khugepaged
from pagelab.policies.oracle import OracleSpec
from pagelab.results import Number, Result, ResultMeta
from pagelab.spec import CHOICE_TAGS, Spec
from pagelab.tiers import MigrationTotals, Tiers
from pagelab.translation import Translator, physical_memory
from pagelab.units import PAGE_SIZES
from pagelab.version import ENGINE_VERSION
from pagelab.workloads import GENERATORS, build_workload
from pagelab.workloads.base import EVENT_KINDS, AccessChunk, Workload
from pagelab.workloads.stream import slice_chunk

CHUNK_ACCESSES = 1 << 20
MIN_SLICE = 64
"""Fewest accesses the simulator runs between two looks at the clock for a policy."""


@dataclass(frozen=True)
class Progress:
    """How far a run is: ``accesses_total`` is None when the trace length is unknown."""

    accesses_done: int
    accesses_total: int | None


def load_spec(data: dict[str, Any]) -> Spec:
    """Validate ``data`` into a runnable Spec, or raise SpecError naming the field at fault."""
    try:
        spec = Spec.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        raise SpecError(_message(first["msg"]), field=_field_path(first["loc"])) from error
    check_spec(spec)
    return spec


_CHOICE_FIELDS = ("ageing", "thp_1g", "thp_deposit")


def _field_path(location: tuple[int | str, ...]) -> str:
    """Dotted path as a user writes it: pydantic puts a generator's name into the path of its
    fields (``workload.generator.zipf.alpha``), which is not where the field is written."""
    parts = [str(part) for part in location]
    if parts[:2] == ["workload", "generator"] and len(parts) > 3 and parts[2] in GENERATORS:
        del parts[2]
    # Likewise the choice of a field that takes a name or an object (``CHOICE_TAGS``).
    parts = [
        part
        for index, part in enumerate(parts)
        if not (index and part in CHOICE_TAGS and parts[index - 1] in _CHOICE_FIELDS)
    ]
    return ".".join(parts)


def _message(text: str) -> str:
    return text.removeprefix("Value error, ")


def check_spec(spec: Spec) -> tuple[Machine, MappingPlan]:
    """Checks that need the machine: the preset exists and the policy fits the hardware."""
    machine = resolve_machine(spec.machine)
    plan = plan_mappings(spec.policy, machine)
    generator = spec.workload.generator
    if generator is not None and generator.events:
        # Lays out the generator's VMAs (cheap: no access is drawn) to place its events.
        build_workload(spec.workload, seed=spec.controls.seed, base_dir=None,
                       granule_bytes=plan.geometry.granule_bytes)  # fmt: skip
    tiering = spec.policy.tiering
    if isinstance(tiering, DamonSpec):
        check_tiers(tiering, len(machine.tiers))
    weights = tiering.weights if isinstance(tiering, InterleaveSpec) else "auto"
    if isinstance(weights, list) and len(weights) != len(machine.tiers):
        raise SpecError(
            f"interleave gives {len(weights)} weights for {len(machine.tiers)} "
            "tiers; give one per tier",
            field="policy.tiering.weights",
        )
    return machine, plan


def simulate(
    spec: Spec,
    *,
    base_dir: Path | None = None,
    confine_traces: bool = True,
    on_progress: Callable[[Progress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> Result:
    """Run ``spec``; relative trace paths resolve against ``base_dir``.

    With ``confine_traces`` a trace path must stay inside ``base_dir`` (a service's trace
    store); the command line turns it off for the user's own files.

    ``on_progress`` is called after each chunk; ``should_cancel`` is polled between chunks
    and a True answer raises Cancelled.
    """
    started = time.perf_counter()
    machine, plan = check_spec(spec)
    controls = spec.controls
    granule_bytes = plan.geometry.granule_bytes

    def open_workload() -> Workload:
        return build_workload(spec.workload, seed=controls.seed, base_dir=base_dir,
                              confine=confine_traces, granule_bytes=granule_bytes)  # fmt: skip

    workload = open_workload()
    vmas = workload.vmas
    if vmas is None:
        # A bare trace: read it once to see which addresses it touches (address_space).
        vmas = infer_vmas(_limited(open_workload().chunks(CHUNK_ACCESSES), controls.access_limit))
    memory = physical_memory(machine, plan, spec.policy, seed=controls.seed)
    translator = Translator(machine, plan, vmas, spec.policy, memory)
    memory_recorder = MemoryRecorder(memory, spec.policy, [tier.name for tier in machine.tiers])
    total = workload.total_accesses
    if controls.access_limit is not None:
        total = controls.access_limit if total is None else min(total, controls.access_limit)
    tiering = spec.policy.tiering
    tiers = Tiers(translator, machine.tiers, spec.policy.migration_cost,
                  charge=not isinstance(tiering, OracleSpec),
                  split_1g=spec.policy.thp_1g_migration == "split")  # fmt: skip
    policy = make_policy(tiering, tiers, seed=controls.seed)
    translator.placement = policy.placement()
    translator.track(policy.tracking)
    thp_policy = None
    if spec.policy.thp == "access_aware":
        thp_policy = AccessAwareThp(spec.policy.thp_access_aware, translator,
                                    deposit=spec.policy.deposit.pmd)  # fmt: skip
    khugepaged = None
    if spec.policy.khugepaged.enabled and "2M" in spec.policy.thp_sizes:
        khugepaged = Khugepaged(spec.policy.khugepaged, translator,
                                deposit=spec.policy.deposit.pmd)  # fmt: skip
    series = _SeriesRecorder(spec, machine, plan, translator, memory_recorder, tiers, policy,
                             thp_policy, khugepaged=khugepaged is not None)  # fmt: skip
    heatmap = HeatmapBuilder(controls.heatmap_time_bins, controls.heatmap_address_bins, total,
                             controls.epoch_accesses, [t.name for t in machine.tiers])  # fmt: skip

    mappings = Mappings(translator, full_split=spec.policy.thp_split == "full",
                        deposit_pmd=spec.policy.deposit.pmd)  # fmt: skip
    done = 0
    in_epoch = 0
    chunks = _limited(workload.chunks(CHUNK_ACCESSES), controls.access_limit)
    for chunk in _read_ahead(chunks):
        if should_cancel is not None and should_cancel():
            raise Cancelled()
        position = 0
        events = list(chunk.events)
        while True:
            while events and events[0].index == position:
                mappings.apply(events.pop(0))
            if position == len(chunk):
                break
            # Up to the epoch's end or the next event, whichever comes first.
            end = position + min(len(chunk) - position, controls.epoch_accesses - in_epoch)
            if events:
                end = min(end, events[0].index)
            if policy.wants_epoch_pages:
                policy.before_epoch(_page_keys(chunk, position, end))
            # The clock is read only for a policy that will wake.
            now_ns = series.now_ns() if policy.next_wake_ns() != NEVER else 0.0
            while position < end:
                # Stop at the policy's next wake-up on the simulated clock.
                step = series.accesses_until(policy.next_wake_ns(), end - position, now_ns)
                translator.run(chunk, position, position + step)
                position += step
                in_epoch += step
                done += step
                if policy.next_wake_ns() == NEVER:
                    continue
                now_ns = series.now_ns()
                if now_ns >= policy.next_wake_ns():
                    policy.wake(now_ns)
            if in_epoch == controls.epoch_accesses:
                if thp_policy is not None:
                    # Before the epoch closes: its row counts the collapses and their time.
                    thp_policy.end_epoch()
                series.close_epoch(done)
                policy.end_epoch(series.now_ns())
                if khugepaged is not None:
                    khugepaged.end_epoch(series.now_ns())
                heatmap.add_epoch(done, translator.take_region_accesses(), tiers.region_tiers())
                in_epoch = 0
        if on_progress is not None:
            on_progress(Progress(accesses_done=done, accesses_total=total))
    if in_epoch:
        series.close_epoch(done)
        heatmap.add_epoch(done, translator.take_region_accesses(), tiers.region_tiers())

    summary = series.summary()
    summary["vmas"] = len(vmas)
    summary["vmas_inferred"] = int(workload.vmas is None)
    meta = ResultMeta(
        engine_version=ENGINE_VERSION,
        spec_hash=spec.spec_hash(),
        seed=controls.seed,
        accesses=done,
        epochs=series.epochs,
        sim_seconds=time.perf_counter() - started,
    )
    return Result(
        meta=meta,
        summary=summary,
        series=series.columns,
        heatmap=heatmap.build(translator) if done else None,
        physical_memory=memory_recorder.tiers(),
    )


def _read_ahead(chunks: Iterator[AccessChunk], depth: int = 2) -> Iterator[AccessChunk]:
    """Yield ``chunks`` while a thread makes the next ones: generating or decoding a chunk
    (numpy, lzma) and simulating one (a compiled kernel) both release the GIL, so on two
    cores they overlap. The order, and so the result, is unchanged."""
    ready: queue.Queue[AccessChunk | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: AccessChunk | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not put(chunk):
                    return
            put(None)
        except BaseException as error:  # handed to the consumer, which raises it
            put(error)

    thread = threading.Thread(target=produce, name="pagelab-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _page_keys(chunk: AccessChunk, start: int, end: int) -> np.ndarray:
    """``pid << 36 | 4 KiB page number`` of each access in ``chunk[start:end]``."""
    pids = chunk.pid[start:end].astype(np.int64)
    return (pids << 36) | (chunk.address[start:end] >> np.uint64(12)).astype(np.int64)


def _limited(chunks: Iterator[AccessChunk], limit: int | None) -> Iterator[AccessChunk]:
    if limit is None:
        yield from chunks
        return
    left = limit
    for chunk in chunks:
        if left <= 0:
            return
        if len(chunk) > left:
            chunk = slice_chunk(chunk, 0, left)
        left -= len(chunk)
        yield chunk


class _SeriesRecorder:
    """Turns counter snapshots into per-epoch rows and the run's summary (``costs``), and
    keeps the simulated clock: the exact time at the last epoch's end, plus, inside an
    epoch, an estimate at the previous epoch's tier latencies (an epoch's loaded latencies
    are known only at its end)."""

    def __init__(
        self,
        spec: Spec,
        machine: Machine,
        plan: MappingPlan,
        translator: Translator,
        memory: MemoryRecorder,
        tiers: Tiers,
        policy: TieringPolicy,
        thp_policy: AccessAwareThp | None = None,
        *,
        khugepaged: bool = False,
    ):
        self.spec = spec
        self.thp_policy = thp_policy
        self.khugepaged = khugepaged
        self.memory = memory
        self.tiers = tiers
        self.policy = policy
        self.thp_sizes = [PAGE_SIZES.index(k.folio_size) for k in plan.kinds if k.needs_thp]
        self.machine = machine
        self.plan = plan
        self.translator = translator
        self.level_names = [metric_name(level.name) for level in machine.tlb.levels]
        self.tier_names = [tier.metric_name for tier in machine.tiers]
        self.folio_sizes = [PAGE_SIZES.index(size) for size in plan.folio_sizes]
        # THPs that may split: those faults create and the parts of split ones.
        self.split_sizes = [size for size in self.folio_sizes if size != self.folio_sizes[0]]
        self.costs = CostModel(machine, spec.policy, self.folio_sizes)
        self.columns: dict[str, list[Number]] = {}
        self.previous = translator.counts.copy()
        self.previous_totals = replace(tiers.totals)
        self.epochs = 0
        self.epoch_start_ns = 0.0
        self.latency_ns = self.costs.idle_latencies()
        self.totals = StretchTotals()

    # -- the clock ----------------------------------------------------------------------------

    def _stall_ns(self, counts: np.ndarray, migration_stall_ns: float) -> float:
        """Work the application waited for: compaction in faults, migration in hint faults."""
        stall = self.memory.work_ns(
            int(counts[C.STALL_PAGES_MIGRATED]), int(counts[C.STALL_PAGES_SCANNED])
        )
        return stall + migration_stall_ns

    def now_ns(self) -> float:
        """Simulated time now."""
        delta = self.translator.counts - self.previous
        if not delta[C.ACCESSES]:
            return self.epoch_start_ns
        migration_ns = self.tiers.totals.stall_ns - self.previous_totals.stall_ns
        costs = self.costs.stretch(delta, self._stall_ns(delta, migration_ns), self.latency_ns)
        return self.epoch_start_ns + costs.runtime_ns

    def accesses_until(self, wake_ns: float, remaining: int, now_ns: float) -> int:
        """How many of ``remaining`` accesses to run before looking at the clock again (it
        reads ``now_ns``): enough to reach ``wake_ns`` at the rate so far, and a tenth more,
        so that a wake-up comes after one look, not after ever shorter stretches towards it."""
        if wake_ns == NEVER or remaining <= MIN_SLICE:
            return remaining
        done = int(self.translator.counts[C.ACCESSES])
        if wake_ns <= now_ns:
            return min(remaining, MIN_SLICE)
        # The rate of this epoch so far (a run's first epoch, with its faults, is slower).
        in_epoch = done - int(self.previous[C.ACCESSES])
        elapsed = now_ns - self.epoch_start_ns
        ns_per_access = elapsed / in_epoch if in_epoch and elapsed > 0 else self.latency_ns[0]
        wanted = int(np.ceil(1.1 * (wake_ns - now_ns) / max(ns_per_access, 1e-3)))
        return int(min(remaining, max(MIN_SLICE, wanted)))

    # -- rows and summary ---------------------------------------------------------------------

    def _memory(self) -> dict[str, Number]:
        counts = self.translator.counts
        granule = self.plan.geometry.granule_bytes
        resident = int(sum(counts[C.RESIDENT_BYTES + s] for s in self.folio_sizes))
        touched = int(counts[C.TOUCHED_PAGES]) * 4096
        tables = int(self.translator.level_tables.sum()) + int(counts[C.DEPOSIT_TABLES])
        memory: dict[str, Number] = {
            "resident_bytes": resident,
            "touched_bytes": touched,
            "bloat_bytes": resident - touched,
            "huge_page_ratio": huge_page_ratio(counts),
            "page_table_bytes": tables * granule,
            "page_table_shared_bytes": int(counts[C.SHARED_TABLES]) * granule,
        }
        for size_id in self.folio_sizes:
            name = PAGE_SIZES[size_id].lower()
            memory[f"resident_bytes_{name}"] = int(counts[C.RESIDENT_BYTES + size_id])
        for level, name in enumerate(self.plan.geometry.level_names[1:], start=1):
            memory[f"live_mappings_{name}"] = int(counts[C.LIVE_MAPPINGS + level])
        for node, name in enumerate(self.tier_names):
            memory[f"resident_bytes_{name}"] = self.tiers.resident_bytes(node)
            memory[f"used_bytes_{name}"] = self.tiers.capacity_bytes(node) - self.tiers.free_bytes(
                node
            )
        return memory

    def _events(self, counts: np.ndarray) -> dict[str, int]:
        events = {
            "accesses": int(counts[C.ACCESSES]),
            "stores": int(counts[C.STORES]),
            "ifetches": int(counts[C.IFETCHES]),
        }
        for index, name in enumerate(self.level_names):
            events[f"tlb_{name}_misses"] = int(counts[C.TLB_MISSES + index])
        events.update(
            walks=int(counts[C.WALKS]),
            walk_references=int(counts[C.WALK_REFERENCES]),
            faults=int(counts[C.FAULTS]),
            llc_misses=int(counts[C.LLC_MISSES]),
            memory_accesses=int(counts[C.MEMORY_ACCESSES]),
            hint_faults=int(counts[C.HINT_FAULTS]),
            thp_splits=int(counts[C.THP_SPLITS]),
            faults_minor=int(counts[C.FAULTS_MINOR]),
        )
        for node, name in enumerate(self.tier_names):
            events[f"memory_accesses_{name}"] = int(counts[C.TIER_MEMORY_ACCESSES + node])
        for size_id in self.thp_sizes:
            name = PAGE_SIZES[size_id].lower()
            events[f"thp_{name}_alloc_attempts"] = int(counts[C.THP_ATTEMPTS + size_id])
            events[f"thp_{name}_fallbacks"] = int(counts[C.THP_FALLBACKS + size_id])
        for size_id in self.split_sizes:
            name = PAGE_SIZES[size_id].lower()
            events[f"thp_splits_{name}"] = int(counts[C.SPLITS_BY_SIZE + size_id])
        for index, kind in enumerate(EVENT_KINDS):
            events[f"events_{kind}"] = int(counts[C.EVENTS + index])
        # Collapses come from access-aware THP or from a workload's MADV_COLLAPSE, which a
        # trace may hold anywhere: always reported, so every epoch has the columns.
        events["thp_collapses"] = int(counts[C.THP_COLLAPSES])
        events["thp_collapse_failures"] = int(counts[C.THP_COLLAPSE_FAILURES])
        if self.khugepaged:
            events["khugepaged_ranges_scanned"] = int(counts[C.KHUGEPAGED_RANGES])
        return events

    def _tuned(self) -> dict[str, float]:
        tuned = dict(self.policy.tuned_values())
        if self.thp_policy is not None:
            tuned.update(self.thp_policy.tuned_values())
        return tuned

    def _tiering(self, counts: np.ndarray, totals: MigrationTotals, costs: StretchCosts) -> dict[
        str, Number
    ]:  # fmt: skip
        served = [int(counts[C.TIER_MEMORY_ACCESSES + n]) for n in range(len(self.tier_names))]
        row: dict[str, Number] = {
            "fast_tier_access_ratio": served[0] / sum(served) if sum(served) else 1.0,
            "promoted_bytes": totals.promoted_bytes,
            "demoted_bytes": totals.demoted_bytes,
            "migration_ns": totals.ns,
            "migrated_folios": totals.folios,
            "migration_no_room": totals.no_room,
            "thp_1g_migrations_refused": totals.refused_1g,
            "thp_1g_migrations_split": totals.split_1g,
            "shared_migrations_refused": totals.refused_shared,
            "tlb_shootdowns": int(counts[C.TLB_SHOOTDOWNS]),
        }
        for node, name in enumerate(self.tier_names):
            row[f"memory_latency_ns_{name}"] = costs.tier_latency_ns[node]
            row[f"bandwidth_utilisation_{name}"] = costs.tier_utilisation[node]
        return row

    def _cost_row(self, costs: StretchCosts, accesses: int) -> dict[str, Number]:
        row: dict[str, Number] = {
            "compute_ns": costs.compute_ns,
            "translation_ns": costs.translation_ns,
            "walk_cycles": costs.walk_cycles,
            "fault_ns": costs.fault_ns,
            "memory_ns": costs.memory_ns,
            "est_runtime_ns": costs.runtime_ns,
            "amat_ns": (costs.translation_ns + costs.memory_ns) / max(1, accesses),
            "thp_collapse_ns": costs.collapse_ns,
        }
        return row

    def close_epoch(self, accesses_end: int) -> None:
        counts = self.translator.counts
        delta = counts - self.previous
        totals = self.tiers.totals
        moved = totals.minus(self.previous_totals)
        self.previous = counts.copy()
        self.previous_totals = replace(totals)
        costs = self.costs.stretch(delta, self._stall_ns(delta, moved.stall_ns), None)
        self.latency_ns = costs.tier_latency_ns
        self.epoch_start_ns += costs.runtime_ns
        served = sum(costs.tier_accesses)
        self.tiers.last_epoch_memory_ns_per_access = costs.memory_ns / served if served else None
        self.totals.add(costs)
        self.memory.end_epoch(int(delta[C.KCOMPACTD_WAKES]))
        row: dict[str, Number] = {"epoch": self.epochs, "accesses_end": accesses_end}
        row.update(self._events(delta))
        row.update(self._cost_row(costs, int(delta[C.ACCESSES])))
        row["time_ns"] = self.epoch_start_ns
        row.update(self._tiering(delta, moved, costs))
        row.update(self._tuned())
        row.update(self._memory())
        row.update(self.memory.epoch_metrics())
        granule = self.plan.geometry.granule_bytes
        for level, name in enumerate(self.plan.geometry.level_names):
            row[f"page_table_bytes_{name}"] = int(self.translator.level_tables[level]) * granule
        for name, value in row.items():
            self.columns.setdefault(name, []).append(value)
        self.epochs += 1

    def summary(self) -> dict[str, Number]:
        counts = self.translator.counts
        summary: dict[str, Number] = {}
        summary.update(self._events(counts))
        totals = self.totals
        summary.update(
            compute_ns=totals.compute_ns,
            translation_ns=totals.translation_ns,
            walk_cycles=totals.walk_cycles,
            fault_ns=totals.fault_ns,
            memory_ns=totals.memory_ns,
            est_runtime_ns=totals.runtime_ns,
        )
        summary["thp_collapse_ns"] = totals.collapse_ns
        summary.update(self._memory())
        accesses = max(1, int(counts[C.ACCESSES]))
        summary["amat_ns"] = (totals.translation_ns + totals.memory_ns) / accesses
        if not totals.accesses:
            totals.add(self.costs.stretch(counts, 0.0, self.costs.idle_latencies()))
        mean = totals.mean(self.costs.idle_latencies())
        summary.update(self._tiering(counts, self.tiers.totals, mean))
        summary.update(self._tuned())  # their values at the end
        granule = self.plan.geometry.granule_bytes
        for level, name in enumerate(self.plan.geometry.level_names):
            summary[f"page_table_bytes_{name}"] = int(self.translator.level_tables[level]) * granule
        summary["page_table_deposit_bytes"] = int(counts[C.DEPOSIT_TABLES]) * granule
        for size_id in self.thp_sizes:
            name = PAGE_SIZES[size_id].lower()
            attempts = int(counts[C.THP_ATTEMPTS + size_id])
            if attempts:
                successes = attempts - int(counts[C.THP_FALLBACKS + size_id])
                summary[f"thp_{name}_alloc_success_ratio"] = successes / attempts
        summary.update(
            self.memory.summary(
                int(counts[C.STALL_PAGES_MIGRATED]), int(counts[C.STALL_PAGES_SCANNED])
            )
        )
        for index, name in enumerate(self.level_names):
            summary[f"tlb_{name}_misses_per_kilo_access"] = (
                1000.0 * int(counts[C.TLB_MISSES + index]) / accesses
            )
        return summary


@dataclass
class StretchTotals:
    """Epoch costs summed over the run: tier latency averaged over the tier's accesses,
    utilisation over time."""

    compute_ns: float = 0.0
    translation_ns: float = 0.0
    walk_cycles: float = 0.0
    fault_ns: float = 0.0
    memory_ns: float = 0.0
    runtime_ns: float = 0.0
    collapse_ns: float = 0.0
    latency_sum: list[float] = field(default_factory=list)
    accesses: list[float] = field(default_factory=list)
    busy_ns: list[float] = field(default_factory=list)

    def add(self, costs: StretchCosts) -> None:
        self.compute_ns += costs.compute_ns
        self.translation_ns += costs.translation_ns
        self.walk_cycles += costs.walk_cycles
        self.fault_ns += costs.fault_ns
        self.memory_ns += costs.memory_ns
        self.runtime_ns += costs.runtime_ns
        self.collapse_ns += costs.collapse_ns
        tiers = len(costs.tier_latency_ns)
        if not self.accesses:
            self.latency_sum, self.accesses, self.busy_ns = (
                [0.0] * tiers,
                [0.0] * tiers,
                [0.0] * tiers,
            )
        for node in range(tiers):
            self.latency_sum[node] += costs.tier_latency_ns[node] * costs.tier_accesses[node]
            self.accesses[node] += costs.tier_accesses[node]
            self.busy_ns[node] += costs.tier_utilisation[node] * costs.runtime_ns

    def mean(self, idle_latency_ns: tuple[float, ...]) -> StretchCosts:
        """The run as one stretch (for the summary's per-tier figures)."""
        latency = tuple(
            s / n if n else idle
            for s, n, idle in zip(self.latency_sum, self.accesses, idle_latency_ns, strict=True)
        )
        runtime = self.runtime_ns
        utilisation = tuple(busy / runtime if runtime else 0.0 for busy in self.busy_ns)
        return StretchCosts(
            self.compute_ns, self.translation_ns, self.walk_cycles, self.fault_ns,
            self.memory_ns, runtime, latency, utilisation, tuple(self.accesses),
            self.collapse_ns,
        )  # fmt: skip
