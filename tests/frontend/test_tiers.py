"""Memory tiers on a run's page: the per-tier chart, how per-tier columns are named, grouped
and kept apart from page sizes, and what each metric's help says. Results come from small
runs of the engine."""

from __future__ import annotations

import pytest

from frontend.chart_sets import single_run_charts
from frontend.figures import RunView, headline_metrics, page_size_chart, series_panels, tier_chart
from frontend.figures.metrics import lower_is_better, metric_label, unit_for, unit_kind
from frontend.figures.tiers import run_tiers
from frontend.metric_help import metric_help

from .samples import MIB, epoch_series, make_result, single_tier_result, tiered_result

MARKUP_TIER = "<b>x</b>"


def test_the_tier_chart_stacks_each_tiers_memory_fast_first_under_its_own_name() -> None:
    result = tiered_result("oracle")
    chart = tier_chart(RunView("oracle", result))
    assert chart is not None and chart.key == "tiers"
    resident = [trace for trace in chart.figure.data if trace.type == "scatter"][:2]
    assert {trace.stackgroup for trace in resident} == {"resident"}
    assert [trace.name for trace in resident] == ["DRAM", "CXL"]
    for trace, column in zip(resident, ("resident_bytes_dram", "resident_bytes_cxl"), strict=True):
        # Twelve epochs are all drawn; hover has the exact bytes.
        assert list(trace.customdata) == result.series[column]
        assert list(trace.x) == result.series["accesses_end"]
    # The stack tops out at the workload's resident memory, 32 MiB at most: plotted in MiB.
    assert chart.figure.layout.yaxis.title.text == "Resident (MiB)"
    assert list(resident[0].y) == pytest.approx(
        [value / MIB for value in result.series["resident_bytes_dram"]]
    )


def test_the_tier_chart_has_promotion_and_demotion_per_epoch_and_the_fast_tier_share() -> None:
    result = tiered_result("oracle")
    chart = tier_chart(RunView("oracle", result))
    assert chart is not None
    bars = {trace.name: trace for trace in chart.figure.data if trace.type == "bar"}
    assert list(bars) == ["Promoted", "Demoted"]
    assert list(bars["Promoted"].customdata) == result.series["promoted_bytes"]
    assert list(bars["Demoted"].customdata) == result.series["demoted_bytes"]
    # The oracle moves the hot set in: something was promoted.
    assert sum(result.series["promoted_bytes"]) > 0
    (share,) = [trace for trace in chart.figure.data if trace.yaxis == "y3"]
    assert share.name == "Fast-tier access ratio (DRAM)"
    assert list(share.y) == result.series["fast_tier_access_ratio"]
    assert chart.figure.layout.yaxis3.range == (0, 1.02)


def test_a_tier_name_reaches_the_chart_as_text() -> None:
    chart = tier_chart(RunView("a", tiered_result("first_touch", fast_tier_name=MARKUP_TIER)))
    assert chart is not None
    names = [trace.name for trace in chart.figure.data]
    assert "&lt;b&gt;x&lt;/b&gt;" in names
    assert not any("<b>" in (name or "") for name in names)


def test_one_tier_gets_no_tier_chart_and_no_tier_only_panels() -> None:
    run = RunView("one", single_tier_result())
    assert tier_chart(run) is None
    keys = {panel.key for panel in series_panels([run])}
    assert not keys & {"tier-ratio", "tier-migration", "migration-events", "tier-used"}
    # A single tier's loaded latency still says something.
    assert "tier-latency" in keys
    assert {chart.key for chart in single_run_charts(run)}.isdisjoint({"tiers"})


def test_per_tier_columns_get_panels_of_their_own_and_never_pass_for_page_sizes() -> None:
    run = RunView("oracle", tiered_result("oracle"))
    panels = {panel.key: panel.columns for panel in series_panels([run])}
    assert panels["tier-accesses"] == ("memory_accesses_dram", "memory_accesses_cxl")
    assert panels["tier-latency"] == ("memory_latency_ns_dram", "memory_latency_ns_cxl")
    assert panels["tier-bandwidth"] == (
        "bandwidth_utilisation_dram",
        "bandwidth_utilisation_cxl",
    )
    assert panels["tier-used"] == ("used_bytes_dram", "used_bytes_cxl")
    assert panels["tier-ratio"] == ("fast_tier_access_ratio",)
    drawn = {column for columns in panels.values() for column in columns}
    # Memory per tier is the tier chart's to stack, as page sizes are the page-size chart's.
    assert not {"resident_bytes_dram", "resident_bytes_cxl", "resident_bytes_4k"} & drawn
    page_sizes = page_size_chart(run)
    assert page_sizes is not None
    assert [trace.name for trace in page_sizes.figure.data] == ["4K pages"]


