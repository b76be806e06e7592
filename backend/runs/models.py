"""Run tables: one run per spec point, and the result it produced (stored once)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, Id, JsonDocument, UtcDateTime, utc_now

if TYPE_CHECKING:
    from backend.experiments.models import Experiment

RUN_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
ACTIVE_STATUSES = ("queued", "running")


class Run(Base):
    """One simulation of one spec. The database, not the broker, is the truth of its state.

    ``dispatched_at`` is when a task for it was last handed to the broker (None: never, so the
    dispatcher sends it); ``attempts`` counts starts, and the reaper gives up after the limit.
    """

    __tablename__ = "run"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(Id, ForeignKey("experiment.id", ondelete="CASCADE"))
    point_index: Mapped[int] = mapped_column(Integer)
    # The sweep values of this point, by dotted spec path ({} for a single run).
    params: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    spec: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    spec_hash: Mapped[str] = mapped_column(String(64))
    engine_version: Mapped[str] = mapped_column(String(32))
    trace_file: Mapped[str | None] = mapped_column(String(128), nullable=True)

    status: Mapped[str] = mapped_column(String(16))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    reused_result: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker_hostname: Mapped[str | None] = mapped_column(String(255), nullable=True)
    accesses_done: Mapped[int] = mapped_column(BigInteger, default=0)
    accesses_total: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    experiment: Mapped[Experiment] = relationship(back_populates="runs")
    # View-only: results are stored on their own (``repository.add_result``, ``copy_result``)
    # and the database deletes them with their run (ON DELETE CASCADE).
    result: Mapped[RunResult | None] = relationship(viewonly=True)

    __table_args__ = (
        UniqueConstraint("experiment_id", "point_index"),
        # The dispatcher looks for queued runs by dispatch time, the reaper for running
        # runs by heartbeat.
        Index("ix_run_status_dispatched_at", "status", "dispatched_at"),
        Index("ix_run_status_heartbeat_at", "status", "heartbeat_at"),
        Index("ix_run_trace_file", "trace_file"),
    )

    # Read models take these by attribute (``from_attributes``), as the API shows them.

    @property
    def progress(self) -> dict[str, Any]:
        """Accesses done of the total; a succeeded run whose total was never known is done."""
        fraction = None
        if self.accesses_total:
            fraction = min(1.0, self.accesses_done / self.accesses_total)
        elif self.status == "succeeded":
            fraction = 1.0
        return {
            "accesses_done": self.accesses_done,
            "accesses_total": self.accesses_total,
            "fraction": fraction,
        }

    @property
    def summary(self) -> dict[str, Any] | None:
        """The result's summary metrics; None until the run succeeded."""
        return self.result.summary if self.result is not None else None


class RunResult(Base):
    """What a run produced: summary and meta as JSON, series and heatmap compressed.

    ``run_id`` is unique: a task delivered twice stores its result once.
    """

    __tablename__ = "result"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    run_id: Mapped[int] = mapped_column(Id, ForeignKey("run.id", ondelete="CASCADE"), unique=True)
    spec_hash: Mapped[str] = mapped_column(String(64))
    engine_version: Mapped[str] = mapped_column(String(32))
    meta: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    summary: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    # zlib-compressed JSON of {"series": ..., "heatmap": ...}; loaded only when read.
    arrays: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)

    __table_args__ = (Index("ix_result_spec_hash_engine_version", "spec_hash", "engine_version"),)
