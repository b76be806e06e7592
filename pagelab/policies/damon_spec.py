"""The ``damon`` policy's parameters: DAMON's monitoring attributes, DAMOS schemes, and the
``mtier`` preset (the kernel's samples/damon/mtier.c). The policy is ``policies.damon``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from pagelab._kernels.counters import TIERS
from pagelab.policies.base import NAME_DESCRIPTION, PolicySpecBase
from pagelab.units import Bytes

UINT_MAX = (1 << 32) - 1
MTIER_QUOTA_BYTES = 200 << 20


class AccessPatternSpec(PolicySpecBase):
    """Which regions a scheme acts on; every range is closed (``__damos_valid_target``)."""

    min_size_bytes: Bytes = Field(default=4096, description="Smallest region size (bytes).")
    max_size_bytes: Bytes | None = Field(
        default=None, description="Largest region size (bytes); none: no limit."
    )
    min_nr_accesses: int = Field(
        default=0,
        ge=0,
        le=UINT_MAX,
        description="Fewest accesses per aggregation (samples), compared with the moving "
        "sum nr_accesses_bp / 10000.",
    )
    max_nr_accesses: int | None = Field(
        default=None,
        ge=0,
        le=UINT_MAX,
        description="Most accesses per aggregation; none: no limit.",
    )
    min_age: int = Field(
        default=0, ge=0, le=UINT_MAX, description="Lowest age (aggregation intervals)."
    )
    max_age: int | None = Field(
        default=None, ge=0, le=UINT_MAX, description="Highest age (aggregation intervals)."
    )


class QuotaGoalSpec(PolicySpecBase):
    """A quota goal (``damos_quota_goal``): the feedback tuner grows the effective quota while
    ``metric`` of tier ``nid`` is below ``target_bp`` and shrinks it while above."""

    metric: Literal["node_mem_used_bp", "node_mem_free_bp"] = Field(
        description="node_mem_used_bp: (capacity − free) × 10000 / capacity of the tier; "
        "node_mem_free_bp: free × 10000 / capacity."
    )
    nid: int = Field(default=0, ge=0, lt=TIERS, description="The tier (node) measured.")
    target_bp: int = Field(ge=1, le=10_000, description="Target value (basis points).")


class QuotaSpec(PolicySpecBase):
    """How much a scheme may apply per charge window, and which regions go first.

    Defaults are the kernel's sysfs defaults: no size limit, a new window at every apply,
    all weights 0 (no prioritisation)."""

    sz_bytes: Bytes = Field(
        default=0, description="Bytes a scheme may apply per charge window (0: no limit)."
    )
    reset_interval_ms: int = Field(
        default=0, ge=0, le=3_600_000, description="Charge window length (ms, simulated)."
    )
    weight_sz: int = Field(
        default=0, ge=0, le=10_000, description="Size weight (ignored by the kernel's scores)."
    )
    weight_nr_accesses: int = Field(
        default=0, ge=0, le=10_000, description="Weight of access frequency in the score."
    )
    weight_age: int = Field(default=0, ge=0, le=10_000, description="Weight of age in the score.")
    goals: list[QuotaGoalSpec] = Field(
        default_factory=list,
        max_length=4,
        description="Quota goals; the highest goal score sets the tuner's input.",
    )
    goal_tuner: Literal["consist", "temporal"] = Field(
        default="consist",
        description="consist (the kernel's default): the quota follows the feedback loop "
        "from 1 byte; temporal (posted, not yet mainline): the full size quota while any "
        "goal is unmet, nothing once met.",
    )


class YoungFilterSpec(PolicySpecBase):
    """A DAMOS ``young`` ops filter: a folio matches when its accessed state equals
    ``matching``; evaluating it clears a young folio's accessed bit. A folio no filter
    matches is rejected when the filter allows, and passes when it rejects."""

    matching: bool = Field(default=True, description="Match young (true) or old (false) folios.")
    allow: bool = Field(description="Matching folios pass (true) or are rejected (false).")


class SchemeSpec(PolicySpecBase):
    """One DAMOS scheme: migrate the pages of matching regions to ``target_tier``."""

    action: Literal["migrate_hot", "migrate_cold"] = Field(
        description="migrate_hot prioritises hot regions, migrate_cold cold ones."
    )
    target_tier: int = Field(ge=0, lt=TIERS, description="Destination tier (node id).")
    access_pattern: AccessPatternSpec = Field(
        default_factory=AccessPatternSpec, description="Regions the scheme acts on."
    )
    apply_interval_us: int = Field(
        default=0,
        ge=0,
        le=3_600_000_000,
        description="How often the scheme applies (µs, simulated); 0: every aggregation.",
    )
    quota: QuotaSpec = Field(default_factory=QuotaSpec, description="Size quota and goals.")
    young_filter: YoungFilterSpec | None = Field(
        default=None, description="Optional young filter; none: every folio passes."
    )


class IntervalsGoalSpec(PolicySpecBase):
    """Monitoring intervals auto-tuning (``intervals_goal``): every ``aggrs`` aggregations
    the sampling interval is scaled toward ``access_bp`` of the possible access events
    observed, keeping aggr / sample constant."""

    access_bp: int = Field(
        default=400, ge=1, le=10_000, description="Wanted share of access events (bp)."
    )
    aggrs: int = Field(
        default=3, ge=0, le=1_000_000, description="Aggregations between tunings (0: off)."
    )
    min_sample_us: int = Field(
        default=5_000, ge=1, le=3_600_000_000, description="Lowest sampling interval (µs)."
    )
    max_sample_us: int = Field(
        default=10_000_000, ge=1, le=3_600_000_000, description="Highest sampling interval (µs)."
    )

    @model_validator(mode="after")
    def _ordered(self) -> IntervalsGoalSpec:
        if self.min_sample_us > self.max_sample_us:
            raise ValueError("min_sample_us must not exceed max_sample_us")
        return self


def mtier_schemes(
    node0_mem_used_bp: int,
    node0_mem_free_bp: int,
    goal_tuner: Literal["consist", "temporal"] = "consist",
) -> list[SchemeSpec]:
    """samples/damon/mtier.c's two schemes: promote hot pages of the slow tier to tier 0
    until it is ``node0_mem_used_bp`` used, demote cold pages of tier 0 to tier 1 while it
    is less than ``node0_mem_free_bp`` free."""

    def quota(goal: QuotaGoalSpec) -> QuotaSpec:
        return QuotaSpec(
            sz_bytes=MTIER_QUOTA_BYTES,
            reset_interval_ms=1000,
            weight_sz=0,
            weight_nr_accesses=100,
            weight_age=100,
            goals=[goal],
            goal_tuner=goal_tuner,
        )

    return [
        SchemeSpec(
            action="migrate_hot",
            target_tier=0,
            access_pattern=AccessPatternSpec(min_nr_accesses=1, max_nr_accesses=UINT_MAX),
            apply_interval_us=1_000_000,
            quota=quota(
                QuotaGoalSpec(metric="node_mem_used_bp", nid=0, target_bp=node0_mem_used_bp)
            ),
            young_filter=YoungFilterSpec(matching=True, allow=True),
        ),
        SchemeSpec(
            action="migrate_cold",
            target_tier=1,
            access_pattern=AccessPatternSpec(min_nr_accesses=0, max_nr_accesses=0),
            apply_interval_us=1_000_000,
            quota=quota(
                QuotaGoalSpec(metric="node_mem_free_bp", nid=0, target_bp=node0_mem_free_bp)
            ),
            young_filter=YoungFilterSpec(matching=True, allow=False),
        ),
    ]


MTIER_INTERVALS_GOAL = IntervalsGoalSpec(
    access_bp=400, aggrs=3, min_sample_us=5_000, max_sample_us=10_000_000
)


class DamonSpec(PolicySpecBase):
    """DAMON monitoring of each process's virtual address space (vaddr) with DAMOS
    ``migrate_hot`` / ``migrate_cold`` schemes, size quotas and quota goals tuned by the
    kernel's feedback loop (mm/damon/core.c, vaddr.c, ops-common.c).

    ``preset: "mtier"`` is samples/damon/mtier.c: attributes 5 ms / 100 ms / 60 s, 10–1000
    regions, intervals auto-tuning (access_bp 400, every 3 aggregations, 5 ms–10 s); a
    promote scheme (migrate_hot to tier 0, nr_accesses ≥ 1, quota 200 MiB per 1 s, weights
    0/100/100, goal node_mem_used_bp of tier 0 = ``node0_mem_used_bp`` (9970), young filter
    allow) and a demote scheme (migrate_cold to tier 1, nr_accesses 0, same quota, goal
    node_mem_free_bp of tier 0 = ``node0_mem_free_bp`` (50), young filter reject), each
    applied every 1 s. Fields given beside the preset override it: the intervals,
    ``schemes`` (replacing both), ``intervals_goal`` (``{"aggrs": 0}`` turns tuning off).

    ``time_scale`` multiplies every interval the kernel measures in time (sampling,
    aggregation, ops update, apply intervals, quota windows, the tuning range): 0.1 runs
    DAMON ten times faster on the simulated clock, so a short run covers many windows.
    Ages in seconds (for the priority score) scale with it.

    Kernel behaviour worth knowing: a goal-tuned quota starts at 1 byte and changes by at
    most ×2 per charge window (×(2 − score/10000)), and less than a page applies nothing, so
    the preset moves pages only after tens to hundreds of windows; a run of a few simulated
    seconds needs ``time_scale``. Each intervals tuning restarts every scheme's apply
    countdown (``damon_set_attrs``), so with the preset's tuning a 1 s apply interval
    elapses only once the sampling interval exceeds about 17 ms.

    Simplifications: pages have no physical address, so monitoring is vaddr even for the
    preset (mtier's two paddr contexts, one per node, become two schemes on one vaddr
    context: each scheme sees every region, not just its node's); a migrate scheme moves
    only a region's pages not already on its target tier, as DAMOS vaddr migrate skips
    folios on the target node, but charges the whole region as the kernel does. Each
    process is a target; its initial regions come from its VMAs' two biggest gaps, and with
    fewer than two gaps each contiguous run of VMAs is a range (the kernel would give up).
    VMAs do not change during a run, so the ops update changes nothing. Accessed bits are
    set by page walks only (not on TLB hits) and cleared by DAMON without a TLB flush, as on
    x86; a page never touched is not accessed. A huge folio's accessed state is read per
    2 MiB region row; the young filter decides per 4 KiB page, or per 2 MiB row for a huge
    folio. Watermarks, time quotas (``ms``), and other filters and actions are not
    modelled. Migration fails when the destination has no free memory above its min
    watermark (DAMOS allocates with GFP_NOWAIT). A sample runs at the first wake-up after
    its interval: the simulator looks at the clock after at least 64 accesses, so a
    sampling interval shorter than that stretches (DAMON counts its intervals in samples,
    as kdamond does, while quota windows follow the clock).

    ``goal_tuner: "temporal"`` (beside the preset, or per quota) is the posted tuner that
    applies the whole size quota while a goal is unmet and nothing once it is met.
    """

    name: Literal["damon"] = Field(default="damon", description=NAME_DESCRIPTION)
    preset: Literal["mtier"] | None = Field(
        default=None, description="mtier: samples/damon/mtier.c's configuration."
    )
    sample_us: int = Field(
        default=5_000, ge=1, le=3_600_000_000, description="Sampling interval (µs, simulated)."
    )
    aggr_us: int = Field(
        default=100_000,
        ge=1,
        le=3_600_000_000,
        description="Aggregation interval (µs, simulated).",
    )
    ops_update_us: int = Field(
        default=60_000_000,
        ge=1,
        le=3_600_000_000,
        description="Operations update interval (µs, simulated).",
    )
    min_nr_regions: int = Field(default=10, ge=3, le=100_000, description="Fewest regions.")
    max_nr_regions: int = Field(default=1000, ge=3, le=100_000, description="Most regions.")
    time_scale: float = Field(
        default=1.0,
        ge=1e-3,
        le=1000.0,
        description="Multiplies every interval (0.1: DAMON runs 10× faster).",
    )
    schemes: list[SchemeSpec] | None = Field(
        default=None, max_length=8, description="DAMOS schemes; none: the preset's (or none)."
    )
    intervals_goal: IntervalsGoalSpec | None = Field(
        default=None, description="Intervals auto-tuning; none: the preset's (or off)."
    )
    node0_mem_used_bp: int | None = Field(
        default=None, ge=1, le=10_000, description="mtier: tier 0 used target (bp, 9970)."
    )
    node0_mem_free_bp: int | None = Field(
        default=None, ge=1, le=10_000, description="mtier: tier 0 free target (bp, 50)."
    )
    goal_tuner: Literal["consist", "temporal"] | None = Field(
        default=None, description="mtier: the goal tuner of both schemes (consist)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> DamonSpec:
        if self.min_nr_regions > self.max_nr_regions:
            raise ValueError("min_nr_regions must not exceed max_nr_regions")
        if self.sample_us > self.aggr_us:
            raise ValueError("sample_us must not exceed aggr_us")
        mtier_fields = (
            self.node0_mem_used_bp is not None
            or self.node0_mem_free_bp is not None
            or self.goal_tuner is not None
        )
        if mtier_fields and (self.preset != "mtier" or self.schemes is not None):
            raise ValueError("node0_mem_used_bp, node0_mem_free_bp and goal_tuner set the "
                             "mtier preset's goals: use them with preset mtier and no "
                             "schemes")  # fmt: skip
        return self

    def resolved_schemes(self) -> list[SchemeSpec]:
        """The schemes that run: ``schemes``, else the preset's."""
        if self.schemes is not None:
            return list(self.schemes)
        if self.preset == "mtier":
            used = 9970 if self.node0_mem_used_bp is None else self.node0_mem_used_bp
            free = 50 if self.node0_mem_free_bp is None else self.node0_mem_free_bp
            return mtier_schemes(used, free, self.goal_tuner or "consist")
        return []

    def resolved_intervals_goal(self) -> IntervalsGoalSpec | None:
        """The intervals auto-tuning that runs, or None when it is off."""
        goal = self.intervals_goal
        if goal is None and self.preset == "mtier":
            goal = MTIER_INTERVALS_GOAL
        if goal is None or goal.aggrs == 0:
            return None
        return goal
