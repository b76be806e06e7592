"""Share links: a frozen set of runs and a view, behind a hashed capability token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, Id, UtcDateTime, utc_now


class Share(Base):
    __tablename__ = "share"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    # sha256 of the token: a database leak does not leak working links.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    view: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    runs: Mapped[list[ShareRun]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
        order_by="ShareRun.position",
    )

    @property
    def run_ids(self) -> list[int]:
        return [link.run_id for link in self.runs]


class ShareRun(Base):
    __tablename__ = "share_run"

    share_id: Mapped[int] = mapped_column(
        Id, ForeignKey("share.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(Id, ForeignKey("run.id", ondelete="CASCADE"), index=True)
