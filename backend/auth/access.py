"""Who may call a route: the rule every request passes through (``deps.require_access``).

On a server that does not require tokens (one person, on loopback) a request without
credentials may do anything. On one that does, every route but the public ones needs a
token, from the ``Authorization`` header or from a dashboard session cookie: a read token
for GET and HEAD, a write token for anything else. Credentials that are sent are always
checked, so a client with a bad token learns so on either kind of server.

Requests that change something must not come from another site's page (CSRF): their
``Origin`` (or ``Referer``) must name this server. Browsers always send one with such a
request; a dashboard session must; other clients (curl, scripts) may send none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from fastapi import Request
from sqlalchemy.orm import Session

from backend.auth import service
from backend.auth.models import READ_SCOPE, WRITE_SCOPE, ApiToken
from backend.problems import ProblemError, unauthorized
from backend.settings import Settings

SESSION_COOKIE = "pagelab_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SIGN_IN_PATH = "/signin"


@dataclass(frozen=True)
class Caller:
    """Whose token a request carries and how: ``bearer`` (a header) or ``session`` (the
    dashboard's cookie)."""

    token_id: int
    token_name: str
    scope: str
    via: str


def needed_scope(method: str) -> str:
    return READ_SCOPE if method in SAFE_METHODS else WRITE_SCOPE


def forbidden(detail: str, *, slug: str = "forbidden") -> ProblemError:
    return ProblemError(403, detail, slug=slug)


def _netloc(url: str) -> str:
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:
        return ""


def is_same_origin(source: str, request: Request, settings: Settings) -> bool:
    """Whether an ``Origin`` or ``Referer`` value names this server: the host the request
    was sent to (already checked against the allowed hosts) or the public base URL's."""
    if source == "null":
        return False
    netloc = _netloc(source)
    own = {request.headers.get("host", "").lower()}
    if settings.public_base_url:
        own.add(_netloc(settings.public_base_url))
    return bool(netloc) and netloc in own


def check_origin(request: Request, settings: Settings, *, has_cookie: bool) -> None:
    """Refuse a state-changing request from another site's page (403)."""
    if request.method in SAFE_METHODS:
        return
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        if has_cookie:
            raise forbidden(
                "a request signed in by the dashboard's cookie must carry an Origin header",
                slug="cross-origin",
            )
        return
    if not is_same_origin(source, request, settings):
        raise forbidden(
            f"cross-origin request refused: {source!r} is not this server", slug="cross-origin"
        )


def identify(
    session: Session,
    *,
    bearer: str | None,
    cookie: str | None,
    tokens_required: bool,
    now: datetime,
) -> Caller | None:
    """The caller the credentials name, or None for none; 401 for credentials that do not
    grant access. A stale cookie on a server that requires no token is ignored: the
    browser kept it from before, and nothing needs it."""
    try:
        if bearer is not None:
            return _caller(service.authenticate(session, secret=bearer, now=now), "bearer")
        if cookie is not None:
            return _caller(service.session_token(session, secret=cookie, now=now), "session")
    except service.TokenRefused as refused:
        if bearer is None and not tokens_required:
            return None
        raise unauthorized(str(refused)) from refused
    return None


def _caller(token: ApiToken, via: str) -> Caller:
    return Caller(token_id=token.id, token_name=token.name, scope=token.scope, via=via)


def authorize(request: Request, caller: Caller | None, *, tokens_required: bool) -> None:
    """401 when a token is required and none came; 403 when the token's scope is short."""
    scope = needed_scope(request.method)
    if caller is None:
        if tokens_required:
            raise unauthorized(
                "this server requires an API token: send 'Authorization: Bearer <token>' "
                f"(pagelab token create), or sign in at {SIGN_IN_PATH}"
            )
        return
    if scope == WRITE_SCOPE and caller.scope != WRITE_SCOPE:
        raise forbidden(
            f"{request.method} {request.url.path} needs a write token; token "
            f"{caller.token_id} ({caller.token_name!r}) may only read"
        )
