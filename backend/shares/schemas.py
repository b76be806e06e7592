"""Share-link requests and responses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from backend.runs.schemas import RUN_SPEC_DESCRIPTION, RunStatus

ViewName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
RunIdValue = Annotated[int, Field(ge=1, le=2**63 - 1)]


class ShareCreate(BaseModel):
    """Freeze a set of finished runs and the view to show them in (e.g. ``compare``)."""

    model_config = ConfigDict(extra="forbid")

    run_ids: list[RunIdValue] = Field(min_length=1)
    view: ViewName = "compare"
    # None: the link works until revoked.
    expires_in_s: int | None = Field(default=None, ge=60, le=366 * 86_400)


class ShareInfo(BaseModel):
    """A share link as its creator sees it (the token is not kept, so it is not here).

    ``id`` is random: one link's id says nothing of another's.
    """

    id: str
    view: str
    run_ids: list[int]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class ShareCreated(ShareInfo):
    """The new link. ``token`` is shown this once; ``url`` is the API path that reads it."""

    token: str
    url: str


class SharedExperiment(BaseModel):
    """The experiment a frozen run belongs to, as it was when shared."""

    id: int
    name: str
    description: str
    tags: list[str]


class SharedRun(BaseModel):
    """A run as it was when shared: what it ran and what it measured, nothing about the
    machine that ran it."""

    id: int
    experiment_id: int
    point_index: int
    params: dict[str, JsonValue]
    status: RunStatus
    attempts: int
    # Accesses simulated.
    accesses: int
    spec_hash: str
    engine_version: str
    spec: dict[str, JsonValue] = Field(description=RUN_SPEC_DESCRIPTION)
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    summary: dict[str, int | float] | None


class SharedView(BaseModel):
    """What a share link shows: its view and the runs it froze, nothing else.

    ``shows`` says so in words, as the shared page does.
    """

    view: str
    shows: str
    created_at: datetime
    expires_at: datetime | None
    experiments: list[SharedExperiment]
    runs: list[SharedRun]
