"""Share links: a frozen copy of some runs and a view, behind a hashed capability token.

A link keeps its own copy of what it shows (each run's spec, sweep values, summary and
result, and the experiment's name as it was), so later renames, re-runs, deletions or the
rest of the sweep never reach it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, Id, JsonDocument, UtcDateTime, utc_now


class Share(Base):
    __tablename__ = "share"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    # What the API calls the link by: random, so one link's id says nothing of another's.
    public_id: Mapped[str] = mapped_column(String(32))
    # sha256 of the token: a database leak does not leak working links.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    view: Mapped[str] = mapped_column(String(32))
    # The API token that made the link; None: made where no token was needed (loopback).
    # No foreign key: adding one would make SQLite copy the table (see the migrations).
    created_by_token_id: Mapped[int | None] = mapped_column(Id, nullable=True, index=True)
    # The experiments of the frozen runs as they were: {"<id>": {"name", "description", "tags"}}.
    experiments: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    runs: Mapped[list[ShareRun]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
        order_by="ShareRun.position",
    )

    # A unique index, not a constraint: SQLite adds one without copying the table.
    __table_args__ = (Index("ix_share_public_id", "public_id", unique=True),)

    @property
    def run_ids(self) -> list[int]:
        return [link.run_id for link in self.runs]


class ShareRun(Base):
    """One frozen run: its public fields as they were when shared, and its result."""

    __tablename__ = "share_run"

    share_id: Mapped[int] = mapped_column(
        Id, ForeignKey("share.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The run it was copied from; no foreign key, so deleting that run leaves the copy.
    run_id: Mapped[int] = mapped_column(Id, index=True)
    # The run's public fields (backend/shares/schemas.py SharedRun), never its worker or error.
    run: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    result_meta: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument, nullable=True)
    # The result's compressed arrays, as backend/runs/result_blob.py packs them.
    result_arrays: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
