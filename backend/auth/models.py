"""API tokens and the dashboard sessions signed in with them; only hashes of secrets are
stored (each secret is shown once: the token at creation, the session in its cookie)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, Id, UtcDateTime, utc_now

READ_SCOPE = "read"
WRITE_SCOPE = "write"
SCOPES = (READ_SCOPE, WRITE_SCOPE)


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # "read" or "write"; write includes read.
    scope: Mapped[str] = mapped_column(String(8), default=WRITE_SCOPE)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class BrowserSession(Base):
    """A dashboard sign-in: lasts until sign-out, its own expiry, or its token's end."""

    __tablename__ = "browser_session"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_id: Mapped[int] = mapped_column(
        Id, ForeignKey("api_token.id", ondelete="CASCADE"), index=True
    )
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
