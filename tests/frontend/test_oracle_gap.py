"""Each tiering policy against the oracle run at the same other sweep values, from small
runs of the engine: first touch and the oracle × two fast-tier capacities."""

from __future__ import annotations

import pytest

from frontend.chart_sets import sweep_overview
from frontend.figures import RunView, oracle_gap_chart
from frontend.figures.grid import sweep_axes
from frontend.figures.oracle_gap import oracle_gaps

from .samples import make_result, tiered_result

POLICY = "policy.tiering.name"
CAPACITY = "machine.tiers.0.capacity_bytes"
SWEEP = {POLICY: ["first_touch", "oracle"], CAPACITY: ["8M", "16M"]}


def _sweep() -> list[RunView]:
    runs: list[RunView] = []
    for policy in SWEEP[POLICY]:
        for capacity in SWEEP[CAPACITY]:
            result = tiered_result(policy, fast_tier_bytes=capacity)
            point = {POLICY: policy, CAPACITY: capacity}
            number = f"#{len(runs) + 1}"
            runs.append(RunView(f"{policy} · {capacity}", result, point, number=number))
    return runs


def test_each_policy_run_is_measured_against_the_oracle_with_its_other_values() -> None:
    runs = _sweep()
    gaps = oracle_gaps(runs, sweep_axes(runs, SWEEP))
    assert [(gap.run.label, gap.oracle.label) for gap in gaps] == [
        ("first_touch · 8M", "oracle · 8M"),
        ("first_touch · 16M", "oracle · 16M"),
    ]
    for gap in gaps:
        run, oracle = gap.run.metrics, gap.oracle.metrics
        assert gap.ratio_points == pytest.approx(
            100 * (oracle["fast_tier_access_ratio"] - run["fast_tier_access_ratio"])
        )
        assert gap.amat_ns == pytest.approx(run["amat_ns"] - oracle["amat_ns"])
        # The oracle is the bound: first touch serves less from DRAM, more slowly.
        assert gap.ratio_points is not None and gap.ratio_points > 0
        assert gap.amat_ns is not None and gap.amat_ns > 0


def test_the_chart_has_a_bar_per_run_in_points_and_ns_with_both_values_on_hover() -> None:
    runs = _sweep()
    chart = oracle_gap_chart(runs, sweep_axes(runs, SWEEP))
    assert chart is not None and chart.key == "oracle-gap"
    data = chart.figure.data
    # One trace per capacity in each of the two subplots; the oracle itself has no bar.
    assert [(trace.name, trace.xaxis, list(trace.x)) for trace in data] == [
        ("capacity_bytes=8M", "x", ["first_touch"]),
        ("capacity_bytes=8M", "x2", ["first_touch"]),
        ("capacity_bytes=16M", "x", ["first_touch"]),
        ("capacity_bytes=16M", "x2", ["first_touch"]),
    ]
    gaps = oracle_gaps(runs, sweep_axes(runs, SWEEP))
    assert [trace.y[0] for trace in data] == pytest.approx(
        [gaps[0].ratio_points, gaps[0].amat_ns, gaps[1].ratio_points, gaps[1].amat_ns]
    )
    first_touch, oracle = runs[0].metrics, runs[2].metrics
    assert list(data[0].customdata[0]) == [
        "#1 · capacity_bytes=8M · name=first_touch",
        f"{first_touch['fast_tier_access_ratio']:.4f}",
        f"{oracle['fast_tier_access_ratio']:.4f}",
    ]
    assert list(data[1].customdata[0])[1:] == [
        f"{first_touch['amat_ns']:,.1f} ns",
        f"{oracle['amat_ns']:,.1f} ns",
    ]
    titles = [annotation.text for annotation in chart.figure.layout.annotations]
    assert titles == ["Fast-tier share below the oracle (points)", "AMAT above the oracle (ns)"]


def test_no_chart_without_an_oracle_or_a_tiering_axis() -> None:
    runs = [run for run in _sweep() if run.point[POLICY] != "oracle"]
    assert oracle_gap_chart(runs, sweep_axes(runs, SWEEP)) is None
    other = [
        RunView(label, make_result(summary={"amat_ns": 1.0}), {"policy.thp": label})
        for label in ("never", "always")
    ]
    assert oracle_gap_chart(other, sweep_axes(other)) is None


def test_a_tiering_sweep_shows_the_distance_to_the_oracle_among_its_views() -> None:
    runs = _sweep()
    overview = sweep_overview(runs, declared=SWEEP)
    assert "oracle-gap" in [chart.key for chart in overview.charts]
