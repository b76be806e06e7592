"""How fast the experiment list renders with 1,000 experiments stored (not a timed test).

Stores 1,000 experiments (4 runs each, mixed statuses, tags) in a fresh database, starts the
API server, and reports the time to render the list page on the server (HTTP request to last
byte) and in headless Chromium (navigation start to the load event), for the first page and
for a text search, a tag filter, a sort by name and the second page. The target is under a
second for each.

    .venv/bin/python benchmarks/list_page.py
    PAGELAB_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/pagelab_bench \\
        .venv/bin/python benchmarks/list_page.py      # an empty PostgreSQL database
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from backend.db import make_engine, make_session_factory, utc_now  # noqa: E402
from backend.experiments.models import Experiment, ExperimentTag  # noqa: E402
from backend.migrations import upgrade_to_head  # noqa: E402
from backend.runs.models import Run  # noqa: E402
from backend.settings import Settings  # noqa: E402

TARGET_S = 1.0
STATUSES = ("succeeded", "succeeded", "succeeded", "failed", "cancelled", "running", "queued")
TAGS = ("64k-pages", "thp-1g", "tiering", "zipf", "kvstore", "baseline")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def store_experiments(settings: Settings, count: int) -> None:
    """``count`` experiments of 4 runs each, created a minute apart, newest last."""
    engine = make_engine(settings.database_url)
    spec: dict[str, Any] = {"workload": {"generator": {"name": "uniform", "size_bytes": "64M"}}}
    start = utc_now() - timedelta(minutes=count)
    with make_session_factory(engine)() as session:
        for index in range(count):
            created = start + timedelta(minutes=index)
            status = STATUSES[index % len(STATUSES)]
            experiment = Experiment(
                name=f"experiment {index:04d}: 64K pages on workload {index % 37}",
                description=f"sweep number {index} of the benchmark",
                kind="sweep",
                spec=spec,
                sweep={"policy.base_page": ["4K", "64K"], "policy.thp": ["never", "always"]},
                status=status,
                created_at=created,
                updated_at=created,
                tag_rows=[ExperimentTag(tag=TAGS[index % len(TAGS)]), ExperimentTag(tag="bench")],
            )
            experiment.runs = [
                Run(
                    point_index=point,
                    params={"policy.base_page": "4K", "policy.thp": "never"},
                    spec=spec,
                    spec_hash=f"{index:060d}{point:04d}",
                    engine_version="bench",
                    status=status,
                    created_at=created,
                )
                for point in range(4)
            ]
            session.add(experiment)
        session.commit()
    engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(settings: Settings, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", "backend.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    environment = {
        "PAGELAB_HOME": str(settings.home),
        "PAGELAB_DATABASE_URL": settings.database_url,
    }
    return start_service(command, environment, port, log_path)


def start_service(
    command: list[str], environment: dict[str, str], port: int, log_path: Path
) -> subprocess.Popen[bytes]:
    """Start ``command`` with ``environment`` as its only PAGELAB_ variables and wait (up to
    a minute) until it answers /healthz on ``port``; exit with its log if it never does."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PAGELAB_")}
    env.update(environment)
    with log_path.open("ab") as log:
        server = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    os.killpg(server.pid, signal.SIGKILL)
    raise SystemExit(f"the server did not start:\n{log_path.read_text()}")


def server_times_s(url: str, repeats: int) -> list[float]:
    times = []
    with httpx.Client(timeout=30) as client:
        client.get(url).raise_for_status()  # warm up: imports, template compilation
        for _ in range(repeats):
            started = time.perf_counter()
            response = client.get(url)
            response.raise_for_status()
            times.append(time.perf_counter() - started)
    return times


def browser_times_s(url: str, repeats: int, *, mark: str | None = None) -> list[float]:
    """Navigation start to the load event, as the browser measured it; or to the
    performance ``mark`` the page sets (when later work makes it usable)."""
    moment = (
        f"performance.getEntriesByName('{mark}')[0]?.startTime"
        if mark
        else "performance.getEntriesByType('navigation')[0].loadEventEnd"
    )
    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url)  # warm up the HTTP cache for the CSS and JS
        for _ in range(repeats):
            page.goto(url, wait_until="load")
            page.wait_for_function(f"() => {moment} > 0")
            times.append(page.evaluate(f"() => {moment}") / 1000)
        browser.close()
    return times


def next_page_url(base: str) -> str:
    listing = httpx.get(f"{base}/api/v1/experiments", timeout=30).json()
    return f"{base}/?cursor={listing['next_cursor']}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiments", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="pagelab-bench-") as folder:
        home = Path(folder)
        settings = Settings(home=home, database_url=os.environ.get("PAGELAB_DATABASE_URL", ""))
        upgrade_to_head(settings)
        started = time.perf_counter()
        store_experiments(settings, args.experiments)
        print(
            f"stored {args.experiments} experiments × 4 runs in "
            f"{time.perf_counter() - started:.1f} s ({settings.database_url.split(':')[0]})"
        )

        port = free_port()
        server = start_server(settings, port, home / "api.log")
        base = f"http://127.0.0.1:{port}"
        pages = {
            "first page (50 newest)": f"{base}/",
            "text search": f"{base}/?q=workload+7",
            "tag filter": f"{base}/?tag=tiering",
            "sorted by name": f"{base}/?sort=name",
            "second page (cursor)": next_page_url(base),
        }
        worst_s = 0.0
        try:
            print(
                f"\n{'page':<24} {'server median':>14} {'server p95':>11} "
                f"{'browser median':>15} {'browser max':>12}"
            )
            for name, url in pages.items():
                server_s = server_times_s(url, args.repeats)
                browser_s = browser_times_s(url, max(3, args.repeats // 3))
                p95 = statistics.quantiles(server_s, n=20)[-1]
                browser_max = max(browser_s)
                worst_s = max(worst_s, p95, browser_max)
                print(
                    f"{name:<24} {statistics.median(server_s) * 1000:>11.1f} ms "
                    f"{p95 * 1000:>8.1f} ms {statistics.median(browser_s) * 1000:>12.1f} ms "
                    f"{browser_max * 1000:>9.1f} ms"
                )
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=15)
    verdict = "within" if worst_s < TARGET_S else "OVER"
    print(f"\nslowest: {worst_s * 1000:.1f} ms, {verdict} the {TARGET_S:.0f} s target")
    return 0 if worst_s < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
