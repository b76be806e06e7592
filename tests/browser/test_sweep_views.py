"""Sweeps of 6, 48 and 256 tiny runs in headless Chromium: the views picked by the sweep's
shape, labels that never overlap, legends of at most 12 entries, parallel coordinates that
filter the run table, a heatmap with one cell per point, and a sortable, filterable table.
Full-page screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .conftest import SCREENSHOTS, LiveServer, Session

MAX_LEGEND_ENTRIES = 12
FINISH_TIMEOUT_S = 500.0

# Few accesses per run: 256 of them finish in minutes on two shared cores.
TINY = {"controls": {"seed": 1, "epoch_accesses": 1000}}


def _zipf(accesses: int) -> dict[str, Any]:
    return {"generator": {"name": "zipf", "size_bytes": "64M", "accesses": accesses}}


SWEEPS: dict[str, dict[str, Any]] = {
    # 2 axes: a heatmap.
    "two-axis": {
        "spec": {"workload": _zipf(3000), **TINY},
        "sweep": {
            "workload.generator.alpha": [0.6, 1.0, 1.4],
            "policy.base_page": ["4K", "64K"],
        },
    },
    # 4 axes, 48 runs of one epoch each.
    "48": {
        "spec": {"workload": _zipf(1000), **TINY},
        "sweep": {
            "workload.generator.alpha": [0.6, 0.8, 1.0, 1.2],
            "workload.generator.size_bytes": ["64M", "256M"],
            "policy.base_page": ["4K", "64K"],
            "policy.thp": ["never", "always", "madvise"],
        },
    },
    # 5 axes, 256 runs of two epochs.
    "256": {
        "spec": {"workload": _zipf(2000), **TINY},
        "sweep": {
            "workload.generator.alpha": [0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2],
            "workload.generator.size_bytes": ["16M", "64M", "256M", "1G"],
            "policy.base_page": ["4K", "64K"],
            "policy.thp": ["never", "always"],
            "controls.seed": [1, 2],
        },
    },
}


@pytest.fixture(scope="module")
def sweeps(live_server: LiveServer) -> dict[str, int]:
    """Every sweep submitted at once and watched to the end: name → experiment id."""
    ids = {}
    with live_server.api() as api:
        for name, body in SWEEPS.items():
            created = api.post("/experiments", json={"name": f"sweep {name}", **body})
            assert created.status_code == 201, created.text
            ids[name] = created.json()["id"]
        deadline = time.monotonic() + FINISH_TIMEOUT_S
        pending = set(ids.values())
        while pending and time.monotonic() < deadline:
            for experiment_id in list(pending):
                status = api.get(f"/experiments/{experiment_id}").json()["status"]
                assert status not in {"failed", "cancelled"}, (experiment_id, status)
                if status == "succeeded":
                    pending.discard(experiment_id)
            time.sleep(1)
        assert not pending, f"experiments {pending} did not finish in {FINISH_TIMEOUT_S} s"
    return ids


def _open_sweep(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.plot[data-figure]')]"
        ".every((plot) => plot.dataset.drawn === 'true')"
    )


def _full_screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


# Every text Plotly drew in each figure, with its box on screen; then the pairs that overlap.
_OVERLAPS_JS = """() => {
    const found = [];
    for (const plot of document.querySelectorAll('.plot[data-figure]')) {
        const boxes = [];
        for (const text of plot.querySelectorAll('svg text')) {
            if (!text.textContent.trim() || text.closest('.hoverlayer')) continue;
            const style = getComputedStyle(text);
            if (style.display === 'none' || style.visibility === 'hidden') continue;
            if (text.closest('[style*="display: none"]')) continue;
            const box = text.getBoundingClientRect();
            if (box.width < 1 || box.height < 1) continue;
            boxes.push({text: text.textContent, box});
        }
        for (let i = 0; i < boxes.length; i++) {
            for (let j = i + 1; j < boxes.length; j++) {
                const a = boxes[i].box, b = boxes[j].box;
                if (a.left < b.right - 1 && b.left < a.right - 1 &&
                    a.top < b.bottom - 1 && b.top < a.bottom - 1) {
                    found.push(`${plot.dataset.figure}: "${boxes[i].text}" / "${boxes[j].text}"`);
                }
            }
        }
    }
    return found;
}"""

_LEGENDS_JS = """() => Object.fromEntries([...document.querySelectorAll('.plot[data-figure]')]
    .map((plot) => [plot.dataset.figure, plot.querySelectorAll('.legend .traces').length]))"""


def _assert_readable(page: Page) -> None:
    overlaps = page.evaluate(_OVERLAPS_JS)
    assert not overlaps, "text labels overlap:\n" + "\n".join(overlaps[:20])
    legends = page.evaluate(_LEGENDS_JS)
    assert max(legends.values(), default=0) <= MAX_LEGEND_ENTRIES, legends
    # No figure is wider than its box (rotated labels included).
    too_wide = page.evaluate(
        """() => [...document.querySelectorAll('.chart')].filter((chart) =>
            chart.scrollWidth > chart.clientWidth + 1).map((chart) => chart.id)"""
    )
    assert not too_wide, too_wide


def _chart_keys(page: Page) -> list[str]:
    keys: list[str] = page.eval_on_selector_all(
        "[data-chart]", "(charts) => charts.map((chart) => chart.dataset.chart)"
    )
    return keys


def _shown_run_ids(page: Page) -> set[int]:
    ids: list[str] = page.eval_on_selector_all(
        "#runs tbody tr[data-run-id]",
        "(rows) => rows.filter((row) => row.offsetParent !== null).map((row) => row.dataset.runId)",
    )
    return {int(run_id) for run_id in ids}


def _brush_first_axis(page: Page) -> None:
    """Drag a box over the lower half of the first parallel-coordinates axis."""
    where = page.evaluate(
        """() => {
            const plot = document.querySelector('#chart-parallel .plot');
            plot.scrollIntoView({block: 'center'});
            const area = plot.querySelector('.nsewdrag').getBoundingClientRect();
            const xa = plot._fullLayout.xaxis, ya = plot._fullLayout.yaxis;
            return {x: area.left + xa.l2p(0), top: area.top + ya.l2p(0.45),
                    bottom: area.top + ya.l2p(-0.04)};
        }"""
    )
    page.mouse.move(where["x"] - 12, where["top"])
    page.mouse.down()
    page.mouse.move(where["x"], (where["top"] + where["bottom"]) / 2, steps=4)
    page.mouse.move(where["x"] + 12, where["bottom"], steps=4)
    page.mouse.up()


def _brushed_run_ids(page: Page) -> set[int]:
    """The runs whose points the figure itself marks as selected."""
    ids: list[int] = page.evaluate(
        """() => {
            const plot = document.querySelector('#chart-parallel .plot');
            return plot.data.filter((trace) => trace.mode === 'markers').flatMap((points) =>
                (points.selectedpoints || []).map((index) => points.customdata[index][0]));
        }"""
    )
    return set(ids)


@pytest.mark.parametrize("size", ["48", "256"])
def test_a_large_sweep_reads_at_a_glance(
    size: str,
    sweeps: dict[str, int],
    live_server: LiveServer,
    open_browser: Callable[..., Session],
) -> None:
    page = open_browser().page
    _open_sweep(page, f"{live_server.url}/experiments/{sweeps[size]}")
    runs = int(size)
    expect(page.locator("#runs tbody tr")).to_have_count(runs)
    keys = _chart_keys(page)
    # Three or more axes: small multiples; then every run at once, and the trade-off.
    assert {"sweep-view", "parallel", "pareto"} <= set(keys), keys
    assert "summary-bars" not in keys and "bloat-speedup" not in keys
    # x, colour and facets take three axes; a menu fixes the fourth (and fifth).
    assert page.locator("#chart-sweep-view .updatemenu-container").count() == 1
    _full_screenshot(page, f"sweep-{size}")
    page.evaluate("() => document.getElementById('views').scrollIntoView()")
    page.screenshot(path=str(SCREENSHOTS / f"sweep-{size}-views.png"))
    page.locator("#chart-pareto").screenshot(path=str(SCREENSHOTS / f"sweep-{size}-pareto.png"))
    _assert_readable(page)

    if size == "48":
        # Every run has one epoch: a note instead of columns of dots.
        expect(page.locator("#series-note")).to_contain_text("one epoch")
    else:
        # Two epochs per run: at most eight runs overlaid, picked by the menu.
        legend = page.locator("#chart-series-tlb .legend .traces")
        assert 1 <= legend.count() <= 8

    # Brushing an axis of the parallel coordinates filters the run table to the same runs.
    _brush_first_axis(page)
    page.wait_for_function("() => document.querySelector('#runs tr[data-brushed-out]') !== null")
    brushed = _brushed_run_ids(page)
    assert 0 < len(brushed) < runs
    assert _shown_run_ids(page) == brushed
    expect(page.locator("#runs-shown")).to_have_text(f"{len(brushed)} of {runs} runs shown")
    page.click("button[data-action=clear-brush]")
    expect(page.locator("#runs-shown")).to_have_text(f"{runs} runs")


def test_choosing_a_metric_redraws_every_view(
    sweeps: dict[str, int], live_server: LiveServer, open_browser: Callable[..., Session]
) -> None:
    page = open_browser().page
    _open_sweep(page, f"{live_server.url}/experiments/{sweeps['48']}")
    page.select_option("form.view-choices select[name=metric]", "bloat_bytes")
    page.wait_for_url("**metric=bloat_bytes**")
    _open_sweep(page, page.url)
    expect(page.locator("#chart-sweep-view h3")).to_contain_text("Bloat")
    expect(page.locator("#chart-parallel h3")).to_contain_text("bloat")
    _assert_readable(page)


def test_a_two_axis_sweep_is_a_heatmap_of_its_summaries(
    sweeps: dict[str, int], live_server: LiveServer, open_browser: Callable[..., Session]
) -> None:
    experiment_id = sweeps["two-axis"]
    page = open_browser().page
    _open_sweep(page, f"{live_server.url}/experiments/{experiment_id}?metric=tlb_l2_misses")
    drawn = page.evaluate(
        """() => {
            const trace = document.querySelector('#chart-sweep-view .plot').data[0];
            return {type: trace.type, x: trace.x, y: trace.y,
                    exact: trace.customdata.map((row) => row.map((cell) => cell[1]))};
        }"""
    )
    assert drawn["type"] == "heatmap"
    # The axis with more values goes across.
    assert drawn["x"] == ["0.6", "1.0", "1.4"] and drawn["y"] == ["4K", "64K"]
    with live_server.api() as api:
        runs = api.get(f"/experiments/{experiment_id}").json()["runs"]
    metric = "tlb_l2_misses"
    assert all(metric in run["summary"] for run in runs)
    expected = [
        [
            next(
                run["summary"][metric]
                for run in runs
                if run["params"]["workload.generator.alpha"] == alpha
                and run["params"]["policy.base_page"] == page_size
            )
            for alpha in (0.6, 1.0, 1.4)
        ]
        for page_size in ("4K", "64K")
    ]
    assert drawn["exact"] == expected  # one cell per point, each the stored summary value
    cells = page.locator("#chart-sweep-view g.hm, #chart-sweep-view .heatmap-label text")
    assert cells.count() >= 1
    _assert_readable(page)
    page.evaluate("() => document.getElementById('views').scrollIntoView()")
    page.screenshot(path=str(SCREENSHOTS / "sweep-two-axis.png"))


def test_the_run_table_sorts_filters_and_colours(
    sweeps: dict[str, int], live_server: LiveServer, open_browser: Callable[..., Session]
) -> None:
    page = open_browser().page
    _open_sweep(page, f"{live_server.url}/experiments/{sweeps['48']}")
    table = page.locator("#runs")
    runtime = table.locator("thead tr").first.locator("th", has_text="Estimated runtime")
    runtime.click()
    values = page.eval_on_selector_all(
        "#runs tbody tr td[title][data-value]",
        "(cells) => cells.filter((c) => c.cellIndex === "
        "[...document.querySelectorAll('#runs thead tr:first-child th')]"
        ".findIndex((th) => th.textContent.includes('Estimated runtime')))"
        ".map((c) => Number(c.dataset.value))",
    )
    assert len(values) == 48 and values == sorted(values)
    colored = page.eval_on_selector_all(
        "#runs tbody td[data-value]",
        "(cells) => cells.filter((c) => c.style.backgroundColor).length",
    )
    assert colored > 0
    column = page.eval_on_selector_all(
        "#runs thead tr:first-child th", "(ths) => ths.findIndex((th) => th.title === 'policy.thp')"
    )
    page.locator("#runs tr.column-filters th").nth(column).locator("input").fill("madvise")
    expect(page.locator("#runs-shown")).to_have_text("16 of 48 runs shown")
