"""Share-link requests and responses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from backend.runs.schemas import RunRead

ViewName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
RunIdValue = Annotated[int, Field(ge=1, le=2**63 - 1)]


class ShareCreate(BaseModel):
    """Freeze a set of runs and the view to show them in (e.g. ``compare``)."""

    model_config = ConfigDict(extra="forbid")

    run_ids: list[RunIdValue] = Field(min_length=1)
    view: ViewName = "compare"
    # None: the link works until revoked.
    expires_in_s: int | None = Field(default=None, ge=60, le=366 * 86_400)


class ShareInfo(BaseModel):
    """A share link as its creator sees it (the token is not kept, so it is not here)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    view: str
    run_ids: list[int]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class ShareCreated(ShareInfo):
    """The new link. ``token`` is shown this once; ``url`` is the API path that reads it."""

    token: str
    url: str


class SharedView(BaseModel):
    """What a share link shows: its view and the runs it froze, nothing else."""

    view: str
    created_at: datetime
    expires_at: datetime | None
    runs: list[RunRead]
