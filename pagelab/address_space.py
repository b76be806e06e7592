"""The VMAs a run maps: as the workload declares them, or inferred from a bare trace, and
which THP sizes each may get under the policy.

Inference rule (a trace without declared VMAs): each process's touched 4 KiB pages, with
runs less than ``INFER_GAP_BYTES`` apart joined, become anonymous VMAs from the first
touched page to the end of the last. Real address spaces are a few VMAs (code, heap,
libraries, stack) far apart; one VMA over the whole address space would let a huge page
map memory the program never had, so two accesses with 1 GiB THPs would make 2 GiB
resident.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from pagelab._kernels import extents, shared
from pagelab.errors import SpecError
from pagelab.paging import MappingPlan
from pagelab.spec import PolicySpec, Thp1gMinVma
from pagelab.units import PAGE_SIZES
from pagelab.workloads.base import AccessChunk, Vma

INFER_GAP_BYTES = 2 << 20
"""Touched pages closer than a PMD (2 MiB) belong to one inferred VMA: a sparse heap stays
one VMA, so THPs over it (and their bloat) are what Linux would give it."""
_PAGE_SHIFT = 12
_PID_SHIFT = 36  # a page number of a 48-bit address has 36 bits


def infer_vmas(chunks: Iterable[AccessChunk]) -> list[Vma]:
    """VMAs covering every touched page, by the module's rule; memory grows with the number
    of 2 MiB regions touched, not with the trace's length.

    Pages of one 2 MiB region are always less than ``INFER_GAP_BYTES`` apart, so the rule
    needs only each region's lowest and highest touched page (``_kernels.extents``).
    """
    keys = np.full(1024, -1, dtype=np.int64)
    lows = np.zeros_like(keys)
    highs = np.zeros_like(keys)
    used = 0
    for chunk in chunks:
        position = 0
        while position < len(chunk):
            position, used = extents.add_extents(
                chunk.address, chunk.pid, position, keys, lows, highs, used
            )
            if position < len(chunk):
                bigger = np.full(2 * keys.shape[0], -1, dtype=np.int64)
                bigger_lows, bigger_highs = np.zeros_like(bigger), np.zeros_like(bigger)
                extents.rehash(keys, lows, highs, bigger, bigger_lows, bigger_highs)
                keys, lows, highs = bigger, bigger_lows, bigger_highs
    taken = keys != -1
    # Pages with the pid above them, as region keys hold it: pid << 27 | va >> 21.
    pid_pages = (keys[taken] >> 27) << _PID_SHIFT
    starts, ends = _join(pid_pages | lows[taken], (pid_pages | highs[taken]) + 1,
                         INFER_GAP_BYTES >> _PAGE_SHIFT)  # fmt: skip
    vmas = []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        pid = start >> _PID_SHIFT
        first = (start & ((1 << _PID_SHIFT) - 1)) << _PAGE_SHIFT
        last = (end - 1 - (pid << _PID_SHIFT)) << _PAGE_SHIFT
        vmas.append(Vma(pid=pid, start=first, size_bytes=last + 4096 - first, name="inferred"))
    return vmas


def _join(starts: np.ndarray, ends: np.ndarray, gap_pages: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted, disjoint intervals: those closer than ``gap_pages`` (same pid) joined."""
    if not starts.size:
        return starts, ends
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    running_end = np.maximum.accumulate(ends)
    same_pid = (starts[1:] >> _PID_SHIFT) == (running_end[:-1] - 1) >> _PID_SHIFT
    new_run = np.concatenate(([True], ~same_pid | (starts[1:] - running_end[:-1] >= gap_pages)))
    run_of = np.cumsum(new_run) - 1
    joined_ends = np.zeros(int(run_of[-1]) + 1, dtype=np.int64)
    np.maximum.at(joined_ends, run_of, ends)
    return starts[new_run], joined_ends


@dataclass(frozen=True)
class MappedVma:
    """A VMA as the kernel maps it: whole granules, with the THP sizes it may get."""

    pid: int
    start: int
    end: int
    anonymous: bool
    direct_compaction: bool
    wakes_kcompactd: bool
    thp_size_ids: tuple[int, ...]
    may_collapse: bool = False
    """Anonymous and without MADV_NOHUGEPAGE: what MADV_COLLAPSE (access-aware THP) takes."""
    shared_object: str = ""


