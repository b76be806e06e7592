"""Errors as RFC 9457 problem details (``application/problem+json``), one handler set.

Every error the API sends has ``type``, ``title``, ``status`` and ``detail``; validation
errors add ``errors``, one entry per field at fault, named by its dotted path in the request
(``spec.policy.base_page``, ``limit``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

PROBLEM_MEDIA_TYPE = "application/problem+json"
logger = logging.getLogger(__name__)


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] = []


class ProblemError(Exception):
    """An error the API reports to the client as a problem; raise it from any layer."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug
        self.errors = list(errors)
        self.headers = headers


def not_found(what: str, identifier: object) -> ProblemError:
    return ProblemError(404, f"{what} {identifier} does not exist", slug="not-found")


def conflict(detail: str) -> ProblemError:
    return ProblemError(409, detail, slug="conflict")


def invalid(field: str, message: str, *, detail: str | None = None) -> ProblemError:
    """A 422 naming one field at fault."""
    return ProblemError(
        422,
        detail or f"{field}: {message}",
        slug="validation",
        errors=[FieldError(field=field, message=message)],
    )


def unauthorized(detail: str) -> ProblemError:
    return ProblemError(
        401, detail, slug="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="pagelab"'}
    )


def too_large(detail: str) -> ProblemError:
    return ProblemError(413, detail, slug="too-large")


def problem_response(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    instance: str | None = None,
    errors: Sequence[FieldError] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    problem = Problem(
        # "about:blank" (RFC 9457 §4.2.1) when the status code says it all.
        type=f"/problems/{slug}" if slug else "about:blank",
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=instance,
        errors=list(errors),
    )
    return JSONResponse(
        problem.model_dump(mode="json"),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _field_name(location: Sequence[int | str]) -> str:
    """``("body", "spec", "tags", 0)`` → ``spec.tags[0]``.

    FastAPI locations start with where the value came from; the body's fields are named
    without that prefix, and so are query and path parameters.
    """
    parts = list(location)
    if len(parts) > 1 and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    name = ""
    for part in parts:
        if isinstance(part, int) or part == "[key]":
            name += f"[{part}]" if isinstance(part, int) else part
        else:
            name += f".{part}" if name else str(part)
    return name


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        exc.status,
        exc.detail,
        slug=exc.slug,
        instance=request.url.path,
        errors=exc.errors,
        headers=exc.headers,
    )


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(field=_field_name(error.get("loc", ())), message=str(error.get("msg", "")))
        for error in exc.errors()
    ]
    detail = "; ".join(f"{error.field}: {error.message}" for error in errors[:5])
    return problem_response(
        422,
        detail or "invalid request",
        slug="validation",
        instance=request.url.path,
        errors=errors,
    )


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem_response(
        exc.status_code,
        str(exc.detail),
        instance=request.url.path,
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _on_disconnect(request: Request, exc: Exception) -> JSONResponse:
    # Nobody is left to read the answer; a closed tab or a cancelled curl is not a fault.
    assert isinstance(exc, ClientDisconnect)
    logger.info("client disconnected during %s %s", request.method, request.url.path)
    return problem_response(
        400, "the client disconnected before the request was complete", instance=request.url.path
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        500, "internal error; the server log has the details", instance=request.url.path
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Replace FastAPI's default error responses with problem details."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(ClientDisconnect, _on_disconnect)
    app.add_exception_handler(Exception, _on_unexpected)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting the problem statuses a route can send."""
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
