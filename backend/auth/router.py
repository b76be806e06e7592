"""Dashboard sign-in and sign-out: an API token in, an HttpOnly session cookie out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.auth import service
from backend.auth.access import SESSION_COOKIE, SIGN_IN_PATH
from backend.db import utc_now
from backend.deps import SessionDep, SettingsDep
from backend.pages.html import PageRoute, page
from backend.settings import Settings

router = APIRouter(route_class=PageRoute, include_in_schema=False)

NextPath = Annotated[str, Query(max_length=2000)]


def safe_next(target: str) -> str:
    """Where to go after signing in: a path on this server, never another site."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _secure(request: Request, settings: Settings) -> bool:
    # Secure cookies travel over HTTPS only: set when the browser came over HTTPS, or when
    # the public address is HTTPS (a TLS proxy in front that does not say so).
    return request.url.scheme == "https" or settings.public_base_url.startswith("https:")


@router.get(SIGN_IN_PATH, response_class=HTMLResponse)
def sign_in_page(request: Request, next: NextPath = "/") -> HTMLResponse:
    """A form that takes an API token (from `pagelab token create`)."""
    return page(request, "signin.html", next_path=safe_next(next), error=None, read_only=True)


@router.post(SIGN_IN_PATH, response_class=HTMLResponse)
async def sign_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Start a session for the token and go on to ``next``; the form again if refused."""
    try:
        browser_session, _, secret = await run_in_threadpool(
            service.start_session,
            session,
            secret=token.strip(),
            max_age_s=settings.session_max_age_s,
        )
    except service.TokenRefused as refused:
        return page(request, "signin.html", status=401, next_path=safe_next(next),
                    error=str(refused), read_only=True)  # fmt: skip
    await run_in_threadpool(session.commit)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=max(1, int((browser_session.expires_at - utc_now()).total_seconds())),
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request, settings),
    )
    return response


@router.post("/signout")
async def sign_out(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """End this browser's session (the token stays valid) and show the sign-in form."""
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        await run_in_threadpool(service.end_session, session, secret=secret)
        await run_in_threadpool(session.commit)
    response = RedirectResponse(SIGN_IN_PATH, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=_secure(request, settings))  # fmt: skip
    return response
