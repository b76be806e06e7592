"""Uploaded traces: files stored by content hash under HOME/traces."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, Id, UtcDateTime, utc_now


class Trace(Base):
    """An uploaded, format-checked trace; specs name it by ``file_name``."""

    __tablename__ = "trace"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    file_name: Mapped[str] = mapped_column(String(128), unique=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    format: Mapped[str] = mapped_column(String(16))
    original_name: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    accesses: Mapped[int] = mapped_column(BigInteger)
    instructions: Mapped[int] = mapped_column(BigInteger)
    processes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
