"""The split-strategies template in the browser: the form names the generator's events for
the JSON editor and keeps the template's; submitted as it comes, every run succeeds and the
experiment page draws what full and pmd_first splits left, per level and per epoch."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from .conftest import LiveServer, Session, screenshot

# The first run in a fresh worker compiles the engine's kernels; later ones take seconds.
FINISH_TIMEOUT_MS = 300_000


def _all_plots_drawn(page: Page) -> None:
    page.wait_for_function(
        "() => { const plots = [...document.querySelectorAll('.plot[data-figure]')];"
        " return plots.length > 0 && plots.every((plot) => plot.dataset.drawn === 'true'); }"
    )


def _bars(page: Page, key: str) -> dict[str, Any]:
    """The trace names Plotly holds for one chart and the bars it drew."""
    drawn: dict[str, Any] = page.evaluate(
        """(key) => {
            const plot = document.querySelector(`#chart-${key} .plot`);
            return {
                names: plot.data.map((trace) => trace.name),
                bars: plot.querySelectorAll("g.trace.bars g.point").length,
                lines: plot.querySelectorAll("g.trace.scatter").length,
            };
        }""",
        key,
    )
    return drawn


def test_the_split_template_runs_from_the_form_and_shows_what_each_strategy_left(
    live_server: LiveServer, open_browser: Callable[..., Session]
) -> None:
    page = open_browser().page
    page.goto(f"{live_server.url}/experiments/new?template=thp-split")
    expect(page.locator(".template[aria-current=true]")).to_contain_text("Splitting a 1 GiB THP")
    # No input for a list of objects: the page says where events are set.
    expect(page.locator("fieldset[data-generator=zipf] .editor-only")).to_contain_text(
        "{kind, at_access, vma, pid, offset_bytes, size_bytes}"
    )
    # A form change rebuilds the JSON; the template's events survive it.
    page.fill("#gen-zipf-alpha", "1.1")
    body = json.loads(page.input_value("#spec-editor"))
    generator = body["spec"]["workload"]["generator"]
    assert generator["alpha"] == 1.1
    assert generator["events"] == [
        {
            "kind": "madvise_dontneed",
            "at_access": 500_000,
            "offset_bytes": "1G",
            "size_bytes": "64K",
        }
    ]
    assert body["sweep"] == {
        "policy.thp_split": ["full", "pmd_first"],
        "policy.thp_deposit": [True, False],
    }
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/experiments/\d+$"))
    experiment_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("#experiment-status")).to_have_attribute(
        "data-status", "succeeded", timeout=FINISH_TIMEOUT_MS
    )
    expect(page.locator("#runs .badge.succeeded")).to_have_count(4)
    with live_server.api() as api:
        runs = api.get(f"/experiments/{experiment_id}").json()["runs"]
    # The event reached the engine: one 1 GiB THP split, leaving 511 PMDs under pmd_first.
    for run in runs:
        summary, split = run["summary"], run["params"]["policy.thp_split"]
        assert summary["events_madvise_dontneed"] == 1
        assert summary["live_mappings_pmd"] == (511 if split == "pmd_first" else 0)

    _all_plots_drawn(page)
    leftovers = _bars(page, "splits")
    assert leftovers["names"] == ["PUD", "PMD", "PTE", "tables in use", "deposited tables"]
    # A bar per run in each of the five traces (none for an older result without the metric).
    assert leftovers["bars"] == 5 * 4
    mappings = _bars(page, "series-mappings")
    assert mappings["lines"] == 4  # one run per line, PTEs first
    page.locator("#chart-splits").scroll_into_view_if_needed()
    screenshot(page, "experiment-splits")


def test_templates_keep_their_machine_tiers_through_the_form(
    live_server: LiveServer, open_browser: Callable[..., Session]
) -> None:
    """The form picks the preset; a template's memory tiers, which its sweep may point into
    (machine.tiers.0.capacity_bytes), stay in the request."""
    page = open_browser().page
    page.goto(f"{live_server.url}/experiments/new?template=tiering")
    body = json.loads(page.input_value("#spec-editor"))
    assert [tier["name"] for tier in body["spec"]["machine"]["tiers"]] == ["DRAM", "CXL"]
    assert body["spec"]["machine"]["preset"]
    assert "machine.tiers.0.capacity_bytes" in body["sweep"]
