"""Trace uploads: checked by the engine before they are accepted, stored by content hash,
referenced from specs by file name, and run by a worker from the traces folder."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from backend.db import make_engine, make_session_factory
from backend.settings import Settings
from worker.execution import execute_run

from .helpers import assert_problem

LACKEY = b"I  0400d7d4,8\n L 04222cac,4\n S 04222cb0,8\n M 7ff000ab0,4\n" * 50


def _trace_spec(file_name: str) -> dict[str, Any]:
    return {"workload": {"trace": {"path": file_name, "format": "lackey"}},
            "controls": {"epoch_accesses": 1000}}  # fmt: skip


def test_an_uploaded_trace_is_checked_stored_and_runnable(
    api: TestClient, settings: Settings
) -> None:
    response = api.post("/api/v1/traces", params={"format": "lackey"},
                        files={"file": ("ls-lackey.txt", LACKEY)})  # fmt: skip
    assert response.status_code == 201, response.text
    trace = response.json()
    assert trace["original_name"] == "ls-lackey.txt"
    assert trace["file_name"] == f"{trace['sha256']}.txt"
    assert (trace["accesses"], trace["instructions"], trace["size_bytes"]) == (150, 50, len(LACKEY))
    assert (settings.traces_dir / trace["file_name"]).read_bytes() == LACKEY

    # The same bytes again, as a raw body: the stored trace, not a second copy.
    again = api.post("/api/v1/traces", params={"format": "lackey", "name": "copy.txt"},
                     content=LACKEY)  # fmt: skip
    assert again.status_code == 200 and again.json()["id"] == trace["id"]
    assert_problem(api.post("/api/v1/traces", params={"format": "text"}, content=LACKEY), 409)
    assert [t["id"] for t in api.get("/api/v1/traces").json()] == [trace["id"]]

    spec = _trace_spec(trace["file_name"])
    spec["workload"]["trace"]["format"] = "text"
    wrong_format = {"name": "t", "spec": spec}
    assert_problem(api.post("/api/v1/experiments", json=wrong_format), 422,
                   "spec.workload.trace.format")  # fmt: skip

    created = api.post("/api/v1/experiments",
                       json={"name": "trace", "spec": _trace_spec(trace["file_name"])})  # fmt: skip
    assert created.status_code == 201, created.text
    run = created.json()["runs"][0]
    # In use by a queued run: it stays.
    assert_problem(api.delete(f"/api/v1/traces/{trace['id']}"), 409)

    engine = make_engine(settings.database_url)
    try:
        outcome = execute_run(make_session_factory(engine), settings, run_id=run["id"],
                              worker_hostname="test@host")  # fmt: skip
    finally:
        engine.dispose()
    assert outcome == "succeeded"
    finished = api.get(f"/api/v1/runs/{run['id']}").json()
    assert finished["summary"]["accesses"] == 150

    assert api.delete(f"/api/v1/traces/{trace['id']}").status_code == 204
    assert not (settings.traces_dir / trace["file_name"]).exists()
    assert api.get("/api/v1/traces").json() == []
