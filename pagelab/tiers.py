"""The run's memory tiers as a tiering policy sees and changes them.

``Tiers`` sits between a policy (``pagelab.policies``) and the simulator's state: it finds
pages, reports each tier's use, and moves folios (``migrate``) with the cost charged, the
TLB shot down and every per-tier count kept right. Pages are named by (region row, 4 KiB
page) pairs, the rows of ``Translator``'s region table.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from pagelab._kernels import access, migration, regions
from pagelab._kernels import counters as C
from pagelab.machine import Tier
from pagelab.memory.layout import N_WMARK_HIGH, N_WMARK_MIN
from pagelab.spec import MigrationCostSpec
from pagelab.translation import Translator

I64 = npt.NDArray[np.int64]


@dataclass
class MigrationTotals:
    """What migration did so far (cumulative)."""

    folios: int = 0
    promoted_bytes: int = 0
    demoted_bytes: int = 0
    no_room: int = 0
    refused_1g: int = 0
    split_1g: int = 0
    refused_shared: int = 0  # pages of shared objects, which stay where they are
    ns: float = 0.0  # time the moves took
    stall_ns: float = 0.0  # of that, moves the application waited for (a hint fault's)

    def minus(self, earlier: MigrationTotals) -> MigrationTotals:
        return MigrationTotals(
            *(getattr(self, f.name) - getattr(earlier, f.name) for f in fields(self))
        )


class Tiers:
    """Per-tier view and migration for one run."""

    def __init__(
        self,
        translator: Translator,
        machine_tiers: tuple[Tier, ...],
        cost: MigrationCostSpec,
        *,
        charge: bool = True,
        split_1g: bool = False,
    ) -> None:
        """``split_1g``: a 1 GiB THP is split into 2 MiB ones to migrate (``policy.
        thp_1g_migration: split``), else it stays (``block``)."""
        self.split_1g = split_1g
        self.translator = translator
        self.memory = translator.memory
        self.machine_tiers = machine_tiers
        self.cost = cost
        self.charge = charge
        self.totals = MigrationTotals()
        self._out = np.zeros(migration.OUT_WIDTH, dtype=np.int64)
        self.last_epoch_memory_ns_per_access: float | None = None
        """The last closed epoch's memory time per memory access (set by the simulator)."""

    @property
    def count(self) -> int:
        return len(self.machine_tiers)

    # -- what a policy reads ------------------------------------------------------------------

    def capacity_bytes(self, node: int) -> int:
        return self.memory.node_frames(node) << self.memory.granule_shift

    def free_bytes(self, node: int) -> int:
        return self.memory.free_frames(node) << self.memory.granule_shift

    def room_bytes(self, node: int) -> int:
        """Free bytes above the node's high watermark: what migration may fill."""
        return self._free_above(node, N_WMARK_HIGH)

    def room_above_min_bytes(self, node: int) -> int:
        """Free bytes above the node's min watermark: what an allocation that may neither
        reclaim nor dip into reserves takes (GFP_NOWAIT, as DAMOS migration allocates)."""
        return self._free_above(node, N_WMARK_MIN)

    def _free_above(self, node: int, mark_column: int) -> int:
        mark = int(self.memory.nodes[node, mark_column])
        return max(0, self.memory.free_frames(node) - mark) << self.memory.granule_shift

    def resident_bytes(self, node: int) -> int:
        """The workload's bytes on ``node``."""
        return int(self.translator.counts[C.TIER_RESIDENT_BYTES + node])

    def rows_pages(self, keys: I64) -> I64:
        """(row, page) of each page key ``pid << 36 | 4 KiB page number``; row -1 where the
        page's region was never touched."""
        t = self.translator
        out = np.empty((keys.shape[0], 2), dtype=np.int64)
        out[:, 1] = keys & 511
        out[:, 0] = regions.find_rows(t.hash_keys, t.hash_rows, keys >> 9)
        return out

    def touched_pages(self, node: int) -> I64:
        """(row, page) of every touched 4 KiB page held by ``node``, in row order."""
        t = self.translator
        return _pages(self._touched() & (tier_table(t.row_tiers, t.rows_used) == node))

    def all_touched_pages(self) -> I64:
        """(row, page) of every touched 4 KiB page, in row order."""
        return _pages(self._touched())

    def region_tiers(self) -> I64 | None:
        """Per region row, the tier holding most of its touched pages (ties: the faster);
        None with a single tier."""
        if self.count == 1:
            return None
        t = self.translator
        touched = self._touched()
        table = tier_table(t.row_tiers, t.rows_used)
        held = np.stack([((table == n) & touched).sum(axis=1) for n in range(self.count)])
        return held.argmax(axis=0).astype(np.int64)

    def _touched(self) -> npt.NDArray[np.bool_]:
        """Which 4 KiB pages of every region row in use were touched, as (rows, 512)."""
        t = self.translator
        return self._bits(t.row_touched, np.arange(t.rows_used))

    def tiers_of(self, pages: I64) -> npt.NDArray[np.uint8]:
        """The tier holding each (row, page)."""
        table = tier_table(self.translator.row_tiers, self.translator.rows_used)
        return table[pages[:, 0], pages[:, 1]]

    def interleave_nodes(self, pages: I64, weights: list[int]) -> I64:
        """The node weighted interleave gives each 4 KiB page (its offset in its VMA, as
        ``weighted_interleave_nid`` with order 0)."""
        t = self.translator
        keys = t.row_keys[pages[:, 0]]
        pids = keys >> 27
        va = ((keys & ((1 << 27) - 1)) << regions.REGION_SHIFT) | (pages[:, 1] << 12)
        table = t.vmas.reshape(-1, access.VMA_WIDTH)
        pid_of_row = np.repeat(
            np.arange(t.pid_vmas.shape[0] // access.PID_WIDTH),
            t.pid_vmas.reshape(-1, access.PID_WIDTH)[:, access.PID_VMA_COUNT],
        )
        starts = (pid_of_row << 48) | table[:, access.VMA_START]
        vma_start = table[np.searchsorted(starts, (pids << 48) | va, side="right") - 1,
                          access.VMA_START]  # fmt: skip
        ilx = (vma_start >> 12) + ((va - vma_start) >> 12)
        bounds = np.cumsum(weights)
        return np.searchsorted(bounds, ilx % bounds[-1], side="right").astype(np.int64)

    def _bits(self, words: I64, rows: I64) -> npt.NDArray[np.bool_]:
        """A per-page bitmap (``WORDS_PER_REGION`` words per row) of ``rows`` as (rows, 512)."""
        per = regions.WORDS_PER_REGION
        picked = words[: self.translator.rows_used * per].reshape(-1, per)[rows]
        bits = np.unpackbits(picked.view(np.uint8), axis=1, bitorder="little")
        return bits.astype(bool)

    def slow_touched_mask(self, rows: I64) -> npt.NDArray[np.bool_]:
        """Which pages of ``rows`` are touched and held by a tier other than the first."""
        t = self.translator
        tiers = tier_table(t.row_tiers, t.rows_used)[rows]
        return self._bits(t.row_touched, rows) & (tiers != 0)

    def mark_hint(self, rows: I64, mask: npt.NDArray[np.bool_]) -> None:
        """Make the pages ``mask`` selects in ``rows`` inaccessible (a NUMA hint fault on the
        next walk to each), and flush the TLB so the next access walks."""
        if rows.shape[0] == 0:
            return
        t = self.translator
        per = regions.WORDS_PER_REGION
        words = np.packbits(mask, axis=1, bitorder="little").view(np.int64)
        hint = t.row_hint[: t.rows_used * per].reshape(-1, per)
        hint[rows] |= words
        t.flush_tlb()

    def take_hints(self) -> I64:
        """The (row, page) of each hint fault recorded since the last call."""
        t = self.translator
        used = int(t.state[C.STATE_HINTS_USED])
        pairs = t.hints[: 2 * used].reshape(-1, 2).copy()
        t.state[C.STATE_HINTS_USED] = 0
        return pairs

    def clock_victims(self, node: int, need_bytes: int, cursor: int) -> tuple[I64, int]:
        """Pages of ``node`` to demote, in CLOCK order from ``cursor``: a page whose accessed
        bit is set is passed over and its bit cleared (a second chance). Returns the pages
        (about ``need_bytes`` of them) and the next cursor."""
        t = self.translator
        pages = self.touched_pages(node)
        if pages.shape[0] == 0:
            return pages, 0
        start = cursor % pages.shape[0]
        order = np.concatenate((pages[start:], pages[:start]))
        words = t.row_young[(order[:, 0] << 3) + (order[:, 1] >> 6)]
        young = ((words >> (order[:, 1] & 63)) & 1).astype(bool)
        cold = np.flatnonzero(~young)[: max(1, need_bytes >> 12)]
        last = int(cold[-1]) + 1 if cold.shape[0] else order.shape[0]
        passed = order[:last][young[:last]]
        words = (passed[:, 0] << 3) + (passed[:, 1] >> 6)
        np.bitwise_and.at(t.row_young, words, ~(np.int64(1) << (passed[:, 1] & 63)))
        return order[cold], (start + last) % pages.shape[0]

    def tier_of(self, row: int, page: int) -> int:
        return int(regions.tier_of(self.translator.row_tiers, row, page))

    # -- what a policy does -------------------------------------------------------------------

    def migrate(
        self,
        candidates: I64,
        dest: int,
        limit_bytes: int | None = None,
        *,
        stalls_application: bool = False,
    ) -> int:
        """Move the folios holding ``candidates`` ((row, page) rows, in priority order) to
        ``dest`` until ``limit_bytes``; returns the bytes moved. ``stalls_application``: the
        faulting task does the move (a hint fault's promotion), not a kernel thread."""
        if candidates.shape[0] == 0:
            return 0
        t = self.translator
        out = self._out
        out[:] = 0
        limit = np.iinfo(np.int64).max if limit_bytes is None else int(limit_bytes)
        migration.migrate(
            np.ascontiguousarray(candidates, dtype=np.int64), dest, limit,
            t.plan.geometry.granule_shift, t.upper, t.ptes, t.roots, t.level_shift,
            t.plan.geometry.fanout_bits, t.row_keys, t.row_tiers, t.hash_keys, t.hash_rows,
            *self.memory.arrays, t.counts, out, self.split_1g, t.shape, t.state[0:2],
            t.level_tables, t.vmas, t.pid_vmas,
        )  # fmt: skip
        totals = self.totals
        totals.promoted_bytes += int(out[migration.OUT_PROMOTED_BYTES])
        totals.demoted_bytes += int(out[migration.OUT_DEMOTED_BYTES])
        totals.no_room += int(out[migration.OUT_NO_ROOM])
        totals.refused_1g += int(out[migration.OUT_REFUSED_1G])
        totals.split_1g += int(out[migration.OUT_SPLIT_1G])
        totals.refused_shared += int(out[migration.OUT_REFUSED_SHARED])
        folios = int(out[migration.OUT_FOLIOS])
        moved = int(out[migration.OUT_BYTES])
        if folios:
            totals.folios += folios
            if self.charge:
                ns = self.cost.ns(folios, moved)
                totals.ns += ns
                if stalls_application:
                    totals.stall_ns += ns
            # The moved translations are stale in every TLB: one batched flush.
            t.flush_tlb()
        return moved

    def place_hottest(self, keys: I64) -> None:
        """Put the pages ``keys`` names (hottest first) on the fastest tiers they fit,
        demoting the pages in the way that are not among them (the oracle's move)."""
        pages = self.rows_pages(keys)
        pages = pages[pages[:, 0] >= 0]
        for node in range(self.count - 1):
            room = self.room_bytes(node) + self.resident_bytes(node)
            fits = min(pages.shape[0], room >> 12)
            hot, pages = pages[:fits], pages[fits:]
            resident = self.touched_pages(node)
            in_hot = np.isin(resident[:, 0] << 9 | resident[:, 1], hot[:, 0] << 9 | hot[:, 1])
            table = tier_table(self.translator.row_tiers, self.translator.rows_used)
            missing = int(np.count_nonzero(table[hot[:, 0], hot[:, 1]] != node))
            need = max(0, (missing << 12) - self.room_bytes(node))
            if need:
                self.migrate(resident[~in_hot], node + 1, need)
            self.migrate(hot, node)


def _pages(mask: npt.NDArray[np.bool_]) -> I64:
    """(row, page) of every set cell of a (rows, 512) page table, in row order."""
    rows, pages = np.nonzero(mask)
    return np.stack((rows, pages), axis=1).astype(np.int64)


def tier_table(row_tiers: I64, rows: int) -> npt.NDArray[np.uint8]:
    """The tier of every page of the first ``rows`` region rows, as a (rows, 512) table (all
    0 when the run keeps no tiers: it has one)."""
    if not row_tiers.size:
        return np.zeros((rows, 512), dtype=np.uint8)
    words = row_tiers[: rows * regions.TIER_WORDS_PER_REGION].view(np.uint64)
    shifts = np.arange(0, 64, 2, dtype=np.uint64)
    fields = (words[:, None] >> shifts[None, :]) & np.uint64(3)
    return fields.reshape(rows, 512).astype(np.uint8)
