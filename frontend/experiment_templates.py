"""Experiment templates: one per question the lab answers, each pre-filling a useful sweep.

The page offers a template when the engine accepts every point of its sweep, so the tiering
and 1 GiB THP templates switch themselves on as those models land in the spec.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ExperimentTemplate:
    key: str
    title: str
    blurb: str
    name: str
    tags: tuple[str, ...]
    spec: Mapping[str, Any]
    sweep: Mapping[str, Sequence[Any]]
    # Generators that suit the question with their parameters, best first; the first one the
    # engine has is used.
    generators: Mapping[str, Mapping[str, Any]]
    # Machine presets that suit it, best first (e.g. one with a native 64 KiB granule).
    presets: tuple[str, ...] = field(default=())


TEMPLATES: tuple[ExperimentTemplate, ...] = (
    ExperimentTemplate(
        key="pages-64k",
        title="64 KiB base pages",
        blurb="TLB reach and fewer faults against bloat: base page 4K / 64K × THP never / always.",
        name="64 KiB pages vs 4 KiB",
        tags=("64k-pages",),
        spec={
            "policy": {"base_page": "4K", "thp": "never"},
            "controls": {"seed": 1, "epoch_accesses": 100_000},
        },
        sweep={"policy.base_page": ["4K", "64K"], "policy.thp": ["never", "always"]},
        # A key-value store touches a few lines of big objects: the case where larger pages
        # buy TLB reach and cost bloat.
        generators={
            "kvstore": {"objects": 20_000, "accesses": 2_000_000},
            "zipf": {"size_bytes": "1G", "accesses": 2_000_000},
            "uniform": {"size_bytes": "256M", "accesses": 1_000_000},
        },
        presets=("neoverse-v2", "neoverse-n1", "graviton3", "ampere-altra"),
    ),
    ExperimentTemplate(
        key="tiering",
        title="DRAM + CXL tiering",
        blurb=(
            "How much traffic the fast tier serves, at what latency and migration cost: "
            "first touch, TPP, DAMON and the oracle × DRAM capacity, on a moving hot set."
        ),
        name="Tiering policies",
        tags=("tiering",),
        spec={
            "machine": {
                "llc": "none",
                "tiers": [
                    {"name": "DRAM", "preset": "ddr4_local", "capacity_bytes": "1G"},
                    {"name": "CXL", "preset": "cxl_expander", "capacity_bytes": "8G"},
                ],
            },
            "policy": {"tiering": {"name": "first_touch"}},
            "controls": {"seed": 1, "epoch_accesses": 250_000},
        },
        sweep={
            "policy.tiering.name": ["first_touch", "tpp", "damon", "oracle"],
            "machine.tiers.0.capacity_bytes": ["512M", "1G"],
        },
        # A hot set that moves: placement has to follow it.
        generators={
            "phase": {
                "size_bytes": "2G",
                "hot_set_bytes": "128M",
                "phase_accesses": 2_500_000,
                "accesses": 10_000_000,
            },
            "zipf": {"size_bytes": "2G", "accesses": 4_000_000},
        },
    ),
    ExperimentTemplate(
        key="thp-1g",
        title="1 GiB THP on an aged machine",
        blurb=(
            "Can a 1 GiB THP be had once memory has aged, and at what compaction cost: "
            "ageing × THP sizes × defrag × page-table deposit."
        ),
        name="1 GiB THP on an aged machine",
        tags=("thp-1g",),
        spec={
            # One 64 GiB node: ageing it takes seconds, and an aged one keeps room for the
            # workload (no reclaim is modelled).
            "machine": {
                "tiers": [
                    {
                        "name": "DRAM",
                        "capacity_bytes": "64G",
                        "idle_latency_ns": 94.0,
                        "bandwidth_gbps": 115.6,
                    }
                ],
            },
            "policy": {"thp": "always", "thp_sizes": ["2M"]},
            "controls": {"seed": 1, "epoch_accesses": 100_000},
        },
        sweep={
            "machine.ageing": ["fresh", "aged", "heavily_aged"],
            "policy.thp_sizes": [["2M"], ["2M", "1G"]],
            "policy.thp_defrag": ["madvise", "always"],
            "policy.thp_deposit": [True, False],
        },
        generators={
            "zipf": {"size_bytes": "8G", "accesses": 1_000_000, "align_bytes": "1G"},
            "uniform": {"size_bytes": "8G", "accesses": 1_000_000, "align_bytes": "1G"},
        },
    ),
    ExperimentTemplate(
        key="thp-split",
        title="Splitting a 1 GiB THP",
        blurb=(
            "What a small MADV_DONTNEED inside a 1 GiB THP leaves behind: split to 262,144 "
            "PTEs at once, or to 512 PMDs and only the cut 2 MiB range to PTEs; × deposit."
        ),
        name="1 GiB THP split strategies",
        tags=("thp-1g", "thp-split"),
        spec={
            "policy": {"thp": "always", "thp_sizes": ["2M", "1G"]},
            "controls": {"seed": 1, "epoch_accesses": 100_000},
        },
        sweep={"policy.thp_split": ["full", "pmd_first"], "policy.thp_deposit": [True, False]},
        # Four 1 GiB THPs; halfway through, an allocator hands 64 KiB of the second back
        # (MADV_DONTNEED: accesses keep coming, and fault pages in again, where after a munmap
        # they would have nothing to land on). The second half shows the TLB cost of what
        # each strategy left.
        generators={
            name: {
                "size_bytes": "4G",
                "accesses": 1_000_000,
                "align_bytes": "1G",
                "events": [
                    {
                        "kind": "madvise_dontneed",
                        "at_access": 500_000,
                        "offset_bytes": "1G",
                        "size_bytes": "64K",
                    }
                ],
            }
            for name in ("zipf", "uniform")
        },
    ),
    ExperimentTemplate(
        key="access-aware-thp",
        title="Access-aware THP",
        blurb=(
            "THP's bloat against its speed-up on a sparse heap: never / always / access-aware "
            "THP (collapse hot ranges, split sparse cold THPs), beside the damos_hugepage "
            "prototype's 80% of bloat removed and 46% of the speed-up kept."
        ),
        name="Access-aware THP",
        tags=("access-aware-thp",),
        spec={
            # One 2 GiB node: room for the 0.6 GiB heap in THPs, and a small node keeps the
            # frees of a split quick. The parameters of docs/model.md's measured figures.
            "machine": {
                "tiers": [{"name": "DRAM", "preset": "ddr4_local", "capacity_bytes": "2G"}],
            },
            # khugepaged off, as in docs/model.md's figures: the runs measure the policy alone.
            "policy": {
                "thp": "never",
                "thp_access_aware": {"variant": "collapse_split"},
                "khugepaged": {"enabled": False},
            },
            "controls": {"seed": 1, "epoch_accesses": 100_000},
        },
        sweep={"policy.thp": ["never", "always", "access_aware"]},
        # A key-value store touches two lines of objects up to 2 MiB: THP over its heap is
        # mostly bloat, and only the popular objects' ranges are hot.
        generators={"kvstore": {"objects": 2000, "accesses": 2_000_000}},
    ),
)


def with_catalogues(
    template: ExperimentTemplate,
    *,
    generator_names: Sequence[str],
    preset_names: Sequence[str],
) -> dict[str, Any] | None:
    """The template's base spec with a generator and machine the engine has; None when the
    engine has none of the generators the template suits."""
    spec = copy.deepcopy(dict(template.spec))
    generator = next((name for name in template.generators if name in generator_names), None)
    if generator is None:
        return None
    workload = {"generator": {"name": generator, **template.generators[generator]}}
    preset = next((name for name in template.presets if name in preset_names), None)
    if preset is None and preset_names:
        preset = preset_names[0]
    machine = {"preset": preset} if preset is not None else {}
    machine.update(spec.pop("machine", {}))
    # Keys in the order people read a spec: what runs, on what, under which policy, how.
    return {"workload": workload, "machine": machine, **spec}


def request_body(template: ExperimentTemplate, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON the REST API takes to create the template's experiment."""
    return {
        "name": template.name,
        "description": "",
        "tags": list(template.tags),
        "spec": dict(spec),
        "sweep": {path: list(values) for path, values in template.sweep.items()},
    }
