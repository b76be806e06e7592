"""Experiment tables: an experiment (a base spec and sweep axes) and its tags."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, Id, JsonDocument, UtcDateTime, utc_now

if TYPE_CHECKING:
    from backend.runs.models import Run


class Experiment(Base):
    """What a user submitted; ``status`` aggregates its runs' and is kept up to date with them."""

    __tablename__ = "experiment"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # "single" (one run) or "sweep" (one run per grid point).
    kind: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    sweep: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)

    tag_rows: Mapped[list[ExperimentTag]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
        order_by="ExperimentTag.tag",
    )
    runs: Mapped[list[Run]] = relationship(
        back_populates="experiment",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Run.point_index",
    )

    # Keyset pagination walks (sort key, id); one index per sort and per filter that leads.
    __table_args__ = (
        Index("ix_experiment_created_at_id", "created_at", "id"),
        Index("ix_experiment_name_id", "name", "id"),
        Index("ix_experiment_status_created_at_id", "status", "created_at", "id"),
        Index("ix_experiment_kind_created_at_id", "kind", "created_at", "id"),
    )

    # Read models take these by attribute (``from_attributes``), as the API shows them.

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]

    @property
    def run_counts(self) -> dict[str, int]:
        """How many runs are in each status (statuses no run has are left out)."""
        return dict(Counter(run.status for run in self.runs))


class ExperimentTag(Base):
    __tablename__ = "experiment_tag"

    experiment_id: Mapped[int] = mapped_column(
        Id, ForeignKey("experiment.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)

    __table_args__ = (Index("ix_experiment_tag_tag_experiment_id", "tag", "experiment_id"),)
