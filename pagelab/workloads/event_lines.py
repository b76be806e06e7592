"""Event lines in a trace file: ``munmap START SIZE``, ``mprotect START SIZE``,
``madvise_dontneed START SIZE`` or ``madvise_collapse START SIZE`` (hex ``0x…`` or
decimal), between the access lines of a ``text`` or ``lackey`` trace. An event happens
after the accesses above it and before those below, as a generator's ``events`` do."""

from __future__ import annotations

import re

from pagelab.errors import TraceError
from pagelab.units import MAX_ADDRESS_BYTES
from pagelab.workloads.base import EVENT_KINDS, EventKind, MemoryEvent

EVENT_WORDS: dict[bytes, EventKind] = {kind.encode(): kind for kind in EVENT_KINDS}
"""The first word of each event line, and the event it names."""
_NUMBER = re.compile(rb"0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20}")


def parse_event(fields: list[bytes], number: int, shown_path: str, pid: int) -> MemoryEvent:
    """The event of a line split into ``fields`` (its first is in ``EVENT_WORDS``), for
    process ``pid``; ``number`` is the line's, for errors. Its index is 0: the reader
    places it among the accesses."""
    word = fields[0].decode()
    if len(fields) != 3 or not all(_NUMBER.fullmatch(field) for field in fields[1:]):
        raise TraceError(
            f"malformed event line {b' '.join(fields).decode('utf-8', 'replace')[:80]!r}: "
            f"expected '{word} START SIZE' (0x-prefixed hex or decimal)",
            path=shown_path,
            location=f"line {number}",
        )
    start, size = (int(field, 16 if field[:2] in (b"0x", b"0X") else 10) for field in fields[1:])
    if not size or start + size > MAX_ADDRESS_BYTES:
        raise TraceError(
            f"event range {start:#x}+{size:#x} is empty or beyond the 48-bit address space",
            path=shown_path,
            location=f"line {number}",
        )
    return MemoryEvent(0, EVENT_WORDS[fields[0]], pid, start, size)
