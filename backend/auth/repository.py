"""Queries on API tokens."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth.models import ApiToken


def find_active(session: Session, *, token_hash: str) -> ApiToken | None:
    return session.scalars(
        select(ApiToken).where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
    ).first()


def add(session: Session, *, name: str, token_hash: str) -> ApiToken:
    token = ApiToken(name=name, token_hash=token_hash)
    session.add(token)
    session.flush()
    return token
