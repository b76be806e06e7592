"""Synthetic access patterns over one region: uniform, zipf, scan, phase; and shared regions.

Each ``*_workload`` function takes a validated spec and a seed and returns a Workload whose
accesses depend only on (spec, seed). Streams are drawn piece by piece (``stream.py``), so
memory stays bounded whatever ``accesses`` is.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from pagelab.workloads.base import AccessChunk, Vma
from pagelab.workloads.layout import place_regions, top_entry_bytes
from pagelab.workloads.sampling import Shuffle, ZipfSampler
from pagelab.workloads.spec import (
    LINE_BYTES,
    PAGE_BYTES,
    PhaseSpec,
    ScanSpec,
    SharedSpec,
    UniformSpec,
    ZipfSpec,
)
from pagelab.workloads.stream import StreamWorkload, make_chunk, piece_sizes, random_kinds


def seeded_rngs(seed: int, streams: int) -> list[np.random.Generator]:
    """Independent PCG64 generators for a workload's separate random streams."""
    return [
        np.random.Generator(np.random.PCG64(child))
        for child in np.random.SeedSequence(seed).spawn(streams)
    ]


def _single_region(size_bytes: int, align_bytes: int) -> Vma:
    (start,) = place_regions([size_bytes], align_bytes)
    return Vma(pid=0, start=start, size_bytes=size_bytes, name="region")


def uniform_workload(spec: UniformSpec, seed: int) -> StreamWorkload:
    vma = _single_region(spec.size_bytes, spec.align_bytes)
    lines = spec.size_bytes // LINE_BYTES

    def pieces() -> Iterator[AccessChunk]:
        (rng,) = seeded_rngs(seed, 1)
        for count in piece_sizes(spec.accesses):
            offsets = rng.integers(0, lines, count) * LINE_BYTES
            yield make_chunk(vma.start + offsets, random_kinds(rng, count, spec.store_fraction), 0)

    return StreamWorkload(vmas=[vma], total_accesses=spec.accesses, make_pieces=pieces)


def zipf_workload(spec: ZipfSpec, seed: int) -> StreamWorkload:
    vma = _single_region(spec.size_bytes, spec.align_bytes)
    items = spec.size_bytes // spec.item_bytes
    sampler = ZipfSampler(items, spec.alpha)
    lines_per_item = spec.item_bytes // LINE_BYTES

    def pieces() -> Iterator[AccessChunk]:
        rng, shuffle_rng = seeded_rngs(seed, 2)
        shuffle = Shuffle(items, shuffle_rng) if spec.scatter else None
        for count in piece_sizes(spec.accesses):
            ranks = sampler.sample(rng, count)
            item = shuffle(ranks) if shuffle is not None else ranks
            line = rng.integers(0, lines_per_item, count)
            offsets = item * spec.item_bytes + line * LINE_BYTES
            yield make_chunk(vma.start + offsets, random_kinds(rng, count, spec.store_fraction), 0)

    return StreamWorkload(vmas=[vma], total_accesses=spec.accesses, make_pieces=pieces)


def scan_workload(spec: ScanSpec, seed: int) -> StreamWorkload:
    vma = _single_region(spec.size_bytes, spec.align_bytes)
    per_pass = spec.accesses_per_pass

    def pieces() -> Iterator[AccessChunk]:
        (rng,) = seeded_rngs(seed, 1)
        done = 0
        for count in piece_sizes(spec.accesses):
            step = np.arange(done, done + count, dtype=np.int64) % per_pass
            done += count
            yield make_chunk(
                vma.start + step * spec.stride_bytes,
                random_kinds(rng, count, spec.store_fraction),
                0,
            )

    return StreamWorkload(vmas=[vma], total_accesses=spec.accesses, make_pieces=pieces)


