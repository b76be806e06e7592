"""Trace routes: upload (size-limited, format-checked), list, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from backend.deps import SessionDep, SettingsDep, WriteAccessDep
from backend.fields import Id, PageLimit, PageOffset
from backend.problems import invalid, problem_responses
from backend.traces import repository, service
from backend.traces.checking import TraceLimits, trace_checks
from backend.traces.schemas import TraceRead
from backend.traces.upload import receive_upload
from pagelab.workloads.spec import TraceFormat

router = APIRouter(prefix="/traces", tags=["traces"])


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


@router.post(
    "",
    response_model=TraceRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": TraceRead, "description": "Already uploaded"},
        **problem_responses(401, 409, 413, 422),
    },
    openapi_extra=UPLOAD_BODY,
)
async def upload_trace(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    _: WriteAccessDep,
    format: Annotated[TraceFormat, Query(description="The trace's format.")],
    name: Annotated[
        str | None, Query(max_length=255, description="The file's name, for a raw body.")
    ] = None,
) -> TraceRead:
    """Upload a trace, as the raw body or as the ``file`` part of a multipart form.

    The engine reads it through before it is accepted; a malformed trace is refused with the
    line or offset at fault, and one that expands past PAGELAB_MAX_TRACE_BYTES or holds more
    than PAGELAB_MAX_TRACE_ACCESSES accesses with 413. Uploading the same content again
    returns the stored trace (200).
    """
    received = await receive_upload(
        request, incoming_dir=settings.traces_dir / "incoming", name=name
    )
    try:
        existing = await run_in_threadpool(
            service.existing_upload, session, received=received, trace_format=format
        )
        if existing is not None:
            response.status_code = status.HTTP_200_OK
            return TraceRead.model_validate(existing)
        if received.size_bytes == 0:
            raise invalid("body", "the trace is empty")
        # On the checkers' own threads: a long check holds no request thread.
        summary = await trace_checks(request.app.state, settings).check(
            received.path, format, TraceLimits.of(settings)
        )
        try:
            trace = await run_in_threadpool(
                service.accept_upload,
                session,
                received=received,
                trace_format=format,
                summary=summary,
            )
        except IntegrityError:
            # The same content arrived twice at once and the other upload recorded it first.
            await run_in_threadpool(session.rollback)
            existing = await run_in_threadpool(
                service.existing_upload, session, received=received, trace_format=format
            )
            if existing is None:
                raise
            response.status_code = status.HTTP_200_OK
            return TraceRead.model_validate(existing)
        stored = settings.traces_dir / trace.file_name
        received.path.replace(stored)
        try:
            await run_in_threadpool(session.commit)
        except BaseException:
            stored.unlink(missing_ok=True)
            raise
        return TraceRead.model_validate(trace)
    finally:
        received.path.unlink(missing_ok=True)


@router.get("", response_model=list[TraceRead], responses=problem_responses(422))
def list_traces(
    session: SessionDep,
    limit: PageLimit = 100,
    offset: PageOffset = 0,
) -> list[TraceRead]:
    """Uploaded traces, newest first."""
    traces = repository.newest_first(session, limit=limit, offset=offset)
    return [TraceRead.model_validate(trace) for trace in traces]


@router.delete(
    "/{trace_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 404, 409, 422),
)
def delete_trace(
    trace_id: Id, session: SessionDep, settings: SettingsDep, _: WriteAccessDep
) -> None:
    """Delete a trace that no queued or running run reads."""
    file_name = service.delete_trace(session, trace_id=trace_id)
    session.commit()
    (settings.traces_dir / file_name).unlink(missing_ok=True)
