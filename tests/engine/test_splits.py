"""Workload events and THP splits: munmap, mprotect and MADV_DONTNEED inside huge mappings,
``thp_split`` full / pmd_first, deposits, freed frames and tables, live mappings.

Hand-worked on one 4 GiB tier with 4 KiB pages: a 1 GiB THP maps one PUD entry; splitting it
to PTEs needs 1 PMD table + 512 PTE tables (its deposit, when it made one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pagelab._kernels import counters as C
from pagelab.errors import SpecError, TraceError
from pagelab.mappings import Mappings
from pagelab.policies import make_policy
from pagelab.simulate import check_spec, load_spec, simulate
from pagelab.tiers import Tiers
from pagelab.translation import Translator, physical_memory
from pagelab.units import PAGE_SIZES
from pagelab.workloads import build_workload
from pagelab.workloads.base import AccessChunk, EventKind, MemoryEvent, Vma

GIB = 1 << 30
MIB = 1 << 20
BASE = 4 * GIB  # 1 GiB-aligned
PGD, PUD, PMD, PTE = 0, 1, 2, 3
SIZE_4K, SIZE_64K, SIZE_2M, SIZE_1G = (PAGE_SIZES.index(s) for s in ("4K", "64K", "2M", "1G"))
TIER = {"name": "dram", "capacity_bytes": "4G", "idle_latency_ns": 100.0, "bandwidth_gbps": 100}


def _setup(policy: dict[str, Any], vma_bytes: int = GIB) -> tuple[Translator, Mappings, int]:
    """A translator over one anonymous VMA at ``BASE``; also the free frames before any
    access."""
    spec = load_spec({
        "workload": {"generator": {"name": "uniform", "size_bytes": vma_bytes, "accesses": 1}},
        "machine": {"tiers": [TIER]},
        "policy": policy,
    })  # fmt: skip
    machine, plan = check_spec(spec)
    memory = physical_memory(machine, plan, spec.policy, seed=0)
    free = memory.free_frames(0)
    translator = Translator(machine, plan, [Vma(0, BASE, vma_bytes)], spec.policy, memory)
    full = spec.policy.thp_split == "full"
    return translator, Mappings(translator, full_split=full), free


def _touch(translator: Translator, addresses: list[int]) -> None:
    address = np.array(addresses, dtype=np.uint64)
    count = len(addresses)
    chunk = AccessChunk(address, np.zeros(count, np.uint8), np.zeros(count, np.uint16))
    translator.run(chunk, 0, count)


def _live(translator: Translator) -> list[int]:
    return [int(translator.counts[C.LIVE_MAPPINGS + level]) for level in range(4)]


def _resident(translator: Translator, size_id: int) -> int:
    return int(translator.counts[C.RESIDENT_BYTES + size_id])


def _one_gib_thp(deposit: bool, split: str) -> tuple[Translator, Mappings, int]:
    policy = {"thp": "always", "thp_sizes": ["1G"], "thp_deposit": deposit, "thp_split": split}
    translator, mappings, free = _setup(policy)
    _touch(translator, [BASE])
    assert _live(translator) == [0, 1, 0, 0]
    assert _resident(translator, SIZE_1G) == GIB
    assert translator.counts[C.DEPOSIT_TABLES] == (513 if deposit else 0)
    # Frames: the 1 GiB page, the PGD and PUD tables, and the deposit.
    assert translator.memory.free_frames(0) == free - (GIB >> 12) - 2 - (513 if deposit else 0)
    return translator, mappings, free


@pytest.mark.parametrize("deposit", [True, False])
def test_full_split_of_a_1g_thp_maps_262144_ptes_in_512_tables(deposit: bool) -> None:
    """mprotect of one 4 KiB page inside a 1 GiB THP (``full``): 262,144 PTE mappings in 512
    PTE tables under one PMD table; with the deposit nothing is allocated (513 deposited
    tables become live ones), without it 513 table pages are."""
    translator, mappings, _ = _one_gib_thp(deposit, "full")
    free = translator.memory.free_frames(0)
    tables = translator.level_tables.copy()
    mappings.apply(MemoryEvent(0, "mprotect", 0, BASE + 5 * 4096, 4096))
    assert _live(translator) == [0, 0, 0, 262_144]
    assert (translator.level_tables - tables).tolist() == [0, 0, 1, 512]
    assert translator.counts[C.DEPOSIT_TABLES] == 0
    assert translator.memory.free_frames(0) == free - (0 if deposit else 513)
    assert _resident(translator, SIZE_1G) == 0 and _resident(translator, SIZE_4K) == GIB
    assert translator.counts[C.THP_SPLITS] == 1 and translator.counts[C.SPLITS_BY_SIZE + 7] == 1
    assert [(v.start - BASE, v.end - BASE) for v in translator.mapped_vmas] == [
        (0, 5 * 4096), (5 * 4096, 6 * 4096), (6 * 4096, GIB),
    ]  # fmt: skip
    assert translator.counts[C.TLB_SHOOTDOWNS] == 1
    assert translator.counts[C.EVENTS + 1] == 1


@pytest.mark.parametrize("deposit", [True, False])
def test_pmd_first_split_then_unmap_inside_one_2m_range(deposit: bool) -> None:
    """munmap of 3 pages inside 2 MiB range 7 (``pmd_first``): the PUD mapping becomes 512
    PMD mappings, range 7 becomes 512 PTEs, 3 of which go: 511 PMD + 509 PTE mappings. One
    PMD and one PTE table, from the deposit (513 → 511) or newly allocated; 3 frames
    freed; 511 × 2 MiB + 509 × 4 KiB resident."""
    translator, mappings, _ = _one_gib_thp(deposit, "pmd_first")
    free = translator.memory.free_frames(0)
    tables = translator.level_tables.copy()
    mappings.apply(MemoryEvent(0, "munmap", 0, BASE + 7 * 2 * MIB + 10 * 4096, 3 * 4096))
    assert _live(translator) == [0, 0, 511, 509]
    assert (translator.level_tables - tables).tolist() == [0, 0, 1, 1]
    assert translator.counts[C.DEPOSIT_TABLES] == (511 if deposit else 0)
    assert translator.memory.free_frames(0) == free + 3 - (0 if deposit else 2)
    assert _resident(translator, SIZE_2M) == 511 * 2 * MIB
    assert _resident(translator, SIZE_4K) == 509 * 4096
    assert _resident(translator, SIZE_1G) == 0
    assert translator.counts[C.SPLITS_BY_SIZE + SIZE_1G] == 1
    assert translator.counts[C.SPLITS_BY_SIZE + SIZE_2M] == 1
    assert len(translator.mapped_vmas) == 2
    # The split pages still translate: an access to a kept page of range 7 walks to a PTE.
    _touch(translator, [BASE + 7 * 2 * MIB, BASE + 9 * 2 * MIB])
    assert translator.folio_size_at(0, BASE + 7 * 2 * MIB) == "4K"
    assert translator.folio_size_at(0, BASE + 9 * 2 * MIB) == "2M"
    assert translator.counts[C.FAULTS] == 1


def test_munmap_of_a_whole_1g_thp_gives_everything_back() -> None:
    """Unmapping the whole THP frees its frames, its 513 deposited tables and the PUD table
    (nothing else is mapped below the PGD entry); the PGD stays with the process."""
    translator, mappings, free = _one_gib_thp(True, "full")
    mappings.apply(MemoryEvent(0, "munmap", 0, BASE, GIB))
    assert _live(translator) == [0, 0, 0, 0]
    assert translator.level_tables.tolist() == [1, 0, 0, 0]
    assert translator.counts[C.DEPOSIT_TABLES] == 0
    assert translator.memory.free_frames(0) == free - 1
    assert _resident(translator, SIZE_1G) == 0
    assert translator.counts[C.THP_SPLITS] == 0
    assert translator.mapped_vmas == []


def test_base_pages_unmapped_and_dropped() -> None:
    """4 KiB pages over 4 MiB: all 512 pages of the first 2 MiB and one of the second are
    touched. munmap of the first 2 MiB frees 512 frames and its PTE table (the VMA left
    starts where the table's span ends); MADV_DONTNEED of the rest frees the last frame but
    keeps the table, and touching the page again faults a new one in."""
    translator, mappings, free = _setup({}, vma_bytes=4 * MIB)
    _touch(translator, [BASE + page * 4096 for page in range(512)] + [BASE + 2 * MIB])
    assert translator.level_tables.tolist() == [1, 1, 1, 2]
    assert translator.memory.free_frames(0) == free - 513 - 5
    mappings.apply(MemoryEvent(0, "munmap", 0, BASE, 2 * MIB))
    assert translator.level_tables.tolist() == [1, 1, 1, 1]
    assert translator.memory.free_frames(0) == free - 1 - 4
    assert _live(translator) == [0, 0, 0, 1]
    assert translator.counts[C.TOUCHED_PAGES] == 1
    mappings.apply(MemoryEvent(0, "madvise_dontneed", 0, BASE + 2 * MIB, 2 * MIB))
    assert translator.level_tables.tolist() == [1, 1, 1, 1]
    assert translator.memory.free_frames(0) == free - 4
    assert translator.counts[C.TOUCHED_PAGES] == 0 and _resident(translator, SIZE_4K) == 0
    _touch(translator, [BASE + 2 * MIB])
    assert translator.counts[C.FAULTS] == 514 and _resident(translator, SIZE_4K) == 4096
    assert translator.counts[C.TLB_SHOOTDOWNS] == 2


def test_partly_unmapped_mthp_splits_into_base_pages() -> None:
    """A 64 KiB mTHP (16 PTEs) loses one page: it splits into 4 KiB folios, the unmapped
    one is freed and 15 stay."""
    translator, mappings, _ = _setup({"thp": "always", "thp_sizes": ["64K"]}, vma_bytes=2 * MIB)
    _touch(translator, [BASE])
    assert _resident(translator, SIZE_64K) == 64 << 10 and _live(translator)[PTE] == 16
    free = translator.memory.free_frames(0)
    mappings.apply(MemoryEvent(0, "madvise_dontneed", 0, BASE + 3 * 4096, 4096))
    assert _resident(translator, SIZE_64K) == 0
    assert _resident(translator, SIZE_4K) == 15 * 4096
    assert translator.memory.free_frames(0) == free + 1
    assert _live(translator)[PTE] == 15
    assert translator.counts[C.SPLITS_BY_SIZE + SIZE_64K] == 1


def _events_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return {
        "workload": workload,
        "machine": {"tiers": [TIER]},
        "policy": {"thp": "always", "thp_sizes": ["2M"], "thp_split": "pmd_first"},
        "controls": {"epoch_accesses": 5_000},
    }


GENERATOR = {
    "name": "uniform",
    "size_bytes": 16 * MIB,
    "accesses": 20_000,
    "events": [
        {"kind": "mprotect", "at_access": 5_000, "offset_bytes": MIB, "size_bytes": 3 * MIB},
        {"kind": "madvise_dontneed", "at_access": 12_345, "offset_bytes": 0, "size_bytes": 5 * MIB},
        {"kind": "madvise_collapse", "at_access": 15_000, "offset_bytes": 0, "size_bytes": 4 * MIB},
        {"kind": "munmap", "at_access": 20_000, "offset_bytes": 4096, "size_bytes": 2 * MIB},
    ],
}


@pytest.mark.parametrize("trace_format", ["text", "lackey"])
def test_events_in_a_trace_file_and_in_a_generator_give_the_same_result(
    tmp_path: Path, trace_format: str
) -> None:
    """The generator's accesses written as a trace, with its events as event lines at the
    same places and its VMA declared: the two runs agree in every metric."""
    spec = load_spec(_events_spec({"generator": GENERATOR}))
    workload = build_workload(spec.workload, seed=0, base_dir=None)
    (vma,) = workload.vmas or []
    lines = []
    for chunk in workload.chunks(1 << 20):
        events = list(chunk.events)
        for index in range(len(chunk) + 1):
            while events and events[0].index == index:
                event = events.pop(0)
                lines.append(f"{event.kind} {event.start:#x} {event.size_bytes:#x}")
            if index < len(chunk):
                kind = "S" if chunk.kind[index] == 1 else "L"
                address = int(chunk.address[index])
                text = (
                    f"{address:#x} {kind}" if trace_format == "text" else f" {kind} {address:x},8"
                )
                lines.append(text)
    (tmp_path / "t.txt").write_text("\n".join(lines) + "\n")
    declared = [{"start": vma.start, "size_bytes": vma.size_bytes}]
    trace = {"trace": {"path": "t.txt", "format": trace_format, "vmas": declared}}
    from_trace = simulate(load_spec(_events_spec(trace)), base_dir=tmp_path)
    from_generator = simulate(spec)
    assert from_generator.summary["events_munmap"] == 1
    assert from_generator.summary["events_madvise_dontneed"] == 1
    # Splits: the mprotect's edge at 1M (4M is 2M-aligned), the MADV_DONTNEED's at 5M, and
    # the munmap's at 2M + 4K (its 2 MiB range faulted a THP again after being dropped).
    assert from_generator.summary["thp_splits_2m"] == 3
    assert from_generator.summary["tlb_shootdowns"] == 3
    assert from_trace.summary == from_generator.summary
    assert from_trace.series == from_generator.series


def test_events_are_deterministic_and_change_the_result() -> None:
    first = simulate(load_spec(_events_spec({"generator": GENERATOR})))
    again = simulate(load_spec(_events_spec({"generator": GENERATOR})))
    assert first.summary == again.summary
    quiet = simulate(load_spec(_events_spec({"generator": {**GENERATOR, "events": []}})))
    assert quiet.summary["thp_splits"] == 0
    assert first.summary["resident_bytes"] < quiet.summary["resident_bytes"]


@pytest.mark.parametrize(
    ("event", "field", "words"),
    [
        ({"vma": "heap"}, "workload.generator.events.0.vma", "no VMA named 'heap'"),
        ({"offset_bytes": 15 * MIB}, "workload.generator.events.0.size_bytes", "ends beyond"),
        ({"at_access": 20_001}, "workload.generator.events", "beyond the run's 20000 accesses"),
        ({"kind": "munmap", "at_access": 9}, "workload.generator.events", "after its last access"),
    ],
)
def test_bad_events_are_refused_naming_the_field(
    event: dict[str, Any], field: str, words: str
) -> None:
    bad = {"kind": "madvise_dontneed", "at_access": 10, "size_bytes": 2 * MIB, **event}
    with pytest.raises(SpecError) as caught:
        load_spec(_events_spec({"generator": {**GENERATOR, "events": [bad]}}))
    assert caught.value.field == field
    assert words in str(caught.value)


@pytest.mark.parametrize("seed", range(6))
def test_random_events_keep_every_count_balanced(seed: int) -> None:
    """Random mprotects and MADV_DONTNEEDs between accesses, then munmaps, over THPs of
    mixed sizes on one or two tiers: afterwards resident bytes equal the movable frames in
    use on each tier, the unmovable frames taken equal the page tables plus deposits, and
    the live-mapping counts equal the leaf entries in the tables."""
    rng = np.random.default_rng(seed)
    tier_b = {**TIER, "name": "slow", "idle_latency_ns": 300.0}
    tiers = [TIER, tier_b] if seed % 3 == 0 else [TIER]
    policy: dict[str, Any] = {
        "thp": "always",
        "thp_sizes": [["2M"], ["1G"], ["64K", "2M"], ["1G", "2M", "64K"]][seed % 4],
        "thp_split": ["full", "pmd_first"][seed % 2],
        "thp_deposit": seed != 5,
    }
    if len(tiers) > 1:
        policy["tiering"] = {"name": "interleave", "weights": [1, 1]}
    size = [GIB, 2 * GIB, 64 * MIB][seed % 3]
    generator = {"name": "uniform", "size_bytes": size, "accesses": 60_000, "align_bytes": GIB}
    spec = load_spec({"workload": {"generator": generator}, "machine": {"tiers": tiers},
                      "policy": policy})  # fmt: skip
    machine, plan = check_spec(spec)
    memory = physical_memory(machine, plan, spec.policy, seed=0)
    unmovable = [memory.used_frames(node)["unmovable"] for node in range(len(tiers))]
    workload = build_workload(spec.workload, seed=seed, base_dir=None)
    translator = Translator(machine, plan, workload.vmas or [], spec.policy, memory)
    if len(tiers) > 1:
        tiering = Tiers(translator, machine.tiers, spec.policy.migration_cost)
        translator.placement = make_policy(spec.policy.tiering, tiering, seed=0).placement()
    mappings = Mappings(translator, full_split=spec.policy.thp_split == "full")
    start = (workload.vmas or [])[0].start
    lengths = [4096, 3 * 4096, 2 * MIB, 5 * MIB + 4096, 300 * MIB]
    for chunk in workload.chunks(1 << 20):
        position = 0
        while position < len(chunk):
            end = min(len(chunk), position + int(rng.integers(1_000, 15_000)))
            translator.run(chunk, position, end)
            position = end
            kind: EventKind = "mprotect" if rng.random() < 0.4 else "madvise_dontneed"
            offset = int(rng.integers(0, size // 4096)) * 4096
            length = min(lengths[int(rng.integers(0, len(lengths)))], size - offset)
            mappings.apply(MemoryEvent(0, kind, 0, start + offset, length))
    for length in (4096, 2 * MIB + 8192, 700 * MIB):
        offset = int(rng.integers(0, size // 4096)) * 4096
        mappings.apply(MemoryEvent(0, "munmap", 0, start + offset, min(length, size - offset)))
    counts = translator.counts
    for node in range(len(tiers)):
        movable = memory.used_frames(node)["movable"]
        assert counts[C.TIER_RESIDENT_BYTES + node] == movable * 4096
    resident = sum(int(counts[C.RESIDENT_BYTES + size_id]) for size_id in range(C.SIZES))
    assert resident == sum(int(counts[C.TIER_RESIDENT_BYTES + n]) for n in range(len(tiers)))
    taken = sum(memory.used_frames(n)["unmovable"] - unmovable[n] for n in range(len(tiers)))
    assert taken == translator.level_tables.sum() + counts[C.DEPOSIT_TABLES]
    pte_leaves = np.count_nonzero(translator.ptes[: int(translator.state[1]) << 9] & 3 == 2)
    upper_leaves = np.count_nonzero(translator.upper[: int(translator.state[0]) << 9] & 3 == 2)
    assert counts[C.LIVE_MAPPINGS + PTE] == pte_leaves
    assert counts[C.LIVE_MAPPINGS + PUD] + counts[C.LIVE_MAPPINGS + PMD] == upper_leaves


@pytest.mark.parametrize("trace_format", ["text", "lackey"])
def test_a_malformed_event_line_is_refused_naming_its_line(
    tmp_path: Path, trace_format: str
) -> None:
    access = "0x1000 L" if trace_format == "text" else " L 1000,8"
    (tmp_path / "t.txt").write_text(f"{access}\nmunmap 0x1000\n{access}\n")
    spec = load_spec({"workload": {"trace": {"path": "t.txt", "format": trace_format}}})
    with pytest.raises(TraceError) as caught:
        simulate(spec, base_dir=tmp_path)
    assert caught.value.location == "line 2"
    assert "expected 'munmap START SIZE'" in str(caught.value)


def test_a_pmd_first_split_reports_the_2m_parts_of_a_1g_thp() -> None:
    """With only 1G THPs enabled, a pmd_first split leaves 2 MiB folios: they count in
    resident bytes, per size, and their own splits are reported."""
    generator = {"name": "uniform", "size_bytes": GIB, "accesses": 2_000, "align_bytes": GIB,
                 "events": [{"kind": "madvise_dontneed", "at_access": 1_000,
                             "offset_bytes": 4096, "size_bytes": 4096}]}  # fmt: skip
    result = simulate(load_spec({
        "workload": {"generator": generator},
        "machine": {"tiers": [TIER]},
        "policy": {"thp": "always", "thp_sizes": ["1G"], "thp_split": "pmd_first"},
    }))  # fmt: skip
    summary = result.summary
    assert summary["thp_splits_1g"] == 1 and summary["thp_splits_2m"] == 1
    assert summary["resident_bytes_2m"] == 511 * 2 * MIB
    assert summary["resident_bytes"] == summary["resident_bytes_dram"]
    assert summary["resident_bytes"] == GIB - 4096 + (4096 if summary["faults"] == 2 else 0)


def test_an_event_on_shared_memory_is_refused() -> None:
    """Unmapping or dropping a shared object's pages would leave its frames to the other
    processes; not modelled, so refused up front."""
    generator = {"name": "shared", "processes": 2, "shared_bytes": 4 * MIB,
                 "private_bytes": 4 * MIB, "accesses": 1_000,
                 "events": [{"kind": "madvise_dontneed", "at_access": 10, "vma": "shared",
                             "size_bytes": 4096}]}  # fmt: skip
    with pytest.raises(SpecError) as caught:
        load_spec({"workload": {"generator": generator}})
    assert caught.value.field == "workload.generator.events.0.vma"
    assert "shared object" in str(caught.value)


def test_madvise_collapse_makes_thps_of_the_2m_ranges_inside_the_range() -> None:
    """THP off, 4 KiB pages over 6 MiB: 5 pages of range 0, 3 of range 1 and 2 of range 2
    touched. MADV_COLLAPSE of [0, 4 MiB + 4 KiB) collapses ranges 0 and 1 (range 2 is not
    inside it): 1024 frames taken, 8 freed, 8 pages copied and 1016 cleared; the two PTE
    tables become deposits; one shootdown."""
    translator, mappings, _ = _setup({}, vma_bytes=6 * MIB)
    touched = [0, 1, 2, 3, 4, 512, 513, 514, 1024, 1025]
    _touch(translator, [BASE + page * 4096 for page in touched])
    free = translator.memory.free_frames(0)
    tables = translator.level_tables.copy()
    mappings.apply(MemoryEvent(0, "madvise_collapse", 0, BASE, 4 * MIB + 4096))
    counts = translator.counts
    assert counts[C.THP_COLLAPSES] == 2 and counts[C.THP_COLLAPSE_FAILURES] == 0
    assert _live(translator) == [0, 0, 2, 2]
    assert _resident(translator, SIZE_2M) == 4 * MIB and _resident(translator, SIZE_4K) == 8192
    assert (translator.level_tables - tables).tolist() == [0, 0, 0, -2]
    assert counts[C.DEPOSIT_TABLES] == 2
    assert translator.memory.free_frames(0) == free - 1024 + 8
    assert counts[C.COLLAPSE_PAGES_COPIED] == 8 and counts[C.COLLAPSE_PAGES_ZEROED] == 1016
    assert counts[C.TLB_SHOOTDOWNS] == 1 and counts[C.EVENTS + 3] == 1
    assert translator.folio_size_at(0, BASE + 4096) == "2M"
