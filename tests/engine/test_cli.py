"""The ``pagelab`` command as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.engine.test_simulate import LACKEY


def _pagelab(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pagelab_cli.main", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def test_run_writes_a_result_and_prints_a_summary(tmp_path: Path) -> None:
    (tmp_path / LACKEY.name).symlink_to(LACKEY)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({
        "workload": {"trace": {"path": LACKEY.name, "format": "lackey"}},
        "machine": {"tlb": {"levels": [
            {"name": "L1", "structures": [{"page_sizes": ["4K"], "entries": 64, "ways": 4}]},
            {"name": "L2", "structures": [{"page_sizes": ["4K", "2M"], "entries": 1536,
                                           "ways": 12}]}]}},
        "policy": {"base_page": "4K", "thp": "never"},
        "controls": {"seed": 1, "epoch_accesses": 100000},
    }))  # fmt: skip
    out = tmp_path / "result.json"
    done = _pagelab("run", str(spec), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "tlb_l2_misses" in done.stdout
    result = json.loads(out.read_text())
    assert result["summary"]["tlb_l1_misses"] > result["summary"]["tlb_l2_misses"] > 0


def test_bad_spec_and_bad_trace_exit_non_zero_with_a_message(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text('{"workload": {"generator": {"name": "zipf", "alpha": -1}}}')
    done = _pagelab("run", str(spec))
    assert done.returncode == 2
    assert "workload.generator.alpha" in done.stderr

    (tmp_path / "bad.txt").write_text(" L 1000,8\n S zzz,4\n")
    spec.write_text('{"workload": {"trace": {"path": "bad.txt", "format": "lackey"}}}')
    done = _pagelab("run", str(spec))
    assert done.returncode == 2
    assert "line 2" in done.stderr

    spec.write_text("{not json")
    assert _pagelab("run", str(spec)).returncode == 2


def test_catalogues_list_presets_and_workloads() -> None:
    presets = _pagelab("presets", "--json")
    assert presets.returncode == 0
    assert "neoverse-n1" in {p["name"] for p in json.loads(presets.stdout)}
    workloads = _pagelab("workloads")
    assert workloads.returncode == 0 and "kvstore" in workloads.stdout
    assert "Example" in _pagelab("run", "--help").stdout
