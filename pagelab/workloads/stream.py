"""Access streams: pieces of a fixed, seed-determined shape, cut into chunks of any size.

Generators and trace readers produce *pieces* whose boundaries never depend on the caller's
``chunk_accesses``; ``rechunk`` then cuts the stream into chunks. This is what makes the
same spec and seed give bit-identical accesses whatever chunk size the simulator asks for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from pagelab.workloads.base import AccessChunk, AccessKind, MemoryEvent, Vma

PIECE_ACCESSES = 1 << 16
"""Accesses per generated piece: large enough to amortise numpy call overhead, small
enough that a piece's temporaries stay in cache."""


def make_chunk(
    address: npt.NDArray[np.integer],
    kind: npt.NDArray[np.integer],
    pid: int | npt.NDArray[np.integer],
) -> AccessChunk:
    """An AccessChunk with the dtypes the simulator expects; a scalar ``pid`` fills the chunk."""
    addresses = np.asarray(address).astype(np.uint64, copy=False)
    if isinstance(pid, int):
        pids = np.full(addresses.shape[0], pid, dtype=np.uint16)
    else:
        pids = pid.astype(np.uint16, copy=False)
    return AccessChunk(address=addresses, kind=kind.astype(np.uint8, copy=False), pid=pids)


def random_kinds(
    rng: np.random.Generator, count: int, store_fraction: float
) -> npt.NDArray[np.uint8]:
    """Loads and stores, each access a store with probability ``store_fraction``."""
    stores = rng.random(count) < store_fraction
    return np.where(stores, np.uint8(AccessKind.STORE), np.uint8(AccessKind.LOAD))


def slice_chunk(chunk: AccessChunk, start: int, stop: int, *, last: bool = False) -> AccessChunk:
    """Accesses ``[start, stop)`` of ``chunk`` with the events before them; ``last``: also
    those after them (the slice ends the stream)."""
    events = tuple(
        event.moved(-start)
        for event in chunk.events
        if start <= event.index < stop or (event.index >= stop and last)
    )
    return AccessChunk(
        chunk.address[start:stop], chunk.kind[start:stop], chunk.pid[start:stop], events
    )


def _concat(parts: list[AccessChunk]) -> AccessChunk:
    if len(parts) == 1:
        return parts[0]
    events: list[MemoryEvent] = []
    offset = 0
    for part in parts:
        events.extend(event.moved(offset) for event in part.events)
        offset += len(part)
    return AccessChunk(
        address=np.concatenate([part.address for part in parts]),
        kind=np.concatenate([part.kind for part in parts]),
        pid=np.concatenate([part.pid for part in parts]),
        events=tuple(events),
    )


def rechunk(pieces: Iterable[AccessChunk], chunk_accesses: int) -> Iterator[AccessChunk]:
    """Cut a stream of pieces into chunks of exactly ``chunk_accesses`` (the last may be short)."""
    if chunk_accesses < 1:
        raise ValueError(f"chunk_accesses must be at least 1, not {chunk_accesses}")
    pending: list[AccessChunk] = []
    pending_accesses = 0
    for piece in pieces:
        start = 0
        if not len(piece) and piece.events:  # events after every access of the stream
            pending.append(piece)
        while start < len(piece):
            take = min(chunk_accesses - pending_accesses, len(piece) - start)
            # A piece's events after its last access go with its last slice.
            last = start + take == len(piece)
            pending.append(slice_chunk(piece, start, start + take, last=last))
            pending_accesses += take
            start += take
            if pending_accesses == chunk_accesses:
                yield _concat(pending)
                pending, pending_accesses = [], 0
    if pending:
        yield _concat(pending)


class StreamWorkload:
    """A Workload whose pieces come from ``make_pieces``; each ``chunks`` call starts afresh."""

    def __init__(
        self,
        *,
        vmas: list[Vma] | None,
        total_accesses: int | None,
        make_pieces: Callable[[], Iterator[AccessChunk]],
    ) -> None:
        self._vmas = vmas
        self._total_accesses = total_accesses
        self._make_pieces = make_pieces

    @property
    def vmas(self) -> list[Vma] | None:
        return self._vmas

    @property
    def total_accesses(self) -> int | None:
        return self._total_accesses

    def chunks(self, chunk_accesses: int) -> Iterator[AccessChunk]:
        return rechunk(self._make_pieces(), chunk_accesses)


def piece_sizes(total_accesses: int) -> Iterator[int]:
    """Sizes of the pieces that make up ``total_accesses``: full pieces, then the rest."""
    done = 0
    while done < total_accesses:
        size = min(PIECE_ACCESSES, total_accesses - done)
        yield size
        done += size


def with_events(
    pieces: Iterable[AccessChunk], events: list[tuple[int, MemoryEvent]]
) -> Iterator[AccessChunk]:
    """``pieces`` with ``events`` attached, each ``(access index in the stream, event)``
    (sorted by index): an event goes into the piece holding its access, or after the last
    piece's last access."""
    pending = iter(events)
    upcoming = next(pending, None)
    done = 0
    last: AccessChunk | None = None
    for piece in pieces:
        if last is not None:
            yield last
        attached: list[MemoryEvent] = []
        while upcoming is not None and upcoming[0] < done + len(piece):
            attached.append(replace(upcoming[1], index=upcoming[0] - done))
            upcoming = next(pending, None)
        last = AccessChunk(piece.address, piece.kind, piece.pid, tuple(attached))
        done += len(piece)
    if last is None:
        last = AccessChunk(np.zeros(0, np.uint64), np.zeros(0, np.uint8), np.zeros(0, np.uint16))
    # What is left comes after the stream's last access.
    after = [] if upcoming is None else [upcoming]
    after.extend(pending)
    ending = tuple(replace(event, index=len(last)) for _, event in after)
    yield AccessChunk(last.address, last.kind, last.pid, last.events + ending)
