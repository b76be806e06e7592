"""What every workload gives the simulator: its address space (VMAs) and chunks of accesses."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt


class AccessKind(IntEnum):
    """Kind of one access, as stored in ``AccessChunk.kind``."""

    LOAD = 0
    STORE = 1
    IFETCH = 2


VmaBacking = Literal["anon", "file", "shmem"]
ThpAdvice = Literal["default", "hugepage", "nohugepage"]


@dataclass(frozen=True)
class Vma:
    """One virtual memory area of one process.

    ``start`` and ``size_bytes`` are byte addresses; the simulator only maps pages inside a
    VMA. ``thp_advice`` is the process's madvise(): ``hugepage`` (MADV_HUGEPAGE),
    ``nohugepage`` or ``default``. ``shared_object`` names the shmem or file object a
    non-anonymous VMA maps when several processes map it: VMAs naming the same object share
    its frames, the page at ``start + n`` being the object's page at offset ``n``.
    """

    pid: int
    start: int
    size_bytes: int
    backing: VmaBacking = "anon"
    thp_advice: ThpAdvice = "default"
    name: str = ""
    shared_object: str = ""

    @property
    def end(self) -> int:
        return self.start + self.size_bytes


EventKind = Literal["munmap", "mprotect", "madvise_dontneed", "madvise_collapse"]
EVENT_KINDS: tuple[EventKind, ...] = ("munmap", "mprotect", "madvise_dontneed", "madvise_collapse")
"""What a workload may do to its address space between two accesses (``pagelab.events``)."""


@dataclass(frozen=True)
class MemoryEvent:
    """``kind`` applied to ``[start, start + size_bytes)`` of process ``pid``, just before
    the access at ``index`` of its chunk (``index`` = the chunk's length: after its last)."""

    index: int
    kind: EventKind
    pid: int
    start: int
    size_bytes: int

    def moved(self, offset: int) -> MemoryEvent:
        """The same event with its index shifted by ``offset``."""
        return MemoryEvent(self.index + offset, self.kind, self.pid, self.start, self.size_bytes)


@dataclass(frozen=True)
class AccessChunk:
    """A run of accesses in program order: parallel arrays of equal length, and the events
    between them (sorted by index)."""

    address: npt.NDArray[np.uint64]
    kind: npt.NDArray[np.uint8]
    pid: npt.NDArray[np.uint16]
    events: tuple[MemoryEvent, ...] = ()

    def __len__(self) -> int:
        return int(self.address.shape[0])


class Workload(Protocol):
    """A source of accesses.

    ``vmas`` is None when the address space is unknown (a raw trace): the simulator then
    treats each process's whole 48-bit address space as one anonymous VMA.
    ``total_accesses`` is the exact count when known in advance (generators), else None.
    ``chunks`` yields chunks of at most ``chunk_accesses`` accesses and may be called once.
    """

    @property
    def vmas(self) -> list[Vma] | None: ...

    @property
    def total_accesses(self) -> int | None: ...

    def chunks(self, chunk_accesses: int) -> Iterator[AccessChunk]: ...
