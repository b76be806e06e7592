"""Parse valgrind lackey (``--tool=lackey --trace-mem=yes``) output, a block of lines at a time.

Lines are ``I  ADDR,SIZE`` (instruction fetch), `` L ADDR,SIZE`` (load), `` S ADDR,SIZE``
(store) or `` M ADDR,SIZE`` (modify: one access, counted as a store); ADDR is hex and
SIZE decimal. Valgrind's own ``==PID==`` lines are skipped; event lines (``event_lines``)
may be added between accesses. Anything else is an error.

Each block is parsed with whole-array numpy operations, never a Python loop per line:
the real traces run to billions of lines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pagelab.errors import TraceError
from pagelab.workloads.base import AccessKind, MemoryEvent
from pagelab.workloads.event_lines import EVENT_WORDS, parse_event

_NEWLINE, _SPACE, _COMMA, _EQUALS = (ord(c) for c in "\n ,=")
_INSTRUCTION, _LOAD, _STORE, _MODIFY = (ord(c) for c in "ILSM")
_ADDRESS_COLUMN = 3
"""The address starts after two marker columns and a space in every access line."""
_MAX_ADDRESS_DIGITS = 16

_MAX_SIZE_DIGITS = 8
_PADDING = bytes(_ADDRESS_COLUMN + _MAX_ADDRESS_DIGITS + _MAX_SIZE_DIGITS)
"""Zero bytes after a block, so that reading a field's widest columns from any line stays
inside the buffer; a zero byte is neither a hex nor a decimal digit, so it ends every run."""

_NOT_HEX = 255
_HEX_VALUE = np.full(256, _NOT_HEX, dtype=np.uint8)
for _digit, _char in enumerate("0123456789abcdef"):
    _HEX_VALUE[ord(_char)] = _digit
    _HEX_VALUE[ord(_char.upper())] = _digit
_IS_DECIMAL = np.zeros(256, dtype=bool)
_IS_DECIMAL[ord("0") : ord("9") + 1] = True

_LINE_SHAPE = "expected 'I  ADDR,SIZE' or ' L|S|M ADDR,SIZE' (hex address, decimal size)"


@dataclass(frozen=True)
class LackeyBlock:
    """The accesses of one block of lines; ``line_index`` is each access's line, from 0.
    ``events`` are the block's event lines, each placed before the first access below it."""

    address: npt.NDArray[np.uint64]
    kind: npt.NDArray[np.uint8]
    line_index: npt.NDArray[np.int64]
    events: tuple[MemoryEvent, ...] = ()


def _hex_run(
    data: npt.NDArray[np.uint8], first: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """From each position in ``first``: the value of the hex digits there, and how many.

    One pass per digit column over all lines at once; a line drops out at its first
    non-hex byte (every line ends in a newline, so all do). At most 16 digits are read.
    """
    value = np.zeros(first.shape[0], dtype=np.uint64)
    run = np.zeros(first.shape[0], dtype=np.int64)
    running = np.ones(first.shape[0], dtype=bool)
    for column in range(_MAX_ADDRESS_DIGITS):
        nibble = _HEX_VALUE[data[first + column]]
        running &= nibble != _NOT_HEX
        if not running.any():
            break
        run += running
        shifted = (value << np.uint64(4)) | nibble.astype(np.uint64)
        value = np.where(running, shifted, value)
    return value, run


def _decimal_run(
    data: npt.NDArray[np.uint8], first: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """How many decimal digits start at each position in ``first`` (at most 8 are counted)."""
    run = np.zeros(first.shape[0], dtype=np.int64)
    running = np.ones(first.shape[0], dtype=bool)
    for column in range(_MAX_SIZE_DIGITS):
        running &= _IS_DECIMAL[data[first + column]]
        if not running.any():
            break
        run += running
    return run


def parse_lackey_block(
    block: bytes, *, first_line: int, include_instructions: bool, shown_path: str, pid: int = 0
) -> LackeyBlock:
    """Parse whole lines (``block`` ends in a newline); ``first_line`` numbers errors, and
    events are ``pid``'s."""
    data = np.frombuffer(block + _PADDING, dtype=np.uint8)
    ends = np.flatnonzero(data == _NEWLINE)
    starts = np.concatenate([[0], ends[:-1] + 1])
    marker, kind_column, gap = data[starts], data[starts + 1], data[starts + 2]

    banner = (marker == _EQUALS) & (kind_column == _EQUALS)
    instruction = (marker == _INSTRUCTION) & (kind_column == _SPACE) & (gap == _SPACE)
    data_access = (
        (marker == _SPACE)
        & ((kind_column == _LOAD) | (kind_column == _STORE) | (kind_column == _MODIFY))
        & (gap == _SPACE)
    )
    access_line = np.flatnonzero(instruction | data_access)

    address_start = starts[access_line] + _ADDRESS_COLUMN
    address, digits = _hex_run(data, address_start)
    comma = address_start + digits
    size_digits = _decimal_run(data, comma + 1)
    well_formed = (
        (digits >= 1)
        & (data[comma] == _COMMA)
        & (size_digits >= 1)
        & (comma + 1 + size_digits == ends[access_line])
    )
    good_line = banner.copy()
    good_line[access_line[well_formed]] = True
    # Lines that are neither: event lines (few, parsed one by one) or errors.
    event_lines: list[tuple[int, MemoryEvent]] = []
    for bad in np.flatnonzero(~good_line).tolist():
        fields = block[starts[bad] : ends[bad]].split()
        if fields and fields[0] in EVENT_WORDS:
            event_lines.append((bad, parse_event(fields, first_line + bad, shown_path, pid)))
            continue
        text = block[starts[bad] : ends[bad]].decode("utf-8", "replace")
        raise TraceError(
            f"malformed lackey line {text[:80]!r}: {_LINE_SHAPE}",
            path=shown_path,
            location=f"line {first_line + bad}",
        )

    line_kind = kind_column[access_line]
    kind = np.where(
        instruction[access_line],
        np.uint8(AccessKind.IFETCH),
        np.where(line_kind == _LOAD, np.uint8(AccessKind.LOAD), np.uint8(AccessKind.STORE)),
    )
    if not include_instructions:
        keep = kind != AccessKind.IFETCH
        address, kind, access_line = address[keep], kind[keep], access_line[keep]
    events = tuple(
        event.moved(int(np.searchsorted(access_line, line))) for line, event in event_lines
    )
    return LackeyBlock(address, kind, access_line, events)
