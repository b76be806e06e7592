"""``damon``: DAMON's adaptive region monitoring with DAMOS migrate schemes, quotas and quota
goals, as mm/damon/{core,vaddr,ops-common}.c do it (reference: linux-tiering-policies.md
§1–3). The parameters and their simplifications are ``DamonSpec``'s
(``policies.damon_spec``); the kernel's arithmetic is in ``policies.damon_core``; the
per-sample and per-aggregation region work is compiled (``_kernels.damon``).

Each wake-up is one kdamond iteration: check the accesses of the sample that just ended,
merge at an aggregation boundary, apply the due schemes, then (at the boundary) tune the
intervals, reset the counts and split; finally prepare the next sample (a random address
per region, its accessed bit cleared).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from pagelab._kernels import access
from pagelab._kernels import damon as K
from pagelab.errors import SpecError
from pagelab.policies.base import TieringPolicy
from pagelab.policies.damon_core import (
    GOAL_BP,
    MAX_AGE_IN_LOG,
    MAX_SCORE,
    MAX_SUBSCORE,
    MIN_INPUT,
    PAGE_BYTES,
    ULONG_MAX,
    feed_loop_next_input,
    hot_score,
    initial_regions,
    three_regions,
)
from pagelab.policies.damon_spec import (
    UINT_MAX,
    AccessPatternSpec,
    DamonSpec,
    IntervalsGoalSpec,
    QuotaGoalSpec,
    QuotaSpec,
    SchemeSpec,
    YoungFilterSpec,
)

if TYPE_CHECKING:
    from pagelab.tiers import Tiers

I64 = npt.NDArray[np.int64]
__all__ = [
    "AccessPatternSpec",
    "Damon",
    "DamonSpec",
    "IntervalsGoalSpec",
    "QuotaGoalSpec",
    "QuotaSpec",
    "SchemeSpec",
    "YoungFilterSpec",
    "feed_loop_next_input",
    "hot_score",
    "initial_regions",
    "three_regions",
]


@dataclass
class QuotaWindow:
    """One finished charge window of a scheme: what it could charge and what it moved."""

    start_ns: float
    esz_bytes: int
    charged_bytes: int
    migrated_bytes: int


@dataclass
class _Scheme:
    """A scheme's resolved parameters and its run-time quota state (``struct damos``)."""

    label: str
    hot: bool
    dest: int
    pattern: AccessPatternSpec
    quota: QuotaSpec
    young_filter: int
    apply_interval_us: int
    next_apply_sis: int = 0
    esz: int = 0
    esz_bp: int = 0
    charged_sz: int = 0
    charged_from_ns: float = float("-inf")
    total_charged_sz: int = 0
    min_score: int = 0
    qt_exceeds: int = 0
    charge_target_from: int | None = None
    charge_addr_from: int = 0
    goal_score_bp: int = 0
    window_migrated: int = 0
    applied_bytes: int = 0  # this epoch so far
    epoch_applied_bytes: int = 0  # the last finished epoch
    blocked: bool = False  # a zero quota set by the temporal tuner: apply nothing
    windows: list[QuotaWindow] = field(default_factory=list)

    @property
    def has_quota(self) -> bool:
        return self.quota.sz_bytes > 0 or bool(self.quota.goals)


def _filter_code(young_filter: YoungFilterSpec | None) -> int:
    if young_filter is None:
        return K.FILTER_NONE
    if young_filter.matching:
        return K.FILTER_ALLOW_YOUNG if young_filter.allow else K.FILTER_REJECT_YOUNG
    return K.FILTER_ALLOW_OLD if young_filter.allow else K.FILTER_REJECT_OLD


def _labels(schemes: list[SchemeSpec]) -> list[str]:
    """``promote`` / ``demote`` by action, with the scheme's index when an action repeats."""
    bases = ["promote" if s.action == "migrate_hot" else "demote" for s in schemes]
    return [b if bases.count(b) == 1 else f"{b}_{i}" for i, b in enumerate(bases)]


