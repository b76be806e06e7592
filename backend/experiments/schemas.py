"""Experiment requests and responses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

import pagelab
from backend.fields import DocumentedAs, JsonDocument, Line, Text, check_json_document
from backend.runs.schemas import ResultRead, RunRead, RunStatus

ExperimentKind = Literal["single", "sweep"]
ExperimentSort = Literal["-created_at", "created_at", "name", "-name"]

Tag = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,63}$")]
# A dotted path into the spec: object keys, or list indexes (``machine.tiers.0.capacity_bytes``).
SpecPath = Annotated[
    str,
    StringConstraints(
        max_length=200, pattern=r"^[a-z_][a-z0-9_]*(\.([a-z_][a-z0-9_]*|[0-9]{1,3}))*$"
    ),
]
# Validated by the service, after the sweep's values are set (a 422 names the field at
# fault); the OpenAPI document shows the Spec's schema.
SpecDocument = Annotated[
    JsonDocument,
    DocumentedAs(pagelab.Spec),
    Field(
        description="The spec, as `pagelab run` takes it (GET /api/v1/spec-schema). With "
        "`sweep`, each point's spec (this one with the point's values set, objects created "
        "as needed) must be one, so this one may leave out what an axis sets."
    ),
]
SweepValues = Annotated[
    list[Any], Field(min_length=1, max_length=1000), AfterValidator(check_json_document)
]


class ExperimentCreate(BaseModel):
    """A new experiment: a spec as ``pagelab run`` takes it, and optional sweep axes.

    ``sweep`` maps a dotted spec path to the values to try; the experiment gets one run per
    point of the grid (the cartesian product of the axes).
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "64K base pages vs zipf skew",
                    "description": "",
                    "tags": ["64k"],
                    "spec": {
                        "workload": {
                            "generator": {
                                "name": "uniform",
                                "size_bytes": "64M",
                                "accesses": 200000,
                            }
                        },
                        "policy": {"base_page": "4K"},
                    },
                    "sweep": {"policy.base_page": ["4K", "64K"]},
                }
            ]
        },
    )

    name: Annotated[Line, Field(min_length=1, max_length=200)]
    description: Annotated[Text, Field(max_length=10_000)] = ""
    # At most PAGELAB_MAX_TAGS distinct tags (checked by the service; 256 bounds the body).
    tags: list[Tag] = Field(default_factory=list, max_length=256)
    spec: SpecDocument
    sweep: dict[SpecPath, SweepValues] | None = None


class ExperimentSummary(BaseModel):
    """An experiment in a list: its status and how many runs are in each state."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    tags: list[str]
    kind: ExperimentKind
    status: RunStatus
    run_counts: dict[str, int]
    created_at: datetime
    updated_at: datetime


class ExperimentRead(ExperimentSummary):
    # An object, not the Spec component, as a run's spec is (backend/runs/schemas.py): one
    # stored by an older engine need not validate today, and with a sweep it may be partial.
    spec: dict[str, Any] = Field(
        description="The spec as submitted, before the sweep's values were set; each run "
        "holds its point's full spec."
    )
    sweep: dict[str, list[Any]] | None
    runs: list[RunRead]


class ExperimentPage(BaseModel):
    items: list[ExperimentSummary]
    # Pass as ``cursor`` for the next page; None on the last page.
    next_cursor: str | None


class ExperimentExport(BaseModel):
    """An experiment with every finished run's full result: what ``export.json`` downloads."""

    experiment: ExperimentRead
    # Keyed by run id.
    results: dict[str, ResultRead]
