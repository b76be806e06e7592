"""pagelab: a deterministic simulator of address translation, page faults and memory placement.

The public surface:

- :class:`Spec` and :func:`load_spec` — validate an experiment spec (raises :class:`SpecError`).
- :func:`simulate` — run one spec and return a :class:`Result`.
- :func:`presets_catalog`, :func:`workloads_catalog` — what the machine presets and workload
  generators are, with their sources and parameter schemas.
- :func:`check_trace` — read a trace file through and report what it holds, or raise
  :class:`TraceError` naming the line or offset at fault.
"""

from pagelab.catalog import presets_catalog, workloads_catalog
from pagelab.errors import Cancelled, PagelabError, SpecError, TraceError
from pagelab.memory.report import TierMemory
from pagelab.results import Heatmap, Result, ResultMeta
from pagelab.simulate import Progress, load_spec, simulate
from pagelab.spec import Spec
from pagelab.version import ENGINE_VERSION
from pagelab.workloads.traces import TraceSummary, check_trace

__all__ = [
    "ENGINE_VERSION",
    "Cancelled",
    "Heatmap",
    "PagelabError",
    "Progress",
    "Result",
    "ResultMeta",
    "Spec",
    "SpecError",
    "TierMemory",
    "TraceError",
    "TraceSummary",
    "check_trace",
    "load_spec",
    "presets_catalog",
    "simulate",
    "workloads_catalog",
]
