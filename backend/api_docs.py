"""The OpenAPI document and its Swagger UI and ReDoc pages, as ordinary routes.

FastAPI's own are plain Starlette routes, which app-wide dependencies skip: served from
here they pass the access rule like every other route.
"""

from __future__ import annotations

import copy
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts

from backend.pages.html import PageRoute
from backend.problems import PROBLEM_MEDIA_TYPE

OPENAPI_PATH = "/openapi.json"

router = APIRouter(include_in_schema=False)
pages = APIRouter(include_in_schema=False, route_class=PageRoute)


def _problem_response(status: int) -> dict[str, Any]:
    # problem_responses() in the document's own form: its model is already a component.
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}}}  # fmt: skip


def _with_access(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, saying who may call what: the public operations need no token
    (no security requirement), every other one may answer 401 and 403."""
    schema = copy.deepcopy(app.openapi())
    public = app.state.public_endpoints
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = schema["paths"][str(context.path_format)][method.lower()]
            if route.endpoint in public:
                operation.pop("security", None)
            else:
                for status in (401, 403):
                    operation["responses"][str(status)] = _problem_response(status)
    return schema


@router.get(OPENAPI_PATH)
async def openapi_document(request: Request) -> JSONResponse:
    """The API's OpenAPI 3.1 document."""
    app = request.app
    if getattr(app.state, "openapi_with_access", None) is None:
        app.state.openapi_with_access = _with_access(app)
    return JSONResponse(app.state.openapi_with_access)


@pages.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI: try the API in the browser (signed in, it sends the session cookie)."""
    return get_swagger_ui_html(openapi_url=OPENAPI_PATH, title=f"{request.app.title} - API")


@pages.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """The API reference, read-only."""
    return get_redoc_html(openapi_url=OPENAPI_PATH, title=f"{request.app.title} - API")


router.include_router(pages)
