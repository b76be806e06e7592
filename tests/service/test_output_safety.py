"""What the service sends back is safe to open, and a cut-short request is answered calmly."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session
from starlette.types import Message

from backend.runs.exports import safe_cell
from backend.runs.models import Run
from backend.settings import Settings

from .conftest import make_client
from .helpers import assert_problem, tiny_spec

HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "plain"]


def test_text_cells_a_spreadsheet_would_run_are_quoted_and_numbers_are_kept() -> None:
    assert [safe_cell(value) for value in HOSTILE] == [
        "'=HYPERLINK(\"http://x\")", "'+1+1", "'-2+3", "'@SUM(A1)", "'\tx", "plain"
    ]  # fmt: skip
    assert [safe_cell(value) for value in (-3, -0.5, 0, 7)] == [-3, -0.5, 0, 7]


def test_an_experiment_export_neutralises_formulas_in_stored_values(
    api: TestClient, db: Session
) -> None:
    experiment = api.post("/api/v1/experiments", json={"name": "csv", "spec": tiny_spec()}).json()
    params: dict[str, Any] = {f"axis{i}": value for i, value in enumerate(HOSTILE)}
    params["negative"] = -3
    db.execute(update(Run).where(Run.experiment_id == experiment["id"]).values(params=params))
    db.commit()

    text = api.get(f"/api/v1/experiments/{experiment['id']}/export.csv").text
    row = next(csv.DictReader(io.StringIO(text)))
    assert [row[f"axis{i}"] for i in range(len(HOSTILE))] == [
        "'=HYPERLINK(\"http://x\")", "'+1+1", "'-2+3", "'@SUM(A1)", "'\tx", "plain"
    ]  # fmt: skip
    assert row["negative"] == "-3"


def _chunks(count: int, piece: bytes) -> Iterator[bytes]:
    for _ in range(count):
        yield piece


def test_an_oversized_chunked_body_is_a_413_naming_the_limit(settings: Settings) -> None:
    limited = settings.model_copy(update={"max_request_bytes": 4096, "max_upload_bytes": 4096})
    with make_client(limited) as api:
        # No Content-Length: the limit is only crossed while the body streams.
        streamed_json = api.post("/api/v1/experiments", content=_chunks(20, b" " * 1000),
                                 headers={"content-type": "application/json"})  # fmt: skip
        problem = assert_problem(streamed_json, 413)
        assert "4096" in problem["detail"] and "PAGELAB_MAX_REQUEST_BYTES" in problem["detail"]

        head = b'--x\r\nContent-Disposition: form-data; name="file"; filename="t.txt"\r\n\r\n'
        streamed_form = api.post(
            "/api/v1/traces", params={"format": "text"},
            content=iter([head, *_chunks(20, b"0x1000\n" * 100)]),
            headers={"content-type": "multipart/form-data; boundary=x"},
        )  # fmt: skip
        problem = assert_problem(streamed_form, 413)
        assert "4096" in problem["detail"] and "PAGELAB_MAX_UPLOAD_BYTES" in problem["detail"]
        assert api.get("/api/v1/traces").json() == []


def test_a_client_gone_mid_upload_is_an_info_line_not_a_traceback(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    incoming: list[Message] = [
        {"type": "http.request", "body": b"0x1000\n" * 100, "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/api/v1/traces", "raw_path": b"/api/v1/traces",
        "root_path": "", "query_string": b"format=text", "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 5000),
        "headers": [(b"host", b"localhost"), (b"content-type", b"text/plain")],
    }  # fmt: skip
    with make_client(settings) as api, caplog.at_level(logging.INFO):
        api.portal.call(api.app, scope, receive, send)  # type: ignore[union-attr]
        assert api.get("/api/v1/traces").json() == []

    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert not [record for record in caplog.records if record.exc_info]
    assert any("disconnected" in record.getMessage() for record in caplog.records)
    assert not any(path.is_file() for path in (settings.traces_dir / "incoming").rglob("*"))
