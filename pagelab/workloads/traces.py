"""Trace readers: stream a recorded trace as access chunks, or check a whole file.

Every reader yields pieces with a way to say where in the file each access came from
(``line N``, ``offset N`` or ``element N``), so that a bad address is reported where the
user can find it. Memory use depends on the read size, never on the trace's length.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from pagelab.errors import TraceError
from pagelab.units import MAX_ADDRESS_BYTES
from pagelab.workloads.base import AccessChunk, AccessKind, MemoryEvent, Vma
from pagelab.workloads.event_lines import EVENT_WORDS, parse_event
from pagelab.workloads.lackey import parse_lackey_block
from pagelab.workloads.lines import line_blocks
from pagelab.workloads.spec import TraceFormat, TraceSpec
from pagelab.workloads.stream import PIECE_ACCESSES, StreamWorkload, make_chunk

Locate = Callable[[int], str]
"""Where the i-th access of a piece is in the file, e.g. ``line 12``."""
Pieces = Iterator[tuple[AccessChunk, Locate]]
IndexArray = npt.NDArray[np.int64]

ADDRESS_BYTES = 8
_TEXT_ADDRESS = re.compile(rb"0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20}")
_TEXT_KINDS = {b"L": AccessKind.LOAD, b"S": AccessKind.STORE}


@dataclass(frozen=True)
class TraceSummary:
    """What a trace holds: data accesses, instruction fetches, and distinct processes."""

    accesses: int
    instructions: int
    processes: int


def _lackey_pieces(path: Path, shown_path: str, *, include_instructions: bool, pid: int) -> Pieces:
    for block, first_line in line_blocks(path, shown_path):
        parsed = parse_lackey_block(
            block,
            first_line=first_line,
            include_instructions=include_instructions,
            shown_path=shown_path,
            pid=pid,
        )

        def locate(
            index: int, lines: IndexArray = parsed.line_index, first: int = first_line
        ) -> str:
            return f"line {first + int(lines[index])}"

        chunk = make_chunk(parsed.address, parsed.kind, pid)
        yield replace(chunk, events=parsed.events), locate


def _text_number(field: bytes, number: int, shown_path: str) -> int:
    """An address in a text trace, below the 48-bit limit."""
    value = int(field, 16 if field[:2] in (b"0x", b"0X") else 10)
    if value >= MAX_ADDRESS_BYTES:  # checked here: beyond 64 bits it would not fit numpy
        raise TraceError(
            f"address {value:#x} is beyond the 48-bit address space",
            path=shown_path,
            location=f"line {number}",
        )
    return value


def _text_access(
    raw: bytes, number: int, shown_path: str, pid: int
) -> tuple[int, AccessKind] | MemoryEvent | None:
    """One text line's address and kind, or its event; None for a blank or comment line."""
    fields = raw.split(b"#", 1)[0].split()
    if not fields:
        return None
    if fields[0] in EVENT_WORDS:
        return parse_event(fields, number, shown_path, pid)
    kind: AccessKind | None = AccessKind.LOAD
    if len(fields) == 2:
        kind = _TEXT_KINDS.get(fields[1].upper())
    if len(fields) > 2 or kind is None or not _TEXT_ADDRESS.fullmatch(fields[0]):
        raise TraceError(
            f"malformed line {raw.decode('utf-8', 'replace')[:80]!r}: expected an address "
            "(0x-prefixed hex or decimal), optionally followed by L or S",
            path=shown_path,
            location=f"line {number}",
        )
    return _text_number(fields[0], number, shown_path), kind


def _text_pieces(path: Path, shown_path: str, *, pid: int) -> Pieces:
    # A Python loop per line (~0.5 M lines/s): text traces are written by hand or small
    # scripts; large traces come as lackey, uint64 or npy, which are parsed vectorised.
    for block, first_line in line_blocks(path, shown_path):
        addresses: list[int] = []
        kinds: list[int] = []
        line_numbers: list[int] = []
        events: list[MemoryEvent] = []
        for number, raw in enumerate(block.split(b"\n")[:-1], start=first_line):
            access = _text_access(raw, number, shown_path, pid)
            if isinstance(access, MemoryEvent):
                events.append(access.moved(len(addresses)))
            elif access is not None:
                addresses.append(access[0])
                kinds.append(access[1])
                line_numbers.append(number)

        def locate(index: int, numbers: list[int] = line_numbers) -> str:
            return f"line {numbers[index]}"

        address_array = np.array(addresses, dtype=np.uint64)
        chunk = make_chunk(address_array, np.array(kinds, dtype=np.uint8), pid)
        yield replace(chunk, events=tuple(events)), locate


def _uint64_count(path: Path, shown_path: str) -> int:
    size_bytes = path.stat().st_size
    if size_bytes % ADDRESS_BYTES:
        partial = size_bytes - size_bytes % ADDRESS_BYTES
        raise TraceError(
            f"file is {size_bytes} bytes, not a whole number of 8-byte addresses; "
            f"the last {size_bytes - partial} bytes are a partial address",
            path=shown_path,
            location=f"offset {partial}",
        )
    return size_bytes // ADDRESS_BYTES


def _uint64_pieces(path: Path, *, pid: int) -> Pieces:
    with path.open("rb") as stream:
        offset = 0
        while True:
            values = np.fromfile(stream, dtype="<u8", count=PIECE_ACCESSES)
            if values.size == 0:
                return
            kinds = np.full(values.size, AccessKind.LOAD, dtype=np.uint8)

            def locate(index: int, base: int = offset) -> str:
                return f"offset {base + index * ADDRESS_BYTES}"

            yield make_chunk(values, kinds, pid), locate
            offset += values.size * ADDRESS_BYTES


