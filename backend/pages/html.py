"""HTML responses for the dashboard: pages with security headers, and errors as pages.

The API answers errors with problem+json; a person in a browser gets the same status and
detail as a readable page instead, from the route class below.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from backend.auth.access import SIGN_IN_PATH
from backend.problems import ProblemError
from backend.settings import Settings
from frontend.rendering import SECURITY_HEADERS, render

logger = logging.getLogger(__name__)


class PageError(Exception):
    """A request a page cannot serve; shown as an error page with ``status``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def page(
    request: Request, template_name: str, /, *, status: int = 200, **context: Any
) -> HTMLResponse:
    """A rendered page with the content-security policy and other security headers.

    Pages say whether the server needs API tokens and whether this browser is signed in
    (it then offers to sign out).
    """
    settings: Settings = request.app.state.settings
    caller = getattr(request.state, "caller", None)
    html = render(
        template_name,
        tokens_required=settings.api_tokens_required,
        signed_in=caller is not None and caller.via == "session",
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def error_page(request: Request, status: int, detail: str) -> HTMLResponse:
    return page(
        request,
        "error.html",
        status=status,
        code=status,
        title=HTTPStatus(status).phrase,
        detail=detail,
        read_only=False,
    )


def _validation_detail(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors()[:3]:
        location = [str(part) for part in item.get("loc", ()) if part not in {"query", "path"}]
        parts.append(f"{'.'.join(location)}: {item.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def _sign_in_redirect(request: Request) -> RedirectResponse:
    """A signed-out person asking for a page is sent to sign in, then back here."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{SIGN_IN_PATH}?{urlencode({'next': target})}", status_code=303)


class PageRoute(APIRoute):
    """Renders any error raised while serving a page as an HTML error page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except PageError as error:
                return error_page(request, error.status, error.detail)
            except ProblemError as error:
                if error.status == 401 and request.method == "GET":
                    return _sign_in_redirect(request)
                return error_page(request, error.status, error.detail)
            except RequestValidationError as error:
                return error_page(request, 422, _validation_detail(error))
            except HTTPException as error:
                return error_page(request, error.status_code, str(error.detail))
            except Exception:
                logger.exception("error rendering %s", request.url.path)
                return error_page(
                    request, 500, "Something went wrong on the server; its log has details."
                )

        return handle
