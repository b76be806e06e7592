"""The key-value store generator: sparse, Zipf-popular touches inside large allocations."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from pagelab.workloads.base import AccessChunk, Vma
from pagelab.workloads.generators import seeded_rngs
from pagelab.workloads.layout import place_regions
from pagelab.workloads.sampling import Shuffle, ZipfSampler, mix64
from pagelab.workloads.spec import LINE_BYTES, PAGE_BYTES, KvStoreSpec
from pagelab.workloads.stream import StreamWorkload, make_chunk, piece_sizes, random_kinds


def _object_sizes_bytes(spec: KvStoreSpec, rng: np.random.Generator) -> np.ndarray:
    """Log-uniform sizes (as many small values as large), rounded up to whole pages."""
    low, high = np.log(spec.min_object_bytes), np.log(spec.max_object_bytes)
    log_sizes = rng.uniform(low, high, spec.objects)
    pages = np.ceil(np.exp(log_sizes) / PAGE_BYTES).astype(np.int64)
    return np.clip(pages * PAGE_BYTES, spec.min_object_bytes, spec.max_object_bytes)


def kvstore_workload(spec: KvStoreSpec, seed: int) -> StreamWorkload:
    setup_rng, _, _ = seeded_rngs(seed, 3)
    sizes_bytes = _object_sizes_bytes(spec, setup_rng)
    object_offsets = np.concatenate([[0], np.cumsum(sizes_bytes)[:-1]])
    heap_bytes = int(sizes_bytes.sum())
    (heap_start,) = place_regions([heap_bytes], spec.align_bytes)
    heap = Vma(pid=0, start=heap_start, size_bytes=heap_bytes, name="heap")

    # Object i's touched line j lies in the j-th of `touched` equal slices of the object,
    # at a position fixed by a hash: the same few lines are hit every time the object is.
    touched = spec.touched_lines_per_object
    object_lines = sizes_bytes // LINE_BYTES  # ≥ 64 ≥ touched, so every slice is non-empty
    line_key = np.uint64(setup_rng.integers(0, 2**63))
    sampler = ZipfSampler(spec.objects, spec.alpha)

    def pieces() -> Iterator[AccessChunk]:
        _, shuffle_rng, rng = seeded_rngs(seed, 3)
        shuffle = Shuffle(spec.objects, shuffle_rng)
        for count in piece_sizes(spec.accesses):
            obj = shuffle(sampler.sample(rng, count))
            slice_index = rng.integers(0, touched, count)
            lines = object_lines[obj]
            slice_start = slice_index * lines // touched
            slice_lines = (slice_index + 1) * lines // touched - slice_start
            hashed = mix64((obj * touched + slice_index).astype(np.uint64) ^ line_key)
            line = slice_start + (hashed % slice_lines.astype(np.uint64)).astype(np.int64)
            address = heap_start + object_offsets[obj] + line * LINE_BYTES
            yield make_chunk(address, random_kinds(rng, count, spec.store_fraction), 0)

    return StreamWorkload(vmas=[heap], total_accesses=spec.accesses, make_pieces=pieces)
