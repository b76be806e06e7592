"""Traces: record an upload once it has been checked (backend/traces/checking.py); delete
unused ones."""

from __future__ import annotations

from sqlalchemy.orm import Session

import pagelab
from backend.problems import conflict, not_found
from backend.runs import repository as run_repository
from backend.traces import repository
from backend.traces.models import Trace
from backend.traces.upload import ReceivedFile
from pagelab.workloads.spec import TraceFormat


def existing_upload(
    session: Session, *, received: ReceivedFile, trace_format: TraceFormat
) -> Trace | None:
    """The stored trace with the same content, if any (an upload is idempotent)."""
    trace = repository.by_sha256(session, received.sha256)
    if trace is not None and trace.format != trace_format:
        raise conflict(
            f"this file was already uploaded as trace {trace.file_name!r} in format "
            f"{trace.format!r}, not {trace_format!r}"
        )
    return trace


def accept_upload(
    session: Session,
    *,
    received: ReceivedFile,
    trace_format: TraceFormat,
    summary: pagelab.TraceSummary,
) -> Trace:
    """Record a received file the checker has read through (not yet committed).

    The caller moves the file to ``file_name`` under the traces folder, then commits.
    """
    trace = Trace(
        file_name=received.sha256 + received.suffix,
        sha256=received.sha256,
        format=trace_format,
        original_name=received.original_name,
        size_bytes=received.size_bytes,
        accesses=summary.accesses,
        instructions=summary.instructions,
        processes=summary.processes,
    )
    repository.add(session, trace)
    return trace


def get_trace(session: Session, *, trace_id: int) -> Trace:
    trace = repository.get(session, trace_id)
    if trace is None:
        raise not_found("trace", trace_id)
    return trace


def delete_trace(session: Session, *, trace_id: int) -> str:
    """Forget a trace no queued or running run reads; returns its file name, to remove."""
    trace = get_trace(session, trace_id=trace_id)
    active = run_repository.count_active_using_trace(session, trace.file_name)
    if active:
        raise conflict(f"{active} queued or running run(s) read trace {trace.file_name!r}")
    repository.delete(session, trace)
    return trace.file_name
