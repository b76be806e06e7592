"""Run responses."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

import pagelab

RunStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]

# A stored run's spec is documented as an object, not as the Spec component: it was filled
# in by the engine version the run names, and a spec an older engine stored need not
# validate against today's schema (a field since added, renamed or bounded differently).
RUN_SPEC_DESCRIPTION = (
    "The spec the run simulates, every default filled in, as engine `engine_version` "
    "read it: a Spec of that version (today's: GET /api/v1/spec-schema)."
)


class RunProgress(BaseModel):
    accesses_done: int
    # None while the total is unknown (a trace not yet read through).
    accesses_total: int | None
    fraction: float | None


class RunRead(BaseModel):
    """A run's state; ``summary`` is set once it succeeded."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    experiment_id: int
    point_index: int
    params: dict[str, JsonValue]
    status: RunStatus
    progress: RunProgress
    attempts: int
    worker_hostname: str | None
    error: str | None
    cancel_requested: bool
    reused_result: bool
    spec_hash: str
    engine_version: str
    spec: dict[str, Any] = Field(description=RUN_SPEC_DESCRIPTION)
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    summary: dict[str, int | float] | None


class ResultRead(BaseModel):
    """Everything a run produced, as the engine returns it."""

    run_id: int
    meta: pagelab.ResultMeta
    summary: dict[str, int | float]
    series: dict[str, list[int | float]]
    heatmap: pagelab.Heatmap | None
    physical_memory: list[pagelab.TierMemory] | None = None


class RunExport(BaseModel):
    """A run with its full result: what ``export.json`` downloads."""

    run: RunRead
    result: ResultRead
