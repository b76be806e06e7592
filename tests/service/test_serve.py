"""``pagelab serve`` as a new user runs it: one command, then the API over HTTP, a worker that
runs what is submitted, and Ctrl-C stopping everything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..real_services import free_port, fresh_database_url
from .helpers import tiny_spec, wait_for

# Each test starts `pagelab` processes.
pytestmark = pytest.mark.processes

PAGELAB = Path(sys.executable).with_name("pagelab")


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone in all but name.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def _start_serve(tmp_path: Path, port: int) -> tuple[subprocess.Popen[bytes], Path]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PAGELAB_")}
    env["PAGELAB_HOME"] = str(tmp_path / "data")
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        serve = subprocess.Popen([str(PAGELAB), "serve", "--port", str(port)], cwd=tmp_path,
                                 env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    return serve, log_path


def _wait_gone(pids: list[int], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids), "the worker outlived serve"


def _wait_until_healthy(
    client: httpx.Client, process: subprocess.Popen[bytes], log_path: Path, what: str
) -> None:
    """Poll /healthz until it answers 200; fail with the log if ``process`` dies first."""

    def healthy() -> bool:
        assert process.poll() is None, log_path.read_text()
        try:
            return client.get("/healthz").status_code == 200
        except httpx.TransportError:
            return False

    wait_for(healthy, bool, timeout_s=60, what=what)


def test_pagelab_serve_runs_an_experiment_end_to_end(tmp_path: Path) -> None:
    port = free_port()
    serve, log_path = _start_serve(tmp_path, port)
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as client:
            _wait_until_healthy(client, serve, log_path, "the server to answer")
            assert f"pagelab is running at {base}/" in log_path.read_text()
            assert client.get("/readyz").json() == {"database": "ok", "broker": "ok"}

            created = client.post(
                "/api/v1/experiments", json={"name": "first", "spec": tiny_spec()}
            )
            assert created.status_code == 201, created.text
            location = created.headers["location"]

            def state() -> dict[str, Any]:
                body: dict[str, Any] = client.get(location).json()
                return body

            done = wait_for(state, lambda e: e["status"] not in ("queued", "running"),
                            timeout_s=60, what="the experiment to finish")  # fmt: skip
            assert done["status"] == "succeeded", (done, log_path.read_text())
            # Quiet by default: the URL and where data lives, then only what goes wrong (and
            # requests: the access log is on). No worker banner, no root-user warning.
            log = log_path.read_text()
            lines = log.splitlines()
            assert [i for i, line in enumerate(lines) if "pagelab is running at" in line] == [1]
            for noise in ("[tasks]", "SecurityWarning", "No hostname", "Uvicorn running"):
                assert noise not in log, log
            run_id = done["runs"][0]["id"]
            assert client.get(f"/api/v1/runs/{run_id}/result").json()["meta"]["accesses"] == 200_000
            csv = client.get(f"/api/v1/runs/{run_id}/export.csv")
            assert csv.headers["content-type"].startswith("text/csv")
            assert csv.text.splitlines()[0].startswith("epoch,")
        assert (tmp_path / "data" / "pagelab.db").is_file()

        workers = _children(serve.pid)
        assert workers, "serve started no worker process"
        serve.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends
        assert serve.wait(timeout=40) == 0, log_path.read_text()
        _wait_gone(workers, timeout_s=10)
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()


def test_the_worker_does_not_outlive_a_killed_serve(tmp_path: Path) -> None:
    port = free_port()
    serve, _ = _start_serve(tmp_path, port)
    try:
        workers = wait_for(lambda: _children(serve.pid), bool, timeout_s=30,
                           what="serve to start its worker")  # fmt: skip
        pool = wait_for(lambda: [child for pid in workers for child in _children(pid)], bool,
                        timeout_s=30, what="the worker to start its pool")  # fmt: skip
    finally:
        serve.kill()  # SIGKILL: serve gets no chance to stop the worker itself
        serve.wait()
    _wait_gone(workers + pool, timeout_s=15)


@pytest.mark.parametrize("access_log", ["true", "false"])
def test_pagelab_api_logs_each_request_unless_the_access_log_is_off(
    tmp_path: Path, access_log: str
) -> None:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PAGELAB_")}
    env |= {"PAGELAB_HOME": str(tmp_path / "data"), "PAGELAB_ACCESS_LOG": access_log}
    log_path = tmp_path / "api.log"
    with log_path.open("wb") as log:
        api = subprocess.Popen([str(PAGELAB), "api", "--port", str(port)], cwd=tmp_path,
                               env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            _wait_until_healthy(client, api, log_path, "the API to answer")
        api.send_signal(signal.SIGINT)
        assert api.wait(timeout=30) == 0, log_path.read_text()
    finally:
        if api.poll() is None:
            api.kill()
            api.wait()
    logged = '"GET /healthz HTTP/1.1" 200' in log_path.read_text()
    assert logged == (access_log == "true"), log_path.read_text()


def test_api_refuses_a_public_address_without_tokens_and_serves_it_with_them(
    tmp_path: Path,
) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PAGELAB_")}
    env["PAGELAB_HOME"] = str(tmp_path / "data")
    env["PAGELAB_DATABASE_URL"] = fresh_database_url(tmp_path, "listen")
    port = free_port()
    command = [str(PAGELAB), "api", "--host", "0.0.0.0", "--port", str(port)]

    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert "refusing to listen on 0.0.0.0" in refused.stderr
    assert "PAGELAB_API_TOKENS_REQUIRED=true" in refused.stderr
    assert "pagelab token create" in refused.stderr and "Traceback" not in refused.stderr

    env["PAGELAB_API_TOKENS_REQUIRED"] = "true"
    for step in (["migrate"], ["token", "create", "--scope", "read", "--name", "listen"]):
        done = subprocess.run([str(PAGELAB), *step], env=env, capture_output=True, text=True,
                              timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr
    secret = done.stdout.strip()
    log_path = tmp_path / "api.log"
    with log_path.open("wb") as log:
        api = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            _wait_until_healthy(client, api, log_path, "the API on 0.0.0.0 to answer")
            assert client.get("/api/v1/experiments").status_code == 401
            reader = {"Authorization": f"Bearer {secret}"}
            assert client.get("/api/v1/experiments", headers=reader).status_code == 200
            assert client.get("/", follow_redirects=False).headers["location"] == "/signin?next=%2F"
        # Reachable from elsewhere, answering only loopback names: it says how to add names.
        assert "PAGELAB_ALLOWED_HOSTS" in log_path.read_text()
    finally:
        api.terminate()
        api.wait(timeout=30)
