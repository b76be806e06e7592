"""Checking an uploaded trace within bounds, on a pool of its own.

A compressed trace is bounded by what it expands to, not by what was sent: a 15 KB ``.xz``
can hold gigabytes. The check decompresses it once, counting, and stops at
``max_trace_bytes``; then the engine reads it through and its accesses are held against
``max_trace_accesses``.

Checks run on ``trace_check_threads`` threads of their own, never on the threads that
serve requests: an upload waits for a free checker while the API goes on answering.
Decompression and the engine's vectorised parsing release the interpreter lock, so a
check in progress costs requests little.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import lzma
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import State

import pagelab
from backend.problems import FieldError, ProblemError
from backend.settings import Settings
from pagelab.workloads.spec import TraceFormat

READ_BYTES = 1 << 20


@dataclass(frozen=True)
class TraceLimits:
    max_bytes: int
    max_accesses: int

    @classmethod
    def of(cls, settings: Settings) -> TraceLimits:
        return cls(settings.max_trace_bytes, settings.max_trace_accesses)


def _too_large(message: str) -> ProblemError:
    return ProblemError(
        413, message, slug="too-large", errors=[FieldError(field="body", message=message)]
    )


def _open_compressed(path: Path) -> io.BufferedIOBase | None:
    """The decompressed stream of a ``.gz`` or ``.xz`` file (as the engine opens them)."""
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    if path.suffix == ".xz":
        return lzma.open(path, "rb")
    return None


def expanded_size(path: Path, limit: int) -> int:
    """Bytes the file holds once decompressed, counted up to just past ``limit``."""
    stream = _open_compressed(path)
    if stream is None:
        return path.stat().st_size
    total = 0
    with stream:
        try:
            while total <= limit and (block := stream.read(READ_BYTES)):
                total += len(block)
        except (OSError, EOFError, lzma.LZMAError, zlib.error):
            # Not this check's to report: the engine's reader names the fault below.
            return total
    return total


def check_upload(
    path: Path, trace_format: TraceFormat, limits: TraceLimits
) -> pagelab.TraceSummary:
    """Read the trace through within ``limits``; a 413 or 422 problem names what is wrong."""
    size = expanded_size(path, limits.max_bytes)
    if size > limits.max_bytes:
        raise _too_large(
            f"the trace expands to more than {limits.max_bytes} bytes (PAGELAB_MAX_TRACE_BYTES)"
        )
    try:
        summary = pagelab.check_trace(path, trace_format)
    except pagelab.TraceError as exc:
        where = f"{exc.location}: " if exc.location else ""
        raise ProblemError(
            422,
            f"not a valid {trace_format} trace: {where}{exc.message}",
            slug="invalid-trace",
            errors=[FieldError(field="body", message=f"{where}{exc.message}")],
        ) from exc
    accesses = summary.accesses + summary.instructions
    if accesses > limits.max_accesses:
        raise _too_large(
            f"the trace holds {accesses} accesses; the limit is {limits.max_accesses} "
            "(PAGELAB_MAX_TRACE_ACCESSES)"
        )
    return summary


CheckUpload = Callable[[Path, TraceFormat, TraceLimits], pagelab.TraceSummary]


class TraceChecks:
    """A bounded pool that checks uploads; ``check`` is awaited on the event loop."""

    def __init__(self, threads: int, *, check: CheckUpload = check_upload) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="trace-check")
        self._check = check

    async def check(
        self, path: Path, trace_format: TraceFormat, limits: TraceLimits
    ) -> pagelab.TraceSummary:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._check, path, trace_format, limits)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def trace_checks(state: State, settings: Settings) -> TraceChecks:
    """The app's pool, made on the first upload (``state.trace_checks``)."""
    checks: TraceChecks | None = getattr(state, "trace_checks", None)
    if checks is None:
        checks = state.trace_checks = TraceChecks(settings.trace_check_threads)
    return checks
