"""Workload generators: determinism, address spaces, and hand-checkable access patterns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from pagelab.workloads import GENERATORS, AccessChunk, AccessKind, Workload, build_workload
from pagelab.workloads.layout import MMAP_TOP_ADDRESS
from pagelab.workloads.sampling import Shuffle, ZipfSampler
from pagelab.workloads.spec import UniformSpec, WorkloadSpec
from pagelab.workloads.stream import PIECE_ACCESSES

# Small enough to run fast, large enough that each generator crosses a piece boundary.
SMALL_PARAMS: dict[str, dict[str, Any]] = {
    "uniform": {"size_bytes": "64M"},
    "zipf": {"size_bytes": "64M", "alpha": 1.1},
    "scan": {"size_bytes": "1M", "stride_bytes": 4096},
    "phase": {"size_bytes": "64M", "hot_set_bytes": "1M", "phase_accesses": 30_000},
    "kvstore": {"objects": 500},
    "shared": {"processes": 3, "shared_bytes": "16M", "private_bytes": "1M", "burst_accesses": 777},
    "graph": {"vertices": 5000, "walkers": 7},
    "llm": {
        "weights_bytes": "1M",
        "layers": 4,
        "kv_cache_bytes": "256K",
        "kv_bytes_per_token": "4K",
    },
}
ACCESSES = 3 * PIECE_ACCESSES + 123


def build(generator: dict[str, Any], seed: int = 7) -> Workload:
    spec = WorkloadSpec.model_validate({"generator": generator})
    return build_workload(spec, seed=seed, base_dir=None)


def collect(workload: Workload, chunk_accesses: int) -> AccessChunk:
    chunks = list(workload.chunks(chunk_accesses))
    assert all(0 < len(chunk) <= chunk_accesses for chunk in chunks)
    return AccessChunk(
        address=np.concatenate([chunk.address for chunk in chunks]),
        kind=np.concatenate([chunk.kind for chunk in chunks]),
        pid=np.concatenate([chunk.pid for chunk in chunks]),
    )


def region_start(workload: Workload) -> int:
    assert workload.vmas is not None
    return workload.vmas[0].start


def small(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "accesses": ACCESSES, **SMALL_PARAMS[name], **extra}


def test_every_generator_has_small_test_parameters() -> None:
    assert set(SMALL_PARAMS) == set(GENERATORS)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_same_seed_gives_identical_accesses_whatever_the_chunk_size(name: str) -> None:
    first = collect(build(small(name)), 1000)
    second = collect(build(small(name)), 65_537)
    for field in ("address", "kind", "pid"):
        np.testing.assert_array_equal(getattr(first, field), getattr(second, field))
    assert first.address.dtype == np.uint64
    assert first.kind.dtype == np.uint8
    assert first.pid.dtype == np.uint16
    assert len(first) == ACCESSES


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_another_seed_gives_other_accesses(name: str) -> None:
    one = collect(build(small(name, store_fraction=0.5), seed=1), 10_000)
    two = collect(build(small(name, store_fraction=0.5), seed=2), 10_000)
    assert not np.array_equal(one.kind, two.kind)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_every_access_is_inside_a_vma_of_its_process(name: str) -> None:
    workload = build(small(name))
    assert workload.vmas is not None
    assert workload.total_accesses == ACCESSES
    chunk = collect(workload, 50_000)
    inside = np.zeros(len(chunk), dtype=bool)
    for vma in workload.vmas:
        assert vma.start % 4096 == 0 and vma.size_bytes % 4096 == 0
        assert vma.start > 0 and vma.end <= MMAP_TOP_ADDRESS
        inside |= (chunk.pid == vma.pid) & (chunk.address >= vma.start) & (chunk.address < vma.end)
    assert inside.all()


@pytest.mark.parametrize("align", ["4K", "64K", "2M", "1G"])
def test_vmas_are_aligned_to_exactly_align_bytes(align: str) -> None:
    align_bytes = {"4K": 4096, "64K": 65536, "2M": 2 << 20, "1G": 1 << 30}[align]
    workload = build({"name": "llm", "align_bytes": align, "accesses": 10})
    assert workload.vmas is not None and len(workload.vmas) == 2
    for vma in workload.vmas:
        assert vma.start % align_bytes == 0
        assert vma.start % (2 * align_bytes) != 0  # no larger page size aligned by accident
    weights, kv_cache = workload.vmas
    assert kv_cache.end <= weights.start  # placed top down, without overlap


def test_scan_with_4k_stride_over_1m_touches_256_pages_in_order() -> None:
    workload = build({"name": "scan", "size_bytes": "1M", "stride_bytes": "4K", "passes": 1})
    chunk = collect(workload, 100)
    pages = (chunk.address - np.uint64(region_start(workload))) // np.uint64(4096)
    np.testing.assert_array_equal(pages, np.arange(256))


def test_scan_passes_set_accesses_and_repeat_the_sweep() -> None:
    workload = build({"name": "scan", "size_bytes": "8K", "stride_bytes": 1000, "passes": 3})
    chunk = collect(workload, 7)
    # ceil(8192 / 1000) = 9 accesses per pass, offsets 0, 1000, ..., 8000.
    offsets = chunk.address - np.uint64(region_start(workload))
    np.testing.assert_array_equal(offsets, np.tile(np.arange(9) * 1000, 3))


def test_zipf_frequencies_match_the_exact_distribution() -> None:
    # Four 4K items, alpha 1: P(k) = (1/k) / (1 + 1/2 + 1/3 + 1/4) = 12/25, 6/25, 4/25, 3/25.
    accesses = 200_000
    generator = {"name": "zipf", "size_bytes": "16K", "scatter": False, "accesses": accesses}
    workload = build(generator)
    chunk = collect(workload, accesses)
    item = (chunk.address - np.uint64(region_start(workload))) // np.uint64(4096)
    frequency = np.bincount(item.astype(np.int64), minlength=4) / accesses
    np.testing.assert_allclose(frequency, [12 / 25, 6 / 25, 4 / 25, 3 / 25], atol=0.005)


def test_zipf_hottest_items_rank_in_order_and_scatter_only_moves_them() -> None:
    params = {"name": "zipf", "size_bytes": "4M", "alpha": 1.2, "accesses": 300_000}

    def item_counts(scatter: bool) -> np.ndarray:
        workload = build({**params, "scatter": scatter})
        chunk = collect(workload, 100_000)
        item = (chunk.address - np.uint64(region_start(workload))) // np.uint64(4096)
        return np.bincount(item.astype(np.int64), minlength=1024)

    packed_counts = item_counts(False)
    assert (np.diff(packed_counts[:8]) < 0).all()  # item k is the rank-k item
    scattered_counts = item_counts(True)
    np.testing.assert_array_equal(np.sort(scattered_counts), np.sort(packed_counts))
    assert np.argmax(scattered_counts) != 0


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0, 2.0, 5.0])
def test_zipf_sampler_is_exact_on_a_small_support(alpha: float) -> None:
    items, draws = 5, 200_000
    ranks = ZipfSampler(items, alpha).sample(np.random.Generator(np.random.PCG64(3)), draws)
    assert ranks.min() >= 0 and ranks.max() < items
    weights = 1.0 / np.arange(1, items + 1) ** alpha
    np.testing.assert_allclose(
        np.bincount(ranks, minlength=items) / draws, weights / weights.sum(), atol=0.005
    )


@pytest.mark.parametrize("items", [1, 2, 3, 1000, 4097])
def test_shuffle_is_a_bijection(items: int) -> None:
    shuffled = Shuffle(items, np.random.Generator(np.random.PCG64(5)))(np.arange(items))
    np.testing.assert_array_equal(np.sort(shuffled), np.arange(items))
    if items > 3:
        assert not np.array_equal(shuffled, np.arange(items))


@pytest.mark.parametrize("touched", [1, 3])
def test_kvstore_touches_exactly_the_declared_lines_per_object(touched: int) -> None:
    # 20 objects, uniform popularity, 20,000 accesses: each (object, line) pair is missed
    # with probability (1 - 1/(20 × touched))^20000 < 1e-100, so every one is hit.
    workload = build(
        {
            "name": "kvstore",
            "objects": 20,
            "touched_lines_per_object": touched,
            "alpha": 0.0,
            "min_object_bytes": "64K",
            "max_object_bytes": "2M",
            "accesses": 20_000,
        }
    )
    chunk = collect(workload, 20_000)
    assert workload.vmas is not None
    heap = workload.vmas[0]
    assert heap.size_bytes >= 20 * 64 * 1024
    lines = np.unique(chunk.address // np.uint64(64))
    assert len(lines) == 20 * touched
    # Sparse: the touched 4K pages are a tiny part of the heap, hence bloat under THP.
    assert len(np.unique(chunk.address // np.uint64(4096))) * 4096 <= 20 * touched * 4096


def test_shared_processes_use_the_same_addresses_for_the_shared_region() -> None:
    workload = build(
        {
            "name": "shared",
            "processes": 4,
            "shared_bytes": "16K",
            "private_bytes": "64K",
            "burst_accesses": 100,
            "accesses": 40_000,
        }
    )
    chunk = collect(workload, 10_000)
    assert workload.vmas is not None and len(workload.vmas) == 8
    shared = [vma for vma in workload.vmas if vma.name == "shared"]
    assert {(vma.start, vma.size_bytes, vma.backing) for vma in shared} == {
        (shared[0].start, 16 * 1024, "shmem")
    }
    assert sorted(vma.pid for vma in shared) == [0, 1, 2, 3]
    np.testing.assert_array_equal(chunk.pid, (np.arange(40_000) // 100) % 4)
    in_shared = (chunk.address >= shared[0].start) & (chunk.address < shared[0].end)
    lines_by_pid = [set(chunk.address[in_shared & (chunk.pid == pid)] // 64) for pid in range(4)]
    # ~8,000 shared accesses per process over 256 lines: each line is missed with
    # probability (1 - 1/256)^8000 < 1e-13, so every process touches all of them.
    assert all(lines == lines_by_pid[0] for lines in lines_by_pid)
    assert len(lines_by_pid[0]) == 256


def test_phase_hot_set_stays_put_within_a_phase_and_moves_between_phases() -> None:
    # 7,000-access phases: phases 9 and 18 straddle the generator's piece boundaries.
    phases, phase_accesses = 20, 7000
    chunk = collect(
        build(
            {
                "name": "phase",
                "size_bytes": "1G",
                "hot_set_bytes": "64K",
                "hot_fraction": 1.0,
                "phase_accesses": phase_accesses,
                "accesses": phases * phase_accesses,
            }
        ),
        333,
    )
    assert phases * phase_accesses > 2 * PIECE_ACCESSES
    windows = chunk.address.reshape(phases, phase_accesses)
    assert ((windows.max(axis=1) - windows.min(axis=1)) < 64 * 1024).all()
    assert len({int(row.min()) // (64 * 1024) for row in windows}) > phases // 2


def test_graph_walk_moves_to_the_neighbour_whose_value_it_read() -> None:
    walkers = 5
    workload = build(
        {
            "name": "graph",
            "vertices": 1000,
            "walkers": walkers,
            "restart_probability": 0.0,
            "accesses": 3 * walkers * 50,
        }
    )
    assert workload.vmas is not None
    offsets, edges, values = workload.vmas
    steps = collect(workload, 1000).address.astype(np.int64).reshape(50, walkers, 3)
    assert ((steps[:, :, 0] >= offsets.start) & (steps[:, :, 0] < offsets.end)).all()
    assert ((steps[:, :, 1] >= edges.start) & (steps[:, :, 1] < edges.end)).all()
    vertex = (steps[1:, :, 0] - offsets.start) // 8
    neighbour_read = (steps[:-1, :, 2] - values.start) // 8
    np.testing.assert_array_equal(vertex, neighbour_read)


def test_llm_decodes_tokens_in_the_documented_order() -> None:
    # 2 layers of 8K weights read at a 4K stride; KV ring of 4 slots of 4K per layer.
    workload = build(
        {
            "name": "llm",
            "weights_bytes": "16K",
            "layers": 2,
            "kv_cache_bytes": "32K",
            "kv_bytes_per_token": "8K",
            "prompt_tokens": 0,
            "stride_bytes": "4K",
            "accesses": 14,
        }
    )
    assert workload.vmas is not None
    weights, kv = (vma.start for vma in workload.vmas)
    chunk = collect(workload, 5)
    layer_kv = [kv, kv + 4 * 4096]
    load, store = AccessKind.LOAD, AccessKind.STORE
    expected = [
        # token 0: no context yet; each layer streams its weights and writes its slot 0
        (weights, load), (weights + 4096, load), (layer_kv[0], store),
        (weights + 8192, load), (weights + 12288, load), (layer_kv[1], store),
        # token 1: each layer also reads token 0's slot, then writes slot 1
        (weights, load), (weights + 4096, load), (layer_kv[0], load), (layer_kv[0] + 4096, store),
        (weights + 8192, load), (weights + 12288, load), (layer_kv[1], load),
        (layer_kv[1] + 4096, store),
    ]  # fmt: skip
    assert list(zip(chunk.address.tolist(), chunk.kind.tolist(), strict=True)) == expected


def test_generation_is_lazy_and_memory_does_not_scale_with_accesses() -> None:
    workload = build({"name": "zipf", "size_bytes": "1T", "item_bytes": 64, "accesses": 10**10})
    assert workload.total_accesses == 10**10
    first = next(iter(workload.chunks(1_000_000)))
    assert len(first) == 1_000_000


def test_specs_round_trip_through_json_and_accept_size_text() -> None:
    for name in GENERATORS:
        spec = WorkloadSpec.model_validate({"generator": small(name)})
        assert WorkloadSpec.model_validate_json(spec.model_dump_json()) == spec
    spec = WorkloadSpec.model_validate({"generator": {"name": "uniform", "size_bytes": "1G"}})
    assert isinstance(spec.generator, UniformSpec) and spec.generator.size_bytes == 1 << 30


def test_every_generator_documents_itself_and_its_parameters() -> None:
    for name, spec_class in GENERATORS.items():
        assert spec_class.__doc__ and len(spec_class.__doc__) > 80, name
        schema = spec_class.model_json_schema()
        for field, info in schema["properties"].items():
            if field != "name":
                assert info.get("description"), f"{name}.{field} has no description"


@pytest.mark.parametrize(
    ("generator", "field", "message"),
    [
        ({"name": "uniform", "size_bytes": 5000}, "size_bytes", "4K pages"),
        ({"name": "uniform", "size_bytes": "2K"}, "size_bytes", "greater than or equal"),
        ({"name": "uniform", "align_bytes": "12K"}, "align_bytes", "power of two"),
        ({"name": "uniform", "accesses": 10**11}, "accesses", "less than or equal"),
        ({"name": "zipf", "size_bytes": "4K", "item_bytes": "8K"}, "item_bytes", "larger"),
        ({"name": "zipf", "item_bytes": 100}, "item_bytes", "multiple of 64"),
        ({"name": "phase", "size_bytes": "1M", "hot_set_bytes": "2M"}, "hot_set_bytes", "larger"),
        (
            {"name": "kvstore", "min_object_bytes": "1M", "max_object_bytes": "4K"},
            "max_object_bytes",
            "smaller",
        ),
        ({"name": "llm", "layers": 3, "kv_bytes_per_token": "4K"}, "kv_bytes_per_token", "64"),
        ({"name": "uniform", "size": "1G"}, "size", "Extra inputs"),
    ],
)
def test_bad_generator_parameters_name_the_field(
    generator: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        WorkloadSpec.model_validate({"generator": generator})
    (error,) = caught.value.errors()
    assert error["loc"][-1] == field
    assert message in error["msg"]


def test_largest_regions_fit_in_the_user_address_space() -> None:
    for generator in (
        {"name": "llm", "weights_bytes": "32T", "kv_cache_bytes": "32T", "align_bytes": "1G"},
        {"name": "shared", "shared_bytes": "32T", "private_bytes": "32T", "align_bytes": "1G"},
    ):
        workload = build({**generator, "accesses": 1})
        assert workload.vmas is not None
        assert min(vma.start for vma in workload.vmas) > 0
    with pytest.raises(ValidationError, match="less than or equal"):
        WorkloadSpec.model_validate({"generator": {"name": "uniform", "size_bytes": "64T"}})


def test_scan_passes_and_accesses_must_agree() -> None:
    generator = {"name": "scan", "size_bytes": "1M", "stride_bytes": "4K"}
    spec = WorkloadSpec.model_validate({"generator": {**generator, "passes": 2, "accesses": 512}})
    assert spec.generator is not None and spec.generator.accesses == 512
    with pytest.raises(ValidationError, match="disagrees with passes"):
        WorkloadSpec.model_validate({"generator": {**generator, "passes": 2, "accesses": 500}})
    with pytest.raises(ValidationError) as caught:
        WorkloadSpec.model_validate({"generator": {**generator, "passes": 0}})
    assert [error["loc"][-1] for error in caught.value.errors()] == ["passes"]


def test_unknown_generator_and_two_sources_are_rejected() -> None:
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        WorkloadSpec.model_validate({"generator": {"name": "fractal"}})
    with pytest.raises(ValidationError, match="exactly one"):
        WorkloadSpec.model_validate(
            {"generator": {"name": "uniform"}, "trace": {"path": "t.txt", "format": "text"}}
        )