class Damon(TieringPolicy):
    """DAMON vaddr monitoring and DAMOS migrate schemes; see ``DamonSpec`` for what is
    modelled and what is simplified."""

    def __init__(self, tiers: Tiers, spec: DamonSpec, seed: int = 0) -> None:
        super().__init__(tiers)
        self.spec = spec
        self.rng = np.random.default_rng(seed)
        self.ns_per_us = 1000.0 * spec.time_scale
        self.sample_us = spec.sample_us
        self.aggr_us = spec.aggr_us
        self.ops_update_us = spec.ops_update_us
        self.aggr_samples = max(spec.aggr_us // spec.sample_us, 1)
        self.intervals_goal = spec.resolved_intervals_goal()
        scheme_specs = spec.resolved_schemes()
        self.schemes = [
            _Scheme(
                label=label,
                hot=s.action == "migrate_hot",
                dest=s.target_tier,
                pattern=s.access_pattern,
                quota=s.quota,
                young_filter=_filter_code(s.young_filter),
                apply_interval_us=s.apply_interval_us,
            )
            for s, label in zip(scheme_specs, _labels(scheme_specs), strict=True)
        ]
        check_tiers(spec, tiers.count)

        spans = self._initial_table()
        self.n = spans.shape[0]
        self.table = np.zeros((max(2 * self.n, 3 * spec.max_nr_regions), K.R_WIDTH), np.int64)
        self.table[: self.n] = spans
        self._accessed = np.zeros(self.table.shape[0], dtype=np.bool_)
        total = int((spans[:, K.R_END] - spans[:, K.R_START]).sum())
        self.sz_limit = max(total // spec.min_nr_regions, PAGE_BYTES)  # damon_region_sz_limit
        self.last_nr_regions = 0  # kdamond_split_regions' static
        self._split_draws = np.zeros(0, dtype=np.int64)  # drawn, not yet used

        # kdamond_init_ctx: targets in samples.
        self.passed = 0
        self.next_aggregation_sis = self.aggr_us // self.sample_us
        self.next_ops_update_sis = self.ops_update_us // self.sample_us
        goal = self.intervals_goal
        self.next_tune_sis = self.aggr_samples * goal.aggrs if goal else 0
        for s in self.schemes:
            s.next_apply_sis = self._apply_interval_us(s) // self.sample_us
        self._prepare()
        self._next_wake_ns = self.sample_us * self.ns_per_us

    def _initial_table(self) -> I64:
        """Regions of every process, from its VMAs (``damon_va_init_regions``)."""
        table = self.tiers.translator.vmas.reshape(-1, access.VMA_WIDTH)
        pid_table = self.tiers.translator.pid_vmas.reshape(-1, access.PID_WIDTH)
        rows: list[tuple[int, int, int]] = []
        for pid in np.flatnonzero(pid_table[:, access.PID_VMA_COUNT]):
            first = int(pid_table[pid, access.PID_FIRST_VMA])
            count = int(pid_table[pid, access.PID_VMA_COUNT])
            vmas = [(int(v[access.VMA_START]), int(v[access.VMA_END]))
                    for v in table[first : first + count]]  # fmt: skip
            ranges = three_regions(vmas)
            rows.extend(
                (int(pid), a, b) for a, b in initial_regions(ranges, self.spec.min_nr_regions)
            )
        spans = np.zeros((len(rows), K.R_WIDTH), dtype=np.int64)
        if rows:
            spans[:, [K.R_TARGET, K.R_START, K.R_END]] = np.array(rows, dtype=np.int64)
        return spans

    # -- the clock ----------------------------------------------------------------------------

    @property
    def tracking(self) -> int:
        return access.TRACK_TIERS | access.TRACK_YOUNG

    def next_wake_ns(self) -> float:
        return self._next_wake_ns

    def _apply_interval_us(self, s: _Scheme) -> int:
        return s.apply_interval_us or self.aggr_us

    def wake(self, now_ns: float) -> None:
        """One kdamond iteration: the sample that just ended, then the next one's start."""
        self._sample(mkold=False)
        self.step(self._accessed[: self.n], now_ns)
        self._prepare()
        self._next_wake_ns = now_ns + self.sample_us * self.ns_per_us

    def step(self, accessed: npt.NDArray[np.bool_], now_ns: float) -> None:
        """``kdamond_fn``'s loop body after the sleep, given each region's check result:
        count the sample; at an aggregation boundary merge; apply the due schemes; at the
        boundary tune the intervals, reset the counts and split."""
        self.passed += 1
        next_aggregation = self.next_aggregation_sis
        next_ops_update = self.next_ops_update_sis
        accessed = np.ascontiguousarray(accessed, dtype=np.bool_)
        max_nr = K.update_access_rate(self.table, self.n, accessed, self.aggr_samples)
        if self.passed >= next_aggregation:
            self.n = K.merge_regions(self.table, self.n, max_nr // 10, self.sz_limit,
                                     self.aggr_us // self.sample_us,
                                     self.spec.max_nr_regions)  # fmt: skip
        self._apply_schemes(now_ns)
        if self.passed >= next_aggregation:
            goal = self.intervals_goal
            if goal is not None and self.passed >= self.next_tune_sis:
                self.next_aggregation_sis = next_aggregation
                self.next_tune_sis += self.aggr_samples * goal.aggrs
                self._tune_intervals(goal)
            self.next_aggregation_sis = next_aggregation + self.aggr_us // self.sample_us
            self._reset_aggregated()
            self._split_regions()
        if self.passed >= next_ops_update:
            # damon_va_update: the VMAs never change in a run, so the regions stay.
            self.next_ops_update_sis = next_ops_update + self.ops_update_us // self.sample_us

    # -- monitoring ---------------------------------------------------------------------------

    def _sample(self, *, mkold: bool) -> None:
        t = self.tiers.translator
        K.sample_young(self.table, self.n, mkold, t.upper, t.ptes, t.roots, t.level_shift,
                       t.plan.geometry.fanout_bits, t.hash_keys, t.hash_rows, t.row_young,
                       self._accessed)  # fmt: skip

    def _prepare(self) -> None:
        """``prepare_access_checks``: a uniform random address per region, made old."""
        live = self.table[: self.n]
        if self.n:
            # damon_rand(start, end): uniform over the region's bytes (the modulo bias of a
            # 62-bit draw is negligible).
            draws = self.rng.integers(0, 1 << 62, size=self.n)
            live[:, K.R_SAMPLING_ADDR] = live[:, K.R_START] + draws % (
                live[:, K.R_END] - live[:, K.R_START]
            )
        self._sample(mkold=True)

    def _reset_aggregated(self) -> None:
        live = self.table[: self.n]
        # damon_warn_fix_nr_accesses_corruption: the moving sum ends the window equal to
        # nr_accesses × 10000 unless the window was cut short (an intervals change).
        live[:, K.R_NR_ACCESSES_BP] = live[:, K.R_NR_ACCESSES] * 10000
        live[:, K.R_LAST_NR_ACCESSES] = live[:, K.R_NR_ACCESSES]
        live[:, K.R_NR_ACCESSES] = 0

    def _split_regions(self) -> None:
        """``kdamond_split_regions``: 2 pieces, or 3 when the count has not changed since
        the last split and is below a third of the maximum."""
        nr_regions = self.n
        max_nr = self.spec.max_nr_regions
        if nr_regions > max_nr // 2:
            return
        nr_subs = 3 if self.last_nr_regions == nr_regions and nr_regions < max_nr // 3 else 2
        # One damon_rand(1, 10) per split attempt, taken in order from the run's stream.
        wanted = nr_regions * (nr_subs - 1)
        if self._split_draws.shape[0] < wanted:
            fresh = self.rng.integers(1, 10, size=wanted - self._split_draws.shape[0])
            self._split_draws = np.concatenate((self._split_draws, fresh.astype(np.int64)))
        out = np.zeros((max(self.table.shape[0], self.n * nr_subs), K.R_WIDTH), np.int64)
        self.n, used = K.split_regions(
            self.table, self.n, out, nr_subs, PAGE_BYTES, self._split_draws
        )
        self._split_draws = self._split_draws[used:]
        self.table = out
        if self._accessed.shape[0] < out.shape[0]:
            self._accessed = np.zeros(out.shape[0], dtype=np.bool_)
        self.last_nr_regions = nr_regions

    def _tune_intervals(self, goal: IntervalsGoalSpec) -> None:
        """``kdamond_tune_intervals``: scale the sampling interval by the feedback loop's
        answer to the observed share of access events (at most ×2 or ÷2 a step)."""
        live = self.table[: self.n]
        sizes = live[:, K.R_END] - live[:, K.R_START]
        events = int((sizes * live[:, K.R_NR_ACCESSES]).sum())
        most = int(sizes.sum()) * self.aggr_samples
        target = most * goal.access_bp // 10000 or 1
        adaptation_bp = feed_loop_next_input(100_000_000, events * 10000 // target) // 10000
        if adaptation_bp <= 10000:
            adaptation_bp = 5000 + adaptation_bp // 2
        if adaptation_bp == 10000:
            return
        sample_us = min(goal.max_sample_us, self.sample_us * adaptation_bp // 10000)
        sample_us = max(goal.min_sample_us, sample_us)
        self._set_intervals(sample_us, sample_us * self.aggr_samples)

    def _set_intervals(self, sample_us: int, aggr_us: int) -> None:
        """``damon_set_attrs`` outside an aggregation: rescale counts and ages, and restart
        every interval's count from now."""
        old_max, new_max = self.aggr_samples, max(aggr_us // sample_us, 1)
        live = self.table[: self.n]
        live[:, K.R_NR_ACCESSES] = live[:, K.R_NR_ACCESSES] * 10000 // old_max * new_max // 10000
        live[:, K.R_NR_ACCESSES_BP] = live[:, K.R_NR_ACCESSES] * 10000
        live[:, K.R_AGE] = live[:, K.R_AGE] * self.aggr_us // aggr_us
        self.sample_us, self.aggr_us, self.aggr_samples = sample_us, aggr_us, new_max
        self.next_aggregation_sis = self.passed + aggr_us // sample_us
        self.next_ops_update_sis = self.passed + self.ops_update_us // sample_us
        for s in self.schemes:
            s.next_apply_sis = self.passed + self._apply_interval_us(s) // sample_us

    # -- DAMOS ---------------------------------------------------------------------------------

    def _apply_schemes(self, now_ns: float) -> None:
        """``kdamond_apply_schemes``: adjust each due scheme's quota, then walk the regions
        (regions outer, schemes inner); a region split off during the walk is not visited."""
        due = [s for s in self.schemes if self.passed >= s.next_apply_sis]
        if not due:
            return
        for s in due:
            self._adjust_quota(s, now_ns)
        # Only regions some due scheme's access range and minimum size admit can be acted
        # on (the walk never changes nr_accesses and only shrinks regions), unless a scheme
        # is still looking for where its previous window stopped.
        live = self.table[: self.n]
        nr = live[:, K.R_NR_ACCESSES_BP] // 10000
        sizes = live[:, K.R_END] - live[:, K.R_START]
        maybe = np.zeros(self.n, dtype=np.bool_)
        for s in due:
            p = s.pattern
            high = UINT_MAX if p.max_nr_accesses is None else p.max_nr_accesses
            maybe |= (nr >= p.min_nr_accesses) & (nr <= high) & (sizes >= p.min_size_bytes)
        offset = 0
        for k in range(self.n):
            resuming = any(s.charge_target_from is not None for s in due)
            if not maybe[k] and not resuming:
                continue
            if all(s.blocked or (s.esz and s.charged_sz >= s.esz) for s in due):
                break
            r = k + offset
            for s in due:
                if s.blocked or (s.esz and s.charged_sz >= s.esz):
                    continue
                skip, r, added = self._skip_charged(r, s)
                offset += added
                if skip or not self._valid(r, s):
                    continue
                offset += self._apply(r, s)
        for s in due:
            s.next_apply_sis = self.passed + self._apply_interval_us(s) // self.sample_us

    def _size(self, r: int) -> int:
        return int(self.table[r, K.R_END] - self.table[r, K.R_START])

    def _split_at(self, r: int, sz: int) -> None:
        """``damon_split_region_at``: region ``r`` keeps its first ``sz`` bytes; the rest
        becomes region ``r + 1`` with the same counts and age."""
        if self.n == self.table.shape[0]:
            self.table = np.concatenate((self.table, np.zeros_like(self.table)))
            self._accessed = np.zeros(self.table.shape[0], dtype=np.bool_)
        table = self.table
        table[r + 2 : self.n + 1] = table[r + 1 : self.n].copy()
        table[r + 1] = table[r]
        table[r + 1, K.R_START] = table[r, K.R_START] + sz
        table[r, K.R_END] = table[r, K.R_START] + sz
        self.n += 1

    def _skip_charged(self, r: int, s: _Scheme) -> tuple[bool, int, int]:
        """``damos_skip_charged_region``: resume after the part charged in the previous
        window. Returns (skip, region, regions inserted)."""
        if s.charge_target_from is None:
            return False, r, 0
        table = self.table
        target = int(table[r, K.R_TARGET])
        if target != s.charge_target_from:
            return True, r, 0
        if r == self.n - 1 or table[r + 1, K.R_TARGET] != target:
            s.charge_target_from, s.charge_addr_from = None, 0
            return True, r, 0
        addr_from = s.charge_addr_from
        inserted = 0
        if addr_from and table[r, K.R_END] <= addr_from:
            return True, r, 0
        if addr_from and table[r, K.R_START] < addr_from:
            sz_to_skip = (addr_from - int(table[r, K.R_START])) // PAGE_BYTES * PAGE_BYTES
            if not sz_to_skip:
                if self._size(r) <= PAGE_BYTES:
                    return True, r, 0
                sz_to_skip = PAGE_BYTES
            self._split_at(r, sz_to_skip)
            r += 1
            inserted = 1
        s.charge_target_from, s.charge_addr_from = None, 0
        return False, r, inserted

    def _matches(self, row: list[int], s: _Scheme) -> bool:
        """``__damos_valid_target``: size, nr_accesses_bp / 10000 and age in their ranges."""
        p = s.pattern
        sz = row[K.R_END] - row[K.R_START]
        nr = row[K.R_NR_ACCESSES_BP] // 10000
        age = row[K.R_AGE]
        return (
            p.min_size_bytes <= sz
            and (p.max_size_bytes is None or sz <= p.max_size_bytes)
            and p.min_nr_accesses <= nr
            and (p.max_nr_accesses is None or nr <= p.max_nr_accesses)
            and p.min_age <= age
            and (p.max_age is None or age <= p.max_age)
        )

    @staticmethod
    def _matching(s: _Scheme, sizes: I64, nr_accesses: I64, ages: I64) -> npt.NDArray[np.bool_]:
        """``_matches`` of every region at once."""
        p = s.pattern
        return (
            (sizes >= p.min_size_bytes)
            & (sizes <= (1 << 62 if p.max_size_bytes is None else p.max_size_bytes))
            & (nr_accesses >= p.min_nr_accesses)
            & (nr_accesses <= (UINT_MAX if p.max_nr_accesses is None else p.max_nr_accesses))
            & (ages >= p.min_age)
            & (ages <= (UINT_MAX if p.max_age is None else p.max_age))
        )

    def _scores(self, s: _Scheme, nr_accesses: I64, ages: I64) -> I64:
        """``_score`` of many regions at once."""
        q = s.quota
        freq = nr_accesses * MAX_SUBSCORE // self.aggr_samples
        age_in_sec = ages * self.aggr_us // 1_000_000
        age_in_log = np.zeros_like(age_in_sec)
        while age_in_sec.any():
            age_in_log += (age_in_sec > 0) & (age_in_log < MAX_AGE_IN_LOG)
            age_in_sec = age_in_sec >> 1
        age_in_log = np.where(freq == 0, -age_in_log, age_in_log)
        age_sub = (age_in_log + MAX_AGE_IN_LOG) * MAX_SUBSCORE // MAX_AGE_IN_LOG // 2
        hotness = q.weight_nr_accesses * freq + q.weight_age * age_sub
        if q.weight_nr_accesses + q.weight_age:
            hotness //= q.weight_nr_accesses + q.weight_age
        hot = hotness * MAX_SCORE // MAX_SUBSCORE
        return np.asarray(hot if s.hot else MAX_SCORE - hot, dtype=np.int64)

    def _valid(self, r: int, s: _Scheme) -> bool:
        """``damos_valid_target``: the pattern, and the score when the quota is limited."""
        row = self.table[r].tolist()
        if not self._matches(row, s):
            return False
        if not s.esz:
            return True
        return self._score(row[K.R_NR_ACCESSES], row[K.R_AGE], s) >= s.min_score

    def _score(self, nr_accesses: int, age: int, s: _Scheme) -> int:
        """``damon_va_scheme_score``: hot score for migrate_hot, 99 − hot for migrate_cold."""
        hot = hot_score(nr_accesses, age, self.aggr_samples, self.aggr_us,
                        s.quota.weight_nr_accesses, s.quota.weight_age)  # fmt: skip
        return hot if s.hot else MAX_SCORE - hot

    def _apply(self, r: int, s: _Scheme) -> int:
        """``damos_apply_scheme``: trim the region to the quota left, migrate, charge the
        region's size, reset its age. Returns the regions inserted (0 or 1)."""
        sz = self._size(r)
        inserted = 0
        if s.esz and s.charged_sz + sz > s.esz:
            sz = (s.esz - s.charged_sz) // PAGE_BYTES * PAGE_BYTES
            if not sz:
                return 0
            self._split_at(r, sz)
            inserted = 1
        moved = self._migrate(r, s)
        s.window_migrated += moved
        s.applied_bytes += moved
        s.charged_sz += sz
        if s.esz and s.charged_sz >= s.esz:
            s.charge_target_from = int(self.table[r, K.R_TARGET])
            s.charge_addr_from = int(self.table[r, K.R_END]) + 1
        self.table[r, K.R_AGE] = 0
        return inserted

    def _migrate(self, r: int, s: _Scheme) -> int:
        """``damos_va_migrate``: the region's folios that pass the filter and are not on the
        target tier move there, within the quota left and the target's free memory above
        its min watermark (GFP_NOWAIT: no reclaim, no reserves)."""
        t = self.tiers.translator
        row = self.table[r]
        candidates = K.region_pages(
            int(row[K.R_TARGET]), int(row[K.R_START]), int(row[K.R_END]), s.dest,
            s.young_filter, t.upper, t.ptes, t.roots, t.level_shift,
            t.plan.geometry.fanout_bits, t.hash_keys, t.hash_rows, t.row_touched,
            t.row_tiers, t.row_young,
        )  # fmt: skip
        limit = self.tiers.room_above_min_bytes(s.dest)
        if s.esz:
            limit = min(limit, s.esz - s.charged_sz)
        if candidates.shape[0] == 0 or limit <= 0:
            return 0
        return self.tiers.migrate(candidates, s.dest, limit_bytes=limit)

    def _adjust_quota(self, s: _Scheme, now_ns: float) -> None:
        """``damos_adjust_quota``: start a new charge window when due (recomputing the
        effective quota), then set ``min_score`` from the histogram of matching bytes."""
        if not s.has_quota:
            return
        if now_ns >= s.charged_from_ns + s.quota.reset_interval_ms * 1000 * self.ns_per_us:
            if s.esz and s.charged_sz >= s.esz:
                s.qt_exceeds += 1
            if s.charged_from_ns > float("-inf"):
                s.windows.append(QuotaWindow(s.charged_from_ns, s.esz, s.charged_sz,
                                             s.window_migrated))  # fmt: skip
            s.total_charged_sz += s.charged_sz
            s.charged_from_ns = now_ns
            s.charged_sz = 0
            s.window_migrated = 0
            self._set_effective_quota(s)
        live = self.table[: self.n]
        sizes = live[:, K.R_END] - live[:, K.R_START]
        matching = self._matching(s, sizes, live[:, K.R_NR_ACCESSES_BP] // 10000, live[:, K.R_AGE])
        scores = self._scores(s, live[matching, K.R_NR_ACCESSES], live[matching, K.R_AGE])
        hist = np.bincount(scores, weights=sizes[matching], minlength=MAX_SCORE + 1)
        max_score = int(scores.max()) if scores.size else 0
        cumulated = 0
        score = max_score
        while True:
            cumulated += int(hist[score])
            if cumulated >= s.esz or not score:
                break
            score -= 1
        s.min_score = score

    def _set_effective_quota(self, s: _Scheme) -> None:
        """``damos_set_effective_quota`` with the ``consist`` tuner, or the ``temporal``
        one (its patch's esz 0 applies nothing, as the companion patch makes it)."""
        quota = s.quota
        if not quota.goals:
            s.esz = quota.sz_bytes
            return
        s.goal_score_bp = max(self._goal_score(goal) for goal in quota.goals)
        if quota.goal_tuner == "temporal":
            if s.goal_score_bp >= GOAL_BP:
                s.esz_bp = 0
            else:
                s.esz_bp = quota.sz_bytes * 10000 if quota.sz_bytes else ULONG_MAX
        else:
            s.esz_bp = feed_loop_next_input(max(s.esz_bp, MIN_INPUT), s.goal_score_bp)
        esz = s.esz_bp // 10000
        if quota.sz_bytes and quota.sz_bytes < esz:
            esz = quota.sz_bytes
        s.esz = esz
        s.blocked = quota.goal_tuner == "temporal" and esz == 0

    def _goal_score(self, goal: QuotaGoalSpec) -> int:
        """``damos_quota_score`` of one goal: current × 10000 / target."""
        capacity = self.tiers.capacity_bytes(goal.nid)
        free = self.tiers.free_bytes(goal.nid)
        if goal.metric == "node_mem_used_bp":
            current = (capacity - free) * 10000 // capacity
        else:
            current = free * 10000 // capacity
        return current * 10000 // goal.target_bp

    # -- reporting ----------------------------------------------------------------------------

    def end_epoch(self, now_ns: float) -> None:
        for s in self.schemes:
            s.epoch_applied_bytes, s.applied_bytes = s.applied_bytes, 0

    def tuned_values(self) -> dict[str, float]:
        values = {
            "damon_regions": float(self.n),
            "damon_sample_interval_us": self.sample_us * self.spec.time_scale,
        }
        for s in self.schemes:
            values[f"damon_{s.label}_quota_bytes"] = float(s.esz)
            if s.quota.goals:
                values[f"damon_{s.label}_goal_score_bp"] = float(s.goal_score_bp)
            values[f"damon_{s.label}_min_score"] = float(s.min_score)
            values[f"damon_{s.label}_applied_bytes"] = float(s.epoch_applied_bytes)
        return values


def check_tiers(spec: DamonSpec, tier_count: int) -> None:
    """Every tier a scheme names (its target, its goals' nodes) exists."""
    for index, s in enumerate(spec.resolved_schemes()):
        named = max([s.target_tier, *(goal.nid for goal in s.quota.goals)])
        if named < tier_count:
            continue
        if spec.schemes is None:  # the preset's schemes: the machine is what is short
            raise SpecError(
                f"the {spec.preset} preset moves pages between tiers 0 and 1; this machine "
                f"has {tier_count} tier(s): give machine.tiers a slower tier",
                field="machine.tiers",
            )
        where = f"policy.tiering.schemes.{index}"
        field = "target_tier" if s.target_tier >= tier_count else "quota.goals"
        raise SpecError(
            f"tier {named} does not exist ({tier_count} tiers)", field=f"{where}.{field}"
        )
