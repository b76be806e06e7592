"""Bounded work: a compressed upload is held to what it expands to and the accesses it holds,
checked off the request threads; a run is held to an access count at submission and to a
time limit while it runs."""

from __future__ import annotations

import lzma
import random
import threading
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

import pagelab
from backend.app import create_app
from backend.settings import Settings
from backend.traces.checking import TraceChecks, TraceLimits, check_upload
from pagelab.workloads.spec import TraceFormat

from ..real_services import Workers
from .conftest import make_client
from .helpers import assert_problem, tiny_spec, wait_for, watched_spec

MIB = 1 << 20
# How long a test waits on a thread it released; only a broken build takes this long.
JOIN_TIMEOUT_S = 120.0


def _lackey(lines: int, *, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    return "".join(f" L {rng.randrange(1 << 30):08x},8\n" for _ in range(lines)).encode()


def _bomb() -> bytes:
    """About 13 KB of .xz that expands to 28 MB of valid lackey lines."""
    return lzma.compress(_lackey(2000) * 1000, preset=9)


class GatedChecks(TraceChecks):
    """The real check, on the real pool, that waits at its start until the test says go."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        super().__init__(1, check=self._gated)

    def _gated(
        self, path: Path, trace_format: TraceFormat, limits: TraceLimits
    ) -> pagelab.TraceSummary:
        self.started.set()
        self.release.wait(JOIN_TIMEOUT_S)
        return check_upload(path, trace_format, limits)


def test_a_small_xz_that_expands_past_the_limit_is_refused_while_the_api_answers(
    settings: Settings,
) -> None:
    # One request thread: a check that held it would stall every other request.
    limited = settings.model_copy(update={"max_trace_bytes": 8 * MIB, "api_threads": 1})
    body = _bomb()
    assert 10_000 < len(body) < 20_000
    app = create_app(limited)
    checks = app.state.trace_checks = GatedChecks()
    answers: dict[str, Any] = {}
    with TestClient(app, base_url="http://localhost") as api:  # a name the server answers to

        def upload() -> None:
            answers["upload"] = api.post(
                "/api/v1/traces?format=lackey&name=bomb.lackey.xz", content=body
            )

        uploader = threading.Thread(target=upload)
        uploader.start()
        try:
            assert checks.started.wait(JOIN_TIMEOUT_S), "the upload never reached its check"
            # The upload is being checked (held at the gate): the API answers meanwhile.
            assert api.get("/healthz").status_code == 200
            assert api.get("/api/v1/traces").json() == []
            assert api.get("/api/v1/experiments").status_code == 200
            assert uploader.is_alive()
        finally:
            checks.release.set()
            uploader.join(JOIN_TIMEOUT_S)
        problem = assert_problem(answers["upload"], 413, "body")
        assert "PAGELAB_MAX_TRACE_BYTES" in problem["detail"]
        assert str(8 * MIB) in problem["detail"]
        assert api.get("/api/v1/traces").json() == []
    assert list((limited.traces_dir / "incoming").iterdir()) == []


def test_a_trace_with_more_accesses_than_the_limit_is_refused(settings: Settings) -> None:
    limited = settings.model_copy(update={"max_trace_accesses": 1000})
    with make_client(limited) as api:
        body = lzma.compress(_lackey(1500, seed=2))
        refused = api.post("/api/v1/traces?format=lackey&name=big.lackey.xz", content=body)
        problem = assert_problem(refused, 413, "body")
        assert "1500 accesses" in problem["detail"]
        assert "PAGELAB_MAX_TRACE_ACCESSES" in problem["detail"]
        accepted = api.post("/api/v1/traces?format=lackey&name=ok.lackey.xz",
                            content=lzma.compress(_lackey(900, seed=3)))  # fmt: skip
        assert accepted.status_code == 201, accepted.text
        assert accepted.json()["accesses"] == 900


def test_a_run_over_the_access_limit_is_refused_at_submission(settings: Settings) -> None:
    limited = settings.model_copy(update={"max_run_accesses": 150_000})
    with make_client(limited) as api:
        over = api.post("/api/v1/experiments", json={"name": "big", "spec": tiny_spec()})
        problem = assert_problem(over, 422, "spec.workload.generator.accesses")
        assert (
            "200000 accesses" in problem["detail"]
            and "PAGELAB_MAX_RUN_ACCESSES" in problem["detail"]
        )

        capped = tiny_spec()
        capped["controls"]["access_limit"] = 150_000
        accepted = api.post("/api/v1/experiments", json={"name": "capped", "spec": capped})
        assert accepted.status_code == 201, accepted.text

        sweep = {"workload.generator.accesses": [100_000, 300_000]}
        swept = api.post("/api/v1/experiments",
                         json={"name": "swept", "spec": tiny_spec(), "sweep": sweep})  # fmt: skip
        problem = assert_problem(swept, 422, "sweep.workload.generator.accesses")
        assert problem["detail"].startswith("sweep point 2 of 2")

        trace = api.post("/api/v1/traces?format=lackey&name=t.lackey",
                         content=_lackey(2000, seed=4)).json()  # fmt: skip
    traced = {"workload": {"trace": {"path": trace["file_name"], "format": "lackey"}}}
    with make_client(settings.model_copy(update={"max_run_accesses": 1000})) as api:
        problem = assert_problem(
            api.post("/api/v1/experiments", json={"name": "t", "spec": traced}),
            422,
            "spec.controls.access_limit",
        )
        assert "2000 accesses" in problem["detail"]


def test_a_run_past_its_time_limit_fails_saying_so(
    settings: Settings, workers: Workers, db: Session
) -> None:
    limited = settings.model_copy(update={"run_time_limit_s": 2.0})
    with make_client(limited) as api:
        workers.start("w1", limited)
        spec = watched_spec()
        # Held after its first chunk and never released: only the time limit ends it.
        workers.hold(spec["controls"]["seed"])
        created = api.post("/api/v1/experiments", json={"name": "slow", "spec": spec})
        run_id = created.json()["runs"][0]["id"]
        done = wait_for(lambda: api.get(f"/api/v1/runs/{run_id}").json(),
                        lambda run: run["status"] not in ("queued", "running"),
                        timeout_s=120, what="the run to hit its time limit")  # fmt: skip
    assert done["status"] == "failed", done
    assert "PAGELAB_RUN_TIME_LIMIT_S" in done["error"] and "2 s" in done["error"]
