"""What a metric name means on a plot: a readable label and a unit, both read off the name.

Metric names carry their unit as a suffix (``resident_bytes``, ``walk_cycles``, ``amat_ns``,
``fast_tier_access_ratio``), so a metric the engine adds later still gets a sensible axis.
Bytes and nanoseconds are plotted in the largest binary / decimal unit that fits the data,
while hover shows the exact stored value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_LABELS = {
    "accesses_end": "Accesses",
    "walks": "Page walks",
    "walk_cycles": "Page-walk cycles",
    "faults": "Page faults",
    "resident_bytes": "Resident memory",
    "touched_bytes": "Touched memory",
    "bloat_bytes": "Bloat",
    "page_table_bytes": "Page-table memory",
    "est_runtime_ns": "Estimated runtime",
    "amat_ns": "Average memory access time",
    "fast_tier_access_ratio": "Fast-tier access ratio",
    "promoted_bytes": "Promoted",
    "demoted_bytes": "Demoted",
    "compaction_pages_migrated": "Pages migrated by compaction",
    "thp_1g_alloc_success_ratio": "1 GiB THP allocation success ratio",
    "compute_ns": "Compute",
    "translation_ns": "Translation (TLB and walks)",
    "fault_ns": "Page faults",
    "memory_ns": "Memory latency",
    "llc_misses": "LLC misses",
    "memory_accesses": "Memory accesses",
    "walk_references": "Walk memory references",
    "ifetches": "Instruction fetches",
    "page_table_deposit_bytes": "Deposited page tables",
}

_ACRONYMS = {"tlb": "TLB", "thp": "THP", "pte": "PTE", "pmd": "PMD", "pud": "PUD", "pgd": "PGD"}
_RESIDENT_BY_SIZE = re.compile(r"^resident_bytes_(\d+[kmg])$")

_BYTE_UNITS = (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("bytes", 1))
_TIME_UNITS = (("s", 1e9), ("ms", 1e6), ("µs", 1e3), ("ns", 1))


@dataclass(frozen=True)
class Unit:
    """How to show a metric: divide stored values by ``divisor`` and call the result ``name``.

    ``hover_format`` is the d3 format for the exact stored value shown on hover.
    """

    name: str
    divisor: float
    hover_suffix: str
    hover_format: str = ","


def metric_label(name: str) -> str:
    """``tlb_l2_misses`` → ``TLB L2 misses``; unit suffixes are left to the axis title."""
    if name in _LABELS:
        return _LABELS[name]
    if size := page_size_of_resident_column(name):
        return f"Resident in {size} pages"
    words = [word for word in name.split("_") if word not in {"bytes", "ns", "cycles"}]
    words = [
        _ACRONYMS.get(word, word.upper() if re.fullmatch(r"l\d", word) else word) for word in words
    ]
    text = " ".join(words) or name
    return text[0].upper() + text[1:]


def page_size_of_resident_column(name: str) -> str | None:
    """``resident_bytes_64k`` → ``64K``; None for any other column."""
    match = _RESIDENT_BY_SIZE.match(name)
    return match.group(1).upper() if match else None


def unit_kind(name: str) -> str:
    """The family of units a metric is in: bytes, time, cycles, ratio or count."""
    if name.endswith("_bytes") or _RESIDENT_BY_SIZE.match(name) or "_bytes_" in name:
        return "bytes"
    if name.endswith("_ns"):
        return "time"
    if name.endswith("_cycles"):
        return "cycles"
    if name.endswith("_ratio"):
        return "ratio"
    return "count"


def unit_for(name: str, values: Iterable[float]) -> Unit:
    """The unit to plot ``name`` in, scaled so the largest of ``values`` reads well."""
    kind = unit_kind(name)
    largest = max((abs(value) for value in values), default=0.0)
    if kind == "bytes":
        unit_name, divisor = _largest_fitting(_BYTE_UNITS, largest)
        return Unit(unit_name, divisor, " bytes")
    if kind == "time":
        unit_name, divisor = _largest_fitting(_TIME_UNITS, largest)
        return Unit(unit_name, divisor, " ns")
    if kind == "cycles":
        return Unit("cycles", 1, " cycles")
    if kind == "ratio":
        return Unit("ratio", 1, "", hover_format=".4f")
    return Unit("count", 1, "")


# Metrics the workload fixes rather than the policy: a difference is neither good nor bad.
_NEUTRAL = frozenset({"accesses", "epochs", "touched_bytes"})


def lower_is_better(metric: str) -> bool | None:
    """True for costs, False for shares of something good, None where neither applies."""
    if metric in _NEUTRAL:
        return None
    # Ratios here are shares of something good (fast-tier accesses, 1 GiB allocations).
    return not metric.endswith("_ratio")


def axis_title(name: str, unit: Unit) -> str:
    return f"{metric_label(name)} ({unit.name})"


def _largest_fitting(units: tuple[tuple[str, float], ...], largest: float) -> tuple[str, float]:
    for unit_name, divisor in units:
        if largest >= divisor:
            return unit_name, divisor
    return units[-1]
