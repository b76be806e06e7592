"""The dashboard in headless Chromium against a live server and a real worker: submit from
a template, watch it finish, see every plot drawn, compare runs, share and revoke a link,
browse the list with live status, and get readable error pages. Each page is screenshotted
at 1280×800 into artifacts/screenshots/."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from .conftest import LiveServer, Session, open_session, screenshot

# The first run in a fresh worker compiles the engine's kernels; later ones take seconds.
FINISH_TIMEOUT_MS = 180_000
HOSTILE_NAME = "64K sweep <script>alert('x')</script> & co"


@dataclass(frozen=True)
class SubmittedExperiment:
    id: int
    run_ids_by_label: dict[str, int]


def _all_plots_drawn(page: Page) -> None:
    page.wait_for_function(
        "() => [...document.querySelectorAll('.plot[data-figure]')]"
        ".every((plot) => plot.dataset.drawn === 'true')"
    )


def _chart(page: Page, key: str) -> dict[str, Any]:
    """What Plotly drew for one chart: traces it holds, and trace groups in the SVG."""
    drawn: dict[str, Any] = page.evaluate(
        """(key) => {
            const plot = document.querySelector(`#chart-${key} .plot`);
            return {
                traces: plot.data.length,
                visible: plot.data.filter((trace) => trace.visible !== false).length,
                svg: plot.querySelectorAll(".main-svg").length,
                lines: plot.querySelectorAll("g.trace.scatter").length,
                bar_traces: plot.querySelectorAll("g.trace.bars").length,
                bars: plot.querySelectorAll("g.trace.bars g.point").length,
                heatmaps: plot.querySelectorAll("g.hm").length,
            };
        }""",
        key,
    )
    return drawn


@pytest.fixture(scope="module")
def submitted(browser: Browser, live_server: LiveServer) -> Iterator[SubmittedExperiment]:
    """The 64 KiB-pages template, made small in the form, submitted and watched to the end."""
    session = open_session(browser, live_server)
    page = session.page
    page.goto(f"{live_server.url}/experiments/new?template=pages-64k")
    expect(page.locator(".template[aria-current=true]")).to_contain_text("64 KiB base pages")
    page.fill("#name", HOSTILE_NAME)
    page.fill("#gen-kvstore-objects", "2000")
    page.fill("#gen-kvstore-accesses", "200000")
    page.fill("#controls-epoch_accesses", "40000")
    body = json.loads(page.input_value("#spec-editor"))
    assert body["sweep"] == {"policy.base_page": ["4K", "64K"], "policy.thp": ["never", "always"]}
    assert body["spec"]["workload"]["generator"]["accesses"] == 200_000
    page.evaluate("() => window.scrollTo(0, 0)")
    screenshot(page, "new-experiment")

    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/experiments/\d+$"))
    experiment_id = int(page.url.rsplit("/", 1)[1])
    # app.js polls the API and reloads the page once every run is final.
    expect(page.locator("#experiment-status")).to_have_attribute(
        "data-status", "succeeded", timeout=FINISH_TIMEOUT_MS
    )
    with live_server.api() as api:
        runs = api.get(f"/experiments/{experiment_id}").json()["runs"]
    labels = {
        f"{run['params']['policy.base_page']} · {run['params']['policy.thp']}": run["id"]
        for run in runs
    }
    assert not session.problems.errors, session.problems.errors
    session.context.close()
    yield SubmittedExperiment(experiment_id, labels)


def test_the_experiment_page_shows_every_run_and_escapes_user_text(
    submitted: SubmittedExperiment, live_server: LiveServer, open_browser: Callable[..., Session]
) -> None:
    page = open_browser().page
    response = page.goto(f"{live_server.url}/experiments/{submitted.id}")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    # The name is shown as text: no script element came from it, and no dialog opened.
    expect(page.locator("h1")).to_contain_text("<script>alert('x')</script> & co")
    assert page.locator("main script:not([type='application/json'])").count() == 0
    rows = page.locator("#runs tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator("#runs .badge.succeeded")).to_have_count(4)
    _all_plots_drawn(page)
    screenshot(page, "experiment")


def test_each_plot_is_drawn_with_its_traces(
    submitted: SubmittedExperiment, live_server: LiveServer, open_browser: Callable[..., Session]
) -> None:
    page = open_browser().page
    page.goto(f"{live_server.url}/experiments/{submitted.id}")
    _all_plots_drawn(page)
    keys = page.eval_on_selector_all(
        "[data-chart]", "(charts) => charts.map((c) => c.dataset.chart)"
    )
    assert {"summary-bars", "sweep", "bloat-speedup", "series-tlb", "page-sizes", "heatmap"} <= set(
        keys
    )
    for key in keys:
        assert _chart(page, key)["svg"] >= 1, f"{key} drew no SVG"

    bars = _chart(page, "summary-bars")
    assert bars["bar_traces"] == bars["traces"] >= 8  # one small chart per headline metric
    assert bars["bars"] == 4 * bars["traces"]  # every run reports every headline metric

    # Runtime, last-level TLB misses, walk cycles and bloat against base_page: one line per
    # THP setting in each.
    assert _chart(page, "sweep")["lines"] == 4 * 2
    assert _chart(page, "bloat-speedup")["lines"] == 4  # one marker per run

    # Two TLB levels × four runs, one level shown at a time (the menu picks it).
    tlb = _chart(page, "series-tlb")
    assert (tlb["traces"], tlb["visible"], tlb["lines"]) == (8, 4, 4)
    page.locator("#chart-series-tlb .updatemenu-header-group").click()
    page.locator("#chart-series-tlb .updatemenu-item-text", has_text="TLB L2 misses").click()
    expect(page.locator("#chart-series-tlb .ytitle")).to_have_text(
        "TLB L2 misses per epoch (count)"
    )

    heatmap = _chart(page, "heatmap")
    assert (heatmap["traces"], heatmap["heatmaps"]) == (2, 2)  # accesses, page-size strip

    # PNG from the plot's own toolbar; no button that would upload the figure elsewhere.
    page.hover("#chart-sweep .plot")
    buttons = page.locator("#chart-sweep .modebar-btn")
    expect(buttons.first).to_be_visible()
    titles = buttons.evaluate_all("(all) => all.map((button) => button.dataset.title)")
    assert "Download plot as a PNG" in titles and not any("Share" in t for t in titles)
    with page.expect_download() as download:
        page.click("#chart-sweep .modebar-btn[data-title='Download plot as a PNG']")
    assert download.value.suggested_filename == f"experiment-{submitted.id}-sweep.png"
    page.evaluate("() => document.getElementById('chart-sweep').scrollIntoView()")
    screenshot(page, "experiment-plots")
    page.evaluate("() => document.getElementById('run-detail').scrollIntoView()")
    screenshot(page, "experiment-heatmap")

    # Another run's heatmap and page sizes, picked from the run menu.
    focus = submitted.run_ids_by_label["64K · always"]
    page.select_option("form.view-choices select[name=focus]", str(focus))
    page.wait_for_url(re.compile(rf"focus={focus}"))
    _all_plots_drawn(page)
    expect(page.locator("#chart-page-sizes")).to_be_visible()
    assert _chart(page, "page-sizes")["lines"] >= 1


def test_run_page_shows_the_summary_and_its_own_plots(
    submitted: SubmittedExperiment, live_server: LiveServer, open_browser: Callable[..., Session]
) -> None:
    page = open_browser().page
    run_id = submitted.run_ids_by_label["64K · never"]
    page.goto(f"{live_server.url}/runs/{run_id}")
    expect(page.locator("#run-status")).to_have_text("succeeded")
    expect(page.locator("#summary tbody tr", has_text="bloat_bytes")).to_have_count(1)
    _all_plots_drawn(page)
    # One run: every TLB level at once.
    assert _chart(page, "series-tlb")["lines"] == 2
    assert _chart(page, "heatmap")["heatmaps"] == 2
    screenshot(page, "run")


def test_compare_two_chosen_runs_then_share_and_revoke_the_link(
    submitted: SubmittedExperiment, live_server: LiveServer, open_browser: Callable[..., Session]
) -> None:
    owner = open_browser().page
    owner.goto(f"{live_server.url}/experiments/{submitted.id}")
    chosen = [submitted.run_ids_by_label["4K · never"], submitted.run_ids_by_label["64K · never"]]
    for run_id in chosen:
        owner.check(f"input[name=compare-run][value='{run_id}']")
    owner.click("button[data-action=compare]")
    owner.wait_for_url(re.compile(r"/compare\?runs="))
    assert owner.url.endswith(f"runs={chosen[0]},{chosen[1]}")

    summary = owner.locator("#compare-summary")
    expect(summary.locator("thead tr").first.locator("th")).to_have_count(3)
    # 64K pages leave fewer page-table bytes: the second column is marked better.
    page_tables = summary.locator("tbody tr", has_text=re.compile(r"^\s*page_table_bytes\s"))
    expect(page_tables.locator("td").nth(2)).to_have_class(re.compile(r"\bbetter\b"))
    _all_plots_drawn(owner)
    assert _chart(owner, "series-faults")["lines"] == 2  # the two runs overlaid
    screenshot(owner, "compare")

    owner.click("button[data-action=share]")
    link = owner.locator("#share-output input")
    expect(link).to_have_value(re.compile(r"/s/[A-Za-z0-9_-]{40,}$"))
    url = link.input_value()

    # Someone else: a fresh browser with no token, no storage, no cookies.
    guest_session = open_browser(with_token=False)
    guest = guest_session.page
    guest.goto(url)
    expect(guest.locator("main")).to_contain_text("read-only view")
    expect(guest.locator("#compare-summary thead tr").first.locator("th")).to_have_count(3)
    _all_plots_drawn(guest)
    assert guest.locator("button[data-action]").count() == 0
    screenshot(guest, "shared")

    # The owner revokes it from the experiment page; the link stops working.
    owner.goto(f"{live_server.url}/experiments/{submitted.id}")
    owner.locator("#shares button[data-action=revoke]").first.click()
    expect(owner.locator("#shares")).to_have_count(0)
    guest_session.problems.expected_statuses.add(410)
    response = guest.goto(url)
    assert response is not None and response.status == 410
    expect(guest.locator(".error-page")).to_contain_text("revoked")


def test_list_page_filters_and_follows_status_live(
    submitted: SubmittedExperiment, live_server: LiveServer, open_browser: Callable[..., Session]
) -> None:
    with live_server.api() as api:
        created = api.post(
            "/experiments",
            json={
                "name": "live status probe",
                "tags": ["probe"],
                "spec": {
                    "workload": {
                        "generator": {"name": "uniform", "size_bytes": "64M", "accesses": 200_000}
                    },
                },
            },
        )
    assert created.status_code == 201, created.text
    probe_id = created.json()["id"]
    page = open_browser().page
    page.goto(live_server.url)
    row = page.locator(f"tr[data-experiment-id='{probe_id}']")
    expect(page.locator(f"tr[data-experiment-id='{submitted.id}'] .badge")).to_have_text(
        "succeeded"
    )
    # A mark the page would lose if it reloaded: the status below comes from polling.
    page.evaluate("() => { window.notReloaded = true; }")
    expect(row.locator(".badge")).to_have_text("succeeded", timeout=FINISH_TIMEOUT_MS)
    expect(row.locator("[data-run-counts]")).to_have_text("1/1")
    assert page.evaluate("() => window.notReloaded === true")
    screenshot(page, "list")

    page.fill("input[name=q]", "status probe")
    page.click("form.filters button[type=submit]")
    expect(page.locator("#experiments tbody tr")).to_have_count(1)
    expect(page.locator("#experiments tbody")).to_contain_text("live status probe")

    page.goto(live_server.url)
    page.locator(f"tr[data-experiment-id='{submitted.id}'] a.chip").first.click()
    expect(page).to_have_url(re.compile(r"\?tag=64k-pages$"))
    expect(page.locator("#experiments tbody tr")).to_have_count(1)


def test_bad_addresses_get_readable_error_pages(
    live_server: LiveServer, open_browser: Callable[..., Session]
) -> None:
    session = open_browser()
    session.problems.expected_statuses.update({400, 404})
    page = session.page
    response = page.goto(f"{live_server.url}/experiments/999999")
    assert response is not None and response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    expect(page.locator(".error-page")).to_contain_text("experiment 999999 does not exist")
    screenshot(page, "error")

    response = page.goto(f"{live_server.url}/compare?runs=<b>1</b>,2")
    assert response is not None and response.status == 400
    expect(page.locator(".error-page p")).to_contain_text("<b>1</b>")

    response = page.goto(f"{live_server.url}/no/such/page")
    assert response is not None and response.status == 404
    expect(page.locator(".error-page")).to_contain_text("there is no page at /no/such/page")


def _lackey_trace(accesses: int) -> bytes:
    """A small valgrind-lackey trace: loads and stores striding over 2 MiB of heap."""
    lines = []
    for index in range(accesses):
        kind = " S" if index % 3 == 0 else " L"
        lines.append(f"{kind} {0x5000_0000 + (index * 4096 + index * 64) % (2 << 20):08x},8")
    return ("\n".join(lines) + "\n").encode()


def test_a_trace_uploaded_in_the_form_runs(
    live_server: LiveServer, open_browser: Callable[..., Session]
) -> None:
    page = open_browser().page
    page.goto(f"{live_server.url}/experiments/new")
    page.check("input[name=workload-source][value=trace]")
    expect(page.locator("#generator-fields")).to_be_hidden()
    page.set_input_files(
        "#trace-upload",
        files=[{"name": "tiny.lackey", "mimeType": "text/plain", "buffer": _lackey_trace(3000)}],
    )
    page.select_option("select[name=trace-format]", "lackey")
    page.click("#trace-upload-button")
    expect(page.locator("#trace-file option:checked")).to_contain_text("tiny.lackey")
    body = json.loads(page.input_value("#spec-editor"))
    assert body["spec"]["workload"]["trace"]["format"] == "lackey"
    assert "generator" not in body["spec"]["workload"]

    page.fill("#name", "uploaded lackey trace")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/experiments/\d+$"))
    expect(page.locator("#experiment-status")).to_have_attribute(
        "data-status", "succeeded", timeout=FINISH_TIMEOUT_MS
    )
    _all_plots_drawn(page)
    assert _chart(page, "heatmap")["heatmaps"] == 2


def test_cancel_rerun_and_delete_from_the_experiment_page(
    live_server: LiveServer, open_browser: Callable[..., Session]
) -> None:
    seed = 4242
    held_run = {
        "name": "held until cancelled",
        "spec": {
            "workload": {"generator": {"name": "uniform", "size_bytes": "1G", "accesses": 10**7}},
            "controls": {"seed": seed},
        },
    }
    # Held after its first chunk, and again when re-run: only the cancels let it go on.
    live_server.workers.hold(seed)
    with live_server.api() as api:
        created = api.post("/experiments", json=held_run)
    assert created.status_code == 201, created.text
    experiment_id = created.json()["id"]
    page = open_browser().page
    page.goto(f"{live_server.url}/experiments/{experiment_id}")
    status = page.locator("#experiment-status")
    expect(status).to_have_attribute("data-status", "running", timeout=FINISH_TIMEOUT_MS)

    page.click("button[data-action=cancel]")
    expect(status).to_have_attribute("data-status", "cancelled", timeout=60_000)
    page.click("button[data-action=rerun]")
    expect(status).to_have_attribute("data-status", re.compile("queued|running"))
    page.click("button[data-action=cancel]")
    expect(status).to_have_attribute("data-status", "cancelled", timeout=60_000)

    page.click("button[data-action=delete]")  # confirmed by the dialog handler
    page.wait_for_url(f"{live_server.url}/")
    with live_server.api() as api:
        assert api.get(f"/experiments/{experiment_id}").status_code == 404
    live_server.workers.release(seed)


def test_a_bad_spec_is_refused_with_the_field_named_and_nothing_stored(
    live_server: LiveServer, open_browser: Callable[..., Session]
) -> None:
    session = open_browser()
    session.problems.expected_statuses.add(422)  # the refused POST, logged by Chromium
    page = session.page
    page.goto(f"{live_server.url}/experiments/new")
    body = json.loads(page.input_value("#spec-editor"))
    body["name"] = "refused"
    body["spec"]["controls"]["epoch_accesses"] = 5
    page.fill("#spec-editor", json.dumps(body))
    expect(page.locator("#editor-note")).to_be_visible()  # the form no longer overwrites it
    page.click("button[type=submit]")
    expect(page.locator("#form-error")).to_contain_text("spec.controls.epoch_accesses")
    assert page.url.endswith("/experiments/new")
    with live_server.api() as api:
        names = [item["name"] for item in api.get("/experiments").json()["items"]]
    assert "refused" not in names
