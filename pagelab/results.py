"""A run's result: metadata, summary metrics, per-epoch series and an access heatmap."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from pagelab.memory.report import TierMemory

Number = int | float


class ResultMeta(BaseModel):
    """Where a result came from. ``sim_seconds`` is the wall time of the simulation itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    engine_version: str
    spec_hash: str
    seed: int
    accesses: int
    epochs: int
    sim_seconds: float


class Heatmap(BaseModel):
    """Access counts over time bins × address bins, as DAMON heatmaps show them.

    The address axis covers the touched regions with the gaps between them collapsed:
    ``address_start[j]`` is the first virtual address of bin ``j`` (``pid`` its process) and
    ``address_bytes[j]`` how many touched bytes of address space the bin spans.
    ``time_end_accesses[i]`` is the access count at the end of time bin ``i``.
    ``counts[i][j]`` are accesses; ``page_size[j]`` is the mapping size holding most of bin
    ``j`` at the end of the run. With more than one memory tier, ``tier[i][j]`` is the tier
    (an index into ``tier_names``) that held most of cell (i, j)'s accesses: each region
    counts, for the epochs of the time bin, as held by the tier holding most of its touched
    pages at the epoch's end.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    time_end_accesses: list[int]
    address_start: list[int]
    address_bytes: list[int]
    pid: list[int]
    counts: list[list[int]]
    page_size: list[str]
    tier: list[list[int]] | None = None
    tier_names: list[str] = Field(default_factory=list)


class Result(BaseModel):
    """Everything one run produced; round-trips through JSON.

    ``summary`` maps metric names (units in the names) to numbers; ``series`` maps column
    names to one value per epoch, all columns of equal length; ``physical_memory`` has one
    entry per tier (free lists, fragmentation indices, pageblock maps at start and end).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    meta: ResultMeta
    summary: dict[str, Number]
    series: dict[str, list[Number]] = Field(default_factory=dict)
    heatmap: Heatmap | None = None
    physical_memory: list[TierMemory] | None = None
