"""Trace responses."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from pagelab.workloads.spec import TraceFormat


class TraceRead(BaseModel):
    """An uploaded trace. Refer to it in a spec as ``{"trace": {"path": file_name, "format":
    format}}``."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    file_name: str
    format: TraceFormat
    original_name: str
    sha256: str
    size_bytes: int
    accesses: int
    instructions: int
    processes: int
    created_at: datetime
