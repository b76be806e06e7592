"""A two-tier run in the browser: its page draws the per-tier chart and the heatmap's tier
view (behind a button), with a tier named in markup drawn as those characters; its sweep's
page draws each policy's distance to the oracle; the tiering template is on offer."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from ..frontend.samples import tiering_spec
from .conftest import LiveServer, Session, screenshot

FAST_TIER = "<b>x</b>"
FINISH_TIMEOUT_S = 300.0


def _tiering_sweep(live_server: LiveServer) -> tuple[int, dict[str, int]]:
    """First touch and the oracle on a fast tier too small for the workload; the experiment
    id and run ids by policy once both runs are done."""
    body = {
        "name": "tiers in the browser",
        "spec": tiering_spec(fast_tier_name=FAST_TIER),
        "sweep": {"policy.tiering.name": ["first_touch", "oracle"]},
    }
    with live_server.api() as api:
        created = api.post("/experiments", json=body)
        assert created.status_code == 201, created.text
        experiment_id: int = created.json()["id"]
        deadline = time.monotonic() + FINISH_TIMEOUT_S
        while (experiment := api.get(f"/experiments/{experiment_id}").json())["status"] != (
            "succeeded"
        ):
            assert experiment["status"] not in {"failed", "cancelled"}, experiment
            assert time.monotonic() < deadline, f"not done in {FINISH_TIMEOUT_S} s"
            time.sleep(0.5)
    runs = {run["params"]["policy.tiering.name"]: run["id"] for run in experiment["runs"]}
    return experiment_id, runs


def _all_plots_drawn(page: Page) -> None:
    page.wait_for_function(
        "() => { const plots = [...document.querySelectorAll('.plot[data-figure]')];"
        " return plots.length > 0 && plots.every((plot) => plot.dataset.drawn === 'true'); }"
    )


def _drawn(page: Page, key: str) -> dict[str, Any]:
    """What Plotly drew for one chart: its traces' visibility, and the texts in its SVG."""
    drawn: dict[str, Any] = page.evaluate(
        """(key) => {
            const plot = document.querySelector(`#chart-${key} .plot`);
            return {
                visible: plot.data.map((trace) => trace.visible !== false),
                lines: plot.querySelectorAll("g.trace.scatter").length,
                bars: plot.querySelectorAll("g.trace.bars").length,
                heatmaps: plot.querySelectorAll("g.hm").length,
                texts: [...plot.querySelectorAll("text")].map((text) => text.textContent),
                bold: plot.querySelectorAll("tspan[style*='bold']").length,
                anchors: plot.querySelectorAll("a").length,
            };
        }""",
        key,
    )
    return drawn


def test_a_two_tier_run_shows_its_tiers_and_the_heatmaps_tier_view(
    live_server: LiveServer, open_browser: Callable[..., Session]
) -> None:
    experiment_id, run_ids = _tiering_sweep(live_server)
    page = open_browser().page
    page.goto(f"{live_server.url}/runs/{run_ids['oracle']}")
    expect(page.locator("#run-status")).to_have_text("succeeded")
    _all_plots_drawn(page)

    # Memory stacked per tier and the fast-tier share (lines), promotion and demotion (bars);
    # the tier's name is the characters the user typed, not bold text.
    tiers = _drawn(page, "tiers")
    assert (tiers["lines"], tiers["bars"]) == (3, 2), tiers
    assert FAST_TIER in tiers["texts"] and "CXL" in tiers["texts"]
    assert tiers["bold"] == 0 and tiers["anchors"] == 0
    expect(
        page.locator("#summary td.has-help", has_text="fast_tier_access_ratio")
    ).to_have_attribute(
        "title", "Share of memory accesses (LLC misses) served by the first, fastest tier."
    )
    page.locator("#chart-tiers").scroll_into_view_if_needed()
    screenshot(page, "run-tiers")

    # The heatmap opens on access counts; its "tier" button colours cells by tier instead.
    heatmap = _drawn(page, "heatmap")
    assert heatmap["visible"] == [True, True, False]
    page.locator("#chart-heatmap .updatemenu-button", has_text="tier").click()
    page.wait_for_function(
        "() => document.querySelector('#chart-heatmap .plot').data[2].visible === true"
    )
    heatmap = _drawn(page, "heatmap")
    assert heatmap["visible"] == [False, True, True]
    assert heatmap["heatmaps"] >= 2
    # The tier colour bar names the tiers, as text.
    assert FAST_TIER in heatmap["texts"] and heatmap["bold"] == 0
    page.locator("#chart-heatmap").scroll_into_view_if_needed()
    screenshot(page, "run-heatmap-tiers")

    # The sweep's page measures first touch against the oracle: one bar in each subplot.
    page.goto(f"{live_server.url}/experiments/{experiment_id}")
    _all_plots_drawn(page)
    gap = _drawn(page, "oracle-gap")
    assert gap["bars"] == 2, gap
    assert "AMAT above the oracle (ns)" in gap["texts"]
    page.locator("#chart-oracle-gap").scroll_into_view_if_needed()
    screenshot(page, "experiment-oracle-gap")

    # The new-experiment page offers the tiering template: the engine takes all its points.
    page.goto(f"{live_server.url}/experiments/new?template=tiering")
    expect(page.locator(".template[aria-current=true]")).to_contain_text("DRAM + CXL tiering")
    sweep = json.loads(page.input_value("#spec-editor"))["sweep"]
    assert sweep["policy.tiering.name"] == ["first_touch", "tpp", "damon", "oracle"]
