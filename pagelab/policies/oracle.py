"""``oracle``: before each epoch runs, the pages that epoch touches most are put on the
fastest tiers, hottest first, as far as the tiers' free room allows (each tier keeps its
high watermark free). It sees the future and migrates for free: it is the bound a real
policy is measured against, not a policy a kernel could run. Its migrations are counted
(bytes promoted and demoted) but not charged.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from pagelab._kernels import access
from pagelab.policies.base import NAME_DESCRIPTION, PolicySpecBase, TieringPolicy


class OracleSpec(PolicySpecBase):
    """Each epoch's hottest pages on the fast tier (an upper bound, not a kernel policy)."""

    name: Literal["oracle"] = Field(default="oracle", description=NAME_DESCRIPTION)


class Oracle(TieringPolicy):
    @property
    def tracking(self) -> int:
        return access.TRACK_TIERS

    @property
    def wants_epoch_pages(self) -> bool:
        return True

    def before_epoch(self, pages: npt.NDArray[np.int64]) -> None:
        keys, hits = np.unique(pages, return_counts=True)
        order = np.lexsort((keys, -hits))  # hottest first; ties by address (deterministic)
        self.tiers.place_hottest(keys[order])
