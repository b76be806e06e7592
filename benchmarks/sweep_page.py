"""How fast an experiment page of a 256-run sweep renders (not a timed test).

Starts ``pagelab serve`` (embedded SQLite and queue, one worker) in a temporary home,
submits a 256-point sweep of tiny runs (five axes: zipf alpha × region size × base page ×
THP × seed), waits for every run, then reports how many bytes of HTML and figure data the
experiment page sends and the time to render it: on the server (HTTP request to last byte)
and in headless Chromium (navigation start to the figures of the first screen drawn,
app.js's ``pagelab:first-view-drawn`` mark, and to every figure drawn,
``pagelab:figures-drawn``; the page answers input between figures). The targets: under
0.5 s on the server and under 2 s in the browser.

    .venv/bin/python benchmarks/sweep_page.py
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from list_page import browser_times_s, free_port, server_times_s, start_service

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVER_TARGET_S = 0.5
BROWSER_TARGET_S = 2.0
FINISH_TIMEOUT_S = 1800

# 8 × 4 × 2 × 2 × 2 = 256 points, each a tiny run of two epochs.
SWEEP: dict[str, Any] = {
    "name": "256-run sweep (benchmark)",
    "spec": {
        "workload": {"generator": {"name": "zipf", "size_bytes": "64M", "accesses": 2000}},
        "controls": {"seed": 1, "epoch_accesses": 1000},
    },
    "sweep": {
        "workload.generator.alpha": [round(0.5 + 0.1 * step, 1) for step in range(8)],
        "workload.generator.size_bytes": [f"{16 << (2 * step)}M" for step in range(4)],
        "policy.base_page": ["4K", "64K"],
        "policy.thp": ["never", "always"],
        "controls.seed": [1, 2],
    },
}


def run_sweep(base: str) -> int:
    with httpx.Client(base_url=f"{base}/api/v1", timeout=30) as api:
        created = api.post("/experiments", json=SWEEP)
        created.raise_for_status()
        experiment_id: int = created.json()["id"]
        started = time.perf_counter()
        while time.perf_counter() - started < FINISH_TIMEOUT_S:
            status = api.get(f"/experiments/{experiment_id}").json()["status"]
            if status not in {"queued", "running"}:
                print(f"sweep {status} in {time.perf_counter() - started:.0f} s")
                return experiment_id
            time.sleep(2)
    raise SystemExit("the sweep did not finish")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pagelab-bench-") as folder:
        home = Path(folder)
        port = free_port()
        # `pagelab serve`: migrations, the API and one worker, on SQLite under `home`.
        command = [str(REPO_ROOT / ".venv/bin/pagelab"), "serve", "--port", str(port)]
        server = start_service(command, {"PAGELAB_HOME": str(home)}, port, home / "serve.log")
        base = f"http://127.0.0.1:{port}"
        try:
            experiment_id = run_sweep(base)
            url = f"{base}/experiments/{experiment_id}"
            html = httpx.get(url, timeout=30).text
            figures = re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', html, re.S)
            print(
                f"page: {len(html) / 1024:.0f} KiB of HTML, of which "
                f"{sum(map(len, figures)) / 1024:.0f} KiB figure data in {len(figures)} figures"
            )
            server_s = server_times_s(url, args.repeats)
            repeats = max(3, args.repeats // 3)
            first_view_s = browser_times_s(url, repeats, mark="pagelab:first-view-drawn")
            browser_s = browser_times_s(url, repeats, mark="pagelab:figures-drawn")
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    server_p95 = statistics.quantiles(server_s, n=20)[-1]
    print(
        f"server:  median {statistics.median(server_s) * 1000:.0f} ms, "
        f"p95 {server_p95 * 1000:.0f} ms (target {SERVER_TARGET_S * 1000:.0f} ms)"
    )
    for what, times in (("the figures in view", first_view_s), ("every figure", browser_s)):
        print(
            f"browser: median {statistics.median(times) * 1000:.0f} ms, "
            f"max {max(times) * 1000:.0f} ms to {what} drawn "
            f"(target {BROWSER_TARGET_S * 1000:.0f} ms)"
        )
    within = server_p95 < SERVER_TARGET_S and max(browser_s) < BROWSER_TARGET_S
    print("within the targets" if within else "OVER a target")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
