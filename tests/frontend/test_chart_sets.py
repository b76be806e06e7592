"""Run names on charts, and which charts a page gets."""

from __future__ import annotations

from frontend.chart_sets import (
    overlay_charts,
    point_label,
    single_run_charts,
    sweep_overview,
    unique_labels,
)
from frontend.figures import RunView

from .samples import MIB, epoch_series, make_result, two_region_heatmap


def test_run_labels_list_sweep_values_in_path_order_whatever_the_stored_order() -> None:
    stored = {"policy.thp": "always", "policy.base_page": "64K", "policy.thp_deposit": False}
    assert point_label(stored) == "64K · always · thp_deposit=false"
    assert point_label({"workload.generator.alpha": 0.8}) == "alpha=0.8"
    assert point_label({"policy.thp_sizes": ["2M", "1G"]}) == "thp_sizes=2M+1G"


def test_labels_that_repeat_or_are_empty_get_the_run_id() -> None:
    assert unique_labels(["64K", "64K", "", "4K"], [7, 8, 9, 10]) == [
        "#7 64K",
        "#8 64K",
        "#9",
        "4K",
    ]


def _run(label: str, runtime_ns: float) -> RunView:
    series = epoch_series(2, faults=[3, 1], resident_bytes=[MIB, 2 * MIB])
    summary = {"est_runtime_ns": runtime_ns, "bloat_bytes": 0, "faults": 4}
    result = make_result(summary=summary, series=series, heatmap=two_region_heatmap())
    return RunView(label, result, {"policy.base_page": label}, number=label, run_id=len(label))


def test_several_runs_get_comparisons_and_one_run_its_own_detail() -> None:
    runs = [_run("4K", 2e6), _run("64K", 1e6)]
    overview = sweep_overview(runs, baseline=runs[0])
    keys = [chart.key for chart in overview.charts]
    assert keys == ["sweep-view", "summary-bars", "sweep", "parallel", "bloat-speedup"]
    charts, _ = overlay_charts(runs, overview.axes)
    assert [chart.key for chart in charts] == ["series-faults", "series-memory"]
    keys = [chart.key for chart in single_run_charts(runs[0])]
    assert keys == ["series-faults", "series-memory", "heatmap"]
