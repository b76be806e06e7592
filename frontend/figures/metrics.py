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
    "page_table_shared_bytes": "Shared page tables (mshare)",
    "faults_minor": "Minor page faults",
    "time_ns": "Simulated time",
    "migration_ns": "Migration time",
    "migrated_folios": "Folios migrated",
    "migration_no_room": "Migrations without room",
    "thp_1g_migrations_refused": "1 GiB THP migrations refused",
    "thp_1g_migrations_split": "1 GiB THP migrations split",
    "thp_splits": "THP splits",
    "shared_migrations_refused": "Shared-page migrations refused",
    "tlb_shootdowns": "TLB shootdowns",
    "hint_faults": "NUMA hint faults",
    "tpp_hot_threshold_ms": "TPP hot threshold",
    "tpp_hint_faults_dropped": "TPP hint faults dropped",
    "damon_regions": "DAMON regions",
    "damon_sample_interval_us": "DAMON sampling interval",
    "huge_page_ratio": "Resident memory in huge pages",
    "thp_collapses": "THP collapses",
    "khugepaged_ranges_scanned": "Ranges khugepaged scanned",
    "thp_collapse_failures": "THP collapse failures",
    "thp_collapse_ns": "THP collapse work (kernel)",
    "access_aware_collapse_min_accesses": "Access-aware collapse threshold",
}

# Per-tier metrics end in the tier's name as metric names write it (``memory_accesses_cxl``,
# see pagelab.machine.metric_name). The prefix, not the name, says the unit: a tier may be
# called ``fast_ms``.
_PER_TIER = {
    "memory_accesses_": ("Memory accesses on {}", "count"),
    "memory_latency_ns_": ("Memory latency on {}", "time"),
    "bandwidth_utilisation_": ("Bandwidth utilisation of {}", "ratio"),
    "resident_bytes_": ("Resident on {}", "bytes"),
    "used_bytes_": ("Used on {}", "bytes"),
    "interleave_weight_": ("Interleave weight of {}", "count"),
}

# The per-tier metric every tiered result has, one per tier.
_TIER_MARK = "memory_accesses_"

_ACRONYMS = {
    "tlb": "TLB",
    "thp": "THP",
    "pte": "PTE",
    "pmd": "PMD",
    "pud": "PUD",
    "pgd": "PGD",
    "damon": "DAMON",
    "tpp": "TPP",
}
_RESIDENT_BY_SIZE = re.compile(r"^resident_bytes_(\d+[kmg])$")
# Counts per page-table level, per huge-page size and per workload event kind; the level,
# size or kind is the name's last part (pagelab.simulate writes them).
_LIVE_MAPPINGS = "live_mappings_"
_SPLITS_BY_SIZE = re.compile(r"^thp_splits_(\d+)([kmg])$")
_EVENTS = "events_"
_EVENT_NAMES = {"madvise_dontneed": "MADV_DONTNEED", "madvise_collapse": "MADV_COLLAPSE"}

_BYTE_UNITS = (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("bytes", 1))
_TIME_UNITS = (("s", 1e9), ("ms", 1e6), ("µs", 1e3), ("ns", 1))
# Times are stored in the unit their name ends in; policy settings come in µs and ms.
_TIME_SUFFIXES = {"_ns": ("ns", 1.0), "_us": ("µs", 1e3), "_ms": ("ms", 1e6)}


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
    if tier := tier_of_metric(name):
        return _PER_TIER[name.removesuffix(tier)][0].format(tier)
    if name.startswith(_LIVE_MAPPINGS):
        return f"Live {name.removeprefix(_LIVE_MAPPINGS).upper()} mappings"
    if split := _SPLITS_BY_SIZE.match(name):
        number, prefix = split.groups()
        return f"{number} {prefix.upper()}iB THP splits"
    if name.startswith(_EVENTS):
        kind = name.removeprefix(_EVENTS)
        return f"{_EVENT_NAMES.get(kind, kind)} events"
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


def tier_of_metric(name: str) -> str | None:
    """``memory_latency_ns_cxl`` → ``cxl``: the tier a per-tier metric is about, else None."""
    if page_size_of_resident_column(name):
        return None
    for prefix in _PER_TIER:
        if name.startswith(prefix) and len(name) > len(prefix):
            return name.removeprefix(prefix)
    return None


def tier_count(names: Iterable[str]) -> int:
    """How many memory tiers a run's metric or column names speak of (one per tier has
    ``memory_accesses_<tier>``)."""
    return sum(tier_of_metric(name) is not None for name in names if name.startswith(_TIER_MARK))


def unit_kind(name: str) -> str:
    """The family of units a metric is in: bytes, time, cycles, ratio or count."""
    if tier := tier_of_metric(name):
        return _PER_TIER[name.removesuffix(tier)][1]
    if name.endswith("_bytes") or _RESIDENT_BY_SIZE.match(name) or "_bytes_" in name:
        return "bytes"
    if _time_suffix(name) or "_ns_" in name:
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
        suffix = "" if tier_of_metric(name) else _time_suffix(name)
        stored_name, ns_per_stored = _TIME_SUFFIXES.get(suffix, ("ns", 1.0))
        unit_name, divisor = _largest_fitting(_TIME_UNITS, largest * ns_per_stored)
        return Unit(unit_name, divisor / ns_per_stored, f" {stored_name}")
    if kind == "cycles":
        return Unit("cycles", 1, " cycles")
    if kind == "ratio":
        return Unit("ratio", 1, "", hover_format=".4f")
    return Unit("count", 1, "")


# Metrics the workload fixes rather than the policy, and the share of memory in huge pages
# and collapses made (TLB reach against bloat): a difference is neither good nor bad.
_NEUTRAL = frozenset({"accesses", "epochs", "touched_bytes", "huge_page_ratio", "thp_collapses"})
# Where memory sits, what a policy tuned itself to, how memory is mapped (fewer PTEs may
# mean more PMDs) and the workload's own events: neither good nor bad by itself.
_NEUTRAL_PREFIXES = ("damon_", "tpp_", "interleave_", "access_aware_", _LIVE_MAPPINGS, _EVENTS)


def lower_is_better(metric: str) -> bool | None:
    """True for costs, False for shares of something good, None where neither applies."""
    if metric in _NEUTRAL or metric.startswith(_NEUTRAL_PREFIXES):
        return None
    if tier_of_metric(metric):
        return True if metric.startswith("memory_latency_ns_") else None
    # Ratios here are shares of something good (fast-tier accesses, 1 GiB allocations).
    return not metric.endswith("_ratio")


def axis_title(name: str, unit: Unit) -> str:
    return f"{metric_label(name)} ({unit.name})"


def _time_suffix(name: str) -> str:
    return next((suffix for suffix in _TIME_SUFFIXES if name.endswith(suffix)), "")


def _largest_fitting(units: tuple[tuple[str, float], ...], largest: float) -> tuple[str, float]:
    for unit_name, divisor in units:
        if largest >= divisor:
            return unit_name, divisor
    return units[-1]
