"""``tpp``: NUMA balancing in memory-tiering mode (``kernel.numa_balancing=2``) with
demotion on, as Linux does it (kernel/sched/fair.c, mm/migrate.c, mm/vmscan.c).

- **Scanning**: every scan period the task's slow-tier pages, ``scan_size_mb`` of them per
  pass (at most 8× that of address space), have their PTEs made inaccessible (the TLB is
  flushed); top-tier pages are skipped, as in tiering mode. The scan time is recorded per
  2 MiB region (the kernel keeps it per folio). The period is ``task_scan_min``:
  ``max(100 ms, scan_period_min_ms / ⌈RSS / 256 MiB⌉)``.
- **Hint faults**: the next page walk to such a page takes a hint fault (charged as a fault
  entry). A slow-tier page is promoted at once when the fast node has free space above
  ``promo watermark + max(1 GiB, present/16)``; otherwise only if its hint-fault latency
  (fault time − scan time) is below the hot threshold, and while the promotion candidates of
  the current 1 s window stay under the rate limit. The threshold starts at
  ``hot_threshold_ms`` and moves by 2·ref/16 once per 60 s: down when candidates exceeded
  1.1× the rate limit's worth, up when under 0.9×, within [ref/8, 2·ref].
- **Promotion** migrates in the faulting task (the application waits for it) and needs the
  fast node's free memory above its high watermark; when it has none, kswapd is woken.
- **Demotion**: kswapd, woken when the fast node falls below its low watermark or a
  promotion found no room, demotes until free memory reaches the promo watermark, taking
  pages in CLOCK order over the fast tier: a page whose accessed bit is set gets a second
  chance (the bit is cleared), others are demoted to the next tier. Over one batch of hint
  faults kswapd makes the room the batch's promotions need, as far as one thread can:
  it demotes at most the time since the last batch over one 4 KiB migration's cost.

Simplifications: hint faults are handled in batches every ``hint_batch_us`` of simulated
time, with that moment as their fault time; the scan period does not adapt (tiering-mode
faults do not feed the adaptation); a huge page counts as one candidate page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from pagelab._kernels import access, regions
from pagelab._kernels import counters as C
from pagelab.memory.layout import N_WMARK_LOW, N_WMARK_PROMO
from pagelab.policies.base import NAME_DESCRIPTION, PolicySpecBase, TieringPolicy

if TYPE_CHECKING:
    from pagelab.tiers import Tiers

MS = 1_000_000.0  # ns
WINDOW_NS = 1000 * MS  # the rate limit's window
ADJUST_PERIOD_NS = 60_000 * MS  # scan_period_max: how often the threshold moves
MIN_SCAN_PERIOD_MS = 100.0  # 1000 ms / (MAX_SCAN_WINDOW 2560 MB/s / 256 MB)


class TppSpec(PolicySpecBase):
    """NUMA-balancing tiering (TPP): hint-fault sampling, promotion of pages found hot,
    promotion rate limit, and kswapd demotion keeping a free watermark on the fast tier."""

    name: Literal["tpp"] = Field(default="tpp", description=NAME_DESCRIPTION)
    scan_size_mb: int = Field(
        default=256, ge=1, le=1 << 20, description="Slow-tier memory scanned per pass, in MiB."
    )
    scan_period_min_ms: float = Field(
        default=1000.0, ge=1.0, le=1e7, description="numa_balancing_scan_period_min_ms (ms)."
    )
    hot_threshold_ms: float = Field(
        default=1000.0, ge=1.0, le=1e7,
        description="Starting hint-fault latency below which a page is hot (ms).",
    )  # fmt: skip
    promote_rate_limit_mbps: float = Field(
        default=65536.0, gt=0.0, le=1e7,
        description="numa_balancing_promote_rate_limit_MBps (MB/s).",
    )  # fmt: skip
    hint_batch_us: float = Field(
        default=10_000.0, ge=1.0, le=1e7,
        description="How often pending hint faults are handled, in simulated µs.",
    )  # fmt: skip


class Tpp(TieringPolicy):
    def __init__(self, tiers: Tiers, spec: TppSpec) -> None:
        super().__init__(tiers)
        self.spec = spec
        self.threshold_ms = spec.hot_threshold_ms
        self.scan_ns = np.zeros(0, dtype=np.float64)  # per region row: last scan time
        self.cursor = 0
        self.next_scan_ns = spec.scan_period_min_ms * MS  # scan_delay: 1000 ms by default
        self.next_hints_ns = spec.hint_batch_us * 1000.0
        self.window_start_ns = 0.0
        self.window_candidates = 0
        self.period_start_ns = 0.0
        self.period_candidates = 0
        self.clock_cursor = 0
        self.last_batch_ns = 0.0
        self.kswapd_budget = 0
        self.rate_limit_pages = spec.promote_rate_limit_mbps * 1e6 / 4096

    @property
    def tracking(self) -> int:
        return access.TRACK_TIERS | access.TRACK_YOUNG | access.TRACK_HINTS

    def next_wake_ns(self) -> float:
        return min(self.next_scan_ns, self.next_hints_ns)

    def wake(self, now_ns: float) -> None:
        if now_ns >= self.next_scan_ns:
            self._scan(now_ns)
            self.next_scan_ns = now_ns + self._scan_period_ms() * MS
        if now_ns >= self.next_hints_ns:
            # kswapd is one thread: since the last batch it had time to demote this much.
            elapsed = now_ns - self.last_batch_ns
            self.kswapd_budget = int(elapsed / self.tiers.cost.ns(1, 4096)) * 4096
            self.last_batch_ns = now_ns
            self._handle_hints(now_ns)
            self._kswapd()
            self.next_hints_ns = now_ns + self.spec.hint_batch_us * 1000.0

    def _scan_period_ms(self) -> float:
        rss = sum(self.tiers.resident_bytes(n) for n in range(self.tiers.count))
        windows = max(1, -(-rss // (256 << 20)))
        return max(MIN_SCAN_PERIOD_MS, self.spec.scan_period_min_ms / windows)

    def _scan(self, now_ns: float) -> None:
        """Make up to scan_size of slow-tier pages inaccessible, from where the last pass
        stopped, visiting at most 8× that of address space."""
        t = self.tiers.translator
        used = t.rows_used
        if used == 0:
            return
        if self.scan_ns.shape[0] < used:
            self.scan_ns = np.concatenate((self.scan_ns, np.zeros(used - self.scan_ns.shape[0])))
        budget_pages = (self.spec.scan_size_mb << 20) >> 12
        max_rows = min(used, max(1, 8 * (self.spec.scan_size_mb << 20) >> regions.REGION_SHIFT))
        rows = (self.cursor + np.arange(max_rows)) % used
        slow = self.tiers.slow_touched_mask(rows)  # (rows, 512) bool
        per_row = slow.sum(axis=1)
        taken = int(np.searchsorted(np.cumsum(per_row), budget_pages, side="left")) + 1
        taken = min(taken, max_rows)
        self.tiers.mark_hint(rows[:taken], slow[:taken])
        self.scan_ns[rows[:taken]] = now_ns
        self.cursor = int((self.cursor + taken) % used)

    def _handle_hints(self, now_ns: float) -> None:
        pairs = self.tiers.take_hints()
        if pairs.shape[0] == 0:
            return
        pairs = pairs[self.tiers.tiers_of(pairs) != 0]
        if pairs.shape[0] == 0:
            return
        if now_ns - self.window_start_ns >= WINDOW_NS:
            self.window_start_ns = now_ns
            self.window_candidates = 0
        if self._free_space_enough():
            chosen = pairs
        else:
            self._adjust_threshold(now_ns)
            scanned = self.scan_ns[pairs[:, 0]] if self.scan_ns.shape[0] else np.zeros(0)
            hot = pairs[(now_ns - scanned) / MS < self.threshold_ms]
            room = max(0, int(self.rate_limit_pages) - self.window_candidates)
            chosen = hot[:room]
            self.window_candidates += hot.shape[0]
            self.period_candidates += hot.shape[0]
        if chosen.shape[0] == 0:
            return
        # A promotion that finds no room wakes kswapd, which demotes while promotions keep
        # failing: over a batch, it makes the room the batch's promotions need.
        self._demote(chosen.shape[0] * 4096 - self.tiers.room_bytes(0))
        self.tiers.migrate(chosen, 0, self.tiers.room_bytes(0), stalls_application=True)

    def _free_space_enough(self) -> bool:
        """``pgdat_free_space_enough``: free above promo + max(1 GiB, present / 16)."""
        memory = self.tiers.memory
        present = memory.node_frames(0)
        wanted = int(memory.nodes[0, N_WMARK_PROMO]) + max(
            (1 << 30) >> memory.granule_shift, present // 16
        )
        return memory.free_frames(0) >= wanted

    def _adjust_threshold(self, now_ns: float) -> None:
        """``numa_promotion_adjust_threshold``: at most once per 60 s."""
        if now_ns - self.period_start_ns < ADJUST_PERIOD_NS:
            return
        reference = self.spec.hot_threshold_ms
        unit = 2 * reference / 16
        expected = self.rate_limit_pages * 60
        if self.period_candidates > 1.1 * expected:
            self.threshold_ms = max(self.threshold_ms - unit, unit)
        elif self.period_candidates < 0.9 * expected:
            self.threshold_ms = min(self.threshold_ms + unit, 2 * reference)
        self.period_start_ns = now_ns
        self.period_candidates = 0

    def _kswapd(self) -> None:
        """Woken below the low watermark: demote until free memory reaches promo."""
        memory = self.tiers.memory
        free = memory.free_frames(0)
        if free < int(memory.nodes[0, N_WMARK_LOW]):
            self._demote(0)

    def _demote(self, extra_bytes: int) -> None:
        """Demote from the fast tier until free memory is ``extra_bytes`` above the promo
        watermark."""
        memory = self.tiers.memory
        shortfall = int(memory.nodes[0, N_WMARK_PROMO]) - memory.free_frames(0)
        need = min((shortfall << memory.granule_shift) + max(0, extra_bytes), self.kswapd_budget)
        if need <= 0 or self.tiers.count < 2:
            return
        victims, self.clock_cursor = self.tiers.clock_victims(0, need, self.clock_cursor)
        self.kswapd_budget -= self.tiers.migrate(victims, 1, need)

    def tuned_values(self) -> dict[str, float]:
        counts = self.tiers.translator.counts
        return {
            "tpp_hot_threshold_ms": self.threshold_ms,
            "tpp_hint_faults_dropped": float(counts[C.HINTS_DROPPED]),
        }
