"""Per-epoch figures: which panels exist, what each trace holds, units and exact hover data."""

from __future__ import annotations

import pytest

from frontend.figures import RunView, page_size_chart, series_chart, series_panels

from .samples import KIB, MIB, epoch_series, make_result


def _run(label: str, **columns: list[float]) -> RunView:
    epochs = len(next(iter(columns.values())))
    return RunView(label, make_result(summary={}, series=epoch_series(epochs, **columns)))


def test_panels_group_columns_by_meaning_and_leave_out_what_no_run_has() -> None:
    run = _run(
        "a",
        tlb_l1_misses=[1, 2],
        tlb_l2_misses=[0, 1],
        faults=[3, 0],
        resident_bytes=[MIB, MIB],
        bloat_bytes=[0, KIB],
        resident_bytes_4k=[MIB, MIB],
        mystery_widgets=[7, 8],
    )
    panels = {panel.key: panel.columns for panel in series_panels([run])}
    assert panels == {
        "tlb": ("tlb_l1_misses", "tlb_l2_misses"),
        "faults": ("faults",),
        "memory": ("resident_bytes", "bloat_bytes"),
        # Unknown metrics are still plotted, grouped by the unit their name carries.
        "other-count": ("mystery_widgets",),
    }


def test_overlaid_runs_get_a_line_per_run_and_a_menu_to_pick_the_column() -> None:
    both = _run("4K", tlb_l1_misses=[10, 20, 30], tlb_l2_misses=[1, 2, 3])
    only_l1 = _run("64K", tlb_l1_misses=[5, 6, 7])
    panel = series_panels([both, only_l1])[0]
    chart = series_chart(panel, [both, only_l1])

    assert chart.key == "series-tlb"
    data = chart.figure.data
    # Legends name runs; the 64K run has no L2 column, so it has no L2 line.
    assert [(trace.name, trace.visible) for trace in data] == [
        ("4K", True),
        ("64K", True),
        ("4K", False),
    ]
    first = data[0]
    assert list(first.x) == [1000, 2000, 3000]
    assert list(first.y) == [10, 20, 30]
    # Exact value and epoch number ride along for the hover text.
    assert [list(row) for row in first.customdata] == [[10, 0], [20, 1], [30, 2]]
    assert chart.figure.layout.xaxis.title.text == "Accesses simulated"
    assert chart.figure.layout.yaxis.title.text == "TLB L1 misses per epoch (count)"

    (menu,) = chart.figure.layout.updatemenus
    assert [button.label for button in menu.buttons] == ["TLB L1 misses", "TLB L2 misses"]
    l2 = menu.buttons[1].args
    assert l2[0]["visible"] == [False, False, True]
    assert l2[1]["yaxis.title.text"] == "TLB L2 misses per epoch (count)"


def test_one_run_shows_every_column_of_a_panel_at_once() -> None:
    run = _run("4K", tlb_l1_misses=[10, 20], tlb_l2_misses=[1, 2])
    chart = series_chart(series_panels([run])[0], [run])
    assert [(trace.name, trace.visible) for trace in chart.figure.data] == [
        ("TLB L1 misses", True),
        ("TLB L2 misses", True),
    ]
    assert not chart.figure.layout.updatemenus
    assert chart.figure.layout.yaxis.title.text == "TLB misses per epoch (count)"


def test_bytes_are_plotted_in_a_readable_unit_with_exact_bytes_on_hover() -> None:
    run = _run("a", resident_bytes=[3 * MIB, 5 * MIB + 1])
    chart = series_chart(series_panels([run])[0], [run])
    trace = chart.figure.data[0]
    assert chart.figure.layout.yaxis.title.text == "Resident memory (MiB)"
    assert list(trace.y) == pytest.approx([3.0, 5.0 + 1 / MIB])
    assert [row[0] for row in trace.customdata] == [3 * MIB, 5 * MIB + 1]
    assert "bytes" in trace.hovertemplate


def test_page_size_composition_stacks_sizes_smallest_first() -> None:
    run = _run(
        "a",
        resident_bytes_2m=[2 * MIB, 4 * MIB],
        resident_bytes_4k=[8 * KIB, 8 * KIB],
        resident_bytes_1g=[0, 1 << 30],
        resident_bytes_64k=[64 * KIB, 0],
        resident_bytes=[1, 2],
    )
    chart = page_size_chart(run)
    assert chart is not None
    assert [trace.name for trace in chart.figure.data] == [
        "4K pages",
        "64K pages",
        "2M pages",
        "1G pages",
    ]
    assert {trace.stackgroup for trace in chart.figure.data} == {"page-size"}
    # The largest stacked total is 1 GiB + 4 MiB + 8 KiB, so the axis is in GiB.
    assert chart.figure.layout.yaxis.title.text == "Resident memory (GiB)"
    assert list(chart.figure.data[3].customdata) == [0, 1 << 30]


def test_no_page_size_chart_without_page_size_columns() -> None:
    assert page_size_chart(_run("a", resident_bytes=[1, 2])) is None


def test_a_panel_leads_with_its_headline_column_whatever_the_engine_order() -> None:
    run = _run(
        "a",
        compute_ns=[1.0],
        memory_ns=[2.0],
        est_runtime_ns=[3.0],
        page_table_bytes_pte=[4096],
        page_table_bytes=[8192],
    )
    panels = {panel.key: panel.columns for panel in series_panels([run])}
    assert panels["time"] == ("est_runtime_ns", "compute_ns", "memory_ns")
    assert panels["page-tables"] == ("page_table_bytes", "page_table_bytes_pte")
