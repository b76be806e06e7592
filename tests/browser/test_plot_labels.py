"""User text reaches Plotly as text: a sweep value that looks like a link is drawn as those
very characters in the figures' legends and axes, and no figure holds a link."""

from __future__ import annotations

import time
from collections.abc import Callable

from .conftest import LiveServer, Session

MARKUP = '<a href="//evil.example">pwn</a>'
FINISH_TIMEOUT_S = 300.0


def _drawn_sweep(live_server: LiveServer) -> int:
    """A two-point sweep over a tier's name, one of them markup; its experiment id once done."""
    tier = {"name": "dram", "idle_latency_ns": 80, "bandwidth_gbps": 100}
    body = {
        "name": f"labels {MARKUP}",
        "spec": {
            "workload": {"generator": {"name": "zipf", "size_bytes": "64M", "accesses": 3000}},
            "machine": {"tiers": [tier]},
            "controls": {"seed": 1, "epoch_accesses": 1000},
        },
        "sweep": {"machine.tiers.0.name": [MARKUP, "dram"]},
    }
    with live_server.api() as api:
        created = api.post("/experiments", json=body)
        assert created.status_code == 201, created.text
        experiment_id: int = created.json()["id"]
        deadline = time.monotonic() + FINISH_TIMEOUT_S
        while (status := api.get(f"/experiments/{experiment_id}").json()["status"]) != "succeeded":
            assert status not in {"failed", "cancelled"}, status
            assert time.monotonic() < deadline, f"the sweep did not finish in {FINISH_TIMEOUT_S} s"
            time.sleep(0.5)
    return experiment_id


def test_a_label_with_a_link_in_it_is_drawn_as_text(
    live_server: LiveServer, open_browser: Callable[..., Session]
) -> None:
    experiment_id = _drawn_sweep(live_server)
    page = open_browser().page
    page.goto(f"{live_server.url}/experiments/{experiment_id}")
    page.wait_for_function(
        "() => { const plots = [...document.querySelectorAll('.plot[data-figure]')];"
        " return plots.length > 0 && plots.every((plot) => plot.dataset.drawn === 'true'); }"
    )
    drawn = page.evaluate(
        """(markup) => {
            const plots = [...document.querySelectorAll('.plot[data-figure]')];
            const texts = plots.flatMap((plot) => [...plot.querySelectorAll('text')]);
            return {
                plots: plots.length,
                anchors: plots.reduce((n, plot) => n + plot.querySelectorAll('a').length, 0),
                literal: texts.filter((text) => text.textContent.includes(markup)).length,
            };
        }""",
        MARKUP,
    )
    assert drawn["plots"] >= 2, drawn
    # Plotly turns <a href> in a label into an SVG link; escaped, it draws the characters.
    assert drawn["anchors"] == 0, drawn
    assert drawn["literal"] >= 1, drawn
    assert page.locator('a[href*="evil.example"]').count() == 0
