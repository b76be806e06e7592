"""Bad input gets a 4xx problem naming what is wrong, and writes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.auth.service import create_token
from backend.experiments.models import Experiment
from backend.runs.models import Run
from backend.settings import Settings
from backend.traces.models import Trace

from .conftest import make_client
from .helpers import assert_problem, tiny_spec


@pytest.fixture
def nothing_written(db: Session, settings: Settings) -> Iterator[None]:
    """After the test: no experiment, run or trace row, and no stray file under traces/."""
    yield
    for model in (Experiment, Run, Trace):
        assert db.scalar(select(func.count()).select_from(model)) == 0, model.__name__
    assert not any(path.is_file() for path in settings.traces_dir.rglob("*"))


def _create(api: TestClient, **body: Any) -> Any:
    return api.post("/api/v1/experiments", json={"name": "bad", "spec": tiny_spec(), **body})


@pytest.mark.usefixtures("nothing_written")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"spec": {**tiny_spec(), "policy": {"base_page": "4K", "turbo": True}}},
         "spec.policy.turbo"),
        ({"spec": {**tiny_spec(), "controls": {"seed": -1}}}, "spec.controls.seed"),
        ({"spec": {"workload": {"generator": {"name": "uniform", "accesses": 0}}}},
         "spec.workload.generator.accesses"),
        ({"name": ""}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"tags": ["no spaces"]}, "tags[0]"),
        ({"tags": [f"t{i}" for i in range(17)]}, "tags"),
        ({"spec": {**tiny_spec(), "x": float("nan")}}, "spec"),
        ({"sweep": {"policy.base_page": ["4K", "1M"]}}, "sweep.policy.base_page"),
        ({"sweep": {"policy.base_page": []}}, "sweep.policy.base_page"),
        ({"sweep": {"Policy/..": ["4K"]}}, "sweep.Policy/..[key]"),
        ({"sweep": {"policy.base_page.size": [1]}}, "sweep.policy.base_page.size"),
        ({"sweep": {"controls.seed": list(range(20)), "policy.base_page": ["4K"] * 20}},
         "sweep"),
        ({"spec": {"workload": {"trace": {"path": "../../etc/passwd", "format": "text"}}}},
         "spec.workload.trace.path"),
        ({"spec": {"workload": {"trace": {"path": "never-uploaded.txt", "format": "text"}}}},
         "spec.workload.trace.path"),
    ],
)  # fmt: skip
def test_a_bad_submission_is_a_422_naming_the_field(
    api: TestClient, body: dict[str, Any], field: str
) -> None:
    response = api.post(
        "/api/v1/experiments",
        content=json.dumps({"name": "bad", "spec": tiny_spec(), **body}, allow_nan=True),
        headers={"content-type": "application/json"},
    )
    assert_problem(response, 422, field)


@pytest.mark.usefixtures("nothing_written")
def test_an_invalid_sweep_point_is_named_with_its_value(api: TestClient) -> None:
    response = _create(api, sweep={"policy.base_page": ["4K", "64K", "3K"], "controls.seed": [1]})
    problem = assert_problem(response, 422, "sweep.policy.base_page")
    assert problem["detail"].startswith(
        "sweep point 3 of 3 (policy.base_page='3K', controls.seed=1)"
    )
    assert "'3K'" in problem["errors"][0]["message"]


@pytest.mark.usefixtures("nothing_written")
def test_malformed_and_oversize_bodies_are_refused(settings: Settings) -> None:
    with make_client(settings.model_copy(update={"max_request_bytes": 4096})) as api:
        assert_problem(
            api.post("/api/v1/experiments", content=b"{not json",
                     headers={"content-type": "application/json"}),
            422,
        )  # fmt: skip
        big = {"name": "big", "spec": tiny_spec(), "description": "x" * 5000}
        problem = assert_problem(api.post("/api/v1/experiments", json=big), 413)
        assert "4096" in problem["detail"]


@pytest.mark.usefixtures("nothing_written")
def test_unknown_and_malformed_ids_are_404_and_422(api: TestClient) -> None:
    for path in ("/api/v1/experiments/999999", "/api/v1/runs/999999",
                 "/api/v1/runs/999999/result", "/api/v1/runs/999999/export.csv",
                 "/api/v1/shared/" + "x" * 43):  # fmt: skip
        assert_problem(api.get(path), 404)
    assert_problem(api.delete("/api/v1/traces/999999"), 404)
    assert_problem(api.delete("/api/v1/shares/" + "A" * 22), 404)
    assert_problem(api.delete("/api/v1/shares/999999"), 422, "share_id")  # ids are random text
    assert_problem(api.post("/api/v1/experiments/999999/cancel"), 404)
    assert_problem(api.get("/api/v1/experiments/abc"), 422, "experiment_id")
    assert_problem(api.get("/api/v1/runs/0"), 422, "run_id")
    assert_problem(api.get(f"/api/v1/runs/{2**64}"), 422, "run_id")
    assert_problem(api.get("/api/v1/experiments", params={"cursor": "bogus"}), 422, "cursor")
    assert_problem(api.get("/api/v1/experiments", params={"limit": 0}), 422, "limit")
    assert_problem(api.get("/api/v1/experiments", params={"sort": "size"}), 422, "sort")
    assert_problem(api.get("/api/v1/no-such-thing"), 404)


def _upload(api: TestClient, content: bytes, **params: str) -> Any:
    return api.post("/api/v1/traces", params=params, content=content,
                    headers={"content-type": "application/octet-stream"})  # fmt: skip


@pytest.mark.usefixtures("nothing_written")
def test_malformed_oversize_and_empty_uploads_are_refused(settings: Settings) -> None:
    with make_client(settings.model_copy(update={"max_upload_bytes": 64 * 1024})) as api:
        problem = assert_problem(
            _upload(api, b" L 0400,4\n L zzzz,4\n", format="lackey"), 422, "body"
        )
        assert "line 2" in problem["detail"]
        assert_problem(_upload(api, b"garbage", format="lackey", name="t.txt.xz"), 422, "body")
        assert_problem(_upload(api, b"", format="text"), 422, "body")
        assert_problem(_upload(api, b"0x1000\n", format="pcap"), 422, "format")
        assert_problem(_upload(api, b"0x1000\n"), 422, "format")
        assert_problem(_upload(api, b"0x1000\n" * 20_000, format="text"), 413)

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies as it streams
            for _ in range(20):
                yield b"0x1000\n" * 1000

        streamed = api.post("/api/v1/traces", params={"format": "text"}, content=chunks())
        assert_problem(streamed, 413)
        no_file = api.post("/api/v1/traces", params={"format": "text"},
                           files={"other": ("t.txt", b"0x1000\n")})  # fmt: skip
        assert_problem(no_file, 422, "file")
        broken = api.post("/api/v1/traces", params={"format": "text"}, content=b"--x\r\nbad",
                          headers={"content-type": "multipart/form-data; boundary=x"})  # fmt: skip
        assert broken.status_code == 422


def test_writes_need_a_valid_token_when_tokens_are_required(
    settings: Settings, db: Session, tmp_path: Path
) -> None:
    _, secret = create_token(db, name="tests")
    db.commit()
    body = {"name": "authorised", "spec": tiny_spec()}
    with make_client(settings.model_copy(update={"api_tokens_required": True})) as api:
        missing = assert_problem(api.post("/api/v1/experiments", json=body), 401)
        assert "requires an API token" in missing["detail"]
        assert (
            api.post("/api/v1/experiments", json=body)
            .headers["www-authenticate"]
            .startswith("Bearer")
        )
        wrong = {"authorization": "Bearer plt_not-the-token"}
        assert_problem(api.post("/api/v1/experiments", json=body, headers=wrong), 401)
        basic = {"authorization": "Basic dXNlcjpwYXNz"}
        assert_problem(api.post("/api/v1/experiments", json=body, headers=basic), 401)
        assert_problem(_upload(api, b"0x1000\n", format="text"), 401)
        assert_problem(api.post("/api/v1/shares", json={"run_ids": [1]}), 401)
        assert db.scalar(select(func.count()).select_from(Experiment)) == 0

        right = {"authorization": f"Bearer {secret}"}
        created = api.post("/api/v1/experiments", json=body, headers=right)
        assert created.status_code == 201, created.text
        # Reads need a token too (tests/service/test_access.py checks every route).
        read = f"/api/v1/experiments/{created.json()['id']}"
        assert_problem(api.get(read), 401)
        assert api.get(read, headers=right).status_code == 200

    # A server that does not require tokens still refuses a wrong one rather than ignore it.
    with make_client(settings) as api:
        wrong = {"authorization": "Bearer plt_not-the-token"}
        assert_problem(api.post("/api/v1/experiments", json=body, headers=wrong), 401)
        assert api.post("/api/v1/experiments", json=body).status_code == 201
