"""Run one spec: stream the workload through the compiled per-access path, epoch by epoch."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from pagelab._kernels import counters as C
from pagelab.address_space import infer_vmas
from pagelab.errors import Cancelled, SpecError
from pagelab.heatmap import HeatmapBuilder
from pagelab.machine import Machine, resolve_machine
from pagelab.memory.report import MemoryRecorder
from pagelab.paging import MappingPlan, plan_mappings
from pagelab.results import Number, Result, ResultMeta
from pagelab.spec import CHOICE_TAGS, Spec
from pagelab.translation import Translator, physical_memory
from pagelab.units import PAGE_SIZES
from pagelab.version import ENGINE_VERSION
from pagelab.workloads import GENERATORS, build_workload
from pagelab.workloads.base import AccessChunk, Workload

CHUNK_ACCESSES = 1 << 20


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
    series = _SeriesRecorder(spec, machine, plan, translator, memory_recorder)
    heatmap = HeatmapBuilder(controls.heatmap_time_bins, controls.heatmap_address_bins, total,
                             controls.epoch_accesses)  # fmt: skip

    done = 0
    in_epoch = 0
    chunks = _limited(workload.chunks(CHUNK_ACCESSES), controls.access_limit)
    for chunk in _read_ahead(chunks):
        if should_cancel is not None and should_cancel():
            raise Cancelled()
        position = 0
        while position < len(chunk):
            step = min(len(chunk) - position, controls.epoch_accesses - in_epoch)
            translator.run(chunk, position, position + step)
            position += step
            in_epoch += step
            done += step
            if in_epoch == controls.epoch_accesses:
                series.close_epoch(done)
                heatmap.add_epoch(done, translator.take_region_accesses())
                in_epoch = 0
        if on_progress is not None:
            on_progress(Progress(accesses_done=done, accesses_total=total))
    if in_epoch:
        series.close_epoch(done)
        heatmap.add_epoch(done, translator.take_region_accesses())

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


def _limited(chunks: Iterator[AccessChunk], limit: int | None) -> Iterator[AccessChunk]:
    if limit is None:
        yield from chunks
        return
    left = limit
    for chunk in chunks:
        if left <= 0:
            return
        if len(chunk) > left:
            chunk = AccessChunk(chunk.address[:left], chunk.kind[:left], chunk.pid[:left])
        left -= len(chunk)
        yield chunk


def _metric_name(level_name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in level_name.lower())


class _SeriesRecorder:
    """Turns counter snapshots into per-epoch rows and the run's summary, with the cost model.

    Cost model: core work is ``cycles_per_access`` per access; each miss at TLB level n costs
    level n+1's ``hit_cycles``; each table entry a walk fetches costs
    ``memory_reference_cycles``; a fault costs ``entry_ns`` plus clearing its folio at the
    size's rate (``FaultCostSpec.zero_ns``); each access that misses the LLC filter (every
    access without one) costs the tier's idle latency.
    """

    def __init__(
        self,
        spec: Spec,
        machine: Machine,
        plan: MappingPlan,
        translator: Translator,
        memory: MemoryRecorder,
    ):
        self.spec = spec
        self.memory = memory
        self.thp_sizes = [PAGE_SIZES.index(k.folio_size) for k in plan.kinds if k.needs_thp]
        self.machine = machine
        self.plan = plan
        self.translator = translator
        self.level_names = [_metric_name(level.name) for level in machine.tlb.levels]
        self.folio_sizes = sorted({PAGE_SIZES.index(k.folio_size) for k in plan.kinds})
        self.columns: dict[str, list[Number]] = {}
        self.previous = translator.counts.copy()
        self.epochs = 0

    def _costs_ns(self, counts: np.ndarray) -> dict[str, float]:
        machine = self.machine
        ghz = machine.cpu.frequency_ghz
        walk_cycles = float(counts[C.WALK_REFERENCES]) * machine.walk_cache.memory_reference_cycles
        translation_cycles = walk_cycles
        for index, level in enumerate(machine.tlb.levels[1:]):
            translation_cycles += float(counts[C.TLB_MISSES + index]) * level.hit_cycles
        fault_cost = self.spec.policy.fault_cost
        fault_ns = float(counts[C.FAULTS]) * fault_cost.entry_ns
        for size_id in self.folio_sizes:
            fault_ns += float(counts[C.FAULTS_BY_SIZE + size_id]) * fault_cost.zero_ns(
                PAGE_SIZES[size_id]
            )
        # Direct compaction and the 1 GiB range search stall the faulting process.
        fault_ns += self.memory.work_ns(
            int(counts[C.STALL_PAGES_MIGRATED]), int(counts[C.STALL_PAGES_SCANNED])
        )
        compute_ns = float(counts[C.ACCESSES]) * machine.cpu.cycles_per_access / ghz
        memory_ns = float(counts[C.MEMORY_ACCESSES]) * machine.tiers[0].idle_latency_ns
        translation_ns = translation_cycles / ghz
        return {
            "compute_ns": compute_ns,
            "translation_ns": translation_ns,
            "walk_cycles": walk_cycles,
            "fault_ns": fault_ns,
            "memory_ns": memory_ns,
            "est_runtime_ns": compute_ns + translation_ns + fault_ns + memory_ns,
        }

    def _memory(self) -> dict[str, int]:
        counts = self.translator.counts
        granule = self.plan.geometry.granule_bytes
        resident = int(sum(counts[C.RESIDENT_BYTES + s] for s in self.folio_sizes))
        touched = int(counts[C.TOUCHED_PAGES]) * 4096
        tables = int(self.translator.level_tables.sum()) + int(counts[C.DEPOSIT_TABLES])
        memory = {
            "resident_bytes": resident,
            "touched_bytes": touched,
            "bloat_bytes": resident - touched,
            "page_table_bytes": tables * granule,
        }
        for size_id in self.folio_sizes:
            name = PAGE_SIZES[size_id].lower()
            memory[f"resident_bytes_{name}"] = int(counts[C.RESIDENT_BYTES + size_id])
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
        )
        for size_id in self.thp_sizes:
            name = PAGE_SIZES[size_id].lower()
            events[f"thp_{name}_alloc_attempts"] = int(counts[C.THP_ATTEMPTS + size_id])
            events[f"thp_{name}_fallbacks"] = int(counts[C.THP_FALLBACKS + size_id])
        return events

    def close_epoch(self, accesses_end: int) -> None:
        counts = self.translator.counts
        delta = counts - self.previous
        self.previous = counts.copy()
        self.memory.end_epoch(int(delta[C.KCOMPACTD_WAKES]))
        row: dict[str, Number] = {"epoch": self.epochs, "accesses_end": accesses_end}
        row.update(self._events(delta))
        row.update(self._costs_ns(delta))
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
        costs = self._costs_ns(counts)
        summary.update(costs)
        summary.update(self._memory())
        accesses = max(1, int(counts[C.ACCESSES]))
        summary["amat_ns"] = (costs["translation_ns"] + costs["memory_ns"]) / accesses
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
