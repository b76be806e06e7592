"""``interleave``: weighted interleave of new pages over the tiers (MPOL_WEIGHTED_INTERLEAVE).

Weights are given, or ``auto``: as the kernel's auto mode (``reduce_interleave_weights`` in
mm/mempolicy.c), ``w = 32 · bw / Σbw`` per tier (at least 1), then every weight divided by
their greatest common divisor. The node of a folio follows its page offset in the VMA
(``weighted_interleave_nid``), so placement is deterministic.

``tune: "runtime"`` tunes the weights each epoch, as the DAMON-driven interleave tuning
does toward a goal, here the epoch's memory time per access: a hill climb that moves one
unit of weight between the first two tiers, keeps the direction while the time falls and
turns when it rises. Pages already placed are moved to the node the new weights give them
(as DAMOS ``migrate_hot`` with weighted destinations does), at most ``quota_bytes`` per
epoch, cheapest first in address order. Peak bandwidths alone do not give the best split
(a CXL link saturates earlier than DRAM), which is why the tuning exists.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from pagelab._kernels import access
from pagelab._kernels import placement as P
from pagelab.policies.base import NAME_DESCRIPTION, PolicySpecBase, TieringPolicy
from pagelab.units import Bytes

if TYPE_CHECKING:
    from pagelab.tiers import Tiers


class InterleaveSpec(PolicySpecBase):
    """Weighted interleave: ``weights`` one per tier (1–255), or ``auto`` from bandwidths."""

    name: Literal["interleave"] = Field(default="interleave", description=NAME_DESCRIPTION)
    weights: list[Annotated[int, Field(ge=1, le=255)]] | Literal["auto"] = Field(
        default="auto",
        description="One weight per tier, 1 to 255, or auto (from the tiers' bandwidths).",
    )
    tune: Literal["off", "runtime"] = Field(
        default="off",
        description="off: fixed weights; runtime: tune them each epoch toward less memory "
        "time per access, moving placed pages to match.",
    )
    quota_bytes: Bytes = Field(
        default=64 << 20,
        ge=0,
        le=1 << 50,
        description="Most bytes moved per epoch to follow tuned weights, in bytes.",
    )


def auto_weights(bandwidths_gbps: list[float]) -> list[int]:
    """The kernel's auto weights: 32 · bw / Σbw (integer, at least 1), reduced by their GCD."""
    total = sum(bandwidths_gbps)
    weights = [max(1, int(32 * bw / total)) for bw in bandwidths_gbps]
    divisor = math.gcd(*weights)
    return [w // divisor for w in weights]


class Interleave(TieringPolicy):
    def __init__(self, tiers: Tiers, spec: InterleaveSpec) -> None:
        super().__init__(tiers)
        self.spec = spec
        if spec.weights == "auto":
            self.weights = auto_weights([tier.bandwidth_gbps for tier in tiers.machine_tiers])
        else:
            self.weights = list(spec.weights)
        self.direction = -1  # the first step gives the slower tiers more
        self.last_ns_per_access: float | None = None

    @property
    def tracking(self) -> int:
        return access.TRACK_TIERS if self.spec.tune != "off" else 0

    def placement(self) -> npt.NDArray[np.int64]:
        return P.interleave(self.weights)

    def end_epoch(self, now_ns: float) -> None:
        if self.spec.tune == "off" or self.tiers.count < 2:
            return
        cost = self.tiers.last_epoch_memory_ns_per_access
        if cost is None:
            return
        if self.last_ns_per_access is not None and cost > self.last_ns_per_access:
            self.direction = -self.direction
        self.last_ns_per_access = cost
        fast = self.weights[0] + self.direction
        if 1 <= fast <= 255:
            self.weights[0] = fast
        self.tiers.translator.placement[:] = self.placement()
        self._rebalance()

    def _rebalance(self) -> None:
        """Move placed pages to the node the current weights give them."""
        quota = self.spec.quota_bytes
        pages = self.tiers.all_touched_pages()
        wanted = self.tiers.interleave_nodes(pages, self.weights)
        current = self.tiers.tiers_of(pages)
        for node in range(self.tiers.count):
            if quota <= 0:
                return
            quota -= self.tiers.migrate(pages[(wanted == node) & (current != node)], node, quota)

    def tuned_values(self) -> dict[str, float]:
        return {
            f"interleave_weight_{tier.metric_name}": float(weight)
            for tier, weight in zip(self.tiers.machine_tiers, self.weights, strict=True)
        }
