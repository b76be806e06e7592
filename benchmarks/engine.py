"""Engine speed: simulated accesses per second on named scenarios, beside a reference.

The reference is the simplest useful simulator of the same hardware, run in the same
process on the same addresses: a compiled two-level set-associative LRU TLB with nothing
else (no page tables, faults, walk caches, regions or heatmap). Run with ``make bench``;
``--quick`` runs every scenario at a tenth of its size.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

import pagelab
from pagelab.workloads import build_workload

ZIPF = {"name": "zipf", "size_bytes": "1G", "alpha": 1.0}


@njit(cache=True)
def _lookup(row: np.ndarray, page: int) -> bool:
    """True LRU in a most-recent-first row: a hit moves to the front, a miss is put there."""
    ways = row.shape[0]
    way = ways - 1
    hit = False
    for w in range(ways):
        if row[w] == page:
            way = w
            hit = True
            break
    for shift in range(way, 0, -1):
        row[shift] = row[shift - 1]
    row[0] = page
    return hit


@njit(cache=True)
def _reference_tlb(addresses: np.ndarray, l1: np.ndarray, l2: np.ndarray) -> int:
    """Two-level LRU TLB for 4K pages (L1 64 × 4-way, L2 1536 × 12-way): L2 misses."""
    misses = 0
    for i in range(addresses.shape[0]):
        page = np.int64(addresses[i]) >> 12
        if _lookup(l1[page % l1.shape[0]], page):
            continue
        if not _lookup(l2[page % l2.shape[0]], page):
            misses += 1
    return misses


def _reference_rate(addresses: np.ndarray) -> float:
    l1 = np.full((16, 4), -1, dtype=np.int64)
    l2 = np.full((128, 12), -1, dtype=np.int64)
    _reference_tlb(addresses[:1000], l1.copy(), l2.copy())
    started = time.perf_counter()
    _reference_tlb(addresses, l1, l2)
    return addresses.shape[0] / (time.perf_counter() - started)


def _spec(workload: dict[str, Any], access_limit: int | None = None) -> pagelab.Spec:
    return pagelab.load_spec(
        {
            "workload": workload,
            "machine": {"preset": "skylake", "llc": "none"},
            "policy": {"base_page": "4K", "thp": "never"},
            "controls": {"seed": 1, "epoch_accesses": 1_000_000, "access_limit": access_limit},
        }
    )


def _tier(capacity: str) -> dict[str, Any]:
    return {"name": "DRAM", "capacity_bytes": capacity, "idle_latency_ns": 94.0,
            "bandwidth_gbps": 115.6}  # fmt: skip


SCALE_SCENARIOS = {
    "f: 10M uniform accesses over 1 TiB, 4K pages": {
        "generator": {"name": "uniform", "size_bytes": "1T", "accesses": 10_000_000}
    },
    "g: 64 GiB touched page by page, 4K pages": {
        "generator": {"name": "scan", "size_bytes": "64G", "stride_bytes": 4096, "passes": 1}
    },
}
"""Footprints of terabyte machines, each run in a process of its own so that its peak RSS is
its own."""


def scale_scenario(name: str) -> None:
    """Run one of ``SCALE_SCENARIOS`` and print its seconds, rate and peak RSS as JSON."""
    pagelab.simulate(_spec({"generator": {**ZIPF, "accesses": 10_000}}))
    spec = pagelab.load_spec(
        {
            "workload": SCALE_SCENARIOS[name],
            "machine": {"preset": "skylake", "llc": "none", "tiers": [_tier("1152G")]},
            "controls": {"seed": 1},
        }
    )
    started = time.perf_counter()
    result = pagelab.simulate(spec)
    seconds = time.perf_counter() - started
    row = {"seconds": seconds, "accesses": result.meta.accesses, "rss_mib": _peak_rss_mib(),
           "faults": result.summary["faults"]}  # fmt: skip
    print(json.dumps(row))


def _peak_rss_mib() -> float:
    """This process's peak RSS. Not ``ru_maxrss``: Linux carries that across ``execve``, so a
    scenario's process would report its parent's peak when that is higher."""
    status = Path("/proc/self/status").read_text()
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(kib) / 1024


def _scale_rows(quick: bool) -> list[str]:
    lines = []
    for name in SCALE_SCENARIOS:
        if quick:
            lines.append(f"{name:48} skipped with --quick")
            continue
        output = subprocess.run(
            [sys.executable, __file__, "--scale-scenario", name],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        row = json.loads(output.splitlines()[-1])
        rate = row["accesses"] / row["seconds"] / 1e6
        lines.append(
            f"{name:48} {row['accesses']:12,} {rate:8.2f} M acc/s, {row['seconds']:.1f} s, "
            f"{row['faults']:,} faults, peak RSS {row['rss_mib']:,.0f} MiB"
        )
    return lines


def _timed(spec: pagelab.Spec, base_dir: Path | None = None) -> tuple[float, pagelab.Result]:
    started = time.perf_counter()
    result = pagelab.simulate(spec, base_dir=base_dir)
    return result.meta.accesses / (time.perf_counter() - started), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of every scenario")
    parser.add_argument("--scale-scenario", choices=sorted(SCALE_SCENARIOS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scale_scenario:
        scale_scenario(args.scale_scenario)
        return 0
    scale = 10 if args.quick else 1
    accesses = 20_000_000 // scale
    rows = []

    # Warm the compiled kernels so no scenario pays for compilation.
    pagelab.simulate(_spec({"generator": {**ZIPF, "accesses": 10_000}}))

    with tempfile.TemporaryDirectory() as folder:
        trace = Path(folder) / "zipf.u64"
        workload = build_workload(
            _spec({"generator": {**ZIPF, "accesses": accesses}}).workload, seed=1, base_dir=None
        )
        addresses = np.concatenate([chunk.address for chunk in workload.chunks(1 << 20)])
        addresses.tofile(trace)
        reference = _reference_rate(addresses)
        trace_workload = {"trace": {"path": trace.name, "format": "uint64"}}
        # The trace reader's first use (imports, buffers) stays out of the timing too.
        pagelab.simulate(_spec(trace_workload, access_limit=10_000), base_dir=Path(folder))
        rate, result = _timed(_spec(trace_workload), base_dir=Path(folder))
        rows.append(("a: translation, zipf trace (raw uint64)", accesses, rate, reference, result))

        # The same path on a skewed hot set, where most translations hit the TLB.
        hot = build_workload(
            _spec({"generator": {**ZIPF, "alpha": 1.3, "accesses": accesses}}).workload,
            seed=1,
            base_dir=None,
        )
        hot_addresses = np.concatenate([chunk.address for chunk in hot.chunks(1 << 20)])
        hot_addresses.tofile(trace)
        hot_reference = _reference_rate(hot_addresses)
        rate, result = _timed(_spec(trace_workload), base_dir=Path(folder))
        rows.append(("a2: same, zipf alpha 1.3 trace", accesses, rate, hot_reference, result))

    rate, result = _timed(_spec({"generator": {**ZIPF, "accesses": accesses}}))
    rows.append(("b: translation, zipf generator", accesses, rate, reference, result))

    full = pagelab.load_spec(
        {
            "workload": {"generator": {**ZIPF, "accesses": accesses}},
            "machine": {"preset": "skylake"},
            "policy": {"base_page": "4K", "thp": "always", "thp_sizes": ["64K", "2M"]},
            "controls": {"seed": 1},
        }
    )
    rate, result = _timed(full)
    rows.append(("c: full pipeline (THP, LLC), zipf generator", accesses, rate, reference, result))

    long_run = _spec({"generator": {"name": "uniform", "size_bytes": "256M",
                                    "accesses": 200_000_000 // scale}})  # fmt: skip
    rate, result = _timed(long_run)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(("d: long generator run, uniform 256M", result.meta.accesses, rate, None, result))

    # THP on an aged 16 GiB node: faults compact (defrag always), proactive compaction runs
    # at every epoch end. The node's ageing is part of the timed run.
    aged = pagelab.load_spec(
        {
            "workload": {"generator": {**ZIPF, "accesses": accesses}},
            "machine": {"preset": "skylake", "ageing": "aged", "tiers": [_tier("16G")]},
            "policy": {"thp": "always", "thp_sizes": ["2M"], "thp_defrag": "always"},
            "controls": {"seed": 1},
        }
    )
    rate, result = _timed(aged)
    rows.append(("e: THP, aged node, compaction, zipf generator", accesses, rate, None, result))

    # Tiering: the full pipeline (THP, LLC) on DRAM + CXL, with DAMON (the mtier preset) or
    # TPP moving pages as a zipf hot set spreads over both tiers.
    tiering_scenarios = (
        ("h: two tiers, damon (mtier), zipf generator", {"name": "damon", "preset": "mtier"}),
        ("i: two tiers, tpp, zipf generator", {"name": "tpp"}),
    )
    for label, tiering in tiering_scenarios:
        tiered = pagelab.load_spec(
            {
                "workload": {"generator": {**ZIPF, "accesses": accesses}},
                "machine": {
                    "preset": "skylake",
                    "tiers": [
                        {"name": "DRAM", "preset": "ddr4_local", "capacity_bytes": "512M"},
                        {"name": "CXL", "preset": "cxl_expander", "capacity_bytes": "4G"},
                    ],
                },
                "policy": {"thp": "always", "thp_sizes": ["2M"], "tiering": tiering},
                "controls": {"seed": 1},
            }
        )
        rate, result = _timed(tiered)
        rows.append((label, accesses, rate, None, result))

    print(f"{'scenario':48} {'accesses':>12} {'M acc/s':>8} {'ref M/s':>8} {'L2 miss':>8}")
    for name, count, rate, ref, res in rows:
        ref_text = f"{ref / 1e6:8.1f}" if ref else f"{'-':>8}"
        miss = res.summary["tlb_l2_misses"] / max(1, res.summary["accesses"])
        print(f"{name:48} {count:12,} {rate / 1e6:8.1f} {ref_text} {miss:8.1%}")
    print(f"peak RSS of the process after scenario d: {rss_mib:,.0f} MiB")
    print("scale (each in its own process; node of 1152 GiB):")
    for line in _scale_rows(args.quick):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