def test_a_runs_own_page_draws_the_tier_charts_columns_once() -> None:
    charts = {chart.key: chart for chart in single_run_charts(RunView("o", tiered_result()))}
    assert {"tiers", "heatmap", "page-sizes", "series-tier-accesses"} <= set(charts)
    assert "series-tier-ratio" not in charts and "series-tier-migration" not in charts


def test_policy_values_are_grouped_per_policy_and_unit() -> None:
    series = epoch_series(
        2,
        tpp_hot_threshold_ms=[1000.0, 1250.0],
        tpp_hint_faults_dropped=[0, 3],
        damon_regions=[10, 40],
        damon_migrate_hot_quota_bytes=[MIB, 2 * MIB],
    )
    run = RunView("a", make_result(summary={}, series=series))
    panels = {panel.key: panel.columns for panel in series_panels([run])}
    assert panels["policy-tpp-time"] == ("tpp_hot_threshold_ms",)
    assert panels["policy-tpp-count"] == ("tpp_hint_faults_dropped",)
    assert panels["policy-damon-count"] == ("damon_regions",)
    assert panels["policy-damon-bytes"] == ("damon_migrate_hot_quota_bytes",)


@pytest.mark.parametrize(
    ("name", "label", "kind", "better"),
    [
        ("memory_accesses_cxl", "Memory accesses on cxl", "count", None),
        ("memory_latency_ns_cxl", "Memory latency on cxl", "time", True),
        ("bandwidth_utilisation_dram", "Bandwidth utilisation of dram", "ratio", None),
        ("resident_bytes_dram", "Resident on dram", "bytes", None),
        ("used_bytes_cxl", "Used on cxl", "bytes", None),
        ("interleave_weight_cxl", "Interleave weight of cxl", "count", None),
        ("resident_bytes_64k", "Resident in 64K pages", "bytes", True),
        # The prefix says the unit, whatever the tier is called.
        ("memory_accesses_fast_ms", "Memory accesses on fast_ms", "count", None),
        ("fast_tier_access_ratio", "Fast-tier access ratio", "ratio", False),
        ("hint_faults", "NUMA hint faults", "count", True),
        ("tpp_hot_threshold_ms", "TPP hot threshold", "time", None),
    ],
)
def test_tiering_metrics_have_labels_units_and_a_direction(
    name: str, label: str, kind: str, better: bool | None
) -> None:
    assert (metric_label(name), unit_kind(name), lower_is_better(name)) == (label, kind, better)


def test_times_stored_in_ms_and_us_are_scaled_from_their_own_unit() -> None:
    threshold = unit_for("tpp_hot_threshold_ms", [1500.0])
    assert (threshold.name, threshold.divisor, threshold.hover_suffix) == ("s", 1000.0, " ms")
    interval = unit_for("damon_sample_interval_us", [5000.0])
    assert (interval.name, interval.divisor, interval.hover_suffix) == ("ms", 1000.0, " µs")
    latency = unit_for("memory_latency_ns_cxl", [250.0])
    assert (latency.name, latency.divisor) == ("ns", 1)


def test_tiers_are_read_in_the_specs_order_with_the_names_it_gave() -> None:
    run = RunView("a", tiered_result("first_touch", fast_tier_name=MARKUP_TIER))
    assert [(tier.name, tier.metric) for tier in run_tiers(run)] == [
        (MARKUP_TIER, "_b_x__b_"),
        ("CXL", "cxl"),
    ]


def test_metrics_come_with_help_per_tier_too() -> None:
    assert "first, fastest tier" in metric_help("fast_tier_access_ratio")
    assert metric_help("memory_accesses_cxl") == "Memory accesses (LLC misses) served by tier cxl."
    assert metric_help("resident_bytes_4k") == ""
    assert metric_help("no_such_metric") == ""


def test_tier_headlines_only_where_some_run_has_several_tiers() -> None:
    one = RunView("one", single_tier_result())
    two = RunView("two", tiered_result("oracle"))
    tier_headlines = {"fast_tier_access_ratio", "promoted_bytes", "demoted_bytes"}
    assert not tier_headlines & set(headline_metrics([one]))
    assert tier_headlines <= set(headline_metrics([one, two]))