def phase_workload(spec: PhaseSpec, seed: int) -> StreamWorkload:
    vma = _single_region(spec.size_bytes, spec.align_bytes)
    lines = spec.size_bytes // LINE_BYTES
    hot_lines = spec.hot_set_bytes // LINE_BYTES
    hot_positions = (spec.size_bytes - spec.hot_set_bytes) // PAGE_BYTES + 1

    def pieces() -> Iterator[AccessChunk]:
        # Hot-set placements come from their own stream, so a phase change falling inside
        # a piece does not shift the access draws.
        rng, placement_rng = seeded_rngs(seed, 2)
        last_phase, last_base = -1, 0
        done = 0
        for count in piece_sizes(spec.accesses):
            phase = np.arange(done, done + count, dtype=np.int64) // spec.phase_accesses
            done += count
            first = int(phase[0])
            fresh = placement_rng.integers(0, hot_positions, int(phase[-1]) - last_phase)
            bases = fresh * PAGE_BYTES
            if first == last_phase:  # this piece continues the previous piece's phase
                bases = np.concatenate([[last_base], bases])
            last_phase, last_base = int(phase[-1]), int(bases[-1])
            hot = rng.random(count) < spec.hot_fraction
            hot_offsets = bases[phase - first] + rng.integers(0, hot_lines, count) * LINE_BYTES
            cold_offsets = rng.integers(0, lines, count) * LINE_BYTES
            offsets = np.where(hot, hot_offsets, cold_offsets)
            yield make_chunk(vma.start + offsets, random_kinds(rng, count, spec.store_fraction), 0)

    return StreamWorkload(vmas=[vma], total_accesses=spec.accesses, make_pieces=pieces)


def shared_workload(spec: SharedSpec, seed: int, granule_bytes: int = PAGE_BYTES) -> StreamWorkload:
    """Processes sharing one shmem object, as ``SharedSpec`` describes.

    The shared region sits alone in the top spans of the mmap area that one top-level
    page-table entry maps each (512 GiB with 4 KiB pages, 4 TiB with a 64 KiB granule), at
    ``align_bytes`` alignment as every generator places its regions, and the private regions
    below those spans: the layout is a valid mshare region whether or not the policy turns
    mshare on, so runs with and without it compare like for like. (A 16 KiB granule's
    top-level entry maps 128 TiB, the whole user address space: no layout leaves a private
    region outside it.) Every process maps the object at the same address (forked workers
    see the same layout); the shared VMAs name one ``shared_object``, so its frames are
    allocated once.
    """
    (shared_start,) = place_regions([spec.shared_bytes], spec.align_bytes)
    span_bytes = top_entry_bytes(granule_bytes)
    private_top = shared_start // span_bytes * span_bytes
    if private_top < spec.private_bytes + 2 * spec.align_bytes:
        private_top = shared_start  # no room below the span: mshare will refuse the layout
    (private_start,) = place_regions([spec.private_bytes], spec.align_bytes, private_top)
    vmas = [
        vma
        for pid in range(spec.processes)
        for vma in (
            Vma(
                pid,
                shared_start,
                spec.shared_bytes,
                backing="shmem",
                name="shared",
                shared_object="shared",
            ),
            Vma(pid, private_start, spec.private_bytes, backing="anon", name="private"),
        )
    ]
    shared_lines = spec.shared_bytes // LINE_BYTES
    private_lines = spec.private_bytes // LINE_BYTES

    def pieces() -> Iterator[AccessChunk]:
        (rng,) = seeded_rngs(seed, 1)
        done = 0
        for count in piece_sizes(spec.accesses):
            index = np.arange(done, done + count, dtype=np.int64)
            done += count
            pid = (index // spec.burst_accesses) % spec.processes
            to_shared = rng.random(count) < spec.shared_fraction
            shared_address = shared_start + rng.integers(0, shared_lines, count) * LINE_BYTES
            private_address = private_start + rng.integers(0, private_lines, count) * LINE_BYTES
            address = np.where(to_shared, shared_address, private_address)
            yield make_chunk(address, random_kinds(rng, count, spec.store_fraction), pid)

    return StreamWorkload(vmas=vmas, total_accesses=spec.accesses, make_pieces=pieces)
