"""The parameters of access-aware THP (``policy.thp: access_aware``); the policy itself is
``policies.access_aware``. Kept apart from it so that ``pagelab.spec`` can hold them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from pagelab.policies.base import PolicySpecBase

AccessAwareVariant = Literal["collapse_split", "collapse_only", "split_only"]


class AccessAwareGoalSpec(PolicySpecBase):
    """A goal the collapse threshold is tuned toward at every epoch end: with ``f`` =
    measured ``metric`` / ``target``, the threshold is multiplied by ``f`` clamped to
    [1/2, 2] (``f`` = 1/2 when the metric is 0): more bloat or more huge memory than the
    target raises it (fewer collapses, more splits), less lowers it."""

    metric: Literal["bloat_bytes", "huge_page_ratio"] = Field(
        description="bloat_bytes: resident − touched bytes; huge_page_ratio: resident "
        "bytes in 2 MiB THPs / resident bytes."
    )
    target: float = Field(
        gt=0.0, le=1e15, description="Target value (bytes for bloat_bytes, a ratio ≤ 1)."
    )

    @model_validator(mode="after")
    def _ratio_at_most_one(self) -> AccessAwareGoalSpec:
        if self.metric == "huge_page_ratio" and self.target > 1.0:
            raise ValueError("a huge_page_ratio target is a ratio: at most 1")
        return self


class AccessAwareThpSpec(PolicySpecBase):
    """Access-aware THP after DAMON's ``damos_hugepage`` prototype (LSFMM 2026): at each
    epoch end, collapse hot 2 MiB ranges into THPs and split sparse, cold THPs.

    ``variant``: ``collapse_split`` (default; the prototype does both) faults as
    ``thp: always`` and both collapses and splits; ``split_only`` faults as ``always`` and
    only splits; ``collapse_only`` faults base pages (a ``thp: never`` / ``madvise``
    system, as Huawei's collapse-only approach) and only collapses.

    Collapse (as MADV_COLLAPSE, synchronous in kdamond): a 2 MiB-aligned range inside one
    anonymous VMA without MADV_NOHUGEPAGE, mapped by 4 KiB pages, whose accesses in the
    epoch reach ``collapse_min_accesses``. A 2 MiB folio is allocated with direct
    compaction (a failure is counted), the present pages copied at
    ``policy.migration_cost.copy_gb_per_s``, the rest cleared at the 4 KiB clearing rate,
    the old pages freed and the PTE table kept as the THP's deposit (freed when the VMA
    deposits nothing). The work is kernel time added to the run's time; the application
    takes no fault for it. Hottest ranges first; one TLB shootdown per epoch.

    Split: a 2 MiB THP of an anonymous VMA with fewer than ``split_max_touched_ratio`` of
    its 512 sub-pages ever touched, and cold (epoch accesses below the collapse threshold,
    so a THP is never split while hot enough to be collapsed again), is split to PTEs and
    its untouched sub-pages freed. The simulator knows which sub-pages were touched; a
    kernel sees only the zero-filled ones (``thp_underused``), and a PMD has one accessed
    bit, so a real policy must infer this.

    Simplifications: per-range access counts are exact (DAMON samples); no quota limits
    the work per epoch; 2 MiB THPs and 4 KiB base pages only.
    """

    variant: AccessAwareVariant = Field(
        default="collapse_split",
        description="collapse_split (both, as the prototype), collapse_only (faults base "
        "pages, collapses hot ranges) or split_only (faults THPs, splits sparse cold ones).",
    )
    collapse_min_accesses: float = Field(
        default=1000.0,
        ge=1.0,
        le=1e12,
        description="Accesses to a 2 MiB range in one epoch that make it hot (count); "
        "1000 is 0.1% of a default epoch.",
    )
    split_max_touched_ratio: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="A cold THP with fewer than this share of its 512 sub-pages touched is "
        "split (0.5: most sub-pages untouched).",
    )
    goal: AccessAwareGoalSpec | None = Field(
        default=None,
        description="Tune collapse_min_accesses toward a bloat or huge-page-ratio target; "
        "none: fixed.",
    )

    @property
    def collapses(self) -> bool:
        return self.variant != "split_only"

    @property
    def splits(self) -> bool:
        return self.variant != "collapse_only"
