"""Views across a sweep: axes read off the runs, the view each shape gets, the Pareto front,
parallel coordinates, legends that stay short and user text that stays text."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from frontend.chart_sets import SMALL_SET_RUNS, label_by_axes, overlay_charts, sweep_overview
from frontend.figures import RunView
from frontend.figures.grid import Axis, plot_text, sweep_axes
from frontend.figures.series import drawn_indices
from frontend.figures.sweep_views import MAX_LEGEND_ENTRIES, compact_number, shape_chart
from frontend.figures.tradeoffs import parallel_chart, pareto_chart, pareto_front

from .samples import MIB, epoch_series, make_result

AXES: dict[str, list[Any]] = {
    "workload.generator.alpha": [0.6, 0.8, 1.0, 1.2],
    "workload.generator.size_bytes": ["64M", "256M"],
    "policy.base_page": ["4K", "64K"],
    "policy.thp": ["never", "always", "madvise"],
}


def _grid(axes: Mapping[str, Sequence[Any]]) -> list[RunView]:
    """One run per point; runtime and bloat made up from the point so cells are checkable."""
    runs = []
    for number, values in enumerate(itertools.product(*axes.values()), start=1):
        point = dict(zip(axes, values, strict=True))
        summary = {"est_runtime_ns": 1000.0 * number, "bloat_bytes": float(100 * (50 - number))}
        runs.append(
            RunView("", None, point, summary=summary, number=f"#{number}", run_id=100 + number)
        )
    return runs


def test_axes_are_the_paths_that_vary_in_the_order_given() -> None:
    runs = _grid({"policy.thp": ["never", "always"], "policy.base_page": ["64K"]})
    axes = sweep_axes(runs, {"policy.thp": ["never", "always"], "policy.base_page": ["64K"]})
    assert axes == [Axis("policy.thp", ("never", "always"))]
    # Without a declared sweep (the compare page), numbers are sorted.
    loose = [RunView("", None, {"a.x": value}, summary={}) for value in (3, 1, 2)]
    assert sweep_axes(loose) == [Axis("a.x", (1, 2, 3))]
    # Labels name only what varies.
    assert [run.label for run in label_by_axes(runs, axes)] == ["never", "always"]


def test_one_axis_draws_a_line_over_numbers_and_bars_over_names() -> None:
    numeric = _grid({"workload.generator.alpha": [0.6, 0.8, 1.0]})
    chart = shape_chart(numeric, sweep_axes(numeric), "est_runtime_ns")
    assert chart is not None and chart.figure.data[0].type == "scatter"
    assert list(chart.figure.data[0].x) == [0.6, 0.8, 1.0]
    named = _grid({"policy.thp": ["never", "always"]})
    chart = shape_chart(named, sweep_axes(named), "est_runtime_ns")
    assert chart is not None and chart.figure.data[0].type == "bar"


def test_two_axes_draw_a_heatmap_with_one_cell_per_point() -> None:
    axes: dict[str, list[Any]] = {
        "workload.generator.alpha": [0.6, 1.0, 1.4],
        "policy.base_page": ["4K", "64K"],
    }
    runs = _grid(axes)
    chart = shape_chart(runs, sweep_axes(runs, axes), "est_runtime_ns")
    assert chart is not None
    heatmap = chart.figure.data[0]
    assert heatmap.type == "heatmap"
    # The axis with more values goes across; base_page up.
    assert list(heatmap.x) == ["0.6", "1.0", "1.4"] and list(heatmap.y) == ["4K", "64K"]
    # Runs were numbered alpha-major: run n costs n µs.
    assert [[cell[1] for cell in row] for row in heatmap.customdata] == [
        [1000.0, 3000.0, 5000.0],
        [2000.0, 4000.0, 6000.0],
    ]
    assert [list(row) for row in heatmap.text] == [["1", "3", "5"], ["2", "4", "6"]]
    assert heatmap.customdata[0][0][0] == "#1 · alpha=0.6 · base_page=4K"


def test_more_axes_draw_facets_with_a_menu_for_the_rest_and_a_short_legend() -> None:
    axes: dict[str, list[Any]] = {**AXES, "controls.seed": [1, 2]}
    runs = _grid(axes)
    chart = shape_chart(runs, sweep_axes(runs, axes), "est_runtime_ns")
    assert chart is not None
    figure = chart.figure
    # x: alpha (most values); colour: fewest values; facets: the next fewest; a menu: the rest.
    assert figure.layout.xaxis.title.text == "alpha"
    shown = [trace for trace in figure.data if trace.showlegend]
    assert 0 < len(shown) <= MAX_LEGEND_ENTRIES
    # The seed, a run control, is never colour or facet: the menu fixes it with thp.
    assert figure.layout.legend.title.text == "base_page"
    menu = figure.layout.updatemenus[0]
    assert len(menu.buttons) == 3 * 2  # thp × seed, fixed one combination at a time
    assert menu.buttons[0].label == "thp=never · seed=1"
    visible = [trace for trace in figure.data if trace.visible]
    assert sum(len(trace.x) for trace in visible) == len(runs) // len(menu.buttons)
    assert sum(len(trace.x) for trace in figure.data) == len(runs)


def test_the_pareto_front_keeps_the_points_nothing_beats() -> None:
    points = [(1.0, 5.0), (2.0, 3.0), (2.5, 4.0), (3.0, 1.0), (4.0, 1.0)]
    assert pareto_front(points, lower_x=True, lower_y=True) == [0, 1, 3]
    assert pareto_front(points, lower_x=False, lower_y=True) == [4]
    runs = _grid({"workload.generator.alpha": [0.6, 0.8, 1.0, 1.2]})
    chart = pareto_chart(runs, ("est_runtime_ns", "bloat_bytes"))
    assert chart is not None
    front = next(trace for trace in chart.figure.data if trace.name == "Pareto front")
    # Runtime rises and bloat falls with the run number: every run is on the front.
    assert list(front.text) == ["#1", "#2", "#3", "#4"]


def test_parallel_coordinates_list_the_run_behind_each_line() -> None:
    runs = _grid(AXES)
    chart = parallel_chart(
        runs, sweep_axes(runs, AXES), ["est_runtime_ns", "bloat_bytes"], "est_runtime_ns"
    )
    assert chart is not None
    figure = chart.figure
    assert list(figure.layout.meta["run_ids"]) == [run.run_id for run in runs]
    titles = [a.text for a in figure.layout.annotations if a.text.startswith("<b>")]
    assert titles == [
        f"<b>{name}</b>"
        for name in ("base_page", "thp", "alpha", "size_bytes", "runtime (µs)", "bloat (KiB)")
    ]
    thp_ticks = [a.text for a in figure.layout.annotations if a.x == 1 and a.xanchor == "left"]
    assert thp_ticks == ["never", "always", "madvise"]
    # The points (one per run and axis) name their run; lines carry no hover.
    points = [trace for trace in figure.data if trace.mode == "markers"]
    lines = [trace for trace in figure.data if trace.mode == "lines"]
    assert sum(len(trace.x) for trace in points) == 6 * len(runs)
    assert {row[0] for trace in points for row in trace.customdata} == {run.run_id for run in runs}
    assert all(trace.hoverinfo == "skip" for trace in lines)
    # Every run's line is in one colour group: six points and a gap each.
    assert sum(len(trace.x) for trace in lines) == 7 * len(runs)


def test_a_large_sweep_gets_views_by_shape_not_a_bar_per_run() -> None:
    runs = _grid(AXES)
    overview = sweep_overview(runs, declared=AXES, metric="bloat_bytes")
    keys = [chart.key for chart in overview.charts]
    assert keys == ["sweep-view", "parallel", "pareto"]
    assert overview.metric == "bloat_bytes"
    # Eight runs overlaid per epoch by default: the best on the chosen metric.
    assert overview.overlay == "best" and len(overview.overlay_run_ids) == 8
    assert overview.overlay_run_ids[0] == runs[-1].run_id  # least bloat
    by_thp = sweep_overview(runs, declared=AXES, overlay="policy.thp=2")
    assert len(by_thp.overlay_run_ids) == 8
    few = _grid({"policy.thp": ["never", "always"], "policy.base_page": ["4K", "64K"]})
    assert len(few) <= SMALL_SET_RUNS
    keys = [chart.key for chart in sweep_overview(few, baseline=few[0]).charts]
    assert keys[:2] == ["sweep-view", "summary-bars"] and "bloat-speedup" in keys


def test_runs_of_one_epoch_get_a_note_not_a_column_of_dots() -> None:
    one = make_result(summary={"faults": 1}, series=epoch_series(1, faults=[1]))
    runs = [RunView(str(n), one, {"a.b": n}, number=f"#{n}") for n in range(3)]
    charts, note = overlay_charts(runs, sweep_axes(runs))
    assert charts == [] and "one epoch" in note
    mixed = [
        *runs[:1],
        RunView("2", make_result(summary={}, series=epoch_series(3, faults=[1, 2, 3]))),
    ]
    charts, note = overlay_charts(mixed, [])
    assert note == "" and "1 of 2 runs have one epoch" in charts[0].title
    assert charts[0].figure.data[0].mode == "markers"


def test_long_series_are_thinned_for_drawing_keeping_both_ends() -> None:
    assert drawn_indices(10, limit=400) == list(range(10))
    kept = drawn_indices(10_000, limit=400)
    assert len(kept) == 400 and kept[0] == 0 and kept[-1] == 9_999


@pytest.mark.parametrize(
    ("value", "text"), [(1234567, "1.23M"), (999, "999"), (0.5, "0.5"), (12_345, "12.3k")]
)
def test_heatmap_cells_read_short(value: float, text: str) -> None:
    assert compact_number(value) == text


def test_user_text_reaches_plotly_as_text() -> None:
    assert plot_text("<b>x</b> & y") == "&lt;b&gt;x&lt;/b&gt; &amp; y"
    runs = _grid({"policy.name": ["<i>a</i>", "b"]})
    chart = shape_chart(runs, sweep_axes(runs), "est_runtime_ns")
    assert chart is not None and list(chart.figure.data[0].x) == ["&lt;i&gt;a&lt;/i&gt;", "b"]
    assert MIB  # the samples module's units stay in use