def granule_vmas(vmas: list[Vma], granule_bytes: int) -> list[Vma]:
    """``vmas`` grown to whole granules, as mmap() works; VMAs of one process that then share
    a granule (a trace recorded on a 4 KiB kernel, replayed on a 64 KiB one) merge, keeping
    the first one's backing and advice."""
    merged: list[Vma] = []
    for vma in sorted(vmas, key=lambda v: (v.pid, v.start)):
        start = vma.start // granule_bytes * granule_bytes
        end = -(-vma.end // granule_bytes) * granule_bytes
        last = merged[-1] if merged else None
        if last is not None and last.pid == vma.pid and start < last.end:
            end = max(end, last.end)
            merged[-1] = Vma(last.pid, last.start, end - last.start, last.backing,
                             last.thp_advice, last.name, last.shared_object)  # fmt: skip
            continue
        merged.append(Vma(vma.pid, start, end - start, vma.backing, vma.thp_advice, vma.name,
                          vma.shared_object))  # fmt: skip
    return merged


def _mode_allows(mode: str, advice: str) -> bool:
    """Linux's ``enabled`` / ``shmem_enabled`` values for one VMA's madvise() advice.

    ``within_size`` (shmem) allows what fits the file, and a shmem VMA here is its file.
    """
    if advice == "nohugepage" or mode == "never":
        return False
    if mode in ("madvise", "advise"):
        return advice == "hugepage"
    return True


def thp_size_ids(policy: PolicySpec, plan: MappingPlan, vma: Vma) -> tuple[int, ...]:
    """Folio size ids of the THP mapping kinds this VMA may get."""
    modes = {"anon": policy.anon_thp, "shmem": policy.thp_shmem, "file": policy.thp_file}
    mode = modes[vma.backing]
    allowed = []
    for kind in plan.kinds:
        if not kind.needs_thp:
            continue
        ok = _mode_allows(mode, vma.thp_advice)
        if kind.folio_size == "1G":
            ok = _allows_1g(policy, vma, ok)
        if ok:
            allowed.append(PAGE_SIZES.index(kind.folio_size))
    return tuple(allowed)


def _allows_1g(policy: PolicySpec, vma: Vma, inherited: bool) -> bool:
    rule = policy.thp_1g
    if isinstance(rule, Thp1gMinVma):
        return inherited and vma.size_bytes >= rule.min_vma_bytes
    if rule == "always":
        return vma.thp_advice != "nohugepage"
    if rule == "madvise":
        return vma.thp_advice == "hugepage"
    if rule == "shmem_only":
        return inherited and vma.backing == "shmem"
    return inherited


def defrag_actions(defrag: str, madv_hugepage: bool) -> tuple[bool, bool]:
    """What a THP fault that finds no free block does, by ``defrag`` mode and whether the
    VMA has MADV_HUGEPAGE (``vma_thp_gfp_mask``): (compacts directly, wakes kcompactd)."""
    if defrag == "always":
        return True, False
    if defrag == "defer":
        return False, True
    if defrag == "defer+madvise":
        return madv_hugepage, not madv_hugepage
    if defrag == "madvise":
        return madv_hugepage, False
    return False, False


def map_vmas(policy: PolicySpec, plan: MappingPlan, vmas: list[Vma]) -> list[MappedVma]:
    """Every VMA at the plan's granule with what the fault path needs to know of it."""
    mapped = []
    for vma in granule_vmas(vmas, plan.geometry.granule_bytes):
        direct, wakes = defrag_actions(policy.thp_defrag, vma.thp_advice == "hugepage")
        mapped.append(
            MappedVma(
                pid=vma.pid,
                start=vma.start,
                end=vma.end,
                anonymous=vma.backing == "anon",
                direct_compaction=direct,
                wakes_kcompactd=wakes,
                thp_size_ids=thp_size_ids(policy, plan, vma),
                may_collapse=vma.backing == "anon" and vma.thp_advice != "nohugepage",
                shared_object=vma.shared_object,
            )
        )
    return mapped


def shared_objects(
    vmas: list[MappedVma], policy: PolicySpec, top_entry_bytes: int
) -> dict[str, tuple[int, int, tuple[int, ...]]]:
    """Each shared object the VMAs map, by name (sorted): (the start of its first mapper
    by pid, its size: the largest of its VMAs, each mapping it from offset 0; the pids that
    map it).

    With ``policy.mshare`` an object is an mshare region: its processes share every table
    below the top level, so the ``top_entry_bytes`` spans (512 GiB on x86-64) it covers must
    hold nothing else of theirs, and every process must map it at the same start and size
    (one set of tables serves them all). A smaller object sits in its region at the address
    it was given; the rest of the region is empty.
    """
    by_name: dict[str, list[MappedVma]] = {}
    for vma in vmas:
        if vma.shared_object:
            if vma.anonymous:
                raise SpecError(f"shared object {vma.shared_object!r} is mapped by an "
                                "anonymous VMA; only shmem and file VMAs are shared")  # fmt: skip
            by_name.setdefault(vma.shared_object, []).append(vma)
    if len(by_name) > shared.MAX_OBJECTS:
        raise SpecError(f"{len(by_name)} shared objects; at most {shared.MAX_OBJECTS}")
    objects = {
        name: (
            min(mappers, key=lambda v: v.pid).start,
            max(v.end - v.start for v in mappers),
            tuple(sorted({v.pid for v in mappers})),
        )
        for name, mappers in sorted(by_name.items())
    }
    if policy.mshare and objects:
        _check_mshare_regions(vmas, by_name, top_entry_bytes)
    return objects


def _check_mshare_regions(
    vmas: list[MappedVma], by_name: dict[str, list[MappedVma]], top_entry_bytes: int
) -> None:
    span_owner: dict[tuple[int, int], str] = {}
    for name, mappers in by_name.items():
        if len({(v.start, v.end) for v in mappers}) > 1:
            raise SpecError(f"shared object {name!r} is mapped at different addresses or sizes; "
                            "mshare needs one region every process maps alike",
                            field="policy.mshare")  # fmt: skip
        for vma in mappers:
            for span in range(vma.start // top_entry_bytes, (vma.end - 1) // top_entry_bytes + 1):
                span_owner[(vma.pid, span)] = name
    for vma in vmas:
        for span in range(vma.start // top_entry_bytes, (vma.end - 1) // top_entry_bytes + 1):
            owner = span_owner.get((vma.pid, span))
            if owner is not None and owner != vma.shared_object:
                raise SpecError(
                    f"VMA {vma.start:#x}-{vma.end:#x} of pid {vma.pid} lies in the "
                    f"{top_entry_bytes >> 30} GiB-aligned mshare region of {owner!r}, whose "
                    "page tables below the top level are shared; keep other VMAs out of it",
                    field="policy.mshare",
                )
