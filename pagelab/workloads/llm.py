"""The LLM-inference generator: per token, stream each layer's weights and read its KV cache."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from pagelab.workloads.base import AccessChunk, AccessKind, Vma
from pagelab.workloads.generators import seeded_rngs
from pagelab.workloads.layout import place_regions
from pagelab.workloads.spec import LlmSpec
from pagelab.workloads.stream import PIECE_ACCESSES, StreamWorkload, make_chunk, rechunk


@dataclass(frozen=True)
class _Span:
    """A byte range read or written front to back, one access every ``stride_bytes``."""

    start: int
    size_bytes: int
    kind: AccessKind


@dataclass(frozen=True)
class _Layout:
    weights_start: int
    kv_start: int
    layer_weight_bytes: int
    slot_bytes: int  # one token's keys and values in one layer
    slots: int  # tokens the ring holds

    def layer_kv_start(self, layer: int) -> int:
        return self.kv_start + layer * self.slots * self.slot_bytes


def _token_spans(layout: _Layout, layers: int, token: int) -> Iterator[_Span]:
    """What decoding ``token`` touches, layer by layer."""
    context = min(token, layout.slots)
    first_slot = (token - context) % layout.slots
    wrapped = max(0, first_slot + context - layout.slots)  # context slots at the ring's start
    own_slot = token % layout.slots
    for layer in range(layers):
        kv = layout.layer_kv_start(layer)
        yield _Span(
            layout.weights_start + layer * layout.layer_weight_bytes,
            layout.layer_weight_bytes,
            AccessKind.LOAD,
        )
        unwrapped = context - wrapped
        if unwrapped:
            first_byte = kv + first_slot * layout.slot_bytes
            yield _Span(first_byte, unwrapped * layout.slot_bytes, AccessKind.LOAD)
        if wrapped:
            yield _Span(kv, wrapped * layout.slot_bytes, AccessKind.LOAD)
        yield _Span(kv + own_slot * layout.slot_bytes, layout.slot_bytes, AccessKind.STORE)


def _span_chunks(span: _Span, stride_bytes: int) -> Iterator[AccessChunk]:
    """The span's accesses, at most one piece at a time so a huge span costs no memory."""
    count = -(-span.size_bytes // stride_bytes)
    for first in range(0, count, PIECE_ACCESSES):
        index = np.arange(first, min(count, first + PIECE_ACCESSES), dtype=np.int64)
        kinds = np.full(index.shape[0], span.kind, dtype=np.uint8)
        yield make_chunk(span.start + index * stride_bytes, kinds, 0)


def llm_workload(spec: LlmSpec, seed: int) -> StreamWorkload:
    weights_start, kv_start = place_regions(
        [spec.weights_bytes, spec.kv_cache_bytes], spec.align_bytes
    )
    vmas = [
        Vma(pid=0, start=weights_start, size_bytes=spec.weights_bytes, name="weights"),
        Vma(pid=0, start=kv_start, size_bytes=spec.kv_cache_bytes, name="kv_cache"),
    ]
    layout = _Layout(
        weights_start=weights_start,
        kv_start=kv_start,
        layer_weight_bytes=spec.weights_bytes // spec.layers,
        slot_bytes=spec.kv_bytes_per_token // spec.layers,
        slots=spec.kv_cache_bytes // spec.kv_bytes_per_token,
    )

    def pattern() -> Iterator[AccessChunk]:
        """The first ``accesses`` accesses of decoding token after token."""
        token = spec.prompt_tokens
        remaining = spec.accesses
        while True:
            for span in _token_spans(layout, spec.layers, token):
                for chunk in _span_chunks(span, spec.stride_bytes):
                    if len(chunk) >= remaining:
                        yield make_chunk(chunk.address[:remaining], chunk.kind[:remaining], 0)
                        return
                    yield chunk
                    remaining -= len(chunk)
            token += 1

    def pieces() -> Iterator[AccessChunk]:
        (rng,) = seeded_rngs(seed, 1)
        for piece in rechunk(pattern(), PIECE_ACCESSES):
            extra_stores = rng.random(len(piece)) < spec.store_fraction
            kinds = np.where(extra_stores, np.uint8(AccessKind.STORE), piece.kind)
            yield make_chunk(piece.address, kinds, 0)

    return StreamWorkload(vmas=vmas, total_accesses=spec.accesses, make_pieces=pieces)
