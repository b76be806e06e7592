"""The access-aware THP view: bloat removed against speed-up kept beside the damos_hugepage
prototype's point, from hand-made results; and the template the engine accepts."""

from __future__ import annotations

import pytest

import pagelab
from frontend import experiment_templates
from frontend.chart_sets import sweep_overview
from frontend.figures import RunView, access_aware_chart
from frontend.figures.access_aware import PROTOTYPE_NAME, access_aware_points
from frontend.figures.grid import sweep_axes
from frontend.figures.metrics import metric_label, unit_kind
from frontend.metric_help import metric_help

from .samples import MIB, epoch_series, make_result

THP = "policy.thp"
SWEEP = {THP: ["never", "always", "access_aware"]}
# (resident bytes, translation ns): always adds 600 MiB and saves 5 ms over never; the
# access-aware run holds 120 MiB of it (80% removed) and saves 2.5 ms (50% kept).
RUNS = {
    "never": (16 * MIB, 10e6),
    "always": (616 * MIB, 5e6),
    "access_aware": (136 * MIB, 7.5e6),
}


def _runs() -> list[RunView]:
    runs = []
    for number, (mode, (resident, translation_ns)) in enumerate(RUNS.items(), start=1):
        summary = {
            "resident_bytes": resident,
            "translation_ns": translation_ns,
            "est_runtime_ns": 2 * translation_ns,
            "bloat_bytes": resident - 16 * MIB,
        }
        result = make_result(summary=summary, series=epoch_series(1, faults=[1]))
        runs.append(RunView(mode, result, {THP: mode}, number=f"#{number}"))
    return runs


def test_each_access_aware_run_is_measured_against_never_and_always() -> None:
    runs = _runs()
    (point,) = access_aware_points(runs, sweep_axes(runs, SWEEP))
    assert point.run.label == "access_aware"
    assert point.bloat_removed == pytest.approx(80.0)
    assert point.speedup_kept == pytest.approx(50.0)


def test_the_chart_marks_the_prototype_beside_the_runs() -> None:
    runs = _runs()
    chart = access_aware_chart(runs, sweep_axes(runs, SWEEP))
    assert chart is not None and chart.key == "access-aware-thp"
    run_trace, prototype = chart.figure.data
    assert [*run_trace.x, *run_trace.y] == pytest.approx([80.0, 50.0])
    assert (list(prototype.x), list(prototype.y)) == ([80.0], [46.0])
    assert prototype.name == PROTOTYPE_NAME and prototype.marker["symbol"] == "star"
    overview = sweep_overview(runs, declared=SWEEP)
    assert "access-aware-thp" in [chart.key for chart in overview.charts]


def test_no_chart_without_all_three_thp_modes() -> None:
    runs = [run for run in _runs() if run.point[THP] != "never"]
    axes = sweep_axes(runs, {THP: ["always", "access_aware"]})
    assert access_aware_chart(runs, axes) is None


def test_new_metrics_have_labels_units_and_help() -> None:
    assert unit_kind("huge_page_ratio") == "ratio"
    assert unit_kind("thp_collapse_ns") == "time"
    assert unit_kind("access_aware_collapse_min_accesses") == "count"
    for name in (
        "huge_page_ratio",
        "thp_collapses",
        "thp_collapse_failures",
        "thp_collapse_ns",
        "access_aware_collapse_min_accesses",
    ):
        assert metric_label(name) != name and metric_help(name)


def test_the_template_sweeps_never_always_and_access_aware_on_the_kvstore() -> None:
    template = next(t for t in experiment_templates.TEMPLATES if t.key == "access-aware-thp")
    spec = experiment_templates.with_catalogues(
        template, generator_names=["kvstore", "zipf"], preset_names=["skylake"]
    )
    assert spec is not None and spec["workload"]["generator"]["name"] == "kvstore"
    for mode in template.sweep[THP]:
        loaded = pagelab.load_spec({**spec, "policy": {**spec["policy"], "thp": mode}})
        assert loaded.policy.thp == mode
