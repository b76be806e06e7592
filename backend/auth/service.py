"""API tokens and dashboard sessions: random secrets shown once, of which only the sha256
is stored; a token's scope, expiry and revocation are checked on every request."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from backend.auth import repository
from backend.auth.models import READ_SCOPE, WRITE_SCOPE, ApiToken, BrowserSession
from backend.db import utc_now
from backend.problems import not_found

TOKEN_PREFIX = "plt_"


class TokenRefused(Exception):
    """A token or session that does not grant access; the message says why."""


def hash_secret(secret: str) -> str:
    # A plain hash is enough: the secrets are 256 random bits, not passwords to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def grants(token: ApiToken, scope: str) -> bool:
    """Whether ``token`` allows ``scope``: a write token reads too."""
    return token.scope == WRITE_SCOPE or scope == READ_SCOPE


def token_state(token: ApiToken, *, now: datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


def create_token(
    session: Session,
    *,
    name: str,
    scope: str = WRITE_SCOPE,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Store a new token's hash; return the row and the token, which is never stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = repository.add_token(
        session, name=name, token_hash=hash_secret(secret), scope=scope, expires_at=expires_at
    )
    return token, secret


def list_tokens(session: Session) -> Sequence[ApiToken]:
    return repository.list_tokens(session)


def revoke_token(session: Session, *, token_id: int) -> ApiToken:
    """Revoke a token (and so every dashboard session signed in with it) from the next
    request on; revoking twice keeps the first time."""
    token = repository.get_token(session, token_id=token_id)
    if token is None:
        raise not_found("token", token_id)
    if token.revoked_at is None:
        token.revoked_at = utc_now()
    return token


def authenticate(session: Session, *, secret: str, now: datetime) -> ApiToken:
    """The active token whose secret this is; TokenRefused otherwise."""
    token = repository.find_token(session, token_hash=hash_secret(secret))
    if token is None:
        raise TokenRefused("the API token is not valid (unknown)")
    _check_active(token, now=now)
    return token


def _check_active(token: ApiToken, *, now: datetime) -> None:
    state = token_state(token, now=now)
    if state != "active":
        raise TokenRefused(f"the API token is not valid ({state}); create a new one with "
                           "'pagelab token create'")  # fmt: skip


def start_session(
    session: Session, *, secret: str, max_age_s: int
) -> tuple[BrowserSession, ApiToken, str]:
    """Sign a browser in with an API token: a new session, its token, and the session's
    secret for the cookie. The session ends no later than the token does."""
    now = utc_now()
    token = authenticate(session, secret=secret, now=now)
    expires_at = now + timedelta(seconds=max_age_s)
    if token.expires_at is not None:
        expires_at = min(expires_at, token.expires_at)
    # Sign-ins are rare: a good moment to forget sessions that have ended.
    repository.delete_sessions_ended_before(session, now=now)
    cookie_secret = secrets.token_urlsafe(32)
    browser_session = repository.add_session(
        session, token_id=token.id, secret_hash=hash_secret(cookie_secret), expires_at=expires_at
    )
    return browser_session, token, cookie_secret


def session_token(session: Session, *, secret: str, now: datetime) -> ApiToken:
    """The token a dashboard session was signed in with, if both are still good."""
    found = repository.find_session(session, secret_hash=hash_secret(secret))
    if found is None or found[0].expires_at <= now:
        raise TokenRefused("the dashboard session has ended; sign in again")
    _check_active(found[1], now=now)
    return found[1]


def end_session(session: Session, *, secret: str) -> None:
    repository.delete_session(session, secret_hash=hash_secret(secret))
