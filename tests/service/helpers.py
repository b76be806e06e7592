"""Helpers for the service tests: specs, polling, and problem-response checks."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from backend.settings import Settings
from pagelab.simulate import CHUNK_ACCESSES

T = TypeVar("T")
# Seeds no earlier run of the suite used, so a stored result is reused only when a test means it.
_seeds = itertools.count(int(time.time() * 1000) % 10**12)


def tiny_spec(*, accesses: int = 200_000, **policy: Any) -> dict[str, Any]:
    """A spec that runs in a fraction of a second, with a seed no other test uses (so no
    stored result is reused unless a test means it)."""
    return {
        "workload": {"generator": {"name": "uniform", "size_bytes": "64M", "accesses": accesses}},
        "policy": {"base_page": "4K", **policy},
        "controls": {"seed": next(_seeds), "epoch_accesses": 100_000},
    }


# Four of the engine's chunks: a held run (Workers.hold) has work left after its first.
WATCHED_ACCESSES = 4 * CHUNK_ACCESSES


def watched_spec() -> dict[str, Any]:
    """A run to hold after its first chunk, then watch, kill or cancel: how long it would take
    unheld does not matter."""
    return tiny_spec(accesses=WATCHED_ACCESSES)


def wait_for(
    probe: Callable[[], T], done: Callable[[T], bool], *, timeout_s: float, what: str
) -> T:
    """Poll ``probe`` until ``done`` holds for its value; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout_s
    value = probe()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}; last: {value}")
        time.sleep(0.1)
        value = probe()
    return value


def assert_problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem with ``status``, naming ``field`` if given."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= problem.keys()
    assert problem["status"] == status
    if field is not None:
        fields = [error["field"] for error in problem["errors"]]
        assert field in fields, problem
    return problem


# A server as it runs when reachable from elsewhere: tokens required, one public name.
PUBLIC_URL = "https://pagelab.example"


def exposed_settings(settings: Settings) -> Settings:
    """``settings`` for a server at PUBLIC_URL that requires tokens."""
    return settings.model_copy(
        update={
            "api_tokens_required": True,
            "allowed_hosts": ("pagelab.example",),
            "public_base_url": PUBLIC_URL,
        }
    )