def _open_npy(path: Path, shown_path: str) -> np.ndarray:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise TraceError(
            f"not a NumPy .npy file: {error}", path=shown_path, location="offset 0"
        ) from error
    if not isinstance(array, np.ndarray):
        raise TraceError(
            "an .npz archive, not one .npy array", path=shown_path, location="offset 0"
        )
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise TraceError(
            f"holds a {array.ndim}-D array of {array.dtype}; a trace is a 1-D integer array",
            path=shown_path,
            location="offset 0",
        )
    return array


def _npy_pieces(path: Path, shown_path: str, *, pid: int) -> Pieces:
    array = _open_npy(path, shown_path)
    for first in range(0, array.shape[0], PIECE_ACCESSES):
        values = np.asarray(array[first : first + PIECE_ACCESSES])
        if array.dtype.kind == "i" and (values < 0).any():
            index = int(np.argmax(values < 0))
            raise TraceError(
                f"negative address {int(values[index])}",
                path=shown_path,
                location=f"element {first + index}",
            )
        kinds = np.full(values.size, AccessKind.LOAD, dtype=np.uint8)

        def locate(index: int, base: int = first) -> str:
            return f"element {base + index}"

        yield make_chunk(values, kinds, pid), locate


def _format_pieces(
    path: Path, shown_path: str, trace_format: TraceFormat, *, include_instructions: bool, pid: int
) -> Pieces:
    if trace_format == "lackey":
        return _lackey_pieces(path, shown_path, include_instructions=include_instructions, pid=pid)
    if trace_format == "text":
        return _text_pieces(path, shown_path, pid=pid)
    if trace_format == "uint64":
        _uint64_count(path, shown_path)
        return _uint64_pieces(path, pid=pid)
    return _npy_pieces(path, shown_path, pid=pid)


def _checked(pieces: Pieces, shown_path: str, vmas: list[Vma] | None) -> Iterator[AccessChunk]:
    """The chunks, after checking every address is in the 48-bit space and a declared VMA."""
    ordered = sorted(vmas or [], key=lambda vma: vma.start)
    vma_starts = np.array([vma.start for vma in ordered], dtype=np.uint64)
    vma_ends = np.array([vma.end for vma in ordered], dtype=np.uint64)
    for chunk, locate in pieces:
        beyond = chunk.address >= np.uint64(MAX_ADDRESS_BYTES)
        if beyond.any():
            index = int(np.argmax(beyond))
            raise TraceError(
                f"address {int(chunk.address[index]):#x} is beyond the 48-bit address space",
                path=shown_path,
                location=locate(index),
            )
        if ordered:
            slot = np.searchsorted(vma_starts, chunk.address, side="right") - 1
            outside = (slot < 0) | (chunk.address >= vma_ends[np.maximum(slot, 0)])
            if outside.any():
                index = int(np.argmax(outside))
                raise TraceError(
                    f"address {int(chunk.address[index]):#x} is outside every declared VMA",
                    path=shown_path,
                    location=locate(index),
                )
        yield chunk


def resolve_trace_path(path_text: str, base_dir: Path | None, *, confine: bool = True) -> Path:
    """The trace file; a relative path is taken from ``base_dir`` when one is given.

    With ``confine`` (what a service wants) the path may not be absolute or climb out of
    ``base_dir`` with ``..``; a symbolic link the owner of ``base_dir`` placed there is followed.
    """
    path = Path(path_text)
    if base_dir is not None:
        if confine and (path.is_absolute() or ".." in path.parts):
            raise TraceError("the trace path leads outside the trace store", path=path_text)
        path = base_dir / path
    if not path.is_file():
        raise TraceError("no such trace file", path=path_text)
    return path


def open_trace(spec: TraceSpec, *, base_dir: Path | None, confine: bool = True) -> StreamWorkload:
    """A Workload reading ``spec``'s file; the format is checked as far as is cheap up front."""
    path = resolve_trace_path(spec.path, base_dir, confine=confine)
    total_accesses: int | None = None
    if spec.format == "uint64":
        total_accesses = _uint64_count(path, spec.path)
    elif spec.format == "npy":
        total_accesses = int(_open_npy(path, spec.path).shape[0])
    vmas = None
    if spec.vmas is not None:
        vmas = [
            Vma(spec.pid, vma.start, vma.size_bytes, vma.backing, vma.thp_advice, vma.name)
            for vma in spec.vmas
        ]

    def pieces() -> Iterator[AccessChunk]:
        raw = _format_pieces(
            path,
            spec.path,
            spec.format,
            include_instructions=spec.include_instructions,
            pid=spec.pid,
        )
        return _checked(raw, spec.path, vmas)

    return StreamWorkload(vmas=vmas, total_accesses=total_accesses, make_pieces=pieces)


def check_trace(path: Path, trace_format: TraceFormat) -> TraceSummary:
    """Read the whole trace and count what it holds; raise TraceError naming the line/offset.

    Used to validate uploads: a file that passes here will stream without errors.
    """
    shown_path = path.name
    if not path.is_file():
        raise TraceError("no such trace file", path=shown_path)
    pieces = _format_pieces(path, shown_path, trace_format, include_instructions=True, pid=0)
    accesses = instructions = 0
    for chunk in _checked(pieces, shown_path, None):
        fetches = int(np.count_nonzero(chunk.kind == AccessKind.IFETCH))
        instructions += fetches
        accesses += len(chunk) - fetches
    if accesses + instructions == 0:
        raise TraceError("the trace holds no accesses", path=shown_path)
    # None of the supported formats records a process id: a trace is one process.
    return TraceSummary(accesses=accesses, instructions=instructions, processes=1)
