"""The kernels run as plain Python under NUMBA_DISABLE_JIT=1 (for coverage and debugging),
numba intrinsics included, and give the compiled kernels' results."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pagelab

SPEC = {
    "workload": {"generator": {"name": "uniform", "size_bytes": "64M", "accesses": 3000}},
    "policy": {"thp": "always", "thp_sizes": ["64K", "2M"]},
    "machine": {
        "ageing": "aged",
        "tiers": [{"name": "DRAM", "preset": "ddr4_local", "capacity_bytes": "1G"}],
    },
    "controls": {"seed": 5},
}
RUN = (
    "import json, sys, pagelab\n"
    "from pagelab import translation\n"
    "translation.PREFETCH_MIN_ROWS = 0  # the prefetching path too\n"
    "result = pagelab.simulate(pagelab.load_spec(json.loads(sys.argv[1])))\n"
    "print(json.dumps(result.summary))\n"
)


def test_plain_python_matches_the_compiled_kernels() -> None:
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1", "PYTHONWARNINGS": "ignore"}
    output = subprocess.run(
        [sys.executable, "-c", RUN, json.dumps(SPEC)],
        env=env, capture_output=True, text=True, check=True, timeout=600,
    ).stdout  # fmt: skip
    plain = json.loads(output.splitlines()[-1])
    compiled = pagelab.simulate(pagelab.load_spec(SPEC)).summary
    assert plain == json.loads(json.dumps(compiled))
    assert compiled["faults"] > 100 and compiled["thp_2m_alloc_attempts"] > 0
