"""Workloads: seeded generators and trace readers, behind one ``build_workload``.

``GENERATORS`` maps each generator's name to its spec class, whose docstring and JSON
schema are what the catalogue shows users.
"""

from __future__ import annotations

from pathlib import Path
from typing import assert_never

from pagelab.workloads.base import AccessChunk, AccessKind, Vma, Workload
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
    spec: WorkloadSpec, *, seed: int, base_dir: Path | None, confine: bool = True
) -> Workload:
    """The workload ``spec`` describes; relative trace paths resolve inside ``base_dir``.

    Raises TraceError for a trace that is missing or whose format check fails up front.
    """
    generator = spec.generator
    if generator is None:
        if spec.trace is None:
            raise ValueError("the workload has neither a generator nor a trace")
        return open_trace(spec.trace, base_dir=base_dir, confine=confine)
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
            return shared_workload(generator, seed)
        case GraphSpec():
            return graph_workload(generator, seed)
        case LlmSpec():
            return llm_workload(generator, seed)
        case _:
            assert_never(generator)
