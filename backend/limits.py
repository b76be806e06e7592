"""A bound on every request body, enforced while it streams (uvicorn sets none)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.problems import problem_response, too_large

UPLOAD_PATH = "/api/v1/traces"


class BodySizeLimit:
    """Refuse bodies over ``max_request_bytes`` (trace uploads: ``max_upload_bytes``) with 413.

    A declared Content-Length over the limit is refused before the body is read; a body that
    streams past it raises a 413 problem at the chunk that crosses the limit.
    """

    def __init__(self, app: ASGIApp, *, max_request_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_upload = scope["method"] == "POST" and scope["path"].rstrip("/") == UPLOAD_PATH
        limit = self.max_upload_bytes if is_upload else self.max_request_bytes
        setting = "PAGELAB_MAX_UPLOAD_BYTES" if is_upload else "PAGELAB_MAX_REQUEST_BYTES"
        detail = f"the request body is over the limit of {limit} bytes ({setting})"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            response = problem_response(413, detail, slug="too-large", instance=scope["path"])
            await response(scope, receive, send)
            return
        received = 0
        exceeded = started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise too_large(detail)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            # FastAPI turns any error while it reads a JSON or form body into its own 400;
            # that answer to a body cut short here is dropped for the 413 below.
            if exceeded and not started:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            response = problem_response(413, detail, slug="too-large", instance=scope["path"])
            await response(scope, receive, send)
