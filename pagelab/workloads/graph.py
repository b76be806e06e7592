"""The graph generator: random walks over a compressed-sparse-row graph layout."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from pagelab.workloads.base import AccessChunk, Vma
from pagelab.workloads.generators import seeded_rngs
from pagelab.workloads.layout import place_regions
from pagelab.workloads.sampling import mix64
from pagelab.workloads.spec import PAGE_BYTES, GraphSpec
from pagelab.workloads.stream import PIECE_ACCESSES, StreamWorkload, make_chunk, random_kinds

OFFSET_BYTES = 8
EDGE_BYTES = 4
VALUE_BYTES = 8
ACCESSES_PER_STEP = 3
"""Per walker and step: the vertex's row offset, one edge, the neighbour's value."""

_HEAVY_TAIL_SHAPE = 2.0
"""Lomax (Pareto II) shape of the degree distribution: mean 1/(shape-1) = 1, long tail."""


def _whole_pages(size_bytes: int) -> int:
    return -(-size_bytes // PAGE_BYTES) * PAGE_BYTES


def _degrees(spec: GraphSpec, rng: np.random.Generator) -> np.ndarray:
    """Heavy-tailed degrees, at least 1, averaging about ``average_degree``."""
    extra = rng.pareto(_HEAVY_TAIL_SHAPE, spec.vertices) * (spec.average_degree - 1)
    return np.clip(np.rint(extra).astype(np.int64) + 1, 1, spec.vertices - 1)


def graph_workload(spec: GraphSpec, seed: int) -> StreamWorkload:
    setup_rng, _ = seeded_rngs(seed, 2)
    degrees = _degrees(spec, setup_rng)
    row_offsets = np.concatenate([[0], np.cumsum(degrees)])
    edges = int(row_offsets[-1])
    neighbour_key = np.uint64(setup_rng.integers(0, 2**63))
    sizes_bytes = [
        _whole_pages((spec.vertices + 1) * OFFSET_BYTES),
        _whole_pages(edges * EDGE_BYTES),
        _whole_pages(spec.vertices * VALUE_BYTES),
    ]
    offsets_start, edges_start, values_start = place_regions(sizes_bytes, spec.align_bytes)
    vmas = [
        Vma(pid=0, start=start, size_bytes=size, name=name)
        for start, size, name in zip(
            (offsets_start, edges_start, values_start),
            sizes_bytes,
            ("row_offsets", "edges", "values"),
            strict=True,
        )
    ]
    walkers = spec.walkers
    steps_per_piece = max(1, PIECE_ACCESSES // (ACCESSES_PER_STEP * walkers))

    def pieces() -> Iterator[AccessChunk]:
        _, rng = seeded_rngs(seed, 2)
        vertex = rng.integers(0, spec.vertices, walkers)
        remaining = spec.accesses
        while remaining > 0:
            shape = (steps_per_piece, walkers)
            edge_pick = rng.random(shape)
            restart = rng.random(shape) < spec.restart_probability
            jump = rng.integers(0, spec.vertices, shape)
            address = np.empty((steps_per_piece, walkers, ACCESSES_PER_STEP), dtype=np.int64)
            # Each walk's next vertex depends on the last, so steps run one after another;
            # the walkers of one step are vectorised.
            for step in range(steps_per_piece):
                edge = row_offsets[vertex] + (edge_pick[step] * degrees[vertex]).astype(np.int64)
                hashed = mix64(edge.astype(np.uint64) ^ neighbour_key)
                neighbour = (hashed % np.uint64(spec.vertices)).astype(np.int64)
                address[step, :, 0] = offsets_start + vertex * OFFSET_BYTES
                address[step, :, 1] = edges_start + edge * EDGE_BYTES
                address[step, :, 2] = values_start + neighbour * VALUE_BYTES
                vertex = np.where(restart[step], jump[step], neighbour)
            count = min(remaining, address.size)
            remaining -= count
            kinds = random_kinds(rng, address.size, spec.store_fraction)
            yield make_chunk(address.reshape(-1)[:count], kinds[:count], 0)

    return StreamWorkload(vmas=vmas, total_accesses=spec.accesses, make_pieces=pieces)
