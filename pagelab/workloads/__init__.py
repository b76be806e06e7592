"""Workloads: seeded generators and trace readers, behind one ``build_workload``.

``GENERATORS`` maps each generator's name to its spec class, whose docstring and JSON
schema are what the catalogue shows users; it is built from the ``GeneratorSpec`` union, so
a new generator is listed once, there (and dispatched in ``_generate``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import assert_never

from pagelab.errors import SpecError
from pagelab.units import format_bytes
from pagelab.workloads.base import AccessChunk, AccessKind, MemoryEvent, Vma, Workload
from pagelab.workloads.generators import (
    phase_workload,
    scan_workload,
    shared_workload,
    uniform_workload,
    zipf_workload,
)
from pagelab.workloads.graph import graph_workload
from pagelab.workloads.kvstore import kvstore_workload
from pagelab.workloads.llm import llm_workload
from pagelab.workloads.spec import (
    GENERATORS,
    PAGE_BYTES,
    EventSpec,
    GeneratorSpec,
    GraphSpec,
    KvStoreSpec,
    LlmSpec,
    PhaseSpec,
    ScanSpec,
    SharedSpec,
    UniformSpec,
    WorkloadSpec,
    ZipfSpec,
)
from pagelab.workloads.stream import PIECE_ACCESSES, StreamWorkload, with_events
from pagelab.workloads.traces import open_trace

__all__ = [
    "GENERATORS",
    "AccessChunk",
    "AccessKind",
    "Vma",
    "Workload",
    "WorkloadSpec",
    "build_workload",
]


def build_workload(
    spec: WorkloadSpec,
    *,
    seed: int,
    base_dir: Path | None,
    confine: bool = True,
    granule_bytes: int = PAGE_BYTES,
) -> Workload:
    """The workload ``spec`` describes; relative trace paths resolve inside ``base_dir``.

    A generator lays its regions out as mmap() would on a kernel whose page is
    ``granule_bytes``: starts aligned to at least the granule. Raises TraceError for a trace
    that is missing or whose format check fails up front.
    """
    generator = spec.generator
    if generator is None:
        if spec.trace is None:
            raise ValueError("the workload has neither a generator nor a trace")
        return open_trace(spec.trace, base_dir=base_dir, confine=confine)
    if generator.align_bytes < granule_bytes:
        generator = generator.model_copy(update={"align_bytes": granule_bytes})
    workload = _generate(generator, seed, granule_bytes)
    if generator.thp_advice == "default" and not generator.events:
        return workload
    vmas = workload.vmas or []
    if generator.thp_advice != "default":
        vmas = [replace(vma, thp_advice=generator.thp_advice) for vma in vmas]
    events = [
        (event.at_access, _resolve_event(index, event, vmas))
        for index, event in enumerate(generator.events)
    ]
    events.sort(key=lambda pair: pair[0])
    return StreamWorkload(
        vmas=vmas,
        total_accesses=workload.total_accesses,
        make_pieces=lambda: with_events(workload.chunks(PIECE_ACCESSES), events),
    )


def _resolve_event(index: int, event: EventSpec, vmas: list[Vma]) -> MemoryEvent:
    """``event`` on the addresses of the VMA it names; SpecError if there is none, or if the
    range does not fit in it."""
    field = f"workload.generator.events.{index}"
    own = [vma for vma in vmas if vma.pid == event.pid]
    named = [vma for vma in own if vma.name == event.vma] if event.vma else own[:1]
    if not named:
        names = ", ".join(sorted({vma.name for vma in own})) or "none"
        raise SpecError(
            f"process {event.pid} has no VMA named {event.vma!r} (it has: {names})",
            field=f"{field}.vma",
        )
    vma = named[0]
    if vma.shared_object:
        raise SpecError(
            f"VMA {vma.name!r} maps shared object {vma.shared_object!r}: events on shared "
            "memory (which would leave its frames to the other processes) are not modelled",
            field=f"{field}.vma",
        )
    if event.offset_bytes + event.size_bytes > vma.size_bytes:
        raise SpecError(
            f"the range ({format_bytes(event.size_bytes)} at offset "
            f"{format_bytes(event.offset_bytes)}) ends beyond VMA {vma.name!r} "
            f"({format_bytes(vma.size_bytes)})",
            field=f"{field}.size_bytes",
        )
    return MemoryEvent(0, event.kind, event.pid, vma.start + event.offset_bytes, event.size_bytes)


def _generate(generator: GeneratorSpec, seed: int, granule_bytes: int) -> StreamWorkload:
    match generator:
        case UniformSpec():
            return uniform_workload(generator, seed)
        case ZipfSpec():
            return zipf_workload(generator, seed)
        case ScanSpec():
            return scan_workload(generator, seed)
        case PhaseSpec():
            return phase_workload(generator, seed)
        case KvStoreSpec():
            return kvstore_workload(generator, seed)
        case SharedSpec():
            return shared_workload(generator, seed, granule_bytes)
        case GraphSpec():
            return graph_workload(generator, seed)
        case LlmSpec():
            return llm_workload(generator, seed)
        case _:
            assert_never(generator)
