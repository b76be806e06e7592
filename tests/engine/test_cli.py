"""The ``pagelab`` command as a user runs it: a run in a process of its own, as a shell
starts it; the other commands through its ``main`` in this process (what the process would
print and the status it would exit with), since a new interpreter costs a second or so of
imports per command."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from pagelab_cli.main import main
from tests.engine.test_simulate import LACKEY


def _pagelab(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pagelab_cli.main", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> Done:
    """``pagelab ARGS`` through ``main``: its exit status (argparse exits by SystemExit)."""
    try:
        code = main(list(args))
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return Done(code, out, err)


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


def test_bad_spec_and_bad_trace_exit_non_zero_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text('{"workload": {"generator": {"name": "zipf", "alpha": -1}}}')
    done = _main(capsys, "run", str(spec))
    assert done.returncode == 2
    assert "workload.generator.alpha" in done.stderr

    (tmp_path / "bad.txt").write_text(" L 1000,8\n S zzz,4\n")
    spec.write_text('{"workload": {"trace": {"path": "bad.txt", "format": "lackey"}}}')
    done = _main(capsys, "run", str(spec))
    assert done.returncode == 2
    assert "line 2" in done.stderr

    spec.write_text("{not json")
    assert _main(capsys, "run", str(spec)).returncode == 2


def test_catalogues_list_presets_and_workloads(capsys: pytest.CaptureFixture[str]) -> None:
    presets = _main(capsys, "presets", "--json")
    assert presets.returncode == 0
    assert "neoverse-n1" in {p["name"] for p in json.loads(presets.stdout)}
    workloads = _main(capsys, "workloads")
    assert workloads.returncode == 0 and "kvstore" in workloads.stdout
    help_text = _main(capsys, "run", "--help")
    assert help_text.returncode == 0 and "Example" in help_text.stdout
