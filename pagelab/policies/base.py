"""What every tiering policy shares: its spec's base, the interface the simulator drives,
and the view of the run it acts on (``Tiers``).

A policy places new pages (``placement``, read by the compiled fault path) and may act when
the simulated clock reaches its next wake-up (``wake``) and at epoch ends (``end_epoch``).
It moves pages only through ``Tiers.migrate``, which charges the cost and keeps every
per-tier count right.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from pagelab._kernels import placement as P

if TYPE_CHECKING:
    from pagelab.tiers import Tiers

I64 = npt.NDArray[np.int64]
NEVER = float("inf")


class PolicySpecBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


NAME_DESCRIPTION = "Which tiering policy runs; any other fields are its parameters."
"""The description of every tiering policy spec's ``name``, which chooses the policy."""


class TieringPolicy:
    """The default: first-touch placement, no wake-ups, no tuned values."""

    def __init__(self, tiers: Tiers) -> None:
        self.tiers = tiers

    @property
    def tracking(self) -> int:
        """What the policy reads from the per-access path (``access.TRACK_*`` bits): a
        policy that moves pages needs their tiers even on a machine with one tier."""
        return 0

    def placement(self) -> I64:
        """The compiled fault path's placement row (``_kernels.placement``)."""
        return P.first_touch(self.tiers.count)

    def next_wake_ns(self) -> float:
        """Simulated time of the next ``wake`` call (``NEVER``: none)."""
        return NEVER

    def wake(self, now_ns: float) -> None:
        """Act at simulated time ``now_ns`` (at or after ``next_wake_ns``)."""

    def before_epoch(self, pages: npt.NDArray[np.int64]) -> None:
        """See the epoch's accesses before they run (only the oracle looks): ``pages`` holds
        each access's ``pid << 36 | 4 KiB page number``."""

    @property
    def wants_epoch_pages(self) -> bool:
        return False

    def end_epoch(self, now_ns: float) -> None:
        """Act at an epoch's end."""

    def tuned_values(self) -> dict[str, float]:
        """The values the policy tunes, for the per-epoch series (names with units)."""
        return {}
