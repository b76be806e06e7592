"""The compare page's tables: which differences count as better, worse or just different."""

from __future__ import annotations

import pytest

from frontend.figures import RunView
from frontend.summary_table import flatten, spec_differences, summary_rows

from .samples import make_result


def _run(label: str, **summary: float) -> RunView:
    return RunView(label, make_result(summary=summary))


def test_differences_are_judged_against_the_first_run() -> None:
    reference = _run("4K", est_runtime_ns=200, fast_tier_access_ratio=0.5, touched_bytes=10)
    other = _run("64K", est_runtime_ns=100, fast_tier_access_ratio=0.4, touched_bytes=20)
    rows = {row.metric: row.cells for row in summary_rows([reference, other])}

    assert rows["est_runtime_ns"][0].verdict == ""  # the reference itself
    assert rows["est_runtime_ns"][1].verdict == "better"  # lower runtime
    assert rows["est_runtime_ns"][1].change == pytest.approx(-0.5)
    assert rows["fast_tier_access_ratio"][1].verdict == "worse"  # ratios: higher is better
    assert rows["touched_bytes"][1].verdict == "differs"  # the workload's doing


def test_a_metric_one_run_lacks_is_blank_not_an_error() -> None:
    rows = {row.metric: row.cells for row in summary_rows([_run("a", faults=3), _run("b")])}
    assert [(cell.value, cell.verdict) for cell in rows["faults"]] == [(3.0, ""), (None, "")]


def test_spec_differences_list_only_paths_that_differ() -> None:
    base = {"policy": {"base_page": "4K", "thp": "never"}, "controls": {"seed": 1}}
    other = {"policy": {"base_page": "64K", "thp": "never"}, "controls": {"seed": 1, "x": 2}}
    assert flatten(base) == {"policy.base_page": "4K", "policy.thp": "never", "controls.seed": 1}
    assert spec_differences([("a", base), ("b", other)]) == [
        ("controls.x", [None, 2]),
        ("policy.base_page", ["4K", "64K"]),
    ]
