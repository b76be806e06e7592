"""Submit → queued → running (progress moves) → succeeded, with real workers; results read
and exported; a stored result reused; a sweep spread over two worker processes."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.runs.models import Run, RunResult
from backend.settings import Settings
from pagelab.simulate import CHUNK_ACCESSES

from ..real_services import Workers
from .helpers import tiny_spec, wait_for

# Four chunks, in 16 epochs: the run is held after its first and second chunk to be watched.
LIFECYCLE_ACCESSES = 4 * CHUNK_ACCESSES


def _run(api: TestClient, run_id: int) -> dict[str, Any]:
    response = api.get(f"/api/v1/runs/{run_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_run_goes_from_queued_through_running_to_succeeded(
    api: TestClient, workers: Workers, settings: Settings, db: Session
) -> None:
    spec = tiny_spec(accesses=LIFECYCLE_ACCESSES)
    spec["controls"]["epoch_accesses"] = LIFECYCLE_ACCESSES // 16
    seed = spec["controls"]["seed"]
    created = api.post("/api/v1/experiments", json={"name": "lifecycle", "spec": spec})
    assert created.status_code == 201, created.text
    experiment = created.json()
    assert created.headers["location"].endswith(f"/api/v1/experiments/{experiment['id']}")
    assert experiment["status"] == "queued" and experiment["kind"] == "single"
    (run,) = experiment["runs"]
    assert run["status"] == "queued" and run["attempts"] == 0
    # Committed and handed to the broker before the response: no worker exists yet.
    assert db.scalar(select(Run.dispatched_at).where(Run.id == run["id"])) is not None

    workers.hold(seed, at_accesses=1)
    workers.start("w1", settings)
    progress_seen: list[int] = []

    def watch() -> dict[str, Any]:
        state = _run(api, run["id"])
        if state["status"] == "running":
            progress_seen.append(state["progress"]["accesses_done"])
        return state

    # Held after its first chunk, then after its second: its progress is seen while it runs.
    for held_at in (1, CHUNK_ACCESSES + 1):
        workers.hold(seed, at_accesses=held_at)
        wait_for(watch,
                 lambda r, at=held_at: r["status"] == "running"
                 and r["progress"]["accesses_done"] >= at,
                 timeout_s=60, what=f"the run to reach {held_at} accesses")  # fmt: skip
    workers.release(seed)
    done = wait_for(watch, lambda r: r["status"] not in ("queued", "running"), timeout_s=120,
                    what="the run to finish")  # fmt: skip
    assert done["status"] == "succeeded", done
    assert done["worker_hostname"] == workers.hostname("w1")
    assert done["attempts"] == 1
    assert done["progress"] == {
        "accesses_done": LIFECYCLE_ACCESSES,
        "accesses_total": LIFECYCLE_ACCESSES,
        "fraction": 1.0,
    }
    # Progress was written while it ran, and moved.
    moving = sorted(set(progress_seen))
    assert len(moving) >= 2 and moving[0] < moving[-1] <= LIFECYCLE_ACCESSES, progress_seen
    assert done["summary"]["accesses"] == LIFECYCLE_ACCESSES
    assert api.get(f"/api/v1/experiments/{experiment['id']}").json()["status"] == "succeeded"

    result = api.get(f"/api/v1/runs/{run['id']}/result").json()
    assert result["meta"]["accesses"] == LIFECYCLE_ACCESSES
    assert result["meta"]["spec_hash"] == done["spec_hash"]
    epochs = result["meta"]["epochs"]
    assert epochs == 16 and len(result["series"]["epoch"]) == epochs
    assert result["heatmap"] is not None
    (tier,) = result["physical_memory"]  # the preset's one tier, stored and read back
    assert len(tier["map_end"]) == len(tier["map_start"]) > 0

    export = api.get(f"/api/v1/runs/{run['id']}/export.json")
    assert export.headers["content-disposition"].startswith("attachment")
    assert export.json()["result"] == result and export.json()["run"]["id"] == run["id"]

    rows = list(csv.reader(io.StringIO(api.get(f"/api/v1/runs/{run['id']}/export.csv").text)))
    assert rows[0] == list(result["series"])
    assert len(rows) == 1 + epochs
    assert [int(row[0]) for row in rows[1:]] == result["series"]["epoch"]

    summary_rows = list(
        csv.DictReader(
            io.StringIO(api.get(f"/api/v1/experiments/{experiment['id']}/export.csv").text)
        )
    )
    assert [int(row["run_id"]) for row in summary_rows] == [run["id"]]
    assert int(summary_rows[0]["accesses"]) == LIFECYCLE_ACCESSES
    full = api.get(f"/api/v1/experiments/{experiment['id']}/export.json").json()
    assert full["results"][str(run["id"])] == result

    # The same spec again: the stored result is reused, and no worker needs to run it.
    again = api.post("/api/v1/experiments", json={"name": "again", "spec": spec}).json()
    (reused,) = again["runs"]
    assert again["status"] == "succeeded"
    assert reused["status"] == "succeeded" and reused["reused_result"] is True
    assert reused["attempts"] == 0
    assert api.get(f"/api/v1/runs/{reused['id']}/result").json() == {
        **result,
        "run_id": reused["id"],
    }
    assert db.scalar(select(func.count()).select_from(RunResult)) == 2


def test_a_six_point_sweep_spreads_over_two_worker_processes(
    api: TestClient, workers: Workers, settings: Settings, db: Session
) -> None:
    workers.start("w1", settings)
    workers.start("w2", settings)
    for seed in (1, 2, 3):
        workers.hold(seed)
    body = {
        "name": "sweep",
        "tags": ["sweep", "64k"],
        "spec": tiny_spec(accesses=3_000_000),
        "sweep": {"policy.base_page": ["4K", "64K"], "controls.seed": [1, 2, 3]},
    }
    created = api.post("/api/v1/experiments", json=body)
    assert created.status_code == 201, created.text
    experiment = created.json()
    assert experiment["kind"] == "sweep" and len(experiment["runs"]) == 6
    assert [run["params"] for run in experiment["runs"]] == [
        {"policy.base_page": page, "controls.seed": seed}
        for page in ("4K", "64K")
        for seed in (1, 2, 3)
    ]
    # Each worker takes one run at a time and is held in it: both are busy at once.
    wait_for(
        lambda: api.get(f"/api/v1/experiments/{experiment['id']}").json(),
        lambda e: e["run_counts"].get("running") == 2,
        timeout_s=60,
        what="both workers to be running a point",
    )
    for seed in (1, 2, 3):
        workers.release(seed)
    final = wait_for(
        lambda: api.get(f"/api/v1/experiments/{experiment['id']}").json(),
        lambda e: e["status"] not in ("queued", "running"),
        timeout_s=180,
        what="the sweep to finish",
    )
    assert final["status"] == "succeeded", final
    assert final["run_counts"] == {"succeeded": 6}
    hosts = {run["worker_hostname"] for run in final["runs"]}
    assert hosts == {workers.hostname("w1"), workers.hostname("w2")}
    # Each point ran its own spec: 64K pages fault 16 times less than 4K on the same region.
    faults = {
        (run["params"]["policy.base_page"], run["params"]["controls.seed"]): run["summary"][
            "faults"
        ]
        for run in final["runs"]
    }
    for seed in (1, 2, 3):
        assert faults[("4K", seed)] > faults[("64K", seed)]
    assert db.scalar(select(func.count()).select_from(RunResult)) == 6
