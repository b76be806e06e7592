"""API tokens: a random secret shown once; only its sha256 is stored."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy.orm import Session

from backend.auth import repository
from backend.auth.models import ApiToken

TOKEN_PREFIX = "plt_"


def hash_secret(secret: str) -> str:
    # A plain hash is enough: the secrets are 256 random bits, not passwords to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, *, name: str) -> tuple[ApiToken, str]:
    """Store a new token's hash; return the row and the token, which is never stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return repository.add(session, name=name, token_hash=hash_secret(secret)), secret


def is_valid(session: Session, *, secret: str) -> bool:
    return repository.find_active(session, token_hash=hash_secret(secret)) is not None
