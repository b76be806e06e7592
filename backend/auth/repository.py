"""Queries on API tokens and dashboard sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.auth.models import ApiToken, BrowserSession


def find_token(session: Session, *, token_hash: str) -> ApiToken | None:
    """The token with this hash, whatever its state (expired and revoked ones too)."""
    return session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash)).first()


def get_token(session: Session, *, token_id: int) -> ApiToken | None:
    return session.get(ApiToken, token_id)


def list_tokens(session: Session) -> Sequence[ApiToken]:
    return session.scalars(select(ApiToken).order_by(ApiToken.id)).all()


def add_token(
    session: Session, *, name: str, token_hash: str, scope: str, expires_at: datetime | None
) -> ApiToken:
    token = ApiToken(name=name, token_hash=token_hash, scope=scope, expires_at=expires_at)
    session.add(token)
    session.flush()
    return token


def find_session(session: Session, *, secret_hash: str) -> tuple[BrowserSession, ApiToken] | None:
    """A dashboard session and its token, in one query."""
    row = session.execute(
        select(BrowserSession, ApiToken)
        .join(ApiToken, ApiToken.id == BrowserSession.token_id)
        .where(BrowserSession.secret_hash == secret_hash)
    ).first()
    return None if row is None else (row[0], row[1])


def add_session(
    session: Session, *, token_id: int, secret_hash: str, expires_at: datetime
) -> BrowserSession:
    browser_session = BrowserSession(
        token_id=token_id, secret_hash=secret_hash, expires_at=expires_at
    )
    session.add(browser_session)
    session.flush()
    return browser_session


def delete_session(session: Session, *, secret_hash: str) -> None:
    session.execute(delete(BrowserSession).where(BrowserSession.secret_hash == secret_hash))


def delete_sessions_ended_before(session: Session, *, now: datetime) -> None:
    session.execute(delete(BrowserSession).where(BrowserSession.expires_at <= now))
