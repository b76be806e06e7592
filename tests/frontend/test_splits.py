"""What splits leave, on hand-made results: the leftovers chart, the per-epoch panels of
live mappings and of splits and events, and the labels and help of the new metrics."""

from __future__ import annotations

import pytest

from frontend.figures import RunView, series_chart, series_panels
from frontend.figures.metrics import lower_is_better, metric_label, unit_kind
from frontend.figures.splits import split_chart
from frontend.metric_help import metric_help

from .samples import KIB, MIB, epoch_series, make_result

TABLE = 4 * KIB
# A 1 GiB THP cut by a 64 KiB MADV_DONTNEED, beside three whole ones, with deposits:
# ``full`` leaves the cut one in 262,128 PTEs; ``pmd_first`` in 511 PMDs and 496 PTEs.
FULL = {
    "thp_splits": 1,
    "live_mappings_pud": 3,
    "live_mappings_pmd": 0,
    "live_mappings_pte": 262_128,
    "page_table_bytes": (3 + 3 * 513 + 513) * TABLE,
    "page_table_deposit_bytes": 3 * 513 * TABLE,
}
PMD_FIRST = {
    "thp_splits": 2,
    "live_mappings_pud": 3,
    "live_mappings_pmd": 511,
    "live_mappings_pte": 496,
    "page_table_bytes": (3 + 3 * 513 + 513) * TABLE,
    "page_table_deposit_bytes": (3 * 513 + 511) * TABLE,
}


def _run(label: str, summary: dict[str, int], number: str) -> RunView:
    return RunView(label, make_result(summary=summary), number=number)


def test_leftovers_a_bar_per_level_and_tables_in_use_beside_deposited_ones() -> None:
    runs = [_run("full", FULL, "#1"), _run("pmd_first", PMD_FIRST, "#2")]
    chart = split_chart(runs)
    assert chart is not None and chart.key == "splits"
    data = {trace.name: trace for trace in chart.figure.data}
    assert list(data) == ["PUD", "PMD", "PTE", "tables in use", "deposited tables"]
    assert list(data["PTE"].x) == ["full", "pmd_first"]
    assert list(data["PTE"].y) == [262_128, 496]
    assert [row[1] for row in data["PMD"].customdata] == [0, 511]
    # Mappings on the left, on a log axis; page tables on the right, in MiB.
    assert {data[level].xaxis for level in ("PUD", "PMD", "PTE")} == {"x"}
    assert chart.figure.layout.yaxis.type == "log"
    assert data["deposited tables"].xaxis == "x2"
    assert [row[1] for row in data["tables in use"].customdata] == [
        (3 + 513) * TABLE,
        (3 + 2) * TABLE,
    ]
    assert list(data["deposited tables"].y) == pytest.approx(
        [3 * 513 * TABLE / MIB, (3 * 513 + 511) * TABLE / MIB]
    )
    assert chart.figure.layout.annotations[1].text == "Page-table memory (MiB)"


def test_no_leftovers_chart_when_nothing_was_split() -> None:
    unsplit = {**FULL, "thp_splits": 0, "live_mappings_pte": 0, "live_mappings_pud": 4}
    assert split_chart([_run("a", unsplit, "#1"), _run("b", unsplit, "#2")]) is None
    # Results from before the engine counted mappings per level have nothing to draw.
    assert split_chart([_run("a", {"thp_splits": 1}, "#1")]) is None


def _series_run(**columns: list[int]) -> RunView:
    epochs = len(next(iter(columns.values())))
    return RunView("a", make_result(summary={}, series=epoch_series(epochs, **columns)))


def test_per_epoch_live_mappings_are_a_state_and_splits_sit_with_events_and_shootdowns() -> None:
    """One memory tier: TLB shootdowns now come from workload events too, so they are drawn
    with the splits, not left to the several-tier migration panel."""
    run = _series_run(
        live_mappings_pud=[4, 3],
        live_mappings_pmd=[0, 511],
        live_mappings_pte=[0, 496],
        thp_splits=[0, 2],
        thp_splits_1g=[0, 1],
        thp_splits_2m=[0, 1],
        events_madvise_dontneed=[0, 1],
        tlb_shootdowns=[0, 1],
        migrated_folios=[0, 0],
    )
    panels = {panel.key: panel for panel in series_panels([run])}
    assert panels["mappings"].columns == (
        "live_mappings_pte",
        "live_mappings_pud",
        "live_mappings_pmd",
    )
    assert panels["splits"].columns == (
        "thp_splits",
        "thp_splits_1g",
        "thp_splits_2m",
        "events_madvise_dontneed",
        "tlb_shootdowns",
    )
    assert "migration-events" not in panels
    # Mappings in place at the epoch's end, not summed over it; splits are per epoch.
    mappings = series_chart(panels["mappings"], [run, run])
    assert mappings.figure.layout.yaxis.title.text == "Live PTE mappings (count)"
    splits = series_chart(panels["splits"], [run, run])
    assert splits.figure.layout.yaxis.title.text == "THP splits per epoch (count)"


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("live_mappings_pud", "Live PUD mappings"),
        ("live_mappings_pte", "Live PTE mappings"),
        ("thp_splits_1g", "1 GiB THP splits"),
        ("thp_splits_64k", "64 KiB THP splits"),
        ("thp_splits", "THP splits"),
        ("events_munmap", "munmap events"),
        ("events_mprotect", "mprotect events"),
        ("events_madvise_dontneed", "MADV_DONTNEED events"),
        ("tlb_shootdowns", "TLB shootdowns"),
        ("page_table_deposit_bytes", "Deposited page tables"),
    ],
)
def test_split_metrics_have_labels_counts_and_help(name: str, label: str) -> None:
    assert metric_label(name) == label
    assert unit_kind(name) == ("bytes" if name.endswith("_bytes") else "count")
    assert metric_help(name)


def test_mappings_and_events_are_neither_better_nor_worse_but_splits_are_costs() -> None:
    # Fewer PTE mappings may mean more PMD mappings; the workload makes its own events.
    assert lower_is_better("live_mappings_pte") is None
    assert lower_is_better("events_munmap") is None
    assert lower_is_better("thp_splits_1g") is True
    assert "every" in metric_help("tlb_shootdowns") and "event" in metric_help("tlb_shootdowns")
    assert "262,144 PTEs" in metric_help("live_mappings_pte")
