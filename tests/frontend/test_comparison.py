"""Figures across runs: bars per metric, sweep lines and bloat against speed-up."""

from __future__ import annotations

import pytest

from frontend.figures import RunView, bloat_speedup_chart, summary_bars_chart, sweep_chart

from .samples import MIB, make_result


def _run(label: str, point: dict[str, str] | None = None, **summary: float) -> RunView:
    return RunView(label, make_result(summary=summary), point or {})


def test_bars_one_subplot_per_headline_metric_and_only_runs_that_report_it() -> None:
    runs = [
        _run("4K", est_runtime_ns=2e9, bloat_bytes=0, tlb_l2_misses=900),
        _run("64K", est_runtime_ns=1e9, tlb_l2_misses=100),
    ]
    chart = summary_bars_chart(runs)
    assert chart is not None
    bars = {trace.name: trace for trace in chart.figure.data}
    assert list(bars) == ["Estimated runtime", "TLB L2 misses", "Bloat"]
    assert list(bars["Bloat"].x) == ["4K"]
    assert list(bars["Estimated runtime"].y) == [2.0, 1.0]  # seconds
    # The full label and the exact ns on hover.
    assert [list(point) for point in bars["Estimated runtime"].customdata] == [
        ["4K", 2e9],
        ["64K", 1e9],
    ]
    titles = [annotation.text for annotation in chart.figure.layout.annotations]
    assert titles == ["Estimated runtime (s)", "TLB L2 misses (count)", "Bloat (bytes)"]


def test_no_bars_when_no_run_reports_a_headline_metric() -> None:
    assert summary_bars_chart([_run("a", something_else=1)]) is None


SWEEP = {"policy.base_page": ["4K", "64K"], "policy.thp": ["never", "always"]}


def _sweep_runs() -> list[RunView]:
    runtimes_ns = {("4K", "never"): 400, ("64K", "never"): 300, ("4K", "always"): 200}
    return [
        _run(
            f"{page} · {thp}",
            {"policy.base_page": page, "policy.thp": thp},
            est_runtime_ns=runtime_ns,
        )
        for (page, thp), runtime_ns in runtimes_ns.items()
    ]


def test_sweep_draws_one_line_per_value_of_the_other_axis_in_axis_order() -> None:
    chart = sweep_chart(_sweep_runs(), SWEEP, "policy.base_page")
    assert chart is not None
    lines = {trace.name: trace for trace in chart.figure.data}
    assert set(lines) == {"thp=never", "thp=always"}
    assert list(lines["thp=never"].x) == ["4K", "64K"]
    assert list(lines["thp=never"].customdata) == [400, 300]
    # The (64K, always) run has not reported: that point is missing, not an error.
    assert list(lines["thp=always"].x) == ["4K"]
    assert list(chart.figure.layout.xaxis.categoryarray) == ["4K", "64K"]


def test_sweep_needs_a_swept_x_axis() -> None:
    assert sweep_chart(_sweep_runs(), SWEEP, "workload.generator.alpha") is None


def test_speed_up_is_baseline_runtime_over_the_runs_runtime() -> None:
    baseline = _run("4K", est_runtime_ns=3000, bloat_bytes=0)
    faster = _run("64K", est_runtime_ns=1500, bloat_bytes=6 * MIB)
    no_bloat = _run("2M", est_runtime_ns=1000)
    chart = bloat_speedup_chart([baseline, faster, no_bloat], baseline)
    assert chart is not None
    points = {trace.name: (trace.x[0], trace.y[0]) for trace in chart.figure.data}
    assert points == {"4K": (1.0, 0.0), "64K": (2.0, pytest.approx(6.0))}
    assert chart.figure.layout.yaxis.title.text == "Bloat (MiB)"


def test_no_bloat_chart_when_the_baseline_has_no_runtime() -> None:
    baseline = _run("4K", bloat_bytes=0)
    assert bloat_speedup_chart([baseline, _run("64K", est_runtime_ns=1)], baseline) is None
