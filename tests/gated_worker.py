"""The worker the tests start (``celery -A tests.gated_worker worker``): the real worker app,
task, execution and engine, with a gate a test can close on a run.

Tests that watch a run mid-way (its progress moving, its worker killed, a cancel) must not
depend on how fast the machine simulates. So a test holds a run instead of making it "long
enough": while ``$PAGELAB_TEST_GATES/<seed>`` holds a number the run has reached in accesses,
the run waits after its chunk — heartbeating and writing its progress as usual, and going on
at once if it is cancelled — until the test raises the number or removes the file. Runs with
no gate file are not touched. See ``Workers.hold`` in tests/real_services.py.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pagelab
import worker.tasks  # noqa: F401  (registers the task on the app)
from worker.app import app

__all__ = ["app"]

GATES_DIR = Path(os.environ["PAGELAB_TEST_GATES"])
POLL_S = 0.01

_simulate = pagelab.simulate


def _held(gate: Path, accesses_done: int) -> bool:
    try:
        text = gate.read_text()
    except FileNotFoundError:
        return False
    # A test writes the file whole with os.replace, so it is never read half-written.
    return accesses_done >= int(text)


def _gated_simulate(spec: pagelab.Spec, **options: Any) -> pagelab.Result:
    gate = GATES_DIR / str(spec.controls.seed)
    on_progress = options.get("on_progress")
    should_cancel = options.get("should_cancel")

    def progress_then_gate(progress: pagelab.Progress) -> None:
        if on_progress is not None:
            on_progress(progress)
        while _held(gate, progress.accesses_done):
            if should_cancel is not None and should_cancel():
                return
            time.sleep(POLL_S)

    return _simulate(spec, **{**options, "on_progress": progress_then_gate})


pagelab.simulate = _gated_simulate
