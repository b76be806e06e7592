"""What a summary metric means, in a sentence, for the tables that list metrics by name.

Written from the engine's documentation (docs/model.md, docs/tiering.md, pagelab/spec.py on
splits and workload events); a metric with no entry here simply has no help.
"""

from __future__ import annotations

from frontend.figures.metrics import tier_of_metric

_HELP = {
    "est_runtime_ns": (
        "Estimated runtime: compute + translation + page faults + memory time, on the "
        "simulated clock."
    ),
    "amat_ns": "Average memory access time: (translation + memory time) / accesses.",
    "time_ns": "Simulated time at the end of the epoch.",
    "fast_tier_access_ratio": (
        "Share of memory accesses (LLC misses) served by the first, fastest tier."
    ),
    "promoted_bytes": "Bytes migrated to a faster tier.",
    "demoted_bytes": "Bytes migrated to a slower tier.",
    "migration_ns": (
        "Time spent migrating folios (a fixed cost per folio plus the copy); only a hint "
        "fault's promotion stalls the application."
    ),
    "migrated_folios": "Folios moved between tiers (a huge page moves whole).",
    "migration_no_room": "Migrations that failed because the destination tier was full.",
    "thp_1g_migrations_refused": "1 GiB pages a policy wanted to move; they are not migrated.",
    "thp_1g_migrations_split": (
        "1 GiB pages split into 512 PMD mappings so that their 2 MiB parts could migrate."
    ),
    "tlb_shootdowns": (
        "TLB flushes of every CPU running the process: one per workload event, migration "
        "batch or scan that changed mappings."
    ),
    "thp_splits": "Huge mappings split into smaller ones, of every size.",
    "page_table_deposit_bytes": (
        "Page tables deposited with huge pages, at the end: kept so that a split needs no "
        "allocation (for a 1 GiB THP, a PMD table and 512 PTE tables, about 2 MiB)."
    ),
    "shared_migrations_refused": (
        "Shared-memory pages a policy asked to move, each time it asked (per process "
        "mapping them); they stay where they are."
    ),
    "faults": "Page faults taken, one per mapping created (minor faults included).",
    "faults_minor": (
        "Faults that mapped a shared page already resident: entry cost only, nothing cleared."
    ),
    "page_table_bytes": (
        "Page-table memory of every process, deposits included; mshare'd tables counted once."
    ),
    "page_table_shared_bytes": (
        "Page tables shared by every process attached to an mshare region, counted once."
    ),
    "resident_bytes": "Memory the workload holds; a shared object's frames counted once.",
    "hint_faults": "NUMA hint faults: first accesses to pages a policy made inaccessible.",
    "tpp_hot_threshold_ms": (
        "TPP's promotion threshold: a page whose hint fault came this soon after its scan is hot."
    ),
    "damon_regions": "How many regions DAMON's adaptive split and merge keep.",
    "damon_sample_interval_us": "DAMON's sampling interval.",
    "huge_page_ratio": "Resident bytes in folios of 2 MiB or more / all resident bytes.",
    "thp_collapses": (
        "2 MiB ranges of 4 KiB pages collapsed into one THP, by khugepaged, access-aware THP "
        "or a workload's MADV_COLLAPSE."
    ),
    "khugepaged_ranges_scanned": (
        "2 MiB ranges khugepaged looked at: pages_to_scan / 512 a pass, a pass every "
        "scan_sleep_ms (10 s by default)."
    ),
    "thp_collapse_failures": (
        "Collapses that found no free 2 MiB block, even after direct compaction."
    ),
    "thp_collapse_ns": (
        "Kernel time of collapses: present pages copied, absent ones cleared, compaction; "
        "added to the run's time (MADV_COLLAPSE makes the application wait for it)."
    ),
    "access_aware_collapse_min_accesses": (
        "Accesses in an epoch that make a 2 MiB range hot (collapsed) and spare a sparse "
        "THP from splitting; tuned toward the goal when one is set."
    ),
}

# Metrics per page-table level, huge-page size or event kind, by their prefix: the name's
# last part says which.
_PER_PART_HELP = {
    "live_mappings_": (
        "Leaf entries at this page-table level in place at the end, each mapping a page of the "
        "level's size (a full split of a 1 GiB THP leaves 262,144 PTEs; pmd_first leaves 512 "
        "PMDs, then PTEs for the cut 2 MiB ranges only)."
    ),
    "thp_splits_": (
        "Huge pages of this size split: cut by a workload event (policy.thp_split) or split "
        "to migrate."
    ),
    "events_": "Workload events of this kind: generator events or a trace's event lines.",
}

# Per-tier metrics, by their prefix; ``{}`` is the tier as metric names write it.
_PER_TIER_HELP = {
    "memory_accesses_": "Memory accesses (LLC misses) served by tier {}.",
    "memory_latency_ns_": "Loaded memory latency of tier {}, averaged over its accesses.",
    "bandwidth_utilisation_": "Bandwidth demanded of tier {} over its peak bandwidth.",
    "resident_bytes_": "The workload's memory on tier {}.",
    "used_bytes_": "Memory in use on tier {}'s node, by anyone (page tables included).",
    "interleave_weight_": "Weighted-interleave weight of tier {}.",
}


def metric_help(name: str) -> str:
    """A sentence on what ``name`` measures, or "" when there is none."""
    if name in _HELP:
        return _HELP[name]
    prefix = next((prefix for prefix in _PER_PART_HELP if name.startswith(prefix)), None)
    if prefix is not None:
        return _PER_PART_HELP[prefix]
    tier = tier_of_metric(name)
    if tier is not None:
        return _PER_TIER_HELP[name.removesuffix(tier)].format(tier)
    return ""
